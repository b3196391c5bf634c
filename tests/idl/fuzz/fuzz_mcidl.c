/* tests/idl/fuzz/fuzz_mcidl.c: libFuzzer harness for the whole of mcidl.
 *
 * Each input is compiled as mcidl would compile a file: it is written to
 * DIR/in.mcidl, loaded with its imports (load.c), checked (check.c) and,
 * when it checks clean, dumped (dump.c, to /dev/null) and emitted
 * (emit.c) into DIR/out/.  DIR is a temporary directory made once, at
 * start, with a few helper modules the input may import:
 *
 *   lib/common.mcidl lib/left.mcidl lib/right.mcidl lib/base.mcidl
 *                    (as tests/idl/good/lib: an alias, a diamond)
 *   deep.mcidl       in DIR/inc, found through the -I path
 *   back.mcidl       imports in.mcidl (a cycle through the input)
 *   broken.mcidl     has a syntax error
 *
 * Imports must stay inside DIR: an input naming an absolute path ("/...)
 * or a parent directory (..) is skipped.  DIR is left behind at the end
 * (libFuzzer leaves with _Exit, which runs no atexit handler): run.sh
 * points TMPDIR into build/fuzz/tmp/ and empties that.
 *
 * Nothing is kept between inputs: diag_fini() resets the error count,
 * free_program() frees every file (LeakSanitizer checks), and the harness
 * checks that no file descriptor is left open.
 *
 * Build and run: tests/idl/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "mcidl.h"

static const struct {
    const char *name;
    const char *text;
} helpers[] = {
    { "lib/common.mcidl",
      "/// Types used by several modules.\n"
      "module common;\n"
      "const MAX_NAME = 64;\n"
      "record User {\n"
      "  name: string;\n"
      "  /// fixed-size key\n"
      "  key: u8[MAX_NAME];\n"
      "}\n" },
    { "lib/left.mcidl",
      "module left;\n"
      "import \"base.mcidl\";\n"
      "enum Kind : u8 { k1, k2 }\n"
      "record L { b: base.B; }\n" },
    { "lib/right.mcidl",
      "module right;\n"
      "import \"base.mcidl\";\n"
      "record R { b: base.B; back: ?&R; }\n" },
    { "lib/base.mcidl", "module base;\nrecord B { v: i32; }\n" },
    { "inc/deep.mcidl",
      "module deep.lib;\n"
      "const LIMIT = 3;\n"
      "record N { x: u8[LIMIT]; }\n" },
    { "back.mcidl", "module back;\nimport \"in.mcidl\";\n" },
    { "broken.mcidl", "module broken\nrecord { }\n" },
};

static char dir[4096];
static char *in_path, *out_dir, *inc_dir;
static FILE *devnull;
static int free_fd = -1;        /* the lowest free descriptor, at start */

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (!p)
        abort();
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mcidl-fuzz.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
    in_path = join(dir, "in.mcidl");
    out_dir = join(dir, "out");
    inc_dir = join(dir, "inc");
    char *lib = join(dir, "lib");
    if (mkdir(out_dir, 0700) || mkdir(inc_dir, 0700) || mkdir(lib, 0700)) {
        perror("mkdir");
        abort();
    }
    free(lib);
    for (size_t i = 0; i < sizeof helpers / sizeof *helpers; i++) {
        char *p = join(dir, helpers[i].name);
        write_file(p, helpers[i].text, strlen(helpers[i].text));
        free(p);
    }
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        abort();
    free_fd = dup(0);
    close(free_fd);
}

/* Would an import in this input leave DIR?  Strings hold no escapes, so
 * an absolute import starts with `"/`, and `..` is needed to go up. */
static int escapes(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 1 < size; i++)
        if ((data[i] == '"' && data[i + 1] == '/') ||
            (data[i] == '.' && data[i + 1] == '.'))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!devnull)
        setup();
    if (escapes(data, size))
        return -1;      /* not added to the corpus */
    write_file(in_path, data, size);

    const char *incdirs[] = { inc_dir, NULL };
    program prog = { 0 };
    prog.incdirs = incdirs;
    prog.nincdirs = 1;
    if (load_program(&prog, in_path) == 0 && check_program(&prog) == 0) {
        dump_program(devnull, &prog);
        fflush(devnull);
        if (emit_program(&prog, out_dir, "in") != 0 && diag_errors() == 0)
            abort();    /* an emit error must be reported */
    }
    free_program(&prog);
    diag_fini();

    /* every descriptor opened for this input is closed again */
    int fd = dup(0);
    close(fd);
    if (fd != free_fd) {
        fprintf(stderr, "fuzz_mcidl: file descriptor %d left open\n",
                fd < free_fd ? fd : free_fd);
        abort();
    }
    return 0;
}

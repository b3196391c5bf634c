/* compiler/main.c: mcidl, the mcore IDL compiler.
 *
 *   mcidl [options] file.mcidl
 *
 * Stages: load (parse the file and its imports), check, then emit (or
 * dump).  Any error in a stage stops before the next; the exit status is 1
 * and nothing is written (no output, no depfile).  Usage errors exit 2.
 */
#include "mcidl.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"

static const char usage_text[] =
    "usage: mcidl [options] FILE.mcidl\n"
    "\n"
    "Compile an mcore IDL file into C: writes DIR/NAME.h and DIR/NAME.c,\n"
    "where NAME is FILE's base name without .mcidl.\n"
    "\n"
    "options:\n"
    "  -o DIR           output directory (default: the current directory);\n"
    "                   created, with its parents, if missing\n"
    "  -I DIR           add DIR to the import search path (repeatable);\n"
    "                   an import is looked for next to the importing file,\n"
    "                   then in each -I directory in order\n"
    "  --depfile FILE   also write FILE, a Makefile-style dependency file:\n"
    "                   the outputs depend on FILE.mcidl and every file it\n"
    "                   imports (for ninja's depfile= and make's -include)\n"
    "  --check          parse and check only; write nothing but the depfile\n"
    "  --dump           print the checked program as text on stdout instead\n"
    "                   of writing C (for tests and debugging)\n"
    "  --help           print this help and exit\n"
    "  --version        print the version and exit\n"
    "\n"
    "Errors are printed as FILE:LINE:COLUMN: error: MESSAGE, with the source\n"
    "line and a caret.  Exit status: 0 success, 1 errors in the input (no\n"
    "file written), 2 bad usage.  The language: idl/mcidl.md.\n";

static void usage_error(const char *fmt, const char *arg)
{
    fputs("mcidl: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'mcidl --help'.\n", stderr);
    exit(2);
}

/* A path in a depfile: escape what make and ninja read specially. */
static void dep_path(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == ' ' || *s == '#' || *s == '\\')
            fputc('\\', f);
        if (*s == '$')
            fputc('$', f);
        fputc(*s, f);
    }
}

/* Write the depfile through a temporary file renamed into place. */
static int write_depfile(const char *path, const program *p,
                         const char *dir, const char *name)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        diag_fatal("out of memory");
        return -1;
    }
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        diag_fatal("cannot write depfile '%s': %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return -1;
    }
    const char *ext[] = { ".h", ".c" };
    for (int i = 0; i < 2; i++) {
        if (i)
            fputc(' ', f);
        if (strcmp(dir, ".") != 0) {
            dep_path(f, dir);
            if (dir[strlen(dir) - 1] != '/')
                fputc('/', f);
        }
        dep_path(f, name);
        fputs(ext[i], f);
    }
    fputc(':', f);
    /* the root first, then the imports in load order */
    fputs(" ", f);
    dep_path(f, p->root->file);
    for (const ast_module *m = p->first; m; m = m->res_next) {
        if (m == p->root)
            continue;
        fputs(" \\\n  ", f);
        dep_path(f, m->file);
    }
    fputc('\n', f);
    int err = ferror(f);
    if (fclose(f) != 0)
        err = 1;
    if (err || rename(tmp, path) != 0) {
        diag_fatal("cannot write depfile '%s': %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_DEPFILE = 256, OPT_DUMP, OPT_CHECK, OPT_HELP, OPT_VERSION };
    static const struct option longopts[] = {
        { "depfile", required_argument, NULL, OPT_DEPFILE },
        { "dump", no_argument, NULL, OPT_DUMP },
        { "check", no_argument, NULL, OPT_CHECK },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    const char *outdir = ".", *depfile = NULL;
    bool dump = false, check_only = false;
    program prog = { 0 };
    int c;

    prog.incdirs = calloc((size_t)argc + 1, sizeof *prog.incdirs);
    if (!prog.incdirs) {
        fputs("mcidl: out of memory\n", stderr);
        return 1;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:I:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            outdir = optarg;
            break;
        case 'I':
            prog.incdirs[prog.nincdirs++] = optarg;
            break;
        case OPT_DEPFILE:
            depfile = optarg;
            break;
        case OPT_DUMP:
            dump = true;
            break;
        case OPT_CHECK:
            check_only = true;
            break;
        case OPT_HELP:
            fputs(usage_text, stdout);
            free(prog.incdirs);
            return 0;
        case OPT_VERSION:
            printf("mcidl %s\n", MCIDL_VERSION);
            free(prog.incdirs);
            return 0;
        case ':':
            usage_error("option '%s' needs an argument", argv[optind - 1]);
            break;
        default:
            usage_error("unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (optind != argc - 1)
        usage_error("%s", optind >= argc ? "no input file"
                                         : "more than one input file");
    const char *input = argv[optind];

    /* NAME: the input's base name without ".mcidl" */
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    size_t blen = strlen(base);
    if (blen > 6 && strcmp(base + blen - 6, ".mcidl") == 0)
        blen -= 6;
    char *name = strndup(base, blen);
    if (!name) {
        fputs("mcidl: out of memory\n", stderr);
        return 1;
    }
    if (!name[0])
        usage_error("cannot name the output after '%s'", input);

    int rc = 1;
    if (load_program(&prog, input) == 0 && check_program(&prog) == 0) {
        if (dump) {
            dump_program(stdout, &prog);
            rc = fflush(stdout) == 0 ? 0 : 1;
        } else if (check_only) {
            rc = 0;
        } else {
            rc = emit_program(&prog, outdir, name) == 0 ? 0 : 1;
        }
        if (rc == 0 && depfile &&
            write_depfile(depfile, &prog, outdir, name) != 0)
            rc = 1;
    }
    if (diag_errors() > 0)
        rc = 1;
    free_program(&prog);
    diag_fini();
    free(prog.incdirs);
    free(name);
    return rc;
}

/* compiler/load.c: read the root file and its imports, parse each once.
 *
 * An import "x.mcidl" is looked for next to the importing file, then in
 * each -I directory in order.  A file is identified by its realpath, so a
 * module imported along two paths (a diamond) is read once.  A file that
 * imports itself, directly or not, is an error (import cycle).
 */
#include "mcidl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "idl.h"

#define MAX_IMPORT_DEPTH 64

static void *xmalloc(size_t n)
{
    void *q = calloc(1, n ? n : 1);
    if (!q) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    return q;
}

/* read_file's code for a FIFO, device or socket */
#define NOT_REGULAR (-1)

static const char *read_error(int err)
{
    return err == NOT_REGULAR ? "not a regular file" : strerror(err);
}

/* Read a whole regular file.  Opened with O_NONBLOCK and checked with
 * fstat before any read: opening a FIFO for reading would otherwise wait
 * for a writer forever.  @return 0, an errno value, or NOT_REGULAR */
static int read_file(const char *path, char **text, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? EISDIR : NOT_REGULAR;
    }
    FILE *f = fcntl(fd, F_SETFL, 0) == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int e = errno;
        close(fd);
        return e;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > ((size_t)1 << 31)) {
                free(buf);
                fclose(f);
                return EFBIG;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int err = ferror(f) ? EIO : 0;
    fclose(f);
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return 0;
}

static char *path_join(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    char *p = xmalloc(ld + ln + 2);
    memcpy(p, dir, ld);
    p[ld] = '/';
    memcpy(p + ld + 1, name, ln + 1);
    return p;
}

/* The directory part of path ("" when there is none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ast_strdup("");
    if (slash == path)
        return ast_strdup("/");
    return ast_strndup(path, (size_t)(slash - path));
}

/* Find an imported file: next to the importer, then along -I. */
static char *find_import(const program *p, const char *importer,
                         const char *name)
{
    if (name[0] == '/')
        return access(name, F_OK) == 0 ? ast_strdup(name) : NULL;
    char *dir = dir_of(importer);
    char *cand = dir[0] ? path_join(dir, name) : ast_strdup(name);
    free(dir);
    if (access(cand, F_OK) == 0)
        return cand;
    free(cand);
    for (int i = 0; i < p->nincdirs; i++) {
        cand = path_join(p->incdirs[i], name);
        if (access(cand, F_OK) == 0)
            return cand;
        free(cand);
    }
    return NULL;
}

/* Print "a -> b -> ... -> path" of the files being loaded. */
static void cycle_error(const program *p, ast_loc at, const loaded *again)
{
    /* the loading files form a chain from again to the importer; the
     * list is newest first, so collect and print in reverse */
    size_t len = 1, k = 0;
    const loaded *chain[MAX_IMPORT_DEPTH + 2];
    for (const loaded *l = p->files; l && k < MAX_IMPORT_DEPTH + 1; l = l->next) {
        if (l->state != 1)
            continue;
        chain[k++] = l;
        len += strlen(l->path) + 4;
        if (l == again)
            break;
    }
    len += strlen(again->path);
    char *msg = xmalloc(len);
    for (size_t i = k; i-- > 0;) {
        strcat(msg, chain[i]->path);
        strcat(msg, " -> ");
    }
    strcat(msg, again->path);
    diag_error(at, "import cycle: %s", msg);
    free(msg);
}

static ast_module *load(program *p, const char *path, const ast_loc *from,
                        int depth)
{
    char *real = realpath(path, NULL);
    if (real) {
        for (loaded *l = p->files; l; l = l->next) {
            if (strcmp(l->real, real) != 0)
                continue;
            free(real);
            if (l->state == 1) {
                cycle_error(p, *from, l);
                return NULL;
            }
            return l->module;
        }
    }
    char *text = NULL;
    size_t len = 0;
    int err = real ? read_file(path, &text, &len) : errno;
    if (err) {
        if (from)
            diag_error(*from, "cannot read imported file '%s': %s", path,
                       read_error(err));
        else
            diag_fatal("cannot read '%s': %s", path, read_error(err));
        free(real);
        return NULL;
    }
    loaded *l = xmalloc(sizeof *l);
    l->path = ast_strdup(path);
    l->real = real;
    l->text = text;
    l->len = len;
    l->state = 1;
    l->next = p->files;
    p->files = l;

    const char *name = diag_source(path, text, len);
    int syntax;
    l->module = idl_parse(name, text, len, &syntax);
    ast_module *m = l->module;

    /* the imports of a file with syntax errors may be garbage */
    for (ast_import *i = syntax ? NULL : m->imports; i && !diag_too_many();
         i = i->next) {
        if (depth >= MAX_IMPORT_DEPTH) {
            diag_error(i->loc, "imports nest more than %d files deep",
                       MAX_IMPORT_DEPTH);
            break;
        }
        char *found = find_import(p, path, i->path);
        if (!found) {
            diag_error(i->loc, "imported file '%s' not found (looked next "
                       "to '%s'%s)", i->path, path,
                       p->nincdirs ? " and in the -I directories" : "");
            continue;
        }
        i->res_module = load(p, found, &i->loc, depth + 1);
        free(found);
    }
    l->state = 2;
    *p->last = m;
    p->last = &m->res_next;
    return m;
}

int load_program(program *p, const char *path)
{
    int before = diag_errors();
    p->last = &p->first;
    p->root = load(p, path, NULL, 0);
    return p->root && diag_errors() == before ? 0 : -1;
}

void free_program(program *p)
{
    while (p->files) {
        loaded *next = p->files->next;
        ast_module_free(p->files->module);
        free(p->files->path);
        free(p->files->real);
        free(p->files->text);
        free(p->files);
        p->files = next;
    }
    p->root = p->first = NULL;
}

/* compiler/diag.c: diagnostics with source lines and carets. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct source {
    struct source *next;
    char *name;
    const char *text;
    size_t len;
} source;

static source *sources;
static int errors;
static bool stopped;

const char *diag_source(const char *file, const char *text, size_t len)
{
    source *s = calloc(1, sizeof *s);
    char *name = s ? strdup(file) : NULL;
    if (!name) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    s->name = name;
    s->text = text;
    s->len = len;
    s->next = sources;
    sources = s;
    return s->name;
}

/* Print line `line` of the file and a caret under byte column `col`.
 * Control bytes print as '?', tabs stay tabs, so the caret lines up. */
static void quote(ast_loc loc)
{
    const source *s;
    for (s = sources; s; s = s->next)
        if (s->name == loc.file)
            break;
    if (!s || loc.line < 1)
        return;
    size_t i = 0;
    for (int l = 1; l < loc.line; l++) {
        const char *nl = memchr(s->text + i, '\n', s->len - i);
        if (!nl)
            return;
        i = (size_t)(nl - s->text) + 1;
    }
    size_t end = i;
    while (end < s->len && s->text[end] != '\n')
        end++;
    if (end > i && s->text[end - 1] == '\r')
        end--;
    /* a long line is shown as a window around the column */
    enum { WIDTH = 160, BEFORE = 80 };
    size_t at = i + (size_t)(loc.col > 0 ? loc.col - 1 : 0);
    if (at > end)
        at = end;
    size_t from = i, to = end;
    bool cut_left = false, cut_right = false;
    if (to - from > WIDTH) {
        if (at - from > BEFORE) {
            from = at - BEFORE;
            cut_left = true;
        }
        if (to - from > WIDTH) {
            to = from + WIDTH;
            cut_right = true;
        }
    }
    fputs(cut_left ? "..." : " ", stderr);
    for (size_t k = from; k < to; k++) {
        unsigned char c = (unsigned char)s->text[k];
        fputc(c == '\t' || (c >= 0x20 && c != 0x7f) ? c : '?', stderr);
    }
    fputs(cut_right ? "...\n" : "\n", stderr);
    fputs(cut_left ? "   " : " ", stderr);
    for (size_t k = from; k < at; k++)
        fputc(s->text[k] == '\t' ? '\t' : ' ', stderr);
    fputs("^\n", stderr);
}

static void report(const char *kind, ast_loc loc, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s:%d:%d: %s: ", loc.file ? loc.file : "?", loc.line,
            loc.col, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    quote(loc);
}

void diag_error(ast_loc loc, const char *fmt, ...)
{
    if (stopped)
        return;
    if (errors == DIAG_MAX_ERRORS) {
        fprintf(stderr, "mcidl: error: too many errors (%d), stopping\n",
                DIAG_MAX_ERRORS);
        stopped = true;
        return;
    }
    errors++;
    va_list ap;
    va_start(ap, fmt);
    report("error", loc, fmt, ap);
    va_end(ap);
}

void diag_note(ast_loc loc, const char *fmt, ...)
{
    if (stopped)
        return;
    va_list ap;
    va_start(ap, fmt);
    report("note", loc, fmt, ap);
    va_end(ap);
}

void diag_fatal(const char *fmt, ...)
{
    if (stopped)
        return;
    errors++;
    va_list ap;
    va_start(ap, fmt);
    fputs("mcidl: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int diag_errors(void)
{
    return errors;
}

bool diag_too_many(void)
{
    return stopped;
}

void diag_fini(void)
{
    while (sources) {
        source *next = sources->next;
        free(sources->name);
        free(sources);
        sources = next;
    }
    errors = 0;
    stopped = false;
}

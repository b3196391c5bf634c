/* os/title.c: process titles (see title.h).
 *
 * The layout the kernel gives a new program: argv[0..argc) then envp[]
 * strings, each NUL-terminated, back to back.  /proc/PID/cmdline shows
 * [arg_start, arg_end) (the argv strings); when the byte before arg_end is
 * no longer a NUL, the kernel assumes a rewritten title and shows the area
 * up to the first NUL, into the environment strings: so a title may use
 * the whole run of argv and envp strings, as setproctitle does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "mcore/process.h"
#include "os/title.h"

static char *area;     /* the kernel's argument strings (free to rewrite) */
static size_t area_len;
static size_t arg_len; /* the argv part of it; the environment follows */
static char *moved;    /* their copies: argv[], environ point here now */
static char prog[64];  /* last part of argv[0] */

/* The end of the run of back-to-back strings of v (up to a NULL entry)
 * that starts at `end`. */
static char *run_end(char **v, int n, char *end)
{
    for (int i = 0; (n < 0 || i < n) && v[i] && v[i] == end; i++)
        end += strlen(v[i]) + 1;
    return end;
}

/* Point each entry of v that lies in [from, to) at its copy. */
static void repoint(char **v, int n, const char *from, const char *to)
{
    for (int i = 0; (n < 0 || i < n) && v[i]; i++)
        if (v[i] >= from && v[i] < to)
            v[i] = moved + (v[i] - from);
}

static void grab_args(int argc, char **argv, char **envp)
{
    if (argc <= 0 || !argv || !argv[0])
        return;
    const char *b = strrchr(argv[0], '/');
    snprintf(prog, sizeof prog, "%s", b ? b + 1 : argv[0]);
    const char *off = getenv("MC_TITLE");
    if (off && strcmp(off, "0") == 0)
        return; /* the strings stay where they are; comm alone is set */
    char *start = argv[0], *end = start;
    int i = 0;
    for (; i < argc && argv[i] == end; i++)
        end += strlen(argv[i]) + 1;
    arg_len = (size_t)(end - start);
    if (i == argc && envp) /* the environment's strings follow */
        end = run_end(envp, -1, end);
    size_t len = (size_t)(end - start);
    moved = malloc(len);
    if (!moved)
        return; /* no title in the argument area: the strings stay */
    memcpy(moved, start, len);
    repoint(argv, argc, start, end);
    if (envp)
        repoint(envp, -1, start, end);
#ifdef __GLIBC__
    if (program_invocation_name >= start && program_invocation_name < end)
        program_invocation_name = moved + (program_invocation_name - start);
    if (program_invocation_short_name >= start &&
        program_invocation_short_name < end)
        program_invocation_short_name =
            moved + (program_invocation_short_name - start);
#endif
    area = start;
    area_len = len;
}

#ifdef __GLIBC__
/* glibc calls the functions of .init_array with argc, argv and envp */
__attribute__((used, section(".init_array"))) static void (*grab_args_p)(
    int, char **, char **) = grab_args;
#endif

int mc__title_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > MC_PROCESS_NAME_MAX)
        return 0;
    for (const char *c = n; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
              *c == '-'))
            return 0;
    return 1;
}

const char *mc__title_prog(void)
{
    return prog;
}

/* Append n bytes of s to the title being built at *p (room left: *room,
 * the NUL excluded). */
static void put(char **p, size_t *room, const char *s, size_t n)
{
    if (n > *room)
        n = *room;
    memcpy(*p, s, n);
    *p += n;
    *room -= n;
}

/* A worker is new: its first touch of stdio (snprintf) and of each page
 * costs a page fault, tens of microseconds of a process start on a VM.
 * So no stdio here, and only the pages that must change are written. */
void mc__title_worker(const char *type, int64_t pid)
{
    char num[24], *q = num + sizeof num;
    uint64_t v = pid < 0 ? 0 : (uint64_t)pid;
    do
        *--q = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    *--q = '#';
    size_t nn = (size_t)(num + sizeof num - q);
    size_t nt = type ? strlen(type) : 0, np = strlen(prog);

    /* comm: PROG:TYPE#PID in 15 bytes; the pid whole, then the type */
    char comm[16], *c = comm;
    size_t room = sizeof comm - 1;
    size_t cn = nn < room ? nn : room;
    size_t ct = nt < room - cn ? nt : room - cn;
    size_t left = room - cn - ct; /* for "PROG:" */
    size_t cp = np + 1 <= left ? np : (left > 1 ? left - 1 : 0);
    put(&c, &room, prog, cp);
    if (cp)
        put(&c, &room, ":", 1);
    put(&c, &room, type ? type : "", ct);
    put(&c, &room, q, cn);
    *c = '\0';
    prctl(PR_SET_NAME, comm, 0, 0, 0);

    /* the argument area: PROG: mcore worker TYPE #PID */
    if (!area || area_len < 2)
        return;
    char *t = area;
    room = area_len - 1;
    if (np) {
        put(&t, &room, prog, np);
        put(&t, &room, ": ", 2);
    }
    put(&t, &room, "mcore worker ", 13);
    if (nt) {
        put(&t, &room, type, nt);
        put(&t, &room, " ", 1);
    }
    put(&t, &room, q, nn);
    size_t n = (size_t)(t - area);
    /* NULs up to the end of the argv part: the kernel then shows the
     * title alone (a longer title runs into the environment's strings,
     * and the kernel shows it up to its NUL) */
    size_t z = n < arg_len ? arg_len : n + 1;
    memset(t, 0, z - n);
}

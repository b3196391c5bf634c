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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "os/title.h"

static char *area;     /* the kernel's argument strings (free to rewrite) */
static size_t area_len;
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
    char *start = argv[0], *end = start;
    int i = 0;
    for (; i < argc && argv[i] == end; i++)
        end += strlen(argv[i]) + 1;
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

const char *mc__title_prog(void)
{
    return prog;
}

void mc__title_worker(const char *type, int64_t pid)
{
    char t[256], num[24], comm[16];
    snprintf(num, sizeof num, "#%lld", (long long)pid);
    snprintf(t, sizeof t, "%s%smcore worker %s%s%s", prog, *prog ? ": " : "",
             type ? type : "", type ? " " : "", num);

    /* comm: PROG:TYPE#PID in 15 bytes; the pid whole, then the type */
    size_t room = sizeof comm - 1, nn = strlen(num);
    size_t nt = type ? strlen(type) : 0, np = strlen(prog);
    if (nn > room)
        nn = room;
    if (nt > room - nn)
        nt = room - nn;
    size_t left = room - nn - nt; /* for "PROG:" */
    if (np + 1 > left)
        np = left > 1 ? left - 1 : 0;
    char *c = comm; /* np + 1 + nt + nn <= 15, by the cuts above */
    memcpy(c, prog, np);
    c += np;
    if (np)
        *c++ = ':';
    memcpy(c, type ? type : "", nt);
    c += nt;
    memcpy(c, num, nn);
    c[nn] = '\0';
    prctl(PR_SET_NAME, comm, 0, 0, 0);

    if (!area || area_len < 2)
        return;
    size_t n = strlen(t);
    if (n > area_len - 1)
        n = area_len - 1;
    memcpy(area, t, n);
    memset(area + n, 0, area_len - n);
}

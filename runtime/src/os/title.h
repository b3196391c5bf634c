/* os/title.h: the process title of a worker, as ps and top show it
 * (internal).
 *
 * A worker names itself "PROG: mcore worker TYPE #PID" in its argument
 * area (ps -f, ps aux, top -c, /proc/PID/cmdline) and "PROG:TYPE#PID" cut
 * to 15 bytes in its kernel name (ps -e, top, /proc/PID/comm): the pid is
 * kept whole, then the type, and the program's name gets what is left.
 *
 * The argument area is the memory where the kernel put the program's
 * argument and environment strings.  Before main (a glibc ELF constructor
 * gets argc, argv and envp), title.c moves those strings to one malloc()ed
 * block and points argv[], environ and program_invocation_name at the
 * copies, so rewriting the area later changes no string the program can
 * reach.  Without glibc, or with MC_TITLE=0 in the environment, nothing is
 * moved and only the kernel name is set.
 */
#ifndef MC_OS_TITLE_H
#define MC_OS_TITLE_H

#include <stdint.h>

/* Set the calling worker's title.  type may be NULL (an unnamed process
 * type: "PROG: mcore worker #PID").  Best effort: never fails. */
void mc__title_worker(const char *type, int64_t pid);

/* 1 if name may name a process type (mc_def_process_named): 1 to
 * MC_PROCESS_NAME_MAX of [A-Za-z0-9_.-] (no space: the status file's
 * lines are split on them), else 0. */
int mc__title_name_ok(const char *name);

/* The program's name as titles show it (the last part of argv[0]), or ""
 * when unknown.  Stays valid. */
const char *mc__title_prog(void);

#endif

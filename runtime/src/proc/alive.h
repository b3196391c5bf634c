/* alive.h: whether the session is still there, for blocking waits.
 *
 * A wait on a word in shared memory (a condition, a camlbox, a buffer, a
 * queue) sleeps until another process of the session changes the word.
 * Workers die with the session server (PR_SET_PDEATHSIG), but the master
 * is the server's parent and outlives it: were the server killed (the OOM
 * killer, a stray kill -9), every worker would go with it and a master
 * sleeping in such a wait would sleep for ever.  So the master's waits
 * sleep in slices of at most MC__ALIVE_SLICE_NS and look, between two,
 * whether the server has ended; they then return MC_ELOST, and
 * mc_startup cleans up after the server (startup.c, server_gone). */
#ifndef MC_ALIVE_H
#define MC_ALIVE_H

#include <stdint.h>
#include <time.h>

#define MC__ALIVE_SLICE_NS (200u * 1000 * 1000)

/* 1 if the calling thread's process is a session's master: its waits must
 * be sliced (a load; no system call). */
int mc__alive_sliced(void);

/* MC_ELOST (the detail naming fn) if the caller is the master and its
 * session server has ended; 0 otherwise (workers, no session).  One
 * waitid(WNOWAIT) call in the master: the server is not reaped. */
int mc__alive_check(const char *fn);

/* For a wait with an absolute CLOCK_MONOTONIC deadline (NULL: none): the
 * deadline of the next sleep: *slice, set to at most MC__ALIVE_SLICE_NS
 * from now, in the master; dl itself elsewhere. */
const struct timespec *mc__alive_deadline(const struct timespec *dl,
                                          struct timespec *slice);

#endif

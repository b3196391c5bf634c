/* startup.c: a session, from taking the socket directory to removing it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "mcore/startup.h"
#include "os/spin.h"
#include "proc/manifest.h"
#include "proc/state.h"


static unsigned long sessions;

static int take_dir(mc__master *M, const mc_config *cfg)
{
    if (!cfg->socket_dir) {
        /* A directory of its own under the user's sessions directory,
         * where the next session (or mcadmin) finds it if this master is
         * killed; stale ones are removed first (their lock is free). */
        char parent[PATH_MAX];
        int rc = mc__sessions_parent(parent, sizeof parent, 1, "mc_startup");
        if (rc)
            return rc;
        if (!cfg->no_unlink)
            mc__sessions_sweep(parent, NULL, NULL); /* best effort */
        M->private_dir = 1;
        return mc__session_create(parent, &M->dir, &M->lockfd);
    } else {
        if (strlen(cfg->socket_dir) > 200)
            return mc__err(MC_EINVAL, "mc_startup: socket_dir %.64s... is "
                           "longer than 200 bytes", cfg->socket_dir);
        if (mkdir(cfg->socket_dir, 0700) < 0 && errno != EEXIST)
            return mc__err(errno == ENOMEM ? MC_ENOMEM : MC_ESYS,
                           "mc_startup: mkdir(%s): %s", cfg->socket_dir,
                           strerror(errno));
        /* One spelling of the path (absolute, no "..", no trailing '/'):
         * the manifest lists temporary files as DIR/LEAF. */
        M->dir = realpath(cfg->socket_dir, NULL);
        if (!M->dir && errno != ENOMEM)
            return mc__err(MC_ESYS, "mc_startup: realpath(%s): %s",
                           cfg->socket_dir, strerror(errno));
    }
    if (M->dir) {
        /* An existing directory may have been made by someone else. */
        int dfd, rc = mc__dir_open(M->dir, "mc_startup", &dfd);
        if (rc)
            return rc;
        close(dfd);
    }
    if (!M->dir)
        return mc__err(MC_ENOMEM, "out of memory");
    int rc = mc__dir_lock(M->dir, &M->lockfd);
    if (rc)
        return rc;
    /* What a crashed run listed is ours to remove: nobody holds the lock. */
    if (cfg->no_unlink) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", M->dir, MC__MANIFEST_FILE);
        if (access(path, F_OK) == 0)
            return mc__err(MC_EBUSY, "%s holds leftovers of an earlier run "
                           "(see mcadmin list)", M->dir);
        return 0;
    }
    return mc__manifest_unlink_all(M->dir, NULL);
}

static void release_dir(mc__master *M)
{
    /* The manifest stays: it is empty and gone after a clean session, and
     * lists what could not be removed otherwise.  A refused start must not
     * touch a live master's files at all (then lockfd is -1). */
    if (M->lockfd >= 0) {
        mc__dir_unlock(M->lockfd, M->dir);
        /* kept (not empty) when its manifest lists what is left: the next
         * session or mcadmin finds it */
        if (M->private_dir)
            rmdir(M->dir);
    }
    M->lockfd = -1;
    free(M->dir);
    M->dir = NULL;
}

/* SIGINT and SIGTERM end the session cleanly: the handler only notes the
 * signal and wakes the loop (a SIGCHLD raised to the master lands in its
 * signalfd); the loop ends the workers (mc__m_check_stop), the session
 * removes everything, and then the signal is raised again so that the
 * program ends as it would have.  Only signals left at SIG_DFL and not
 * blocked are taken: a program with its own handling keeps it.  A second
 * signal, or one that reaches a new worker before it reset its signals,
 * gets the default action at once. */
static const int stop_sigs[2] = {SIGINT, SIGTERM};
static struct sigaction stop_old[2];
static int stop_taken[2];
static pid_t stop_pid;
static volatile sig_atomic_t stop_sig;
static int stop_done;

static void on_stop(int sig)
{
    int e = errno;
    if (getpid() != stop_pid || stop_sig) {
        signal(sig, SIG_DFL);
        raise(sig); /* delivered when the handler returns */
    } else {
        stop_sig = sig;
        raise(SIGCHLD);
    }
    errno = e;
}

static void take_stop_signals(void)
{
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    stop_pid = getpid();
    stop_sig = 0;
    stop_done = 0;
    struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 2; i++) {
        stop_taken[i] = 0;
        if (sigaction(stop_sigs[i], NULL, &stop_old[i]) == 0 &&
            !(stop_old[i].sa_flags & SA_SIGINFO) &&
            stop_old[i].sa_handler == SIG_DFL &&
            !sigismember(&now, stop_sigs[i]))
            stop_taken[i] = sigaction(stop_sigs[i], &sa, NULL) == 0;
    }
}

void mc__m_child_signals(void)
{
    for (int i = 0; i < 2; i++)
        if (stop_taken[i])
            sigaction(stop_sigs[i], &stop_old[i], NULL);
}

int mc__m_stopping(void)
{
    return stop_sig;
}

void mc__m_check_stop(void)
{
    if (!stop_sig || stop_done)
        return;
    stop_done = 1;
    for (mc__proc *p = mc__M->live; p; p = p->next)
        kill(p->ospid, SIGKILL);
}

static int open_loop(mc__master *M)
{
    /* With SIGCHLD ignored (or SA_NOCLDWAIT) the kernel reaps workers by
     * itself and the master would never learn how they ended. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    if (sigaction(SIGCHLD, &dfl, &M->oldchld) < 0)
        return mc__errno("sigaction(SIGCHLD)");
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, &M->oldmask) < 0)
        return mc__errno("sigprocmask");
    M->sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (M->sigfd < 0)
        return mc__errno("signalfd");
    M->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (M->epfd < 0)
        return mc__errno("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    if (epoll_ctl(M->epfd, EPOLL_CTL_ADD, M->sigfd, &ev) < 0)
        return mc__errno("epoll_ctl");
    return 0;
}

static void close_loop(mc__master *M)
{
    if (M->epfd >= 0)
        close(M->epfd);
    if (M->sigfd >= 0) {
        close(M->sigfd);
        sigprocmask(SIG_SETMASK, &M->oldmask, NULL);
    }
    sigaction(SIGCHLD, &M->oldchld, NULL);
}

typedef int mc__last_fn(void *ctx);

/* The whole session.  last (optional) runs after the workers have ended and
 * before the tables are freed: mc_run takes its result there. */
static int session(const mc_config *cfg, mc_first_fn *first, void *ctx,
                   mc__last_fn *last, void *last_ctx)
{
    static const mc_config defaults;
    if (mc__role_now != MC__ROLE_NONE)
        return mc__err(MC_ESTATE, "mc_startup: %s", mc__role_now ==
                       MC__ROLE_MASTER ? "a session is already running"
                                       : "not allowed in a worker");
    if (!cfg)
        cfg = &defaults;
    mc__master *M = calloc(1, sizeof *M);
    if (!M)
        return mc__err(MC_ENOMEM, "mc_startup: out of memory");
    M->epfd = M->sigfd = M->lockfd = -1;
    sigaction(SIGCHLD, NULL, &M->oldchld);
    M->next_pid = 1;
    M->session = ++sessions;
    M->spin_ns = cfg->spin_us < 0 ? 0
                 : 1000u * (uint64_t)(cfg->spin_us ? cfg->spin_us
                                                   : MC__SPIN_US_DEFAULT);
    M->thread = pthread_self();
    M->ospid = getpid();
    mc__M = M;
    /* the configuration is checked before anything is made on disk */
    int rc = mc__window_reserve(&M->win, cfg->window_size
                                             ? cfg->window_size
                                             : MC__WINDOW_DEFAULT,
                                "mc_startup");
    if (!rc)
        rc = take_dir(M, cfg);
    if (!rc)
        rc = open_loop(M);
    if (!rc)
        take_stop_signals();
    if (!rc)
        rc = mc__defs_register();
    if (!rc) {
        mc__role_now = MC__ROLE_MASTER;
        if (first)
            rc = first(ctx);
        int lrc = mc__m_loop();
        if (!rc)
            rc = lrc;
        if (last) {
            int r2 = last(last_ctx);
            if (!rc)
                rc = r2;
        }
    }
    char detail[512];
    snprintf(detail, sizeof detail, "%s", mc_last_error_detail());
    mc__m_procs_free();
    mc__m_res_destroy_all();
    mc__window_release(&M->win);
    mc__m_child_signals(); /* the program's own dispositions again */
    int stopped = stop_sig;
    memset(stop_taken, 0, sizeof stop_taken);
    close_loop(M);
    release_dir(M);
    mc__role_now = MC__ROLE_NONE;
    mc__M = NULL;
    free(M);
    if (stopped) {
        /* everything is removed: now end as the signal would have */
        raise(stopped);
        rc = mc__err(MC_ESTATE, "mc_startup: the session was ended by "
                     "signal %d", stopped);
    }
    if (rc)
        mc__err(rc, "%s", detail);
    return rc;
}

int mc_startup(const mc_config *cfg, mc_first_fn *first, void *ctx)
{
    return session(cfg, first, ctx, NULL, NULL);
}

struct run_ctx {
    mc_res_id fork, join;
    const void *arg;
    size_t len;
    mc_pid pid;
    mc_join_result *result;
};

static int run_first(void *c)
{
    struct run_ctx *r = c;
    return mc_start(r->fork, r->arg, r->len, &r->pid);
}

static int run_last(void *c)
{
    struct run_ctx *r = c;
    if (!r->pid)
        return 0;
    return mc_join_nowait(r->join, r->pid, r->result);
}

int mc_run(const mc_config *cfg, mc_res_id fork_point, mc_res_id join_point,
           const void *arg, size_t len, mc_join_result *result)
{
    if (!result)
        return mc__err(MC_EINVAL, "mc_run: NULL result");
    *result = (mc_join_result){0};
    struct run_ctx r = {fork_point, join_point, arg, len, 0, result};
    return session(cfg, run_first, &r, run_last, &r);
}

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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "mcore/startup.h"
#include "os/spin.h"
#include "proc/manifest.h"
#include "proc/stat.h"
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

/* The program's dispositions of the signals the server ignores, given
 * back to every worker (mc__m_child_signals): the server must outlive a
 * Ctrl-C or a hangup of the terminal to clean up after the session. */
static const int server_ign[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static struct sigaction prog_old[4];

void mc__m_child_signals(void)
{
    for (int i = 0; i < 4; i++)
        sigaction(server_ign[i], &prog_old[i], NULL);
}

/* SIGINT and SIGTERM end the session cleanly: the master's handler tells
 * the server (one byte on the stop socket), which kills the workers,
 * removes everything and exits; the handler waits for that (EOF on the
 * socket), then raises the signal again with its default action, so that
 * the program ends as it would have, wherever it was.  Only signals left
 * at SIG_DFL and not blocked are taken: a program with its own handling
 * keeps it.  A second signal gets the default action at once (the server
 * still cleans up: the master's socket closes). */
static const int stop_sigs[2] = {SIGINT, SIGTERM};
static struct sigaction stop_old[2];
static int stop_taken[2];
static pid_t stop_pid;
static int stop_fd = -1;
static pid_t stop_server;
static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
    int e = errno;
    if (getpid() == stop_pid && !stop_sig && stop_fd >= 0) {
        stop_sig = sig;
        unsigned char b = (unsigned char)sig;
        char c;
        if (write(stop_fd, &b, 1) == 1)
            while (read(stop_fd, &c, 1) < 0 && errno == EINTR)
                ; /* until the server has cleaned up and exited */
        while (waitpid(stop_server, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns */
    errno = e;
}

static void take_stop_signals(int fd, pid_t server)
{
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    stop_pid = getpid();
    stop_sig = 0;
    stop_fd = fd;
    stop_server = server;
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

static void give_stop_signals(void)
{
    for (int i = 0; i < 2; i++)
        if (stop_taken[i])
            sigaction(stop_sigs[i], &stop_old[i], NULL);
    memset(stop_taken, 0, sizeof stop_taken);
    stop_fd = -1;
}

static int open_loop(mc__master *M)
{
    /* With SIGCHLD ignored (or SA_NOCLDWAIT) the kernel reaps workers by
     * itself and the server would never learn how they ended. */
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
    ev.data.u64 = (uint64_t)-2; /* master.c: EV_STOP */
    if (epoll_ctl(M->epfd, EPOLL_CTL_ADD, M->stopfd, &ev) < 0)
        return mc__errno("epoll_ctl");
    mc__stat_listen(M->epfd, MC__STAT_EV);
    return 0;
}

/* The master's record in the server's table: a client like a worker, but
 * not the server's child (its end is EOF on its socket, not SIGCHLD). */
static int add_master(mc__master *M, int sock)
{
    mc__proc *p = calloc(1, sizeof *p);
    if (!p)
        return mc__err(MC_ENOMEM, "mc_startup: out of memory");
    p->pid = MC__MASTER_PID;
    p->ospid = getppid();
    p->sock = sock;
    p->alive = 1;
    p->result = MC__BLOB_NONE;
    int rc = mc__idmap_put(&M->procs, p->pid, p);
    if (rc) {
        free(p);
        return rc;
    }
    M->master = p;
    struct epoll_event ev = {.events = EPOLLIN,
                             .data.u64 = (uint64_t)MC__MASTER_PID};
    if (epoll_ctl(M->epfd, EPOLL_CTL_ADD, sock, &ev) < 0)
        return mc__errno("epoll_ctl");
    return 0;
}

/* The session server: set up, say so to the master (rc and detail), serve
 * until the master is gone and no worker is left, clean up, exit. */
static _Noreturn void server_main(mc__master *M, int sock)
{
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    for (int i = 0; i < 4; i++)
        sigaction(server_ign[i], &ign, NULL);
    prctl(PR_SET_NAME, "mcore-server");
    M->ospid = getpid();
    mc__role_now = MC__ROLE_MASTER;
    int rc = open_loop(M);
    if (!rc)
        rc = mc__defs_register();
    if (!rc)
        rc = add_master(M, sock);
    mc__msg m = {.op = MC__OP_REPLY, .rc = rc};
    const char *d = rc ? mc_last_error_detail() : NULL;
    mc__msg_send(sock, &m, NULL, 0, d, d ? strlen(d) : 0, -1, -1, 0);
    if (!rc)
        rc = mc__m_loop();
    mc__m_procs_free();
    mc__m_res_destroy_all();
    mc__stat_close(1);
    if (M->epfd >= 0)
        close(M->epfd);
    if (M->sigfd >= 0)
        close(M->sigfd);
    release_dir(M);
    _exit(rc ? 1 : M->failed ? MC__SERVER_FAILED : 0);
}

/* The server died without cleaning up (killed, or failed): the master,
 * still alive, does what the server would have done at the end, so that
 * nothing of the session is left for the next one or mcadmin.  The lock
 * is free once the server is gone (workers never hold it, and die with
 * the server).  Returns 1 when the session left nothing. */
static int server_gone(const char *dir, int private_dir)
{
    int fd;
    if (!dir || mc__dir_lock(dir, &fd) != 0)
        return 0; /* gone already (a clean end), or someone else's now */
    int rc = mc__manifest_unlink_all(dir, NULL);
    mc__dir_unlock(fd, dir);
    if (private_dir && rc == 0)
        rmdir(dir);
    return rc == 0;
}

typedef int mc__last_fn(void *ctx);

/* The master's side of the session: start the server, run first as a
 * client (pid 0), wait until no worker is left (FINISH), run last (mc_run
 * takes its result there), let the server go and wait for it.  last
 * (optional) runs after the workers have ended. */
static int session(const mc_config *cfg, mc_first_fn *first, void *ctx,
                   mc__last_fn *last, void *last_ctx)
{
    static const mc_config defaults;
    if (mc__role_now != MC__ROLE_NONE)
        return mc__err(MC_ESTATE, "mc_startup: %s", mc__role_now ==
                       MC__ROLE_MASTER ? "a session is already running"
                       : mc__W && mc__W->self == 0
                           ? "a session is already running"
                           : "not allowed in a worker");
    if (!cfg)
        cfg = &defaults;
    mc__master *M = calloc(1, sizeof *M);
    if (!M)
        return mc__err(MC_ENOMEM, "mc_startup: out of memory");
    M->epfd = M->sigfd = M->lockfd = M->stopfd = -1;
    M->next_pid = 1;
    M->session = ++sessions;
    M->spin_ns = cfg->spin_us < 0 ? 0
                 : 1000u * (uint64_t)(cfg->spin_us ? cfg->spin_us
                                                   : MC__SPIN_US_DEFAULT);
    M->quiet = cfg->quiet;
    M->end_on_failure = cfg->end_on_failure;
    if (cfg->deadline_ms < 0) {
        free(M);
        return mc__err(MC_EINVAL, "mc_startup: deadline_ms %d is negative",
                       cfg->deadline_ms);
    }
    if (cfg->deadline_ms)
        M->deadline = mc__now_ns() + (uint64_t)cfg->deadline_ms * 1000000u;
    mc__M = M;
    /* the configuration is checked before anything is made on disk */
    int rc = mc__window_reserve(&M->win, cfg->window_size
                                             ? cfg->window_size
                                             : MC__WINDOW_DEFAULT,
                                "mc_startup");
    if (!rc)
        rc = take_dir(M, cfg);
    int sv[2] = {-1, -1}, st[2] = {-1, -1};
    if (!rc && (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
                socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st) < 0))
        rc = mc__errno("mc_startup: socketpair");
    pid_t server = -1;
    if (!rc) {
        for (int i = 0; i < 4; i++)
            sigaction(server_ign[i], NULL, &prog_old[i]);
        prctl(PR_GET_NAME, M->comm);
        fflush(NULL); /* or the server's children would write them again */
        if ((server = fork()) < 0)
            rc = mc__errno("mc_startup: fork");
        else if (server == 0) {
            close(sv[1]);
            close(st[1]);
            M->stopfd = st[0];
            server_main(M, sv[0]);
        }
    }
    if (rc) {
        for (int i = 0; i < 2; i++) {
            if (sv[i] >= 0)
                close(sv[i]);
            if (st[i] >= 0)
                close(st[i]);
        }
        mc__window_release(&M->win);
        release_dir(M);
        mc__M = NULL;
        free(M);
        return rc;
    }
    /* the server holds the directory's lock and removes it at the end */
    close(sv[0]);
    close(st[0]);
    if (M->lockfd >= 0)
        close(M->lockfd);
    char *dir = M->dir; /* kept, in case the server dies (server_gone) */
    int private_dir = M->private_dir;
    mc__window win = M->win;
    uint64_t spin_ns = M->spin_ns;
    free(M);
    mc__M = NULL;

    mc__worker *W = calloc(1, sizeof *W);
    mc__idmap none = {0};
    if (!W) {
        close(sv[1]);
        close(st[1]);
        rc = mc__err(MC_ENOMEM, "mc_startup: out of memory");
    } else {
        mc__w_init(W, 0, sv[1], server, spin_ns, &none);
        /* the server's first word: ready, or why not */
        mc__msg *m;
        int bfd = -1, xfd = -1;
        int r = mc__msg_recv(W->sock, W->buf, &m, &bfd, &xfd, 0);
        int up = r > 0 && m->rc == 0;
        if (r <= 0)
            rc = mc__err(MC_ESYS, "mc_startup: the session server did not "
                         "start");
        else if (m->rc)
            rc = mc__err(m->rc, "%.*s", (int)m->len, (const char *)(m + 1));
        take_stop_signals(st[1], server);
        if (up && first)
            rc = first(ctx);
        /* the workers end their work; the master waits for them.  If
         * first failed, nobody will join them or feed what they wait on
         * (a worker blocked on a buffer first meant to close would hold
         * the session for ever): the server ends them */
        mc__msg req = {.op = MC__OP_FINISH, .a = rc < 0}, rep;
        int frc = up ? mc__rpc(&req, NULL, 0, NULL, 0, -1, &rep, NULL, NULL)
                     : MC_ESTATE;
        if (up && !frc) {
            frc = rep.rc;
            mc__res_ids_from(rep.a); /* ids stay unique in the program */
        }
        if (!rc)
            rc = frc;
        if (last && !frc) {
            int r2 = last(last_ctx);
            if (!rc)
                rc = r2;
        }
    }
    char detail[512];
    snprintf(detail, sizeof detail, "%s", mc_last_error_detail());
    if (W) {
        mc__w_fini(W); /* the server sees EOF: it cleans up and exits */
        free(W);
    }
    int status = 0;
    pid_t w;
    while ((w = waitpid(server, &status, 0)) < 0 && errno == EINTR)
        ;
    /* reaped by the program's own SIGCHLD handler (w < 0): its end is
     * unknown, and server_gone finds nothing to do after a clean one */
    if (w >= 0 && WIFEXITED(status) &&
        WEXITSTATUS(status) == MC__SERVER_FAILED) {
        /* end_on_failure: the server ended the session, cleanly */
        if (!rc || rc == MC_ELOST) {
            rc = MC_EPROCESS;
            snprintf(detail, sizeof detail, "mc_startup: a worker failed "
                     "and ended the session (end_on_failure; its report "
                     "is on stderr unless quiet)");
        }
    } else if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int clean = server_gone(dir, private_dir);
        if (w >= 0 && (!rc || rc == MC_ELOST)) {
            rc = MC_ELOST;
            snprintf(detail, sizeof detail, "mc_startup: the session "
                     "server ended (%s %d); the master removed what the "
                     "session made%s",
                     WIFSIGNALED(status) ? "signal" : "status",
                     WIFSIGNALED(status) ? WTERMSIG(status)
                                         : WEXITSTATUS(status),
                     clean ? "" : " (not all of it: see mcadmin list)");
        }
    }
    free(dir);
    give_stop_signals();
    close(st[1]);
    mc__window_release(&win);
    mc__maps_clear();
    mc__role_now = MC__ROLE_NONE;
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

/* master.c: the session server's process table, fork, and event loop.
 *
 * The loop waits (epoll) on one control socket per client (each live
 * worker, and the master: the program's own process), on a signalfd for
 * SIGCHLD and on the master's stop socket.  Requests are answered in
 * order; a blocking join (and the master's FINISH) is a request whose
 * reply waits.  Every worker is forked here, from the server's small and
 * quiet state: a copy of the program as it was when mc_startup was called.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "os/spin.h"
#include "proc/stat.h"
#include "proc/state.h"
#include "proc/status.h"

/* epoll tags: a client's mcore pid, or one of these (no pid is 0 or -2) */
#define EV_SIGCHLD 0u
#define EV_STOP ((uint64_t)-2)
#define EV_STAT MC__STAT_EV    /* mcadmin stat (stat.h) */

static void live_unlink(mc__proc *p)
{
    mc__master *M = mc__M;
    if (p->prev)
        p->prev->next = p->next;
    else
        M->live = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    M->n_live--;
}

static void proc_free(mc__proc *p)
{
    mc__idmap_del(&mc__M->procs, p->pid);
    mc__blob_free(&p->result);
    free(p);
}

/* Free the record once nothing can ask for it any more. */
static void proc_maybe_free(mc__proc *p)
{
    if (!p->alive && (p->joined || p->dropped))
        proc_free(p);
}

void mc__m_proc_taken(mc__proc *p)
{
    p->joined = 1;
    p->result = MC__BLOB_NONE; /* ownership went to the joiner */
    proc_maybe_free(p);
    mc__status_write(); /* for mcadmin (status.h) */
}

static int send_reply(mc__proc *to, mc__msg *m, const void *data, size_t len,
                      int data_fd, int extra_fd)
{
    m->op = MC__OP_REPLY;
    if (to->sock < 0)
        return MC_ELOST;
    /* Never block the master: a worker has at most one request in flight,
     * so its receive buffer has room; if not, it is broken anyway. */
    return mc__msg_send(to->sock, m, NULL, 0, data, len, data_fd, extra_fd,
                        MSG_DONTWAIT);
}

static void reply_rc(mc__proc *to, int rc, int64_t a)
{
    mc__msg m = {.rc = rc, .a = a};
    const char *d = rc < 0 ? mc_last_error_detail() : NULL;
    send_reply(to, &m, d, d ? strlen(d) : 0, -1, -1);
}

/* w no longer waits (answered, failed, timed out, or gone). */
static void wait_clear(mc__proc *w)
{
    if (w->wait_until) {
        w->wait_until = 0;
        mc__M->n_timed--;
    }
    w->waiting_on = 0;
    w->waiting_any = 0;
}

/* Hand p's outcome to the client blocked joining it (p->waiter). */
static void answer_waiter(mc__proc *p)
{
    mc__proc *w = mc__idmap_get(&mc__M->procs, p->waiter);
    p->waiter = 0;
    if (!w || !w->alive)
        return;
    wait_clear(w);
    mc__msg m = {.rc = 0, .a = p->kind, .b = p->code, .c = p->pid};
    if (p->result.fd >= 0)
        send_reply(w, &m, NULL, p->result.len, p->result.fd, -1);
    else
        send_reply(w, &m, p->result.data, p->result.len, -1, -1);
    mc__blob_free(&p->result);
    mc__m_proc_taken(p);
}

static void fail_waiter(mc__proc *p, int rc)
{
    mc__proc *w = mc__idmap_get(&mc__M->procs, p->waiter);
    p->waiter = 0;
    if (w && w->alive) {
        wait_clear(w);
        reply_rc(w, rc, 0);
    }
}

/* A client waiting in mc_join_any on p's join point, or NULL. */
static mc__proc *any_waiter(const mc__proc *p)
{
    size_t pos = 0;
    mc__proc *w;
    while ((w = mc__idmap_next(&mc__M->procs, &pos, NULL)))
        if (w->alive && w->waiting_any == p->join_id && w != p)
            return w;
    return NULL;
}

/* p's outcome is known.  If it failed: with end_on_failure, end the
 * session; unless quiet, say so on stderr (process.h: the master reports
 * failed workers).  The caller then hands the outcome to whoever waits. */
static void note_failure(const mc__proc *p)
{
    /* SIGINT is the terminal's Ctrl-C, sent to the whole process group:
     * the master's business, not a failure of the worker */
    if (p->killed || p->kind == MC_EXIT_RESULT ||
        (p->kind == MC_EXIT_SIGNAL && p->code == SIGINT))
        return;
    if (mc__M->end_on_failure && !mc__M->failed) {
        /* a broken pool: end the others; the loop then ends, and the
         * master's calls find the server gone (MC_ELOST) */
        mc__M->failed = p->pid;
        mc__m_stop(SIGTERM);
    }
    if (mc__M->quiet)
        return;
    const char *d = p->kind == MC_EXIT_ERROR && p->result.fd < 0 &&
                            p->result.len && p->result.data &&
                            ((const char *)p->result.data)[p->result.len - 1]
                                == '\0'
                        ? p->result.data
                        : "";
    if (p->kind == MC_EXIT_ERROR)
        fprintf(stderr, "mcore: worker %lld (pid %d) failed with code %d "
                "(%s)%s%s\n", (long long)p->pid, (int)p->ospid, p->code,
                mc_strerror(p->code), *d ? ": " : "", d);
    else if (p->kind == MC_EXIT_SIGNAL)
        fprintf(stderr, "mcore: worker %lld (pid %d) was killed by signal "
                "%d (%s)\n", (long long)p->pid, (int)p->ospid, p->code,
                strsignal(p->code));
    else
        fprintf(stderr, "mcore: worker %lld (pid %d) exited with status %d "
                "before its body returned\n", (long long)p->pid,
                (int)p->ospid, p->code);
}

/* 1 if a waiter took p's outcome (then p may be freed). */
static int deliver(mc__proc *p)
{
    mc__proc *w;
    if (!p->waiter && !p->dropped && (w = any_waiter(p)))
        p->waiter = w->pid;
    if (!p->waiter)
        return 0;
    answer_waiter(p); /* may free p */
    return 1;
}

/* ---------------------------------------------------------------- start */

static void close_conn(mc__proc *p)
{
    if (p->sock >= 0) {
        epoll_ctl(mc__M->epfd, EPOLL_CTL_DEL, p->sock, NULL);
        close(p->sock);
        p->sock = -1;
    }
}

/* In the new child: drop every descriptor that belongs to the master. */
static void child_close_master_fds(mc_pid self, int keep, mc__idmap *cache)
{
    mc__master *M = mc__M;
    for (mc__proc *q = M->live; q; q = q->next)
        if (q->sock >= 0 && q->sock != keep)
            close(q->sock);
    size_t pos = 0;
    mc__proc *q;
    while ((q = mc__idmap_next(&M->procs, &pos, NULL)))
        if (q->result.fd >= 0)
            close(q->result.fd);
    if (M->master && M->master->sock >= 0)
        close(M->master->sock);
    mc__m_res_child_fds(self, cache);
    close(M->epfd);
    close(M->sigfd);
    close(M->lockfd);
    mc__stat_close(0);
    if (M->stopfd >= 0)
        close(M->stopfd);
}

int mc__m_start(mc_pid who, mc_res_id fork_id, const void *arg, size_t len,
                int arg_fd, const mc_res_id *inherit, int64_t n, mc_pid *pid)
{
    mc__master *M = mc__M;
    mc__res *fp = mc__idmap_get(&M->res, fork_id);
    if (!fp)
        return mc__no_fork_point(fork_id);
    if (fp->kind != MC_RES_FORK_POINT)
        return mc__err(MC_ETYPE, "mc_start: resource %lld is not a fork "
                       "point", (long long)fork_id);
    if (M->failed)
        return mc__err(MC_ESTATE, "mc_start: the session is ending: worker "
                       "%lld failed (end_on_failure)", (long long)M->failed);
    if (mc__m_stopping())
        return mc__err(MC_ESTATE, "mc_start: the session is ending (signal "
                       "%d)", mc__m_stopping());
    if (M->timed_out)
        return mc__err(MC_ETIMEDOUT, "mc_start: the session's deadline "
                       "passed: its workers were ended");
    mc__def *def = fp->def;
    mc__proc *p = calloc(1, sizeof *p);
    if (!p)
        return mc__err(MC_ENOMEM, "out of memory");
    p->pid = M->next_pid;
    p->join_id = def->join_id;
    p->def = def;
    p->parent = who;
    p->sock = -1;
    p->result = MC__BLOB_NONE;
    int rc = mc__idmap_put(&M->procs, p->pid, p);
    if (rc) {
        free(p);
        return rc;
    }
    if ((rc = mc__m_res_inherit(who, p->pid, inherit, n)))
        goto undo;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        rc = mc__errno("socketpair");
        goto undo;
    }
    fflush(NULL); /* or the child would write the master's buffers again */
    pid_t master = getpid();
    pid_t os = fork();
    if (os < 0) {
        rc = mc__errno("fork");
        close(sv[0]);
        close(sv[1]);
        goto undo;
    }
    if (os == 0) {
        mc__idmap cache = {0};
        close(sv[0]);
        child_close_master_fds(p->pid, sv[1], &cache);
        sigprocmask(SIG_SETMASK, &M->oldmask, NULL);
        sigaction(SIGCHLD, &M->oldchld, NULL); /* the user's, not ours */
        prctl(PR_SET_NAME, M->comm);            /* not "mcore-server" */
        mc__m_child_signals();
        mc__worker_main(def, p->pid, sv[1], master, M->spin_ns, arg, len,
                        arg_fd, &cache);
    }
    close(sv[1]);
    p->ospid = os;
    p->sock = sv[0];
    p->alive = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)p->pid};
    if (epoll_ctl(M->epfd, EPOLL_CTL_ADD, p->sock, &ev) < 0) {
        /* cannot hear it: it will fail its first request and be reaped */
        close(p->sock);
        p->sock = -1;
    }
    p->next = M->live;
    if (M->live)
        M->live->prev = p;
    M->live = p;
    M->n_live++;
    M->next_pid++;
    *pid = p->pid;
    mc__status_write(); /* for mcadmin (status.h) */
    return 0;
undo:
    mc__m_res_drop_holder(p->pid);
    mc__idmap_del(&M->procs, p->pid);
    free(p);
    return rc;
}

/* ----------------------------------------------------------------- join */

int mc__m_join(mc_pid who, mc_res_id join, mc_pid pid, int nowait,
               mc__proc **out)
{
    mc__master *M = mc__M;
    mc__res *jp = mc__idmap_get(&M->res, join);
    if (!jp)
        return mc__err(MC_ENOENT, "no join point %lld",
                       (long long)join);
    if (jp->kind != MC_RES_JOIN_POINT)
        return mc__err(MC_ETYPE, "resource %lld is not a join point",
                       (long long)join);
    mc__proc *p = mc__idmap_get(&M->procs, pid);
    if (!p || p->joined) {
        if (pid > 0 && pid < M->next_pid)
            return mc__err(MC_ESTATE, "pid %lld was already joined",
                           (long long)pid);
        return mc__err(MC_ENOENT, "no process with pid %lld",
                       (long long)pid);
    }
    if (p->join_id != join)
        return mc__err(MC_EINVAL, "pid %lld belongs to join point "
                       "%lld, not %lld", (long long)pid,
                       (long long)p->join_id, (long long)join);
    if (p->waiter)
        return mc__err(MC_ESTATE, "pid %lld is being joined by pid "
                       "%lld", (long long)pid, (long long)p->waiter);
    if (p->done) {
        *out = p;
        return 0;
    }
    if (nowait)
        return mc__err(MC_EAGAIN, "pid %lld is still running",
                       (long long)pid);
    if (who == pid)
        return mc__err(MC_EINVAL, "a process cannot join itself");
    mc__proc *w = mc__idmap_get(&M->procs, who);
    p->waiter = who;
    if (w)
        w->waiting_on = pid;
    return 1;
}

int mc__m_join_any(mc_pid who, mc_res_id join, int nowait, mc__proc **out)
{
    mc__master *M = mc__M;
    mc__res *jp = mc__idmap_get(&M->res, join);
    if (!jp)
        return mc__err(MC_ENOENT, "no join point %lld", (long long)join);
    if (jp->kind != MC_RES_JOIN_POINT)
        return mc__err(MC_ETYPE, "resource %lld is not a join point",
                       (long long)join);
    /* the oldest finished one first; else is any left to wait for? */
    size_t pos = 0, running = 0;
    mc__proc *p, *best = NULL;
    while ((p = mc__idmap_next(&M->procs, &pos, NULL))) {
        if (p->join_id != join || p->joined || p->dropped || p->waiter ||
            p->pid == who || p->pid == MC__MASTER_PID)
            continue;
        if (!p->done)
            running++;
        else if (!best || p->pid < best->pid)
            best = p;
    }
    if (best) {
        *out = best;
        return 0;
    }
    if (!running)
        return mc__err(MC_ENOENT, "no process of join point %lld is left "
                       "to join", (long long)join);
    if (nowait)
        return mc__err(MC_ETIMEDOUT, "no process of join point %lld has "
                       "ended yet", (long long)join);
    mc__proc *w = mc__idmap_get(&M->procs, who);
    if (w)
        w->waiting_any = join;
    return 1;
}

int mc__m_point_release(mc_pid who, mc_res_id id, mc_res_kind kind)
{
    MC_UNUSED(who);
    mc__master *M = mc__M;
    mc__res *r = mc__idmap_get(&M->res, id);
    if (!r)
        return mc__err(MC_ENOENT, "release: no resource %lld", (long long)id);
    if (r->kind != kind)
        return mc__err(MC_ETYPE, "release: resource %lld is not a %s point",
                       (long long)id,
                       kind == MC_RES_FORK_POINT ? "fork" : "join");
    if (kind == MC_RES_JOIN_POINT) {
        size_t pos = 0;
        mc__proc *p;
        while ((p = mc__idmap_next(&M->procs, &pos, NULL))) {
            if (p->join_id != id || p->joined)
                continue;
            if (p->waiter)
                fail_waiter(p, mc__err(MC_ENOENT, "join point %lld "
                                       "was released", (long long)id));
            p->dropped = 1;
            mc__blob_free(&p->result);
            proc_maybe_free(p);
        }
    }
    mc__m_res_remove(r);
    return 0;
}

/* ------------------------------------------------------------- requests */

static void on_result(mc__proc *p, mc__msg *m, const void *data, int fd)
{
    if (p->done) { /* a second result: ignore, keep the first */
        if (fd >= 0)
            close(fd);
        return;
    }
    p->done = 1;
    /* its body has returned: it uses nothing any more, and whoever joins it
     * must find its holds gone, not racing with the reaping */
    mc__m_res_drop_holder(p->pid);
    p->kind = (mc_exit_kind)m->a;
    p->code = (int)m->b;
    if (fd >= 0) {
        p->result = (mc__blob){NULL, m->blob_len, fd};
    } else if (m->len) {
        p->result = (mc__blob){malloc(m->len), m->len, -1};
        if (!p->result.data) { /* cannot keep it: report, don't crash */
            p->kind = MC_EXIT_ERROR;
            p->code = MC_ENOMEM;
            p->result.len = 0;
        } else {
            memcpy(p->result.data, data, m->len);
        }
    }
    note_failure(p);
    if (p->dropped)
        mc__blob_free(&p->result);
    else
        deliver(p);
}

static void on_start(mc__proc *p, mc__msg *m, const char *data, int fd)
{
    int64_t n = m->b;
    size_t ids = n > 0 ? (size_t)n * sizeof(mc_res_id) : 0;
    if (n > (int64_t)(MC__INLINE_MAX / sizeof(mc_res_id)) || ids > m->len) {
        reply_rc(p, mc__err(MC_EINVAL, "bad inherit list"), 0);
        return;
    }
    mc_res_id *list = NULL;
    if (ids && !(list = malloc(ids))) { /* the payload may be unaligned */
        reply_rc(p, mc__err(MC_ENOMEM, "out of memory"), 0);
        return;
    }
    if (ids)
        memcpy(list, data, ids);
    mc_pid pid = 0;
    int rc = fd >= 0
                 ? mc__m_start(p->pid, m->a, NULL, m->blob_len, fd, list, n,
                               &pid)
                 : mc__m_start(p->pid, m->a, data + ids, m->len - ids, -1,
                               list, n, &pid);
    free(list);
    reply_rc(p, rc, pid);
}

static void on_join(mc__proc *p, mc__msg *m)
{
    mc__proc *q;
    int rc = m->b == 0 ? mc__m_join_any(p->pid, m->a, (int)m->c, &q)
                       : mc__m_join(p->pid, m->a, m->b, (int)m->c, &q);
    if (rc < 0)
        reply_rc(p, rc, 0);
    else if (rc == 0) {
        q->waiter = p->pid;
        answer_waiter(q);
    } else if (m->d >= 0) { /* a wait with a timeout: see expire_waits */
        p->wait_until = mc__now_ns() + (uint64_t)m->d * 1000000u;
        if (!p->wait_until)
            p->wait_until = 1;
        mc__M->n_timed++;
    }
}

static void on_kill(mc__proc *p, mc__msg *m)
{
    mc__master *M = mc__M;
    mc_pid pid = m->a;
    int sig = (int)m->b;
    mc__proc *q = pid > 0 ? mc__idmap_get(&M->procs, pid) : NULL;
    int rc = 0;
    if (pid == 0)
        rc = mc__err(MC_EINVAL, "pid 0 is the master");
    else if (sig < 0 || sig >= NSIG)
        rc = mc__err(MC_EINVAL, "%d is not a signal", sig);
    else if (!q || !q->alive)
        rc = mc__err(MC_ENOENT, "process %lld is not running",
                     (long long)pid);
    else if (kill(q->ospid, sig) < 0)
        rc = mc__errno("kill");
    else if (sig)
        q->killed = 1; /* on purpose: not reported */
    reply_rc(p, rc, 0);
}

static void on_ospid(mc__proc *p, mc__msg *m)
{
    mc__master *M = mc__M;
    mc_pid pid = m->a;
    mc__proc *q = pid == 0 ? M->master
                  : pid > 0 ? mc__idmap_get(&M->procs, pid) : NULL;
    if (!q || !q->alive)
        reply_rc(p, mc__err(MC_ENOENT, "process %lld is not running",
                            (long long)pid), 0);
    else
        reply_rc(p, 0, q->ospid);
}

static void on_cancel(mc__proc *p, mc__msg *m)
{
    mc__master *M = mc__M;
    mc__res *r = mc__idmap_get(&M->res, m->a);
    if (r && r->kind == MC_RES_JOIN_POINT)
        for (mc__proc *q = M->live; q; q = q->next)
            if (q->join_id == m->a && !q->done) {
                q->killed = 1;
                kill(q->ospid, SIGKILL);
            }
    reply_rc(p, mc__m_point_release(p->pid, m->a, MC_RES_JOIN_POINT), 0);
}

static void on_res(mc__proc *p, mc__msg *m, const char *data)
{
    mc__res *r = NULL;
    int rc;
    switch (m->op) {
    case MC__OP_RES_CREATE:
        if (m->len == 0 || data[m->len - 1] != '\0') {
            rc = mc__err(MC_EINVAL, "malformed request");
            break;
        }
        rc = mc__m_res_create(p->pid, (mc_res_kind)m->a,
                              data[0] ? data : NULL, (size_t)m->b, &r);
        break;
    case MC__OP_RES_GET:
        rc = mc__m_res_get(p->pid, m->a, (unsigned)m->b, &r);
        break;
    case MC__OP_RES_RELEASE:
        rc = mc__m_res_release(p->pid, m->a);
        break;
    default:
        rc = mc__m_point_release(p->pid, m->a, (mc_res_kind)m->b);
        break;
    }
    if (rc || !r) {
        reply_rc(p, rc, 0);
        return;
    }
    mc__msg rep = {.rc = 0, .a = m->op == MC__OP_RES_GET ? r->kind : r->id,
                   .b = (int64_t)r->size, .c = (int64_t)(uintptr_t)r->addr};
    const char *name = r->name ? r->name : "";
    send_reply(p, &rep, name, strlen(name), -1, r->fd);
}

static void dispatch(mc__proc *p, mc__msg *m, int blob_fd, int extra_fd)
{
    const char *data = (const char *)(m + 1);
    if (extra_fd >= 0)
        close(extra_fd); /* workers never send resources this way */
    mc__err_clear(); /* a reply's detail is this request's, or none */
    switch (m->op) {
    case MC__OP_RESULT:
        on_result(p, m, data, blob_fd);
        return;
    case MC__OP_START:
        on_start(p, m, data, blob_fd);
        break;
    case MC__OP_JOIN:
        on_join(p, m);
        break;
    case MC__OP_RES_CREATE:
    case MC__OP_RES_GET:
    case MC__OP_RES_RELEASE:
    case MC__OP_POINT_RELEASE:
        on_res(p, m, data);
        break;
    case MC__OP_KILL:
        on_kill(p, m);
        break;
    case MC__OP_OSPID:
        on_ospid(p, m);
        break;
    case MC__OP_CANCEL:
        on_cancel(p, m);
        break;
    case MC__OP_FINISH:
        if (p->pid != MC__MASTER_PID)
            reply_rc(p, mc__err(MC_EINVAL, "FINISH from a worker"), 0);
        else { /* answered by the loop (finish_check) */
            mc__M->finish = 1;
            mc__M->finish_ending = m->a != 0;
        }
        break;
    case MC__OP_POOL_FIND: {
        long long id = 0;
        if (mc__maps_by_addr((void *)(uintptr_t)m->a, &id) && id > 0)
            reply_rc(p, 0, id);
        else
            reply_rc(p, mc__err(MC_ENOENT, "address %p is in no pool",
                                (void *)(uintptr_t)m->a), 0);
        break;
    }
    default:
        reply_rc(p, mc__err(MC_EINVAL, "unknown request %u", m->op), 0);
    }
    if (blob_fd >= 0)
        close(blob_fd);
}

static void master_gone(mc__proc *p);

/* Read what p sent.  dying: p has exited; take only its result. */
static void drain(mc__proc *p, int dying)
{
    while (p->sock >= 0) {
        mc__msg *m;
        int bfd, xfd;
        int r = mc__msg_recv(p->sock, mc__M->buf, &m, &bfd, &xfd,
                             MSG_DONTWAIT);
        if (r == MC_EAGAIN)
            return;
        if (r <= 0) { /* EOF, or a broken socket: it is ending */
            close_conn(p);
            if (p == mc__M->master)
                master_gone(p);
            return;
        }
        if (!dying || m->op == MC__OP_RESULT)
            dispatch(p, m, bfd, xfd);
        else {
            if (bfd >= 0)
                close(bfd);
            if (xfd >= 0)
                close(xfd);
        }
    }
}

/* ---------------------------------------------------------------- reap */

/* The master closed its socket: it returned from mc_startup, or it died
 * (killed, or exited without returning).  Either way the session is over:
 * whatever still runs is ended, and the server cleans up after it, so a
 * master killed outright leaves nothing behind. */
static void master_gone(mc__proc *p)
{
    mc__master *M = mc__M;
    M->master = NULL;
    M->finish = 0;
    p->alive = 0;
    if (p->waiting_on) {
        mc__proc *q = mc__idmap_get(&M->procs, p->waiting_on);
        if (q && q->waiter == p->pid)
            q->waiter = 0;
    }
    wait_clear(p);
    mc__m_res_died_holding(p->pid);
    mc__m_res_drop_holder(p->pid);
    proc_free(p);
    for (mc__proc *q = M->live; q; q = q->next) {
        q->killed = 1;
        kill(q->ospid, SIGKILL);
    }
}

/* The master waits (FINISH) until no worker is left.  After first
 * failed, it waits for none: each worker still running (or started by
 * another meanwhile) is ended, quietly, as for Ctrl-C. */
static void finish_check(void)
{
    mc__master *M = mc__M;
    if (M->finish && M->finish_ending)
        for (mc__proc *q = M->live; q; q = q->next)
            if (!q->killed) {
                q->killed = 1;
                kill(q->ospid, SIGKILL);
            }
    if (M->finish && M->n_live == 0 && M->master) {
        M->finish = 0;
        M->finish_ending = 0;
        reply_rc(M->master, M->timed_out
                                ? mc__err(MC_ETIMEDOUT, "mc_startup: the "
                                          "session's deadline passed: its "
                                          "workers were ended")
                                : 0, mc__res_next_id());
    }
}

/* Timed joins whose time ran out get MC_ETIMEDOUT; the session's deadline
 * ends every worker.  Returns the milliseconds until the next deadline
 * (-1: none), for epoll_wait. */
static int expire_waits(void)
{
    mc__master *M = mc__M;
    if (!M->n_timed && !M->deadline)
        return -1;
    uint64_t now = mc__now_ns(), next = UINT64_MAX;
    if (M->deadline && !M->timed_out) {
        if (now >= M->deadline) {
            M->timed_out = 1;
            for (mc__proc *q = M->live; q; q = q->next) {
                q->killed = 1;
                kill(q->ospid, SIGKILL);
            }
        } else {
            next = M->deadline;
        }
    }
    size_t pos = 0;
    mc__proc *w;
    while (M->n_timed && (w = mc__idmap_next(&M->procs, &pos, NULL))) {
        if (!w->wait_until)
            continue;
        if (now < w->wait_until) {
            if (w->wait_until < next)
                next = w->wait_until;
            continue;
        }
        if (w->waiting_on) {
            mc__proc *q = mc__idmap_get(&M->procs, w->waiting_on);
            if (q && q->waiter == w->pid)
                q->waiter = 0;
        }
        wait_clear(w);
        reply_rc(w, mc__err(MC_ETIMEDOUT, "the wait timed out"), 0);
    }
    if (next == UINT64_MAX)
        return -1;
    uint64_t ms = (next - now + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* A stop signal reached the master (startup.c's handler wrote its number
 * on the stop socket): end the workers; the loop ends once they are
 * reaped, without waiting for the master, which waits for the server. */
static void on_stop(void)
{
    unsigned char sig;
    ssize_t n = read(mc__M->stopfd, &sig, 1);
    if (n == 1)
        mc__m_stop(sig);
    else if (n == 0) { /* the master is gone: its socket says so too */
        epoll_ctl(mc__M->epfd, EPOLL_CTL_DEL, mc__M->stopfd, NULL);
        close(mc__M->stopfd);
        mc__M->stopfd = -1;
    }
}

static void exited(mc__proc *p, int status)
{
    drain(p, 1);
    close_conn(p);
    p->alive = 0;
    live_unlink(p);
    if (p->waiting_on) {
        mc__proc *q = mc__idmap_get(&mc__M->procs, p->waiting_on);
        if (q && q->waiter == p->pid)
            q->waiter = 0;
    }
    wait_clear(p);
    if (!p->done)
        mc__m_res_died_holding(p->pid);
    mc__m_res_drop_holder(p->pid);
    if (!p->done) {
        p->done = 1;
        if (WIFSIGNALED(status)) {
            p->kind = MC_EXIT_SIGNAL;
            p->code = WTERMSIG(status);
        } else {
            p->kind = MC_EXIT_STATUS;
            p->code = WEXITSTATUS(status);
        }
        note_failure(p);
        if (!deliver(p))
            proc_maybe_free(p);
    } else {
        proc_maybe_free(p);
    }
}

static void reap(void)
{
    struct signalfd_siginfo si;
    while (read(mc__M->sigfd, &si, sizeof si) == sizeof si)
        ;
    mc__proc *p = mc__M->live, *next;
    for (; p; p = next) {
        next = p->next;
        int st;
        pid_t r = waitpid(p->ospid, &st, WNOHANG);
        if (r == p->ospid)
            exited(p, st);
    }
    mc__status_write(); /* for mcadmin (status.h) */
}

/* Wait up to timeout_ms (-1: forever) and handle what arrived.  Returns
 * the number of events, or MC_E*. */
static int poll_once(int timeout_ms)
{
    mc__master *M = mc__M;
    struct epoll_event ev[32];
    int n = epoll_wait(M->epfd, ev, 32, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : mc__errno("epoll_wait");
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == EV_SIGCHLD) {
            reap();
            continue;
        }
        if (ev[i].data.u64 == EV_STOP) {
            on_stop();
            continue;
        }
        if (ev[i].data.u64 == EV_STAT) {
            mc__stat_serve();
            continue;
        }
        mc_pid pid = (mc_pid)ev[i].data.u64;
        mc__proc *p = mc__idmap_get(&M->procs, pid);
        if (p && p->sock >= 0)
            drain(p, 0);
    }
    return n;
}

void mc__m_stop(int sig)
{
    mc__master *M = mc__M;
    if (M->stop_sig)
        return;
    M->stop_sig = sig;
    for (mc__proc *p = M->live; p; p = p->next) {
        p->killed = 1; /* the user asked for the end: no failure to report */
        kill(p->ospid, SIGKILL);
    }
}

int mc__m_stopping(void)
{
    return mc__M->stop_sig;
}

int mc__m_loop(void)
{
    mc__master *M = mc__M;
    uint64_t spin_end = 0; /* poll until then, since the last event */
    /* until the master is gone and no worker is left; after a stop signal,
     * until no worker is left */
    while (M->n_live > 0 || (M->master && !mc__m_stopping())) {
        int polling = M->spin_ns && mc__now_ns() < spin_end;
        int wait = expire_waits();
        int n = poll_once(polling ? 0 : wait);
        if (n < 0)
            return n;
        finish_check();
        if (n == 0) {
            if (polling)
                mc__spin_pause();
            continue;
        }
        if (M->spin_ns)
            spin_end = mc__now_ns() + M->spin_ns;
    }
    return 0;
}

void mc__m_procs_free(void)
{
    size_t pos = 0;
    mc__proc *p;
    while ((p = mc__idmap_next(&mc__M->procs, &pos, NULL))) {
        close_conn(p);
        proc_free(p);
    }
    mc__idmap_free(&mc__M->procs);
    mc__M->master = NULL;
    mc__M->live = NULL;
    mc__M->n_live = 0;
}

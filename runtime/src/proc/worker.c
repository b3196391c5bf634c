/* worker.c: a client's side of the control socket (a worker's, or the
 * master's: both are clients of the session server), and a worker's life
 * from fork to exit. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "os/shm.h"
#include "os/spin.h"
#include "os/title.h"
#include "proc/state.h"

/* The reply: polled for a while (see os/spin.h), then waited for. */
static int recv_reply(mc__worker *W, mc__msg **m, int *bfd, int *xfd)
{
    if (W->spin_ns) {
        uint64_t end = mc__now_ns() + W->spin_ns;
        do {
            int rc = mc__msg_recv(W->sock, W->buf, m, bfd, xfd, MSG_DONTWAIT);
            if (rc != MC_EAGAIN)
                return rc;
            mc__spin_pause();
        } while (mc__now_ns() < end);
    }
    return mc__msg_recv(W->sock, W->buf, m, bfd, xfd, 0);
}

/* A fork() of a worker inherits its socket: its requests and the worker's
 * would cross (each could read the other's reply).  The child is no
 * worker: it is refused before it touches the socket. */
int mc__w_forked(const char *fn)
{
    pid_t me = getpid();
    if (MC_LIKELY(me == mc__W->ospid))
        return 0;
    if (mc__W->self == 0)
        return mc__err(MC_ESTATE, "%s: process %d is a fork() of the master "
                       "(pid %d), not a process of the session: it has no "
                       "connection to the session (start workers with "
                       "mc_start)", fn, (int)me, (int)mc__W->ospid);
    return mc__err(MC_ESTATE, "%s: process %d is a fork() of worker %lld "
                   "(pid %d), not a worker: it has no connection to the "
                   "master (start workers with mc_start)", fn, (int)me,
                   (long long)mc__W->self, (int)mc__W->ospid);
}

int mc__rpc_held(mc__msg *req, const void *head, size_t head_len,
                 const void *body, size_t body_len, int body_fd, mc__msg *rep,
                 mc__blob *payload, int *extra_fd)
{
    mc__worker *W = mc__W;
    mc__msg *m;
    int bfd = -1, xfd = -1;
    int rc = mc__w_forked("request to the master");
    if (!rc)
        rc = mc__msg_send(W->sock, req, head, head_len, body, body_len,
                          body_fd, -1, 0);
    if (rc == 0) {
        rc = recv_reply(W, &m, &bfd, &xfd);
        if (rc == 0)
            rc = mc__err(MC_ELOST, "the session server is gone");
        else if (rc > 0)
            rc = m->op == MC__OP_REPLY
                     ? 0
                     : mc__err(MC_ESYS, "unexpected message %u", m->op);
    }
    if (rc) {
        if (bfd >= 0)
            close(bfd);
        if (xfd >= 0)
            close(xfd);
        return rc;
    }
    *rep = *m;
    if (rep->rc < 0 && m->len) /* carry the master's explanation over */
        mc__err(rep->rc, "%.*s", (int)m->len, (const char *)(m + 1));
    else if (rep->rc < 0)
        mc__err(rep->rc, "request to the master: %s", mc_strerror(rep->rc));
    if (payload) {
        *payload = MC__BLOB_NONE;
        if (bfd >= 0) {
            *payload = (mc__blob){NULL, m->blob_len, bfd};
            bfd = -1;
        } else if (m->len) {
            payload->data = malloc(m->len);
            if (!payload->data)
                rc = mc__err(MC_ENOMEM, "reply: out of memory");
            else {
                memcpy(payload->data, m + 1, m->len);
                payload->len = m->len;
            }
        }
    }
    if (bfd >= 0)
        close(bfd);
    if (extra_fd)
        *extra_fd = xfd;
    else if (xfd >= 0)
        close(xfd);
    return rc;
}

int mc__rpc(mc__msg *req, const void *head, size_t head_len, const void *body,
            size_t body_len, int body_fd, mc__msg *rep, mc__blob *payload,
            int *extra_fd)
{
    pthread_mutex_lock(&mc__W->lock);
    int rc = mc__rpc_held(req, head, head_len, body, body_len, body_fd, rep,
                          payload, extra_fd);
    pthread_mutex_unlock(&mc__W->lock);
    return rc;
}

static void send_result(mc__worker *W, mc_exit_kind kind, int code,
                        const void *data, size_t len)
{
    if (getpid() != W->ospid)
        return; /* a fork() of the worker returned from the body */
    mc__msg m = {.op = MC__OP_RESULT, .a = kind, .b = code};
    int rc = mc__msg_send(W->sock, &m, NULL, 0, data, len, -1, -1, 0);
    if (rc && rc != MC_ELOST) { /* e.g. no memory for a memfd: say why */
        mc__msg e = {.op = MC__OP_RESULT, .a = MC_EXIT_ERROR, .b = rc};
        mc__msg_send(W->sock, &e, NULL, 0, NULL, 0, -1, -1, 0);
    }
}

/* The detail travels with the outcome (process.h: mc_join_result). */
static void send_error(mc__worker *W, int rc)
{
    const char *d = mc_last_error_detail();
    send_result(W, MC_EXIT_ERROR, rc, *d ? d : NULL, *d ? strlen(d) + 1 : 0);
}

void mc__w_init(mc__worker *w, mc_pid self, int sock, pid_t server,
                uint64_t spin_ns, mc__idmap *cache)
{
    w->sock = sock;
    w->self = self;
    w->ospid = getpid();
    w->master_ospid = server;
    w->spin_ns = spin_ns;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->cache_lock, NULL);
    w->cache = *cache;
    mc__W = w;
    mc__M = NULL;
    mc__role_now = MC__ROLE_WORKER;
}

void mc__w_fini(mc__worker *w)
{
    size_t pos = 0;
    mc__cached *c;
    while ((c = mc__idmap_next(&w->cache, &pos, NULL))) {
        if (c->fd >= 0)
            close(c->fd);
        if (c->sem)
            sem_close(c->sem);
        free(c);
    }
    mc__idmap_free(&w->cache);
    if (w->sock >= 0)
        close(w->sock);
    w->sock = -1;
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->cache_lock);
    if (mc__W == w)
        mc__W = NULL;
}

_Noreturn void mc__worker_main(mc__def *def, mc_pid self, int sock,
                               pid_t master, uint64_t spin_ns,
                               const void *arg, size_t len, int arg_fd,
                               mc__idmap *cache)
{
    /* The worker must not outlive the master: the kernel kills it when the
     * master dies, and a request after that sees EOF (MC_ELOST). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != master)
        _exit(127);
    static mc__worker w;
    mc__w_init(&w, self, sock, master, spin_ns, cache);
    mc__err_clear(); /* not the master's, from before the fork */
    mc__title_worker(def->name, self); /* as ps and top show it */

    void *argbuf = NULL;
    if (arg_fd >= 0) {
        int rc = mc__memfd_read(arg_fd, len, &argbuf);
        close(arg_fd);
        if (rc) {
            send_error(&w, rc);
            _exit(1);
        }
        arg = argbuf;
    }
    void *res = NULL;
    size_t res_len = 0;
    int rc = def->body(def->user, arg, len, &res, &res_len);
    free(argbuf);
    if (rc)
        send_error(&w, rc);
    else
        send_result(&w, MC_EXIT_RESULT, 0, res, res ? res_len : 0);
    free(res);
    fflush(NULL);
    _exit(0);
}

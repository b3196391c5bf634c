/* process.c: the public process API (definitions, start, join, release). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "os/shm.h"
#include "os/title.h"
#include "proc/state.h"

mc__role mc__role_now;
mc__master *mc__M;
mc__worker *mc__W;

/* Process types, defined before a session; they outlive sessions. */
static mc__def **defs;
static size_t n_defs;


int mc__need_session(const char *fn)
{
    if (mc__role_now == MC__ROLE_NONE)
        return mc__err(MC_ESTATE, "%s: no session is running (call it "
                       "inside mc_startup or a worker)", fn);
    if (MC_LIKELY(mc__role_now == MC__ROLE_WORKER))
        return mc__w_forked(fn);
    /* the session server runs no user code: only a fork() of it could
     * get here (a worker between fork and its start) */
    return mc__err(MC_ESTATE, "%s: not a process of the session", fn);
}

int mc_def_process(mc_body_fn *body, void *user, mc_res_id *fork_point,
                   mc_res_id *join_point)
{
    return mc_def_process_named(NULL, body, user, fork_point, join_point);
}

int mc_def_process_named(const char *name, mc_body_fn *body, void *user,
                         mc_res_id *fork_point, mc_res_id *join_point)
{
    /* the detail names the function the caller called (mc_tproc_def and
     * generated X_def give a name) */
    const char *fn = name ? "mc_def_process_named" : "mc_def_process";
    if (!body || !fork_point || !join_point)
        return mc__err(MC_EINVAL, "%s: NULL argument", fn);
    if (name && !mc__title_name_ok(name))
        return mc__err(MC_EINVAL, "%s: name \"%.40s\" is not 1 to %d "
                       "letters, digits, '_', '.' or '-'", fn, name,
                       MC_PROCESS_NAME_MAX);
    if (mc__role_now != MC__ROLE_NONE)
        return mc__err(MC_ESTATE, "%s: processes must be defined in the "
                       "master before mc_startup, not %s", fn,
                       mc__role_now == MC__ROLE_MASTER || mc_self_pid() == 0
                           ? "during a session"
                           : "in a worker");
    mc__def **nd = realloc(defs, (n_defs + 1) * sizeof *nd);
    if (!nd)
        return mc__err(MC_ENOMEM, "%s: out of memory", fn);
    defs = nd;
    mc__def *d = calloc(1, sizeof *d);
    if (!d)
        return mc__err(MC_ENOMEM, "%s: out of memory", fn);
    d->body = body;
    d->user = user;
    if (name && !(d->name = strdup(name))) {
        free(d);
        return mc__err(MC_ENOMEM, "%s: out of memory", fn);
    }
    d->fork_id = mc__res_new_id();
    d->join_id = mc__res_new_id();
    defs[n_defs++] = d;
    *fork_point = d->fork_id;
    *join_point = d->join_id;
    return 0;
}

int mc__no_fork_point(mc_res_id id)
{
    for (size_t i = 0; i < n_defs; i++)
        if (defs[i]->fork_id == id)
            return mc__err(MC_ENOENT, "mc_start: fork point %lld was "
                           "released in this session", (long long)id);
    return mc__err(MC_ENOENT, "mc_start: no process is defined with fork "
                   "point %lld: a process's definition (mc_def_process, or "
                   "its generated _def) must be made in the master before "
                   "mc_startup", (long long)id);
}

/* Enter every definition into a new session's resource table.  A release
 * lasts until the end of its session: each session starts from the
 * definitions made before it. */
int mc__defs_register(void)
{
    for (size_t i = 0; i < n_defs; i++) {
        mc__def *d = defs[i];
        int rc = mc__m_res_add_point(d->fork_id, MC_RES_FORK_POINT, d);
        if (!rc)
            rc = mc__m_res_add_point(d->join_id, MC_RES_JOIN_POINT, d);
        if (rc)
            return rc;
    }
    return 0;
}

/* n < 0: inherit everything the caller holds. */
static int start(mc_res_id fork_point, const void *arg, size_t len,
                 const mc_res_id *inherit, int64_t ni, mc_pid *pid)
{
    int rc = mc__need_session("mc_start");
    if (rc)
        return rc;
    if (!pid || (!arg && len) || (!inherit && ni > 0))
        return mc__err(MC_EINVAL, "mc_start: NULL argument");
    size_t n = ni > 0 ? (size_t)ni : 0;
    size_t ids = n * sizeof *inherit;
    if (ids > MC__INLINE_MAX)
        return mc__err(MC_E2BIG, "mc_start_ex: %zu inherited ids do not fit "
                       "in one request (at most %zu)", n,
                       (size_t)MC__INLINE_MAX / sizeof *inherit);
    mc__msg req = {.op = MC__OP_START, .a = fork_point, .b = ni}, rep;
    if ((rc = mc__rpc(&req, inherit, ids, arg, len, -1, &rep, NULL, NULL)))
        return rc;
    if (rep.rc)
        return rep.rc;
    *pid = rep.a;
    return 0;
}

int mc_start_ex(mc_res_id fork_point, const void *arg, size_t len,
                const mc_res_id *inherit, size_t n, mc_pid *pid)
{
    if (n > INT64_MAX / sizeof *inherit)
        return mc__err(MC_EINVAL, "mc_start_ex: n too large");
    int rc = start(fork_point, arg, len, inherit, (int64_t)n, pid);
    return rc ? mc__err_in(rc, "mc_start_ex") : 0;
}

int mc_start(mc_res_id fork_point, const void *arg, size_t len, mc_pid *pid)
{
    int rc = start(fork_point, arg, len, NULL, -1, pid);
    return rc ? mc__err_in(rc, "mc_start") : 0;
}

/* pid 0: any process of the join point; *joined gets the one taken.
 * nowait: answer at once; else timeout_ms (< 0: none). */
static int join(const char *fn, mc_res_id jp, mc_pid pid, int nowait,
                int timeout_ms, mc_pid *joined, mc_join_result *out)
{
    int rc = mc__need_session(fn);
    if (rc)
        return rc;
    if (!out)
        return mc__err(MC_EINVAL, "%s: NULL result", fn);
    *out = (mc_join_result){0};
    mc__blob b = MC__BLOB_NONE;
    mc__msg req = {.op = MC__OP_JOIN, .a = jp, .b = pid, .c = nowait,
                   .d = timeout_ms}, rep;
    if ((rc = mc__rpc(&req, NULL, 0, NULL, 0, -1, &rep, &b, NULL)))
        return rc;
    if (rep.rc) {
        mc__blob_free(&b);
        return rep.rc;
    }
    out->kind = (mc_exit_kind)rep.a;
    out->code = (int)rep.b;
    if (joined)
        *joined = rep.c;
    if (b.fd >= 0) { /* a large result travelled as a memfd */
        rc = mc__memfd_read(b.fd, b.len, &b.data);
        close(b.fd);
        b.fd = -1;
        if (rc)
            return rc;
    }
    out->data = b.data;
    out->len = b.len;
    return 0;
}

static int join_pid(const char *fn, mc_res_id jp, mc_pid pid, int nowait,
                    int timeout_ms, mc_join_result *out)
{
    if (pid <= 0) { /* 0 would mean "any" on the wire */
        int rc = mc__need_session(fn);
        if (rc)
            return rc;
        if (out)
            *out = (mc_join_result){0};
        return mc__err(MC_ENOENT, "no process with pid %lld",
                       (long long)pid);
    }
    return join(fn, jp, pid, nowait, timeout_ms, NULL, out);
}

int mc_join(mc_res_id join_point, mc_pid pid, mc_join_result *out)
{
    int rc = join_pid("mc_join", join_point, pid, 0, -1, out);
    return rc ? mc__err_in(rc, "mc_join") : 0;
}

int mc_join_nowait(mc_res_id join_point, mc_pid pid, mc_join_result *out)
{
    int rc = join_pid("mc_join_nowait", join_point, pid, 1, -1, out);
    return rc ? mc__err_in(rc, "mc_join_nowait") : 0;
}

int mc_join_timed(mc_res_id join_point, mc_pid pid, int timeout_ms,
                  mc_join_result *out)
{
    int rc = join_pid("mc_join_timed", join_point, pid, 0,
                      timeout_ms < 0 ? -1 : timeout_ms, out);
    return rc ? mc__err_in(rc, "mc_join_timed") : 0;
}

int mc_join_any(mc_res_id join_point, int timeout_ms, mc_pid *pid,
                mc_join_result *out)
{
    int rc;
    if (!pid)
        rc = mc__err(MC_EINVAL, "mc_join_any: NULL pid");
    else
        rc = join("mc_join_any", join_point, 0, timeout_ms == 0,
                  timeout_ms < 0 ? -1 : timeout_ms, pid, out);
    return rc ? mc__err_in(rc, "mc_join_any") : 0;
}

/* One request about a process: MC__OP_KILL, _OSPID, _CANCEL. */
static int ask(const char *fn, uint32_t op, int64_t a, int64_t b,
               int64_t *answer)
{
    int rc = mc__need_session(fn);
    if (rc)
        return rc;
    mc__msg req = {.op = op, .a = a, .b = b}, rep;
    if ((rc = mc__rpc(&req, NULL, 0, NULL, 0, -1, &rep, NULL, NULL)))
        return rc;
    if (!rep.rc && answer)
        *answer = rep.a;
    return rep.rc;
}

int mc_kill(mc_pid pid, int sig)
{
    int rc = ask("mc_kill", MC__OP_KILL, pid, sig, NULL);
    return rc ? mc__err_in(rc, "mc_kill") : 0;
}

int mc_os_pid(mc_pid pid, pid_t *ospid)
{
    int64_t v = 0;
    int rc = ospid ? ask("mc_os_pid", MC__OP_OSPID, pid, 0, &v)
                   : mc__err(MC_EINVAL, "mc_os_pid: NULL ospid");
    if (!rc)
        *ospid = (pid_t)v;
    return rc ? mc__err_in(rc, "mc_os_pid") : 0;
}

int mc_cancel(mc_res_id join_point)
{
    int rc = ask("mc_cancel", MC__OP_CANCEL, join_point, 0, NULL);
    return rc ? mc__err_in(rc, "mc_cancel") : 0;
}

void mc_join_result_free(mc_join_result *r)
{
    if (!r)
        return;
    free(r->data);
    *r = (mc_join_result){0};
}

static int point_release_(mc_res_id id, mc_res_kind kind, const char *fn)
{
    int rc = mc__need_session(fn);
    if (rc)
        return rc;
    mc__msg req = {.op = MC__OP_POINT_RELEASE, .a = id, .b = kind}, rep;
    if ((rc = mc__rpc(&req, NULL, 0, NULL, 0, -1, &rep, NULL, NULL)))
        return rc;
    return rep.rc;
}

static int point_release(mc_res_id id, mc_res_kind kind, const char *fn)
{
    int rc = point_release_(id, kind, fn);
    return rc ? mc__err_in(rc, fn) : 0;
}

int mc_release_join_point(mc_res_id join_point)
{
    return point_release(join_point, MC_RES_JOIN_POINT,
                         "mc_release_join_point");
}

int mc_release_fork_point(mc_res_id fork_point)
{
    return point_release(fork_point, MC_RES_FORK_POINT,
                         "mc_release_fork_point");
}

mc_pid mc_self_pid(void)
{
    return mc__role_now == MC__ROLE_WORKER && getpid() == mc__W->ospid
               ? mc__W->self
               : 0;
}

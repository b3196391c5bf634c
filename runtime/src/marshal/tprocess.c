/* tprocess.c: typed processes over the byte interface of process.h: the
 * argument and the result are marshalled. */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "mcore/marshal.h"
#include "mcore/tprocess.h"

/* The byte body: unmarshal, run the typed body, marshal the result. */
static int run(void *user, const void *arg, size_t len, void **res,
               size_t *res_len)
{
    mc_tproc *p = user;
    void *a = NULL, *r = NULL;
    int rc = 0;
    if (p->arg_t && (rc = mc_unmarshal(p->arg_t, arg, len, &a)))
        return rc;
    if (p->res_t && !(r = calloc(1, p->res_t->size ? p->res_t->size : 1)))
        rc = mc__err(MC_ENOMEM, "process: no memory for the result");
    if (!rc)
        rc = p->body(a, r, p->user);
    /* the worker exits right after: what the body allocated is not freed */
    if (!rc && p->res_t)
        rc = mc_marshal(p->res_t, r, res, res_len);
    free(r);
    mc_local_free(a);
    return rc;
}

/* The process, in words: its name, or its types. */
static const char *describe(const mc_tproc *p, char *buf, size_t cap)
{
    if (p->name)
        snprintf(buf, cap, "%s", p->name);
    else
        snprintf(buf, cap, "(argument %s, result %s)",
                 p->arg_t ? p->arg_t->name : "none",
                 p->res_t ? p->res_t->name : "none");
    return buf;
}

int mc_tproc_def(mc_tproc *p, mc_tbody_fn *body, void *user)
{
    char d[256];
    if (!p || !body)
        return mc__err(MC_EINVAL, "mc_tproc_def: NULL %s",
                       p ? "body" : "process");
    if (p->fork) /* a second body would replace the first for every start */
        return mc__err(MC_EEXIST, "mc_tproc_def: process %s is defined "
                       "already (fork point %lld)", describe(p, d, sizeof d),
                       (long long)p->fork);
    mc_res_id fork, join;
    int rc = mc_def_process_named(p->name, run, p, &fork, &join);
    if (rc)
        return rc;
    p->body = body;
    p->user = user;
    p->fork = fork;
    p->join = join;
    return 0;
}

int mc_tproc_start(mc_tproc *p, const void *arg, mc_pid *pid)
{
    void *bytes = NULL;
    size_t len = 0;
    int rc;
    if (!p)
        return mc__err(MC_EINVAL, "mc_tproc_start: NULL process");
    if (!p->fork) {
        char d[256];
        return mc__err(MC_ENOENT, "mc_tproc_start: process %s was never "
                       "defined: its _def must be called in the master "
                       "before mc_startup", describe(p, d, sizeof d));
    }
    if (p->arg_t) {
        if (!arg)
            return mc__err(MC_EINVAL, "mc_tproc_start: NULL argument");
        if ((rc = mc_marshal(p->arg_t, arg, &bytes, &len)))
            return rc;
    }
    rc = mc_start(p->fork, bytes, len, pid);
    free(bytes);
    return rc;
}

/* A process's outcome r as a typed join gives it (fn, who: for the
 * detail): 0 with *result, or MC_EPROCESS; r is freed. */
static int take(const mc_tproc *p, const char *fn, const char *who,
                mc_join_result *r, void **result, mc_join_result *how)
{
    int rc = 0;
    if (r->kind == MC_EXIT_ERROR) { /* the worker's detail, passed on */
        rc = mc__err(MC_EPROCESS, "%s: %s: body returned %d (%s)%s%.*s", fn,
                     who, r->code, mc_strerror(r->code), r->len ? ": " : "",
                     (int)r->len, r->data ? (const char *)r->data : "");
    } else if (r->kind != MC_EXIT_RESULT) {
        rc = mc__err(MC_EPROCESS, "%s: %s: %s %d", fn, who,
                     r->kind == MC_EXIT_STATUS ? "exited with status"
                                               : "killed by signal",
                     r->code);
    } else if (p->res_t && result) {
        rc = mc_unmarshal(p->res_t, r->data, r->len, result);
    }
    if (how) {
        *how = *r;
        how->data = NULL;
        how->len = 0;
    }
    mc_join_result_free(r);
    return rc;
}

enum { JOIN_WAIT = -2, JOIN_NOWAIT = -3 };

/* A typed join through the byte join that `mode` names: JOIN_WAIT
 * mc_join, JOIN_NOWAIT mc_join_nowait, else mc_join_timed with mode as
 * its timeout (fn: for the details). */
static int join_as(mc_tproc *p, mc_pid pid, void **result,
                   mc_join_result *how, const char *fn, int mode)
{
    mc_join_result r;
    char who[64];
    if (result)
        *result = NULL;
    if (!p)
        return mc__err(MC_EINVAL, "%s: NULL process", fn);
    int rc = mode == JOIN_WAIT     ? mc_join(p->join, pid, &r)
             : mode == JOIN_NOWAIT ? mc_join_nowait(p->join, pid, &r)
                                   : mc_join_timed(p->join, pid, mode, &r);
    if (rc)
        return rc;
    snprintf(who, sizeof who, "process %lld", (long long)pid);
    return take(p, fn, who, &r, result, how);
}

int mc_tproc_join(mc_tproc *p, mc_pid pid, void **result,
                  mc_join_result *how)
{
    return join_as(p, pid, result, how, "mc_tproc_join", JOIN_WAIT);
}

int mc_tproc_join_nowait(mc_tproc *p, mc_pid pid, void **result,
                         mc_join_result *how)
{
    return join_as(p, pid, result, how, "mc_tproc_join_nowait",
                   JOIN_NOWAIT);
}

int mc_tproc_join_timed(mc_tproc *p, mc_pid pid, int timeout_ms,
                        void **result, mc_join_result *how)
{
    /* every negative timeout waits for ever: JOIN_WAIT's code is one */
    return join_as(p, pid, result, how, "mc_tproc_join_timed",
                   timeout_ms < 0 ? JOIN_WAIT : timeout_ms);
}

int mc_tproc_run(const mc_config *cfg, mc_tproc *p, const void *arg,
                 void **result, mc_join_result *how)
{
    void *bytes = NULL;
    size_t len = 0;
    mc_join_result r = {0};
    char d[256], who[300];
    int rc;
    if (result)
        *result = NULL;
    if (!p)
        return mc__err(MC_EINVAL, "mc_tproc_run: NULL process");
    if (!p->fork)
        return mc__err(MC_ENOENT, "mc_tproc_run: process %s was never "
                       "defined: its _def must be called before its _run",
                       describe(p, d, sizeof d));
    if (p->arg_t) {
        if (!arg)
            return mc__err(MC_EINVAL, "mc_tproc_run: NULL argument");
        if ((rc = mc_marshal(p->arg_t, arg, &bytes, &len)))
            return rc;
    }
    rc = mc_run(cfg, p->fork, p->join, bytes, len, &r);
    free(bytes);
    if (rc) {
        mc_join_result_free(&r);
        return rc;
    }
    snprintf(who, sizeof who, "the first process (%s)",
             describe(p, d, sizeof d));
    return take(p, "mc_tproc_run", who, &r, result, how);
}

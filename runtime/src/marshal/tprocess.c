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

int mc_tproc_join(mc_tproc *p, mc_pid pid, void **result,
                  mc_join_result *how)
{
    mc_join_result r;
    if (result)
        *result = NULL;
    if (!p)
        return mc__err(MC_EINVAL, "mc_tproc_join: NULL process");
    int rc = mc_join(p->join, pid, &r);
    if (rc)
        return rc;
    if (r.kind == MC_EXIT_ERROR) { /* the worker's detail, passed on */
        rc = mc__err(MC_EPROCESS, "mc_tproc_join: process %lld: body "
                     "returned %d (%s)%s%.*s", (long long)pid, r.code,
                     mc_strerror(r.code), r.len ? ": " : "", (int)r.len,
                     r.data ? (const char *)r.data : "");
    } else if (r.kind != MC_EXIT_RESULT) {
        rc = mc__err(MC_EPROCESS, "mc_tproc_join: process %lld: %s %d",
                     (long long)pid,
                     r.kind == MC_EXIT_STATUS ? "exited with status"
                                              : "killed by signal",
                     r.code);
    } else if (p->res_t && result) {
        rc = mc_unmarshal(p->res_t, r.data, r.len, result);
    }
    if (how) {
        *how = r;
        how->data = NULL;
        how->len = 0;
    }
    mc_join_result_free(&r);
    return rc;
}

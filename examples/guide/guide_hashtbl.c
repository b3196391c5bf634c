/* examples/guide/guide_hashtbl.c: four workers count the words of their
 * line in one shared table.  Prints "the: 3, cat: 2, 5 words". */
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"

/* in the program, so in every worker (a copy of it) */
static const char *lines[4] = {"the cat", "the dog", "a cat", "the end"};

struct job { mc_shashtbl_descr d; int line; }; /* plain bytes */

static mc_res_id count_fork, count_join;

static int plus_one(const void *old, const void **new_value, void *ctx)
{
    int64_t *n = ctx;
    *n = old ? *(const int64_t *)old + 1 : 1; /* old: NULL if unbound */
    *new_value = n;
    return MC_SHASHTBL_SET;
}

static int count(void *user, const void *arg, size_t len, void **res,
                 size_t *res_len)
{
    (void)user; (void)len; (void)res; (void)res_len;
    struct job a;
    mc_shashtbl *t;
    char buf[64], *save, *w;
    int64_t n;
    memcpy(&a, arg, sizeof a);
    int rc = mc_shashtbl_of_descr(&a.d, &mc_type_str, &mc_type_i64, NULL, &t);
    snprintf(buf, sizeof buf, "%s", lines[a.line]);
    for (w = strtok_r(buf, " ", &save); w && !rc;
         w = strtok_r(NULL, " ", &save)) /* no update is lost */
        rc = mc_shashtbl_update(t, &w, plus_one, &n);
    return rc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    mc_shashtbl *t;
    struct job a;
    mc_pid pid[4];
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc) /* keys: strings, values: i64, no header */
        rc = mc_shashtbl_create(pool, &mc_type_str, &mc_type_i64, NULL, NULL,
                                &t);
    if (!rc)
        rc = mc_shashtbl_descr_of(t, &a.d);
    for (int i = 0; i < 4 && !rc; i++) {
        a.line = i;
        rc = mc_start(count_fork, &a, sizeof a, &pid[i]);
    }
    for (int i = 0; i < 4 && !rc; i++) {
        mc_join_result r = {0};
        rc = mc_join(count_join, pid[i], &r);
        if (!rc && r.kind != MC_EXIT_RESULT)
            rc = MC_EPROCESS;
        mc_join_result_free(&r);
    }
    const char *the = "the", *cat = "cat";
    int64_t *n_the = NULL, *n_cat = NULL; /* local copies: no lock taken */
    if (!rc && !(rc = mc_shashtbl_find_c(t, &the, (void **)&n_the)) &&
        !(rc = mc_shashtbl_find_c(t, &cat, (void **)&n_cat)))
        printf("the: %lld, cat: %lld, %zu words\n", (long long)*n_the,
               (long long)*n_cat, mc_shashtbl_length(t));
    mc_local_free(n_the);
    mc_local_free(n_cat);
    return rc ? rc : mc_shashtbl_destroy(t);
}

int main(void)
{
    int rc = mc_def_process(count, NULL, &count_fork, &count_join);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_hashtbl: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}

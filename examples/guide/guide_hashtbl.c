/* examples/guide/guide_hashtbl.c: four workers count the words of their
 * line in one shared table.  Prints "the: 3, cat: 2, 5 words". */
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"
#include "guide_hashtbl.h" /* generated from guide_hashtbl.mcidl */

/* in the program, so in every worker (a copy of it) */
static const char *lines[4] = {"the cat", "the dog", "a cat", "the end"};

static int plus_one(const int64_t *old, int64_t *new_value, void *ctx)
{
    (void)ctx;
    *new_value = old ? *old + 1 : 1; /* old: NULL if unbound */
    return MC_SHASHTBL_SET;
}

static int count(const guide_hashtbl_Job *job, void *result, void *user)
{
    (void)result; (void)user;
    guide_hashtbl_Counts *t;
    char buf[64], *save, *w;
    int rc = guide_hashtbl_Counts_of_descr(&job->counts, &t);
    snprintf(buf, sizeof buf, "%s", lines[job->line]);
    for (w = strtok_r(buf, " ", &save); w && !rc;
         w = strtok_r(NULL, " ", &save)) /* no update is lost */
        rc = guide_hashtbl_Counts_update(t, w, plus_one, NULL);
    return rc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    guide_hashtbl_Counts *t;
    guide_hashtbl_Job job;
    mc_pid pid[4];
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc) /* empty; no header */
        rc = guide_hashtbl_Counts_create(pool, &t);
    if (!rc)
        rc = guide_hashtbl_Counts_descr_of(t, &job.counts);
    for (int i = 0; i < 4 && !rc; i++) {
        job.line = i;
        rc = guide_hashtbl_count_start(&job, &pid[i]);
    }
    for (int i = 0; i < 4 && !rc; i++)
        rc = guide_hashtbl_count_join(pid[i], NULL, NULL);
    int64_t n_the, n_cat; /* copied out: no lock, no allocation */
    if (!rc && !(rc = guide_hashtbl_Counts_find(t, "the", &n_the)) &&
        !(rc = guide_hashtbl_Counts_find(t, "cat", &n_cat)))
        printf("the: %lld, cat: %lld, %zu words\n", (long long)n_the,
               (long long)n_cat, guide_hashtbl_Counts_length(t));
    return rc ? rc : guide_hashtbl_Counts_destroy(t);
}

int main(void)
{
    int rc = guide_hashtbl_count_def(count, NULL);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_hashtbl: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}

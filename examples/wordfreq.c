/* wordfreq: count the words of text files in N workers; the master
 * collects their counts through a camlbox and prints the 20 most frequent.
 *
 *   wordfreq [-n WORKERS] [--shared] FILE...     (default 4 workers)
 *   wordfreq [-n WORKERS] [--shared] --gen WORDS  (a generated corpus of
 *                                       WORDS words, in a memfd: nothing
 *                                       is left on disk, even after a
 *                                       Ctrl-C)
 *   wordfreq                           (--gen 200000)
 *
 * A word is a run of ASCII letters, lowercased (as `tr -cs A-Za-z '\n' |
 * tr A-Z a-z` splits); the output is `uniq -c`'s, sorted by count, then by
 * word.  Each file is cut into WORKERS byte ranges, and each worker counts
 * its ranges, widened to whole words, then sends its counts to the
 * master's box in batches, and a last batch.  The master is no coordinator
 * process: it waits on the box itself, merges, joins its workers.
 *
 * --shared: no local tables and no box.  The master makes one shared hash
 * table (wordfreq.mcidl's Words: string -> i64) and every worker counts
 * each word straight into it with _update, a read-modify-write under
 * the word's shard lock (no count is lost when two workers meet the same
 * word; workers meeting words of different shards do not wait for each
 * other).  The master reads the table once the workers are joined.  Both
 * modes print the same 20 lines.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcore/mcore.h"
#include "wordfreq.h" /* generated from examples/wordfreq.mcidl */

#define MAX_WORD 8192     /* longer runs of letters are cut (rare) */
#define BATCH_BYTES 6144  /* of words per message: well within a slot */
#define MAX_WORKERS 64

/* ------------------------------------------------------- a word table */

typedef struct entry {
    char *word;
    int64_t n;
} entry;

typedef struct table {
    entry *e;
    size_t cap, len;
} table;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int grow(table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    entry *e = calloc(cap, sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->e[i].word)
            continue;
        size_t j = hash(t->e[i].word) & (cap - 1);
        while (e[j].word)
            j = (j + 1) & (cap - 1);
        e[j] = t->e[i];
    }
    free(t->e);
    t->e = e;
    t->cap = cap;
    return 0;
}

static int add(table *t, const char *w, size_t len, int64_t n)
{
    if ((t->len + 1) * 2 > t->cap && grow(t))
        return -1;
    size_t j = hash(w) & (t->cap - 1);
    for (; t->e[j].word; j = (j + 1) & (t->cap - 1))
        if (strcmp(t->e[j].word, w) == 0) {
            t->e[j].n += n;
            return 0;
        }
    if (!(t->e[j].word = malloc(len + 1)))
        return -1;
    memcpy(t->e[j].word, w, len + 1);
    t->e[j].n = n;
    t->len++;
    return 0;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->e[i].word);
    free(t->e);
}

/* ------------------------------------------------------------ a worker */

static int is_letter(int c)
{
    return c != EOF && c < 128 && isalpha(c);
}

/* Where a worker counts a word: its local table, or the shared one. */
typedef int count_fn(void *sink, const char *w, size_t len);

static int count_local(void *sink, const char *w, size_t len)
{
    return add(sink, w, len, 1) ? MC_ENOMEM : 0;
}

static int plus_one(const int64_t *old, int64_t *new_value, void *ctx)
{
    (void)ctx;
    *new_value = old ? *old + 1 : 1;
    return MC_SHASHTBL_SET;
}

static int count_shared(void *sink, const char *w, size_t len)
{
    (void)len;
    int rc = wordfreq_Words_update(sink, w, plus_one, NULL);
    return rc == MC_EOWNERDEAD ? 0 : rc; /* counted; a writer died before */
}

/* Count the words of path's bytes [start, end): a word belongs to the
 * range it starts in, and is read to its end. */
static int count_part(count_fn *emit, void *sink, const wordfreq_Part *p,
                      int64_t *words)
{
    FILE *f = fopen(p->path, "rb");
    if (!f)
        return MC_ESYS;
    int c, rc = 0;
    int64_t pos = p->start;
    if (pos > 0 && fseek(f, pos - 1, SEEK_SET) == 0 && is_letter(getc(f)))
        while (is_letter(getc(f))) /* a word from the range before */
            pos++;
    fseek(f, pos, SEEK_SET);
    char w[MAX_WORD + 1];
    size_t len = 0;
    for (; !rc; pos++) {
        c = getc(f);
        if (is_letter(c)) {
            if (len == 0 && pos >= p->end)
                break; /* it starts in the next range */
            if (len < MAX_WORD)
                w[len++] = (char)tolower(c);
            continue;
        }
        if (len) {
            w[len] = '\0';
            rc = emit(sink, w, len);
            (*words)++;
            len = 0;
        }
        if (c == EOF || pos >= p->end)
            break;
    }
    fclose(f);
    return rc;
}

/* Send t's counts in batches, then a last one. */
static int send_all(wordfreq_Counts_sender *s, const table *t)
{
    char *words[256];
    int64_t counts[256];
    wordfreq_Batch b = {{0, words}, {0, counts}, false};
    size_t bytes = 0;
    int rc = 0;
    for (size_t i = 0; i <= t->cap && !rc; i++) {
        const entry *e = i < t->cap ? &t->e[i] : NULL;
        size_t wl = e && e->word ? strlen(e->word) + 1 : 0;
        if (b.words.len && (!e || b.words.len == WORDFREQ_BATCH_WORDS ||
                            bytes + wl > BATCH_BYTES)) {
            rc = wordfreq_Counts_send(s, &b);
            b.words.len = b.counts.len = 0;
            bytes = 0;
        }
        if (e && e->word) {
            words[b.words.len++] = e->word;
            counts[b.counts.len++] = e->n;
            bytes += wl;
        }
    }
    b.last = true;
    b.words.len = b.counts.len = 0;
    return rc ? rc : wordfreq_Counts_send(s, &b);
}

/* --shared: count into the table whose descriptor the job carries. */
static int count_into_table(const wordfreq_Job *job, int64_t *result)
{
    wordfreq_Words *t;
    int rc = wordfreq_Words_of_descr(&job->table, &t);
    int64_t words = 0;
    for (size_t i = 0; i < job->parts.len && !rc; i++)
        rc = count_part(count_shared, t, &job->parts.data[i], &words);
    *result = words;
    return rc;
}

static int count(const wordfreq_Job *job, int64_t *result, void *user)
{
    (void)user;
    if (job->has_table)
        return count_into_table(job, result);
    wordfreq_Counts_sender *s;
    int rc = wordfreq_Counts_sender_of_descr(&job->box, &s);
    if (rc)
        return rc;
    table t = {0};
    int64_t words = 0;
    for (size_t i = 0; i < job->parts.len && !rc; i++)
        rc = count_part(count_local, &t, &job->parts.data[i], &words);
    if (!rc)
        rc = send_all(s, &t);
    table_free(&t);
    int rc2 = wordfreq_Counts_sender_release(s);
    *result = words;
    return rc ? rc : rc2;
}

/* ------------------------------------------------------------ the master */

struct run {
    int nworkers;
    int shared;  /* --shared: one shared table, no box */
    char **files;
    int nfiles;
    table total;
    int64_t words;
};

static int by_count(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->word, y->word);
}

static int merge(table *t, const wordfreq_Batch *b)
{
    for (size_t i = 0; i < b->words.len && i < b->counts.len; i++)
        if (add(t, b->words.data[i], strlen(b->words.data[i]),
                b->counts.data[i]))
            return MC_ENOMEM;
    return 0;
}

static int take_count(const char *w, const int64_t *n, void *ctx)
{
    return add(ctx, w, strlen(w), *n) ? MC_ENOMEM : 0;
}

static int master(void *ctx)
{
    struct run *r = ctx;
    int n = r->nworkers;
    wordfreq_Counts *box = NULL;
    wordfreq_Counts_descr d = {0};
    mc_pool *pool = NULL;
    wordfreq_Words *words_tbl = NULL;
    wordfreq_Words_descr td = {0};
    int rc;
    if (r->shared) {
        /* the table grows in the pool as words come: 1 GiB at most */
        rc = mc_pool_create((size_t)1 << 30, &pool);
        if (!rc)
            rc = wordfreq_Words_create(pool, &words_tbl);
        if (!rc)
            rc = wordfreq_Words_descr_of(words_tbl, &td);
    } else {
        /* sized at run time: 4 slots per worker */
        rc = wordfreq_Counts_create_sized(NULL, 4 * (size_t)n, 0, &box);
        if (!rc)
            wordfreq_Counts_descr_of(box, &d);
    }
    if (rc)
        return rc;
    /* worker i gets the i-th n-th of every file */
    wordfreq_Job jobs[MAX_WORKERS];
    wordfreq_Part *parts = calloc((size_t)n * r->nfiles, sizeof *parts);
    mc_pid pids[MAX_WORKERS];
    int started = 0;
    if (!parts)
        rc = MC_ENOMEM;
    for (int i = 0; i < n && !rc; i++) {
        jobs[i] = (wordfreq_Job){{(size_t)r->nfiles, parts + i * r->nfiles},
                                 d, r->shared, td};
        for (int f = 0; f < r->nfiles; f++) {
            struct stat st;
            if (stat(r->files[f], &st) < 0) {
                fprintf(stderr, "wordfreq: %s: %s\n", r->files[f],
                        strerror(errno));
                rc = MC_ESYS;
                break;
            }
            int64_t size = st.st_size;
            parts[i * r->nfiles + f] =
                (wordfreq_Part){r->files[f], size * i / n,
                                size * (i + 1) / n};
        }
        if (!rc && !(rc = wordfreq_count_start(&jobs[i], &pids[started])))
            started++;
    }
    /* wait on the box, merging, until every worker sent its last batch */
    int lasts = 0;
    while (box && lasts < started && !rc) {
        unsigned slots[16];
        size_t got;
        rc = wordfreq_Counts_wait(box, -1, slots, 16, &got);
        for (size_t k = 0; k < got && !rc; k++) {
            const wordfreq_Batch *b;
            if (!(rc = wordfreq_Counts_get(box, slots[k], &b))) {
                lasts += b->last;
                rc = merge(&r->total, b);
            }
            wordfreq_Counts_delete(box, slots[k]);
        }
    }
    for (int i = 0; i < started; i++) {
        mc_join_result how = {0};
        int64_t *words;
        int jrc = wordfreq_count_join(pids[i], &words, &how);
        if (jrc) {
            fprintf(stderr, "wordfreq: worker %d failed: %s\n", i,
                    mc_strerror(how.kind == MC_EXIT_ERROR ? how.code : jrc));
            rc = rc ? rc : jrc;
        } else {
            r->words += *words;
            mc_local_free(words);
        }
        mc_join_result_free(&how);
    }
    free(parts);
    if (words_tbl) {
        /* every worker is joined: the table holds the final counts */
        if (!rc)
            rc = wordfreq_Words_iter(words_tbl, take_count, &r->total);
        wordfreq_Words_destroy(words_tbl);
        mc_pool_release(pool);
    } else {
        wordfreq_Counts_destroy(box);
    }
    return rc;
}

/* A corpus of nwords words drawn from a small vocabulary with a skewed
 * distribution, one line per 12 words. */
static int generate(FILE *f, long nwords)
{
    static const char *vocab[] = {
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it",
        "as", "was", "with", "be", "by", "on", "not", "he", "this", "are",
        "or", "his", "from", "at", "which", "but", "have", "an", "had",
        "they", "you", "were", "their", "one", "all", "we", "can", "her",
        "has", "there", "been", "if", "more", "when", "will", "would",
        "who", "so", "no", "shared", "memory", "process", "worker", "box"};
    const size_t nv = sizeof vocab / sizeof *vocab;
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < nwords; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0;
        size_t k = (size_t)(u * u * u * (double)nv); /* skewed to the front */
        fprintf(f, "%s%s", i % 7 == 0 ? "The " : "", vocab[k]);
        fputc((i + 1) % 12 ? ' ' : '\n', f);
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    struct run r = {.nworkers = 4};
    int i = 1;
    char gen_path[64];
    char *gen_file = NULL;
    if (i + 1 < argc && strcmp(argv[i], "-n") == 0) {
        r.nworkers = atoi(argv[i + 1]);
        i += 2;
    }
    if (i < argc && strcmp(argv[i], "--shared") == 0) {
        r.shared = 1;
        i++;
    }
    if (argc == 1 || (i + 1 < argc && strcmp(argv[i], "--gen") == 0)) {
        long words = argc == 1 ? 200000 : atol(argv[i + 1]);
        /* made before mc_startup, the memfd is in every worker too (each
         * is a copy of the program as it was then): its /proc/self path
         * names it everywhere */
        int fd = memfd_create("wordfreq-corpus", 0);
        FILE *f = fd >= 0 ? fdopen(dup(fd), "w") : NULL;
        if (!f || generate(f, words)) {
            perror("wordfreq: corpus");
            return 1;
        }
        snprintf(gen_path, sizeof gen_path, "/proc/self/fd/%d", fd);
        gen_file = gen_path;
        r.files = &gen_file;
        r.nfiles = 1;
    } else {
        r.files = argv + i;
        r.nfiles = argc - i;
    }
    if (r.nfiles < 1 || r.nworkers < 1 || r.nworkers > MAX_WORKERS) {
        fprintf(stderr, "usage: wordfreq [-n WORKERS(1-%d)] [--shared] "
                "FILE... | [-n WORKERS] [--shared] --gen WORDS\n",
                MAX_WORKERS);
        return 2;
    }
    if (wordfreq_count_def(count, NULL)) {
        fprintf(stderr, "wordfreq: %s\n", mc_last_error_detail());
        return 1;
    }
    int rc = mc_startup(NULL, master, &r);
    if (rc) {
        fprintf(stderr, "wordfreq: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        table_free(&r.total);
        return 1;
    }
    entry *all = malloc((r.total.len ? r.total.len : 1) * sizeof *all);
    size_t n = 0;
    for (size_t k = 0; all && k < r.total.cap; k++)
        if (r.total.e[k].word)
            all[n++] = r.total.e[k];
    qsort(all, n, sizeof *all, by_count);
    for (size_t k = 0; k < n && k < 20; k++)
        printf("%7lld %s\n", (long long)all[k].n, all[k].word);
    fprintf(stderr, "wordfreq: %lld words, %zu distinct, %d workers%s\n",
            (long long)r.words, n, r.nworkers,
            r.shared ? ", one shared table" : "");
    free(all);
    table_free(&r.total);
    return 0;
}

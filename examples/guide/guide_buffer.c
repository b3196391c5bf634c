/* examples/guide/guide_buffer.c: a worker streams lines into a shared
 * buffer while the master reads them as they come.  Prints
 * "Read 3 lines, 34 bytes". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"

static mc_res_id w_fork, w_join;

static int writer(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)len; (void)res; (void)res_len;
    mc_sbuffer *b = NULL;
    mc_sbuffer_descr d;
    memcpy(&d, arg, sizeof d); /* the bytes of mc_start's argument */
    int rc = mc_sbuffer_of_descr(&d, NULL, &b); /* no header */
    const char *lines[] = {"first line\n", "second line\n", "third line\n"};
    for (int i = 0; i < 3 && !rc; i++)
        rc = mc_sbuffer_append(b, lines[i], strlen(lines[i]));
    int crc = b ? mc_sbuffer_close(b) : 0; /* the reader's end of stream */
    return rc ? rc : crc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    mc_sbuffer *b = NULL;
    mc_sbuffer_descr d;
    mc_pid pid;
    uint64_t pos = 0, end;
    int closed = 0, lines = 0;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc)
        rc = mc_sbuffer_create(pool, NULL, NULL, NULL, &b);
    if (!rc)
        rc = mc_sbuffer_descr_of(b, &d);
    if (!rc)
        rc = mc_start(w_fork, &d, sizeof d, &pid);
    while (!rc && !closed) {
        /* sleeps until there is more than pos, or the end of stream */
        rc = mc_sbuffer_wait(b, pos + 1, -1, &end, &closed);
        char *s = NULL;
        if (!rc && end > pos)
            rc = mc_sbuffer_sub(b, pos, end - pos, (void **)&s);
        for (uint64_t i = 0; !rc && i < end - pos; i++)
            lines += s[i] == '\n';
        free(s);
        pos = end;
    }
    mc_join_result r = {0};
    if (!rc)
        rc = mc_join(w_join, pid, &r);
    if (!rc && r.kind != MC_EXIT_RESULT)
        rc = MC_EPROCESS;
    mc_join_result_free(&r);
    if (!rc)
        printf("Read %d lines, %llu bytes\n", lines, (unsigned long long)pos);
    int drc = b ? mc_sbuffer_destroy(b) : 0;
    return rc ? rc : drc;
}

int main(void)
{
    int rc = mc_def_process(writer, NULL, &w_fork, &w_join);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_buffer: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}

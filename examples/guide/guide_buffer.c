/* examples/guide/guide_buffer.c: a worker streams lines into a shared
 * buffer while the master reads them as they come.  Prints
 * "Read 3 lines, 34 bytes". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"
#include "guide_buffer.h" /* generated from guide_buffer.mcidl */

static int writer(const guide_buffer_Lines_descr *d, void *result,
                  void *user)
{
    (void)result; (void)user;
    guide_buffer_Lines *b = NULL;
    int rc = guide_buffer_Lines_of_descr(d, &b);
    const char *lines[] = {"first line\n", "second line\n", "third line\n"};
    for (int i = 0; i < 3 && !rc; i++)
        rc = guide_buffer_Lines_append(b, lines[i], strlen(lines[i]));
    int crc = b ? guide_buffer_Lines_close(b) : 0; /* the reader's end */
    return rc ? rc : crc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    guide_buffer_Lines *b = NULL;
    guide_buffer_Lines_descr d;
    mc_pid pid;
    uint64_t pos = 0, end;
    int closed = 0, lines = 0;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc)
        rc = guide_buffer_Lines_create(pool, &b);
    if (!rc)
        rc = guide_buffer_Lines_descr_of(b, &d);
    if (!rc)
        rc = guide_buffer_writer_start(&d, &pid);
    while (!rc && !closed) {
        /* sleeps until there is more than pos, or the end of stream */
        rc = guide_buffer_Lines_wait(b, pos + 1, -1, &end, &closed);
        void *copy = NULL; /* a local copy of the new bytes */
        if (!rc && end > pos)
            rc = guide_buffer_Lines_sub(b, pos, end - pos, &copy);
        const char *s = copy;
        for (uint64_t i = 0; !rc && i < end - pos; i++)
            lines += s[i] == '\n';
        free(copy);
        pos = end;
    }
    if (!rc) /* MC_EPROCESS if the writer failed */
        rc = guide_buffer_writer_join(pid, NULL, NULL);
    if (!rc)
        printf("Read %d lines, %llu bytes\n", lines, (unsigned long long)pos);
    int drc = b ? guide_buffer_Lines_destroy(b) : 0;
    return rc ? rc : drc;
}

int main(void)
{
    int rc = guide_buffer_writer_def(writer, NULL);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_buffer: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}

/* proto.c: framing of control messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"
#include "os/fdpass.h"
#include "os/shm.h"
#include "proc/proto.h"

int mc__msg_send(int sock, mc__msg *m, const void *head, size_t head_len,
                 const void *body, size_t body_len, int body_fd,
                 int extra_fd, int flags)
{
    struct iovec iov[3] = {{m, sizeof *m}, {(void *)head, head_len},
                           {(void *)body, body_len}};
    int fds[2], nfds = 0, tmp_fd = -1, n = 3;
    m->flags &= ~MC__F_BLOB;
    if (body_fd < 0 && head_len + body_len > MC__INLINE_MAX) {
        int rc = mc__memfd_from(body, body_len, &tmp_fd);
        if (rc)
            return rc;
        body_fd = tmp_fd;
    }
    if (body_fd >= 0) {
        m->flags |= MC__F_BLOB;
        m->blob_len = body_len;
        fds[nfds++] = body_fd;
        n = 2;
    }
    m->len = (uint32_t)(head_len + (n == 3 ? body_len : 0));
    if (extra_fd >= 0)
        fds[nfds++] = extra_fd;
    int r = mc__send_fds(sock, iov, n, fds, nfds, flags);
    if (tmp_fd >= 0)
        close(tmp_fd);
    if (r == -EPIPE || r == -ECONNRESET)
        return mc__err(MC_ELOST, "control socket closed");
    if (r < 0) {
        errno = -r;
        return mc__errno("sendmsg(control socket)");
    }
    return 0;
}

int mc__msg_recv(int sock, void *buf, mc__msg **m, int *blob_fd,
                 int *extra_fd, int flags)
{
    int fds[MC__FDS_MAX];
    ssize_t r = mc__recv_fds(sock, buf, MC__MSG_BUF, fds, flags);
    *blob_fd = *extra_fd = -1;
    if (r == 0 || r == -ECONNRESET)
        return 0;
    if (r == -EAGAIN) /* polling: an expected answer, not a failure */
        return MC_EAGAIN;
    if (r < 0) {
        errno = (int)-r;
        return mc__errno("recvmsg(control socket)");
    }
    mc__msg *h = buf;
    int k = 0;
    if ((size_t)r < sizeof *h || h->len != (size_t)r - sizeof *h)
        goto bad;
    if (h->flags & MC__F_BLOB) {
        if (fds[0] < 0)
            goto bad;
        *blob_fd = fds[k++];
    }
    *extra_fd = fds[k++];
    for (; k < MC__FDS_MAX; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    *m = h;
    return 1;
bad:
    for (int i = 0; i < MC__FDS_MAX; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return mc__err(MC_ESYS, "malformed control message (%zd bytes)", r);
}

void mc__blob_free(mc__blob *b)
{
    free(b->data);
    if (b->fd >= 0)
        close(b->fd);
    *b = MC__BLOB_NONE;
}

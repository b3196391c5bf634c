/* fdpass.h: one datagram over a SOCK_SEQPACKET unix socket, with up to
 * MC__FDS_MAX descriptors attached (SCM_RIGHTS). */
#ifndef MC_FDPASS_H
#define MC_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define MC__FDS_MAX 2

/* Send iov[0..n) as one datagram with nfds descriptors.  Retries EINTR.
 * flags: extra send flags (MSG_DONTWAIT).  Returns 0 or -errno. */
int mc__send_fds(int sock, const struct iovec *iov, int n, const int *fds,
                 int nfds, int flags);

/* Receive one datagram into buf (cap bytes); received descriptors (close-on-
 * exec) go to fds[0..*nfds), the rest of fds is set to -1.  Returns the byte
 * count, 0 on EOF, or -errno (-EMSGSIZE when the datagram was truncated;
 * its descriptors are then closed). */
ssize_t mc__recv_fds(int sock, void *buf, size_t cap, int fds[MC__FDS_MAX],
                     int flags);

#endif

/* proto.h: the control protocol between a worker and the master.
 *
 * Each worker has one SOCK_SEQPACKET socket to the master.  A message is one
 * datagram: a fixed header, up to MC__INLINE_MAX bytes of payload, and up to
 * two descriptors.  A payload larger than that travels as a memfd (a blob),
 * so the master never has to buffer partial messages and never copies a big
 * result: it keeps the memfd and hands it to the joiner.  Both ends are forks
 * of one binary, so the header is sent as a raw struct.
 */
#ifndef MC_PROTO_H
#define MC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define MC__INLINE_MAX (32u * 1024)

enum mc__op {
    MC__OP_REPLY = 1,    /* master -> worker: rc, a..d, payload, fds */
    MC__OP_START,        /* a=fork point, b=n inherit (-1 all); payload:
                            inherit ids, then arg unless it is a blob */
    MC__OP_JOIN,         /* a=join point, b=pid (0: any of the point),
                            c=nowait, d=timeout ms (< 0: none);
                            reply a=kind, b=code, c=pid joined */
    MC__OP_RESULT,       /* a=exit kind, b=code; payload: result bytes */
    MC__OP_RES_CREATE,   /* a=kind, b=size or value; payload: name or "" */
    MC__OP_RES_GET,      /* a=id, b=kinds mask (0: any) */
    MC__OP_RES_RELEASE,  /* a=id */
    MC__OP_POINT_RELEASE, /* a=id, b=expected kind */
    MC__OP_POOL_FIND,    /* a=address; reply a=id of the pool holding it */
    MC__OP_FINISH,       /* the master: reply once no worker is left */
    MC__OP_KILL,         /* a=pid, b=signal */
    MC__OP_OSPID,        /* a=pid; reply a=OS pid */
    MC__OP_CANCEL        /* a=join point: kill its workers, release it */
};

#define MC__F_BLOB 1u     /* payload is in fds[0], blob_len bytes */

typedef struct mc__msg {
    uint32_t op;
    uint32_t flags;
    int32_t rc;
    uint32_t len;        /* inline payload bytes following the header */
    int64_t a, b, c, d;
    uint64_t blob_len;
} mc__msg;

/* A payload: inline bytes (data) or a memfd (fd >= 0) of len bytes. */
typedef struct mc__blob {
    void *data;
    size_t len;
    int fd;
} mc__blob;

#define MC__BLOB_NONE ((mc__blob){NULL, 0, -1})

/* Send m with payload (head ++ body).  The payload goes inline when it fits,
 * else as a new memfd (head is always inline: it must fit).  extra_fd >= 0 is
 * attached as well (a resource's descriptor).  If body_fd >= 0, the body is
 * that memfd of body_len bytes (no copy).  Returns 0 or MC_E*. */
int mc__msg_send(int sock, mc__msg *m, const void *head, size_t head_len,
                 const void *body, size_t body_len, int body_fd,
                 int extra_fd, int flags);

/* Receive one message into buf (MC__INLINE_MAX + header bytes).  *inline_
 * points at the inline payload inside buf; blob_fd gets the payload memfd
 * when MC__F_BLOB is set; extra_fd gets an attached resource descriptor.
 * Returns 1 on a message, 0 on EOF, or MC_E*. */
int mc__msg_recv(int sock, void *buf, mc__msg **m, int *blob_fd,
                 int *extra_fd, int flags);

#define MC__MSG_BUF (sizeof(mc__msg) + MC__INLINE_MAX)

void mc__blob_free(mc__blob *b);

#endif

/* proc/stat.h: live statistics of a session, for `mcadmin stat` (internal).
 *
 * The session server listens on DIR/mcore.stat (MC__STAT_SOCK), a unix
 * SOCK_SEQPACKET socket, mode 0600 in the 0700 session directory.  It
 * reads nothing from a client: connecting is the request.  It accepts,
 * checks the peer's uid (SO_PEERCRED: the server's own, or root), writes
 * the reply into a memfd and sends it in one datagram ("S", the memfd
 * attached), without waiting (MSG_DONTWAIT), then closes the connection.
 * So nothing costs anything while nobody asks, no client can block the
 * server, and no request can make it misbehave: there is nothing to parse.
 * A client that is refused (another user) sees the connection closed with
 * no descriptor.
 *
 * The reply: text lines "KIND key=value key=value ...".  Values hold no
 * space, '=' or '%', nor control bytes: those are written %XX (names).
 * The first line is "mcore-stat VERSION"; a reader skips kinds and keys it
 * does not know, and mcadmin shows any kind it does not know generically
 * (so a new kind needs no mcadmin change).  Kinds, in this order:
 *
 *   session  ospid= prog= time= (the master's OS pid, UNIX time)
 *   worker   pid= ospid= parent= state= type= holds= (every process, the
 *            master first, pid 0; state as in status.h)
 *   pool     id= max= size= used= chunks= heaps= holders=
 *   heap     pool= addr= live= free= heap_bytes= chunks= collections=
 *            last_pause_ms= (free: bytes of its chunks not live)
 *   camlbox  id= slots= slot_size= used= free= writing= ready= reading=
 *            senders= delivered= lost= reclaimed= (used: slots not free;
 *            the slot counts are "-" for a box of over MC__STAT_SCAN_MAX;
 *            senders: holders other than the receiver; delivered:
 *            messages sent into the box since it was made, modulo 2^32)
 *   sarray   pool= heap= length=
 *   smatrix  pool= heap= rows= cols= length=
 *   squeue   pool= heap= length= capacity= closed= (capacity 0: none)
 *   sbuffer  pool= heap= length= capacity= closed= (bytes)
 *   shashtbl pool= heap= length= (bindings; its shards' heaps are heaps)
 *            (containers: stat.c's table `containers`, one line each)
 *
 * Heaps are found through their pools: mc_heap_create records the heap's
 * offset in a slot of its pool's header (mc__pool_heap_note; a full table
 * only counts it, shown as heaps_unlisted=), mc_heap_destroy clears it.
 * The server maps every pool already; it reads headers with relaxed loads
 * only, checks each address against the pool's range before reading it,
 * and takes no lock: the numbers of an object being changed may be a
 * moment old, never a crash or a wait.
 */
#ifndef MC_PROC_STAT_H
#define MC_PROC_STAT_H

#include <stddef.h>
#include <stdint.h>

#include "mcore/camlbox.h"
#include "mcore/heap.h"
#include "mcore/pool.h"

#define MC__STAT_SOCK "mcore.stat"
#define MC__STAT_MAGIC "mcore-stat"
#define MC__STAT_VERSION 1

/* --- the server (stat.c) --- */
/* The epoll event of the listening socket (master.c: EV_STAT). */
#define MC__STAT_EV ((uint64_t)-3)
/* Listen on DIR/mcore.stat and register it with epoll (events carry
 * ev_data).  Best effort: without it, mcadmin stat says there is no
 * socket. */
void mc__stat_listen(int epfd, uint64_t ev_data);
/* Answer every pending connection (the listening socket is readable). */
void mc__stat_serve(void);
/* Close the socket and unlink its path (the session's end), or close it
 * alone (unlink 0: a new worker). */
void mc__stat_close(int unlink_path);

/* --- the objects' read-only views, for the server (never lock) --- */
typedef struct mc__pool_view {
    size_t max, size, used, chunks;
    size_t heaps[32];     /* offsets of its heaps' headers (0: none) */
    size_t n_heaps, unlisted;
} mc__pool_view;
/* The pool whose range [base, base + len) this process maps: 0, or -1 if
 * it holds no pool header. */
int mc__pool_peek(const void *base, size_t len, mc__pool_view *v);
/* Record (add 1) or forget (add 0) heap h in its pool's header. */
void mc__pool_heap_note(mc_pool *p, const void *h, int add);

typedef struct mc__heap_view {
    mc_heap_stats st;
    const mc_type *root_type; /* the root's type: compared, never read */
    const void *root;         /* inside the range, or NULL */
} mc__heap_view;
/* The heap at h, all of whose memory must lie in [lo, hi): 0, or -1 if
 * it is not (or no longer) a heap. */
int mc__heap_peek(const char *lo, const char *hi, const void *h,
                  mc__heap_view *v);

typedef struct mc__camlbox_view {
    mc_camlbox_stats st;  /* free, writing, ready, reading: if scanned */
    uint64_t delivered, lost;
    int scanned;
} mc__camlbox_view;
/* Boxes whose slots span more bytes are not scanned (their slot counts
 * are "-"): a scan maps and reads a word of every slot, and the server's
 * clients wait meanwhile (65536 slots of 128 bytes, 8 MiB: about 1 ms;
 * 1M slots, 128 MiB: 140 ms, on a loaded 2-CPU machine). */
#define MC__STAT_SCAN_MAX ((size_t)32 << 20)
/* The box of memfd fd, mapped read-only for the call: 0, or -1 if it is
 * not (yet) a box. */
int mc__camlbox_peek(int fd, mc__camlbox_view *v);

/* Containers other than sarray and smatrix (whose roots stat.c reads
 * through data/arr.h): each file gives its root type (compared, never
 * read) and reads the root at `root`, whose bytes up to hi lie in the
 * pool [lo, hi): 0, or -1 if it is no live one.  Relaxed loads only; an
 * address found in the root is checked against the range before use. */
extern const mc_type *const mc__squeue_stat_type;
int mc__squeue_peek(const void *root, const char *hi, uint64_t *length,
                    uint64_t *capacity, int *closed);
extern const mc_type *const mc__sbuffer_stat_type;
int mc__sbuffer_peek(const void *root, const char *hi, uint64_t *length,
                     uint64_t *capacity, int *closed);
extern const mc_type *const mc__shashtbl_stat_type;
int mc__shashtbl_peek(const void *root, const char *lo, const char *hi,
                      uint64_t *length);

#endif

/* mcore/camlbox.h: camlboxes, typed many-to-one message boxes.
 *
 * One process, the receiver, creates a box: `nslots` slots of at most
 * `slot_size` bytes each, for messages of one type (an mc_type; the box
 * records its id).  Any number of senders (other workers, or with a name,
 * programs outside the session) send into it; only the receiver reads.
 *
 * Sending deep-copies a message into a free slot.  Pointer fields are
 * stored as the *receiver's* addresses, so the receiver reads the message
 * in place with plain pointers (mc_camlbox_get), or takes a local copy
 * (mc_camlbox_get_copy), and then frees the slot (mc_camlbox_delete).
 * Senders take slots without a global lock: each slot has a state word
 * (free, writing, ready, reading) that carries the writing process's pid.
 *
 * Guarantees, where Netcamlbox had none:
 *  - A message larger than a slot is MC_E2BIG, found before a slot is taken
 *    or a byte of the box is written (the message is first copied into a
 *    private buffer of slot_size bytes).
 *  - A failed send takes no slot.
 *  - A sender killed while it copies leaves its slot "writing" with a dead
 *    pid; the receiver's wait and senders that find the box full give such
 *    slots back.  A dead sender never blocks the box.
 *  - A sender of another type than the box's gets MC_ETYPE.
 *
 * Waiting: the receiver and a sender blocked on a full box may first poll
 * for a bounded time (default 50 us, mc_camlbox_set_spin), then sleep on a
 * futex.  The poll adapts so that it never costs more than it saves: a
 * poll that loses its CPU to another task (it yields, or is preempted,
 * and gets the CPU back only after others ran) stops at once (its CPU is
 * wanted, perhaps by the process it waits for) and did not pay, unless
 * its message came meanwhile: then it counts neither way, except when the
 * poll gave its CPU away (sched_yield) and got one message, which a sleep
 * would have got as well (not paid); after k polls in a row that did not
 * pay (nothing came within the bound, or the poll stopped so) the next
 * 2^k - 1 waits (at most 63) do not poll, and the next poll keeps its CPU
 * only 2 us before it yields; a poll that pays resets that.  A freed slot
 * wakes one blocked sender.  An idle box costs no CPU.
 *
 * Order: wait reports each message once.  Messages sent through one sender
 * handle are reported in the order they were sent, and a wait never
 * reports a message while an older message of the same sender is ready and
 * unreported (so a receiver that stops at a sender's end marker has seen
 * all that sender's messages).  Within one wait, slots[] lists messages
 * oldest first (by the moment each was published); messages of different
 * senders have no other order.  A box and a sender handle are each for one
 * thread at a time.
 *
 * Errors: every function returning int returns 0 or a negative MC_E* code
 * (mcore/error.h); mc_last_error_detail() says more.
 */
#ifndef MCORE_CAMLBOX_H
#define MCORE_CAMLBOX_H

#include <stddef.h>
#include "mcore/process.h"
#include "mcore/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The receiving end (only in the creating process, or its forks). */
typedef struct mc_camlbox mc_camlbox;
/** A sending end (any process). */
typedef struct mc_camlbox_sender mc_camlbox_sender;

/** Counts of a box's slots by state, at one moment (a racy snapshot when
 *  senders are active). */
typedef struct mc_camlbox_stats {
    size_t capacity;   /**< slots */
    size_t slot_size;  /**< maximum message size (bytes, as copied) */
    size_t free;       /**< slots free */
    size_t writing;    /**< slots a sender is copying into */
    size_t ready;      /**< messages not reported by wait yet */
    size_t reading;    /**< messages reported by wait, not deleted yet */
    size_t reclaimed;  /**< slots of dead senders given back since the
                            box was created */
} mc_camlbox_stats;

/* ------------------------------------------------------------ receiver */

/** Create a box for messages of type t, with nslots slots of slot_size
 *  bytes (a message takes the bytes of its deep copy: every allocation
 *  rounded up to its alignment, at least 8).  The caller becomes the
 *  receiver and holds the box's resource.
 *
 *  name NULL: an anonymous box (a memfd; the kernel frees it when its last
 *  user is gone); senders find it by resource id (mc_camlbox_id).
 *  name "/something": also a named POSIX shm object, listed in the
 *  session's manifest and unlinked when released, that programs outside the
 *  session open with mc_camlbox_sender_open.
 *
 *  @return 0, or
 *   - MC_EINVAL NULL t or box, nslots 0 or above 1<<20, slot_size 0, below
 *               t->size or above 1 GiB, t->align above 16, bad name
 *   - MC_EEXIST a shm object of that name exists
 *   - MC_ENOMEM the machine cannot back the box's memory, or no memory
 *               for the receiver's private tables
 *   - MC_ESTATE no session
 *   - MC_ESYS   memfd, shm_open or mmap failed
 *   - MC_ELOST  (worker) the master is gone */
int mc_camlbox_create(const mc_type *t, size_t nslots, size_t slot_size,
                      const char *name, mc_camlbox **box);

/** The box's resource id (to pass to senders in the session). */
mc_res_id mc_camlbox_id(const mc_camlbox *box);

/** The box's shm name ("/something"), or "" for an anonymous box. */
const char *mc_camlbox_name(const mc_camlbox *box);

/** Wait for messages: mark up to `max` ready messages as being read and
 *  store their slot numbers in slots[0..*n).  Each message is reported
 *  once.  timeout_ms: < 0 waits for ever, 0 only looks.  *n may be 0 after
 *  a sender's mc_camlbox_wake.  Also gives back slots of dead senders.
 *  With mc_camlbox_notify_lost on, a sender's death ends the wait at once
 *  with MC_EDEAD (once per death or group of deaths; messages already sent
 *  stay in the box for the next wait).
 *  @return 0 (*n messages, or a wake-up), MC_EAGAIN (timeout_ms 0 and no
 *          message), MC_ETIMEDOUT (nothing came within timeout_ms),
 *          MC_ELOST (in the master: the session server died (its workers too)),
 *          MC_EDEAD (notify_lost: a process holding the box as a sender
 *          died since the last such report), MC_EINVAL (NULL argument,
 *          max 0) */
int mc_camlbox_wait(mc_camlbox *box, int timeout_ms, unsigned *slots,
                    size_t max, size_t *n);

/** Ask (on nonzero) that mc_camlbox_wait return MC_EDEAD when a process of
 *  the session that held this box as a sender (mc_camlbox_sender_lookup)
 *  dies before releasing it or returning from its body: killed, crashed,
 *  or exited.  The session server notices the death and wakes the
 *  receiver; a receiver waiting for N end markers learns that one will
 *  never come.  Deaths before the call are not reported.  Anonymous boxes
 *  only (a box opened by name from another program is not tracked). */
void mc_camlbox_notify_lost(mc_camlbox *box, int on);

/** How many processes died holding the box as a sender, in this session. */
size_t mc_camlbox_senders_lost(const mc_camlbox *box);

/** The message in slot `slot`, in place: valid until the slot is deleted.
 *  It is a value of the box's type, with plain pointers.
 *  @return 0, MC_ENOENT (no message in that slot), MC_EINVAL (slot out of
 *          range, NULL argument) */
int mc_camlbox_get(mc_camlbox *box, unsigned slot, const void **msg);

/** A process-local deep copy of the message in slot `slot` (free it with
 *  mc_local_free); it stays valid after the delete.
 *  @return 0, MC_ENOENT, MC_EINVAL, MC_ENOMEM */
int mc_camlbox_get_copy(mc_camlbox *box, unsigned slot, void **copy);

/** Free slot `slot` (its message is gone; pointers from mc_camlbox_get
 *  become invalid) and wake one sender blocked on the full box (one freed
 *  slot wakes one sender; blocked senders sleep, they never poll).
 *  @return 0, MC_ENOENT (no message in that slot), MC_EINVAL */
int mc_camlbox_delete(mc_camlbox *box, unsigned slot);

/** Number of slots. */
size_t mc_camlbox_capacity(const mc_camlbox *box);

/** Messages in the box now (ready or being read). */
size_t mc_camlbox_messages(const mc_camlbox *box);

/** Slot counts by state.  @return 0, MC_EINVAL */
int mc_camlbox_stats_get(const mc_camlbox *box, mc_camlbox_stats *st);

/** Give back the slots of senders that died while copying (wait does it
 *  on its own before it sleeps).  *n (may be NULL): slots given back.
 *  @return 0, MC_EINVAL */
int mc_camlbox_reclaim(mc_camlbox *box, size_t *n);

/** The longest wait polls before it sleeps (microseconds; 0: sleep at
 *  once; default 50).  It polls less when polling does not pay (see
 *  "Waiting" above); a new setting forgets what earlier waits showed. */
void mc_camlbox_set_spin(mc_camlbox *box, unsigned us);

/** Close the box: senders blocked on it, and later sends, get MC_ENOENT;
 *  the mapping goes, and the process's hold on the resource ends with its
 *  last handle on the box (a named box is unlinked once nobody in the
 *  session holds it).  box is freed, even on error.
 *  @return 0, or
 *   - MC_EINVAL NULL box
 *   - MC_ENOENT the session no longer knows the box's resource (from
 *               mc_release; the box is closed and unmapped all the same)
 *   - MC_ELOST  (worker) the master is gone */
int mc_camlbox_destroy(mc_camlbox *box);

/* -------------------------------------------------------------- senders */

/** A sender for box `id` (anonymous or named), for messages of type t.
 *  The caller holds the box's resource until mc_camlbox_sender_release.
 *  The header is checked and its geometry kept privately, as in
 *  mc_camlbox_sender_open.
 *  @return 0, or
 *   - MC_ETYPE  id is not a camlbox (or its header is damaged), or the
 *               box's type id is not t->id
 *   - MC_ENOENT no such resource
 *   - MC_EINVAL NULL argument
 *   - MC_ESTATE no session; MC_ESYS mmap failed; MC_ENOMEM; MC_ELOST */
int mc_camlbox_sender_lookup(mc_res_id id, const mc_type *t,
                             mc_camlbox_sender **s);

/** A sender for the named box `name`; works in any process, in a session or
 *  not (it holds no resource: the box lives as long as its receiver keeps
 *  it).  Whoever may write the object controls its header, so the object
 *  must belong to the caller's effective user and must not be writable by
 *  its group or others; the header's geometry is checked (without
 *  overflow) against what mc_camlbox_create makes, and is then kept in the
 *  sender's private memory: a header rewritten later changes nothing.
 *  @return 0, or
 *   - MC_ENOENT no shm object of that name
 *   - MC_ETYPE  the object is not a camlbox (or its header is damaged or
 *               of another version), or not of type t
 *   - MC_EAGAIN the box is still being created (try again)
 *   - MC_EINVAL bad name, NULL argument; the object belongs to another
 *               user, or its group or others may write it (refused)
 *   - MC_ESYS   shm_open, fstat or mmap failed
 *   - MC_ENOMEM no memory for the sender */
int mc_camlbox_sender_open(const char *name, const mc_type *t,
                           mc_camlbox_sender **s);

/** Deep-copy msg (a value of the sender's type) into a free slot and wake
 *  the receiver.  Blocks while the box is full.
 *  @return 0, or
 *   - MC_E2BIG  the copy is larger than a slot (no slot taken, nothing
 *               written to the box); the detail gives its size, which
 *               mc_copy_size (type.h) computes before sending
 *   - MC_ENOENT the box was destroyed
 *   - MC_ELOST  the receiver died while the box was full
 *   - MC_EINVAL NULL argument, or an error of the type's copy routine */
int mc_camlbox_send(mc_camlbox_sender *s, const void *msg);

/** Like mc_camlbox_send, but MC_EAGAIN instead of blocking on a full box
 *  (after giving back the slots of dead senders, if any). */
int mc_camlbox_try_send(mc_camlbox_sender *s, const void *msg);

/** Make the receiver's current (or next) wait return, with no message.
 *  @return 0, MC_EINVAL */
int mc_camlbox_wake(mc_camlbox_sender *s);

/** Slot counts by state, from the sender's side.  @return 0, MC_EINVAL */
int mc_camlbox_sender_stats(const mc_camlbox_sender *s,
                            mc_camlbox_stats *st);

/** The longest a sender polls a full box before it sleeps (us; default
 *  50; adaptive, as mc_camlbox_set_spin). */
void mc_camlbox_sender_set_spin(mc_camlbox_sender *s, unsigned us);

/** Unmap the box and free s (even on error).  The process's hold on the
 *  box's resource ends with its last handle on the box (holds are per
 *  process: a receiver that also sends keeps its hold until both ends are
 *  gone).  @return 0, or
 *   - MC_EINVAL NULL sender
 *   - MC_ENOENT the session no longer knows the box's resource (from
 *               mc_release; s is freed all the same)
 *   - MC_ELOST  (worker) the master is gone */
int mc_camlbox_sender_release(mc_camlbox_sender *s);

#ifdef __cplusplus
}
#endif
#endif

/* mcore/resource.h: the resource table.
 *
 * The master keeps a table of resources: shared memory (anonymous memfds and
 * named POSIX shm), temporary files, named semaphores, fork and join points,
 * pools and camlboxes.  Each has an id valid in every process.
 * A process *holds* a resource after creating it, looking it up, or
 * inheriting it at start; mc_release() ends its hold, and a worker that ends
 * (even by SIGKILL) drops all of its holds.  A resource nobody holds any more
 * is deleted: memfds closed, named objects unlinked.
 *
 * Named objects (shm, semaphores, temp files) are written to the manifest in
 * the socket directory *before* they are created, so that a start after a
 * crash, or `mcadmin unlink DIR`, can remove them.  They are created with
 * O_EXCL and mode 0600.
 *
 * All functions need a running session.  Codes every int function below may
 * return, besides those it lists:
 *   - MC_ESTATE no session is running, or the caller is a fork() of a
 *               worker (process.h, fork()), or a thread of the master
 *               other than mc_startup's (process.h, Threads)
 *   - MC_ELOST  (worker) the master is gone
 *   - MC_ENOMEM (worker) no memory for the master's reply or the cache
 *   - MC_ESYS   (worker) the control socket failed (the detail says how)
 * A worker's threads may call them at the same time (process.h, Threads).
 */
#ifndef MCORE_RESOURCE_H
#define MCORE_RESOURCE_H

#include <stddef.h>
#include <semaphore.h>
#include "mcore/process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mc_res_kind {
    MC_RES_SHM = 1,      /**< anonymous shared memory (memfd) */
    MC_RES_SHM_NAMED,    /**< named POSIX shm object */
    MC_RES_FILE,         /**< temporary file */
    MC_RES_SEM,          /**< named POSIX semaphore */
    MC_RES_FORK_POINT,
    MC_RES_JOIN_POINT,
    MC_RES_POOL,         /**< shared memory pool (see pool.h) */
    MC_RES_CAMLBOX       /**< anonymous camlbox (see camlbox.h); a named
                              box is an MC_RES_SHM_NAMED */
} mc_res_kind;

#define MC_RES_NAME_MAX 256

/** What a resource is. */
typedef struct mc_res_info {
    mc_res_kind kind;
    size_t size;                  /**< shm: size at creation; pool: maximum
                                       size; else 0 */
    char name[MC_RES_NAME_MAX];   /**< shm/sem name or file path; else "" */
} mc_res_info;

/** Create anonymous shared memory of `size` bytes (zero-filled, backed by a
 *  memfd; the kernel frees it when the last user is gone, even after a
 *  crash).  The caller holds it.
 *  @return 0, or
 *   - MC_EINVAL size 0, or NULL id
 *   - MC_ENOMEM no memory for the table entry or the memfd
 *   - MC_ESYS   memfd_create or ftruncate failed */
int mc_shm_create(size_t size, mc_res_id *id);

/** Create a named POSIX shm object of `size` bytes, for processes outside
 *  the session.  name: "/something" (no other slash, < 200 chars) or NULL
 *  for a generated one; see mc_res_get for the name.
 *  @return 0, or
 *   - MC_EINVAL bad name, size 0, or NULL id
 *   - MC_EEXIST an object of that name exists
 *   - MC_ENOMEM no memory for the table entry
 *   - MC_ESYS   shm_open, ftruncate or the manifest failed */
int mc_shm_create_named(const char *name, size_t size, mc_res_id *id);

/** File descriptor of a shm resource (either kind), for mmap().  Marks the
 *  resource held.  The descriptor belongs to mcore: do not close it; it
 *  stays valid until this process releases the resource (by any thread).
 *  @return 0, or
 *   - MC_EINVAL NULL fd
 *   - MC_ENOENT no such resource (or it was deleted)
 *   - MC_ETYPE  not a shm resource */
int mc_shm_fd(mc_res_id id, int *fd);

/** Create an empty temporary file (mode 0600) in the socket directory.
 *  Its path is given by mc_res_get.
 *  @return 0, or
 *   - MC_EINVAL NULL id
 *   - MC_EEXIST a file of the generated name exists (not mcore's)
 *   - MC_ENOMEM no memory for the table entry
 *   - MC_ESYS   creating the file or writing the manifest failed */
int mc_file_create(mc_res_id *id);

/** Create a named POSIX semaphore with an initial value.
 *  @return 0, or
 *   - MC_EINVAL value above SEM_VALUE_MAX, or NULL id
 *   - MC_EEXIST a semaphore of the generated name exists (not mcore's)
 *   - MC_ENOMEM no memory for the table entry
 *   - MC_ESYS   sem_open or the manifest failed */
int mc_named_sem_create(unsigned value, mc_res_id *id);

/** Open a semaphore resource in this process (marks it held).  The sem_t
 *  belongs to mcore until this process releases the resource.
 *  @return 0, or
 *   - MC_EINVAL NULL sem
 *   - MC_ENOENT no such resource (or it was deleted)
 *   - MC_ETYPE  not a semaphore
 *   - MC_ESYS   sem_open failed */
int mc_named_sem_get(mc_res_id id, sem_t **sem);

/** Hand an existing named object over to the manager: it is deleted
 *  (unlinked) when no longer held.  The caller holds it.
 *  kind: MC_RES_FILE (a path directly in the socket directory: the
 *  manifest names no file elsewhere, see mc_config.socket_dir),
 *  MC_RES_SHM_NAMED or MC_RES_SEM (a name).
 *  @return 0, or
 *   - MC_EINVAL bad kind, NULL or bad name, a file outside the socket
 *               directory, or NULL id
 *   - MC_ENOENT no object of that name
 *   - MC_ENOMEM no memory for the table entry
 *   - MC_ESYS   opening the object or writing the manifest failed */
int mc_manage(mc_res_kind kind, const char *name, mc_res_id *id);

/** Look a resource up and mark it held by the calling process.
 *  @return 0, or
 *   - MC_EINVAL NULL info
 *   - MC_ENOENT no such id, or already deleted
 *   - MC_ENOMEM no memory to record the hold */
int mc_res_get(mc_res_id id, mc_res_info *info);

/** End the calling process's hold on a resource (fork and join points too:
 *  see mc_release_fork_point).  Deleted once nobody holds it.
 *  @return 0, or
 *   - MC_ENOENT unknown, or not held by the caller */
int mc_release(mc_res_id id);

#ifdef __cplusplus
}
#endif
#endif

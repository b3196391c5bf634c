/* state.h: the per-process runtime state and the session server's tables.
 *
 * A process is in one of three roles: outside a session, server, or worker.
 * mc_startup forks the session server (role MC__ROLE_MASTER, for history:
 * it is the master of the tables): a small process that owns the process
 * table and the resource table, forks every worker and answers requests.
 * Every process that runs user code is a client (MC__ROLE_WORKER): the
 * workers, and the program's own process (the master, pid 0 to the user,
 * MC__MASTER_PID in the server's table), which is why the master may block
 * in any call and never stalls the workers (process.h).  A client has only
 * its control socket and a cache of the resource descriptors it holds.
 */
#ifndef MC_STATE_H
#define MC_STATE_H

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "mcore/process.h"
#include "mcore/resource.h"
#include "os/window.h"
#include "proc/proto.h"
#include "util/idmap.h"

typedef enum { MC__ROLE_NONE = 0, MC__ROLE_MASTER, MC__ROLE_WORKER } mc__role;

/* A process type, defined before the session; lives as long as the program.
 * Its fork and join points are entries of every session's resource table. */
/* The master's id in the server's tables (mcore pids of workers are >= 1;
 * 0 means "none" in the tables and is the master's public pid). */
#define MC__MASTER_PID ((mc_pid)-1)

/* The server's exit status when end_on_failure ended the session (it
 * cleaned up; mc_startup returns MC_EPROCESS). */
#define MC__SERVER_FAILED 3

typedef struct mc__def {
    mc_body_fn *body;
    void *user;
    mc_res_id fork_id, join_id;
    char *name;          /* mc_def_process_named's; NULL: unnamed */
} mc__def;

typedef struct mc__res {
    mc_res_id id;
    mc_res_kind kind;
    size_t size;
    char *name;          /* shm/sem name, file path; NULL otherwise */
    int fd;              /* shm kinds, pools: the master's descriptor */
    void *addr;          /* pools: where it is mapped, in every process */
    sem_t *sem;          /* SEM: the master's handle, opened on first use */
    mc__def *def;        /* fork/join points */
    mc_pid *holders;     /* set of processes holding it */
    size_t n_holders, cap_holders;
} mc__res;

typedef struct mc__proc {
    mc_pid pid;
    pid_t ospid;
    int sock;            /* master's end of the control socket; -1 closed */
    mc_res_id join_id;
    mc__def *def;        /* its process type (status.c, titles) */
    mc_pid parent;       /* the process that started it */
    int alive;           /* not reaped yet */
    int done;            /* outcome known (result received, or reaped) */
    int joined;          /* outcome taken; the record only waits for reaping */
    int dropped;         /* join point released: nobody will join */
    mc_exit_kind kind;
    int code;
    mc__blob result;
    mc_pid waiter;       /* worker blocked in mc_join on this process; 0 none */
    mc_pid waiting_on;   /* process this one is blocked joining; 0 none */
    mc_res_id waiting_any; /* join point it waits on (mc_join_any); 0 none */
    uint64_t wait_until; /* the wait's deadline (mc__now_ns); 0 none */
    int killed;          /* ended on purpose (mc_kill, mc_cancel, the
                            session's end): not reported on stderr */
    struct mc__proc *prev, *next; /* the list of live processes */
} mc__proc;

typedef struct mc__master {
    pid_t ospid;          /* getpid() of the server: a fork() of it differs */
    int epfd, sigfd, lockfd;
    int stopfd;           /* the master's stop signals arrive here */
    mc__proc *master;     /* the program's process (MC__MASTER_PID) */
    int stop_sig;         /* the master's stop signal, or 0 */
    char comm[16];        /* the program's name (prctl PR_GET_NAME): the
                             server renames itself, workers take it back */
    uint64_t deadline;    /* the session's end (mc__now_ns), 0 none */
    int timed_out;        /* the deadline passed: workers killed */
    int quiet;            /* no report of failed workers on stderr */
    int end_on_failure;   /* a failed worker ends the session */
    mc_pid failed;        /* end_on_failure: the worker that failed */
    size_t n_timed;       /* clients in a wait with wait_until set */
    int finish;           /* the master asked to be told when no worker is
                             left (MC__OP_FINISH) */
    int finish_ending;    /* ... and to end those left: first failed */
    mc__window win;
    char *dir;
    int private_dir;
    sigset_t oldmask;
    struct sigaction oldchld; /* restored at the end of the session */
    mc__idmap procs;      /* mcore pid -> mc__proc */
    mc__idmap res;        /* resource id -> mc__res */
    mc__proc *live;       /* processes not reaped yet */
    size_t n_live;
    mc_pid next_pid;
    unsigned long session; /* for unique object names */
    uint64_t spin_ns;      /* poll this long before sleeping */
    char buf[MC__MSG_BUF];
} mc__master;

typedef struct mc__cached {
    int fd;
    sem_t *sem;
} mc__cached;

/* A worker's calls may come from several threads.  `lock` serializes the
 * requests on the socket; a request that changes what the worker holds
 * also updates the cache before letting go of `lock`, so that the cache
 * follows the master's table in the master's order.  `cache_lock` guards
 * the cache itself: taken alone by readers (mc_shm_fd's fast path, pools),
 * inside `lock` by writers.  Lock order: lock, then cache_lock. */
typedef struct mc__worker {
    int sock;
    mc_pid self;
    pid_t ospid;         /* getpid() of the worker: a fork() of it differs */
    pid_t master_ospid;
    uint64_t spin_ns;
    pthread_mutex_t lock; /* one request at a time on the socket */
    pthread_mutex_t cache_lock;
    mc__idmap cache;      /* resource id -> mc__cached */
    char buf[MC__MSG_BUF];
} mc__worker;

extern mc__role mc__role_now;
extern mc__master *mc__M;  /* set in the master during a session */
extern mc__worker *mc__W;  /* set in a worker */

/* Both roles: fail with MC_ESTATE outside a session. */
int mc__need_session(const char *fn);

/* --- master side (master.c, resource.c, process.c) --- */
/* A new resource id: never reused within the program (restable.c). */
mc_res_id mc__res_new_id(void);
/* The id the next mc__res_new_id gives; and, in the master at a session's
 * end, never give one below next (the server made ids in its own copy of
 * the counter). */
mc_res_id mc__res_next_id(void);
void mc__res_ids_from(mc_res_id next);
/* Enter the process definitions into a new session's table (process.c). */
int mc__defs_register(void);
mc__def *mc__def_by_fork(mc_res_id id);
/* MC_ENOENT for a fork point the session's table lacks, saying why: never
 * defined, or released (process.c). */
int mc__no_fork_point(mc_res_id id);
int mc__m_start(mc_pid who, mc_res_id fork_id, const void *arg, size_t len,
                int arg_fd, const mc_res_id *inherit, int64_t n, mc_pid *pid);
/* Returns 0 with the outcome moved into *out (blob), 1 when deferred (the
 * waiter gets its reply later), or MC_E*. */
int mc__m_join(mc_pid who, mc_res_id join, mc_pid pid, int nowait,
               mc__proc **out);
/* The same for any process of the join point (mc_join_any). */
int mc__m_join_any(mc_pid who, mc_res_id join, int nowait, mc__proc **out);
void mc__m_proc_taken(mc__proc *p);  /* after its outcome was delivered */
int mc__m_point_release(mc_pid who, mc_res_id id, mc_res_kind kind);
int mc__m_loop(void);
/* SIGINT/SIGTERM of the master end the session (startup.c's handler
 * tells the server): mc__m_stop kills the workers and makes mc_start
 * refuse; mc__m_stopping is that signal or 0 (master.c).
 * mc__m_child_signals gives a new worker the program's dispositions, which
 * the server itself does not keep (startup.c). */
void mc__m_stop(int sig);
int mc__m_stopping(void);
void mc__m_child_signals(void);
void mc__m_procs_free(void);

int mc__m_res_create(mc_pid who, mc_res_kind kind, const char *name,
                     size_t size, mc__res **out);
/* Hold and return resource id; kinds: a mask of MC__KIND_BIT()s it must
 * match (MC_ETYPE, and no hold, otherwise), or 0 for any kind. */
#define MC__KIND_BIT(k) (1u << (unsigned)(k))
int mc__m_res_get(mc_pid who, mc_res_id id, unsigned kinds, mc__res **out);
const char *mc__kind_name(mc_res_kind k);
int mc__m_res_release(mc_pid who, mc_res_id id);
int mc__m_res_add_point(mc_res_id id, mc_res_kind kind, mc__def *def);
void mc__m_res_remove(mc__res *r);   /* delete now, whoever holds it */
/* Make `to` hold the resources listed (n >= 0) or all that `from` holds
 * (n < 0).  MC_ENOENT if a listed id does not exist (nothing changed). */
int mc__m_res_inherit(mc_pid from, mc_pid to, const mc_res_id *ids,
                      int64_t n);
void mc__m_res_drop_holder(mc_pid who);
/* who died before its body returned: tell every camlbox it held (as a
 * sender, mc_camlbox_notify_lost) before its holds are dropped. */
void mc__m_res_died_holding(mc_pid who);
/* Count a dead sender in the box of descriptor fd and wake its receiver
 * (camlbox.c). */
int mc__camlbox_lost(int fd);
int mc__m_res_holds(const mc__res *r, mc_pid who);
void mc__m_res_destroy_all(void);
/* In a new child: close the master's resource descriptors, keeping those the
 * child holds in its cache. */
void mc__m_res_child_fds(mc_pid self, mc__idmap *cache);

/* Both roles (resource.c): create or look up a resource, returning what a
 * caller inside the runtime needs (descriptor, address).  *fd belongs to
 * the runtime's cache (the master's table, or the worker's cache). */
int mc__res_create(mc_res_kind kind, const char *name, size_t size,
                   mc_res_id *id, int *fd, void **addr, const char *fn);
int mc__res_lookup(mc_res_id id, unsigned kinds, mc_res_info *info, int *fd,
                   void **addr, const char *fn);
/* Does this process hold resource id now (no request to the master)?  For
 * callers that look a resource up to inspect it and, refusing it, must
 * give back only a hold they took (heap_descr.c). */
int mc__res_held(mc_res_id id);

/* This process's descriptor of a resource it holds (the master's table, or
 * a worker's cache), or -1 (resource.c). */
int mc__res_cached_fd(mc_res_id id);

/* --- worker side (worker.c) --- */
/* MC_ESTATE (detail starting with fn) in a fork() of a worker, else 0. */
int mc__w_forked(const char *fn);
/* One request/reply.  rep->rc is the master's answer.  payload (may be NULL)
 * receives the reply's payload (inline copy or memfd).  MC_ESTATE in a
 * fork() of a worker (see process.h). */
int mc__rpc(mc__msg *req, const void *head, size_t head_len, const void *body,
            size_t body_len, int body_fd, mc__msg *rep, mc__blob *payload,
            int *extra_fd);
/* The same, for a caller that holds mc__W->lock (to update the cache in
 * the same turn as the request). */
int mc__rpc_held(mc__msg *req, const void *head, size_t head_len,
                 const void *body, size_t body_len, int body_fd, mc__msg *rep,
                 mc__blob *payload, int *extra_fd);
/* Make this process a client of the session server on sock (mc__W = w);
 * self is its public mcore pid (0: the master).  mc__w_fini closes what
 * it holds (the master's, at the end of a session). */
void mc__w_init(mc__worker *w, mc_pid self, int sock, pid_t server,
                uint64_t spin_ns, mc__idmap *cache);
void mc__w_fini(mc__worker *w);
/* Runs the body in a freshly forked worker; never returns. */
_Noreturn void mc__worker_main(mc__def *def, mc_pid self, int sock,
                               pid_t master, uint64_t spin_ns,
                               const void *arg, size_t len, int arg_fd,
                               mc__idmap *cache);

#endif

/* tests/test_stat.c: `mcadmin stat`, live statistics asked of the session
 * server (proc/stat.h).
 *
 *   - a running session with a pool, a heap, an sarray, an smatrix, a
 *     camlbox with 3 messages queued by a sender worker, and workers:
 *     `mcadmin stat DIR` shows them with the numbers the objects' own stats
 *     functions give (the box: 8 slots, 3 used, 3 ready, 1 sender, 3
 *     delivered; the heap: its live bytes; the containers: their length),
 *     and an squeue, an sbuffer and an shashtbl in a second pool;
 *     `--json` parses (python3 -m json.tool) and has the same numbers;
 *     a box too big to scan shows "-" (JSON null) for its slot counts;
 *     `--watch 0.1 --count 2` refreshes twice;
 *   - clients that send garbage or never read do not disturb the server:
 *     mcadmin still gets its answer, the session ends cleanly;
 *   - without DIR, every live session of the user (text and JSON);
 *   - a live session without the socket (an older mcore) says so;
 *   - a dead session, a directory that holds no session and another
 *     user's directory give errors that say what to do (exit 1); unlink
 *     leaves no stale socket behind.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcore/mcore.h"

static mc_res_id sleeper_fp, sleeper_jp;
static int ready_pipe[2], stop_pipe[2]; /* made before forking: inherited */
static char stat_dir[512];

static char tmp_out[600], py_script[600];

/* Run `mcadmin ARGS` (a shell fragment) with stderr, its output into out;
 * returns its exit status.  With a filter (a shell command), mcadmin's
 * output goes through it instead: 98 if mcadmin failed (out: its output),
 * else the filter's status. */
static int run_sh(const char *args, const char *filter, char *out,
                  size_t cap)
{
    char line[4096];
    if (filter)
        snprintf(line, sizeof line, "'%s' %s >'%s' 2>&1 || { cat '%s'; exit "
                 "98; }; ( %s ) <'%s' 2>&1", tu_mcadmin_path(), args, tmp_out,
                 tmp_out, filter, tmp_out);
    else
        snprintf(line, sizeof line, "'%s' %s 2>&1", tu_mcadmin_path(), args);
    fflush(NULL);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Does out have a line that starts with prefix and ends with suffix? */
static int line_has(const char *out, const char *prefix, const char *suffix)
{
    for (const char *p = strstr(out, prefix); p; p = strstr(p + 1, prefix)) {
        const char *nl = strchr(p, '\n');
        size_t n = strlen(suffix);
        if ((p == out || p[-1] == '\n') && nl && (size_t)(nl - p) >= n &&
            memcmp(nl - n, suffix, n) == 0)
            return 1;
    }
    return 0;
}

/* Say "MCPID OSPID" on the ready pipe, then wait for a byte on the stop
 * pipe. */
static int sleeper_body(void *user, const void *arg, size_t len,
                        void **result, size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    (void)result;
    (void)result_len;
    char line[64];
    int n = snprintf(line, sizeof line, "%lld %d\n", (long long)mc_self_pid(),
                     (int)getpid());
    if (write(ready_pipe[1], line, (size_t)n) != n)
        return MC_ESYS;
    char c;
    while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    return 0;
}

/* A sender: 3 messages into the box (its id is the argument), then it
 * holds the box until the stop pipe says go. */
static void drv_sender(const void *arg, size_t len)
{
    mc_res_id id;
    W_CHECK(len == sizeof id, "box id");
    memcpy(&id, arg, sizeof id);
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(id, &mc_type_i64, &s), 0))
        return;
    for (int64_t i = 1; i <= 3; i++)
        W_RC(mc_camlbox_send(s, &i), 0);
    char c;
    while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    W_RC(mc_camlbox_sender_release(s), 0);
}

/* Prints the numbers the test compares, from mcadmin stat --json. */
static const char py_text[] =
    "import json, sys\n"
    "d = json.load(sys.stdin)\n"
    "for p in d['pools']:\n"
    "    print('pool', p['id'], 'max=%d used=%d heaps=%d' %\n"
    "          (p['max'], p['used'], p['heaps']))\n"
    "for h in d['heaps']:\n"
    "    print('heap', h['addr'], 'live=%d' % h['live'])\n"
    "for b in d['camlboxes']:\n"
    "    print('box', b['id'], 'slots=%d used=%s ready=%s senders=%d '\n"
    "          'delivered=%d' % (b['slots'], b['used'], b['ready'],\n"
    "                            b['senders'], b['delivered']))\n"
    "for c in d['containers']:\n"
    "    print(c['kind'], c['heap'], 'length=%d' % c['length'])\n"
    "for w in d['workers']:\n"
    "    print('worker', w['pid'], 'ospid=%d %s %s' %\n"
    "          (w['ospid'], w['state'], w['type']))\n";
static char json_filter[700];

/* The same for every session (no DIR): "PID:OSPID" of each worker; lines
 * on stderr (other sessions, older or ending) are skipped. */
static const char py_all_text[] =
    "import json, sys\n"
    "l = [x for x in sys.stdin if x.startswith('{\"sessions\"')]\n"
    "d = json.loads(l[0])\n"
    "print('', ' '.join('%d:%d' % (w['pid'], w['ospid'])\n"
    "                   for s in d['sessions'] for w in s['workers']), '')\n";
static char py_all[600], json_all_filter[700];

/* The driver (pid 1): makes the objects, starts a sleeper and a sender,
 * and finds them all in `mcadmin stat`. */
static void drv_stat(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    /* the sleeper first: a worker holds what its parent held when it
     * started, and the box's senders are its holders but the receiver */
    mc_pid sleeper, sender;
    W_RC(mc_start(sleeper_fp, NULL, 0, &sleeper), 0);
    mc_pool *pool;
    if (W_RC(mc_pool_create(8 << 20, &pool), 0))
        return;
    int64_t v = 42;
    double zero = 0;
    mc_heap *heap;
    mc_sarray *sa;
    mc_smatrix *sm;
    if (W_RC(mc_heap_create(pool, &mc_type_i64, &v, &heap), 0) ||
        W_RC(mc_sarray_make(pool, &mc_type_i64, 10, &v, NULL, NULL, &sa),
             0) ||
        W_RC(mc_smatrix_make(pool, &mc_type_f64, 3, 4, &zero, NULL, NULL,
                             &sm), 0))
        return;
    W_RC(mc_sarray_grow(sa, 25, &v), 0);
    /* the containers that landed later, in a pool of their own */
    mc_pool *pool2;
    mc_squeue *q;
    mc_sbuffer *sb;
    mc_shashtbl *ht;
    if (W_RC(mc_pool_create(16 << 20, &pool2), 0) ||
        W_RC(mc_squeue_create(pool2, &mc_type_i64, NULL, NULL, 100, &q), 0) ||
        W_RC(mc_sbuffer_create(pool2, NULL, NULL, NULL, &sb), 0) ||
        W_RC(mc_shashtbl_create(pool2, &mc_type_i64, &mc_type_i64, NULL,
                                NULL, &ht), 0))
        return;
    for (int64_t i = 0; i < 7; i++) {
        if (i < 5)
            W_RC(mc_squeue_push(q, &i, 0), 0);
        W_RC(mc_shashtbl_add(ht, &i, &i), 0);
    }
    static char bytes[1000];
    W_RC(mc_sbuffer_append(sb, bytes, sizeof bytes), 0);
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&mc_type_i64, 8, 64, NULL, &box), 0))
        return;
    mc_res_id box_id = mc_camlbox_id(box);
    /* 4 slots of 16 MiB: too many bytes to scan (proc/stat.h); the
     * sender worker holds it too (it inherits the driver's holds) */
    mc_camlbox *big;
    if (W_RC(mc_camlbox_create(&mc_type_i64, 4, 16 << 20, NULL, &big), 0))
        return;
    mc_res_id big_id = mc_camlbox_id(big);
    W_RC(tu_start_fn(drv_sender, &box_id, sizeof box_id, &sender), 0);
    long long mp;
    int os;
    FILE *rd = fdopen(dup(ready_pipe[0]), "r");
    W_CHECK(rd && fscanf(rd, "%lld %d", &mp, &os) == 2, "no word from the "
            "sleeper");
    if (rd)
        fclose(rd);
    mc_camlbox_stats bs = {0};
    for (int i = 0; i < 500; i++) {
        W_RC(mc_camlbox_stats_get(box, &bs), 0);
        if (bs.ready == 3)
            break;
        tu_sleep_ms(10);
    }
    W_CHECK(bs.ready == 3, "the sender's 3 messages (%zu)", bs.ready);
    mc_heap_stats hs;
    mc_pool_stats ps;
    W_RC(mc_heap_stats_get(heap, &hs), 0);
    W_RC(mc_pool_stats_get(pool, &ps), 0);
    char heap_addr[32], sa_heap[32], sm_heap[32];
    snprintf(heap_addr, sizeof heap_addr, "%p", (void *)heap);
    snprintf(sa_heap, sizeof sa_heap, "%p", (void *)mc_sarray_heap(sa));
    snprintf(sm_heap, sizeof sm_heap, "%p", (void *)mc_smatrix_heap(sm));
    long long pool_id = (long long)mc_pool_id(pool);

    static char out[32768];
    char args[1024], want[512];
    snprintf(args, sizeof args, "stat '%s'", stat_dir);
    int st = run_sh(args, NULL, out, sizeof out);
    W_CHECK(st == 0, "mcadmin stat exited %d:\n%s", st, out);
    /* the tables' rows, as mcadmin.c lays them out */
    snprintf(want, sizeof want, "  %6lld %12zu ", pool_id, ps.max);
    W_CHECK(strstr(out, want) != NULL, "the pool (%s):\n%s", want, out);
    snprintf(want, sizeof want, "  %6lld %14s %12zu %12zu ", pool_id,
             heap_addr, hs.live_bytes, hs.heap_bytes - hs.live_bytes);
    W_CHECK(strstr(out, want) != NULL, "the heap (%s):\n%s", want, out);
    snprintf(want, sizeof want, "  %6lld %6d %6d %6d %7d %7d %10d %5d %10d\n",
             (long long)box_id, 8, 3, 3, 0, 1, 3, 0, 64);
    W_CHECK(strstr(out, want) != NULL, "the box (%s):\n%s", want, out);
    snprintf(want, sizeof want, "  %6lld %6d %6s %6s %7s %7d %10d %5d %10d\n",
             (long long)big_id, 4, "-", "-", "-", 1, 0, 0, 16 << 20);
    W_CHECK(strstr(out, want) != NULL, "the big box (%s):\n%s", want, out);
    snprintf(want, sizeof want, "  sarray   pool=%lld heap=%s length=25\n",
             pool_id, sa_heap);
    W_CHECK(strstr(out, want) != NULL, "the sarray (%s):\n%s", want, out);
    snprintf(want, sizeof want, "  smatrix  pool=%lld heap=%s rows=3 cols=4 "
             "length=12\n", pool_id, sm_heap);
    W_CHECK(strstr(out, want) != NULL, "the smatrix (%s):\n%s", want, out);
    long long pool2_id = (long long)mc_pool_id(pool2);
    snprintf(want, sizeof want, "  squeue   pool=%lld heap=", pool2_id);
    W_CHECK(line_has(out, want, " length=5 capacity=100 closed=0"),
            "the squeue:\n%s", out);
    snprintf(want, sizeof want, "  sbuffer  pool=%lld heap=", pool2_id);
    W_CHECK(line_has(out, want, " length=1000 capacity=0 closed=0"),
            "the sbuffer:\n%s", out);
    snprintf(want, sizeof want, "  shashtbl pool=%lld heap=", pool2_id);
    W_CHECK(line_has(out, want, " length=7"), "the shashtbl:\n%s", out);
    snprintf(want, sizeof want, "  %6lld %8d %6s %-8s ", mp, os, "1",
             "running");
    W_CHECK(strstr(out, want) && strstr(out, " sleeper\n"),
            "the sleeper (%s):\n%s", want, out);
    /* the driver holds the two pools and the two boxes */
    snprintf(want, sizeof want, "  %6d %8d %6s %-8s %5d -\n", 1,
             (int)getpid(), "0", "running", 4);
    W_CHECK(strstr(out, want) != NULL, "the driver (%s):\n%s", want, out);

    /* --json: valid, and the same numbers */
    snprintf(args, sizeof args, "stat --json '%s'", stat_dir);
    st = run_sh(args, "python3 -m json.tool >/dev/null && echo valid", out,
                sizeof out);
    W_CHECK(st == 0 && strcmp(out, "valid\n") == 0,
            "--json | python3 -m json.tool: %d:\n%s", st, out);
    st = run_sh(args, json_filter, out, sizeof out);
    W_CHECK(st == 0, "--json read by python3: %d:\n%s", st, out);
    snprintf(want, sizeof want, "pool %lld max=%zu used=%zu heaps=3\n",
             pool_id, ps.max, ps.used);
    W_CHECK(strstr(out, want) != NULL, "json pool (%s):\n%s", want, out);
    snprintf(want, sizeof want, "heap %s live=%zu\n", heap_addr,
             hs.live_bytes);
    W_CHECK(strstr(out, want) != NULL, "json heap (%s):\n%s", want, out);
    snprintf(want, sizeof want, "box %lld slots=8 used=3 ready=3 senders=1 "
             "delivered=3\n", (long long)box_id);
    W_CHECK(strstr(out, want) != NULL, "json box (%s):\n%s", want, out);
    snprintf(want, sizeof want, "box %lld slots=4 used=None ready=None "
             "senders=1 delivered=0\n", (long long)big_id);
    W_CHECK(strstr(out, want) != NULL, "json big box (%s):\n%s", want, out);
    snprintf(want, sizeof want, "sarray %s length=25\n", sa_heap);
    W_CHECK(strstr(out, want) != NULL, "json sarray (%s):\n%s", want, out);
    snprintf(want, sizeof want, "smatrix %s length=12\n", sm_heap);
    W_CHECK(strstr(out, want) != NULL, "json smatrix (%s):\n%s", want, out);
    snprintf(want, sizeof want, "worker %lld ospid=%d running sleeper\n", mp,
             os);
    W_CHECK(strstr(out, want) != NULL, "json worker (%s):\n%s", want, out);
    W_CHECK(strstr(out, "worker 0 ospid=") && strstr(out, " master\n"),
            "json master:\n%s", out);

    /* the box drained: the numbers follow */
    unsigned slots[8];
    size_t n = 0;
    W_RC(mc_camlbox_wait(box, 1000, slots, 8, &n), 0);
    for (size_t i = 0; i < n; i++)
        W_RC(mc_camlbox_delete(box, slots[i]), 0);
    W_CHECK(n == 3, "3 messages (%zu)", n);
    st = run_sh(args, json_filter, out, sizeof out);
    snprintf(want, sizeof want, "box %lld slots=8 used=0 ready=0 senders=1 "
             "delivered=3\n", (long long)box_id);
    W_CHECK(st == 0 && strstr(out, want), "json box drained (%s):\n%s", want,
            out);

    /* clients that misbehave: garbage, no reading, many at once */
    int junk[20];
    for (int i = 0; i < 20; i++) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        int w = snprintf(a.sun_path, sizeof a.sun_path, "%s/mcore.stat",
                         stat_dir);
        W_CHECK(w > 0 && w < (int)sizeof a.sun_path, "socket path");
        junk[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        W_CHECK(junk[i] >= 0 && connect(junk[i], (struct sockaddr *)&a,
                                        sizeof a) == 0,
                "connect %d: %s", i, strerror(errno));
        if (junk[i] >= 0)
            send(junk[i], "garbage\n\0\xff", 10, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    /* --watch: two rounds */
    snprintf(args, sizeof args, "stat --watch 0.1 --count 2 '%s'", stat_dir);
    st = run_sh(args, NULL, out, sizeof out);
    char *second = strstr(out, " every 0.1s: ");
    W_CHECK(st == 0 && second && strstr(second + 1, " every 0.1s: ") &&
                strstr(out, "camlboxes:"),
            "--watch 0.1 --count 2: %d:\n%s", st, out);
    for (int i = 0; i < 20; i++)
        if (junk[i] >= 0)
            close(junk[i]);

    W_CHECK(write(stop_pipe[1], "xx", 2) == 2, "stop");
    mc_join_result r = {0};
    W_RC(mc_join(sleeper_jp, sleeper, &r), 0);
    mc_join_result_free(&r);
    W_JOIN_OK(tu_driver_jp, sender, "the sender");
    W_RC(mc_camlbox_destroy(box), 0);
    W_RC(mc_camlbox_destroy(big), 0);
    W_RC(mc_sarray_destroy(sa), 0);
    W_RC(mc_smatrix_destroy(sm), 0);
    W_RC(mc_heap_destroy(heap), 0);
    W_RC(mc_squeue_destroy(q), 0);
    W_RC(mc_sbuffer_destroy(sb), 0);
    W_RC(mc_shashtbl_destroy(ht), 0);
    W_RC(mc_pool_release(pool2), 0);
    /* a destroyed heap leaves its pool's table */
    snprintf(args, sizeof args, "stat --json '%s'", stat_dir);
    st = run_sh(args, json_filter, out, sizeof out);
    snprintf(want, sizeof want, "pool %lld ", pool_id);
    W_CHECK(st == 0 && strstr(out, want) && strstr(out, " heaps=0\n") &&
                !strstr(out, "heap 0x"),
            "heaps gone: %d:\n%s", st, out);
    W_RC(mc_pool_release(pool), 0);

    /* a live session without the socket (an older mcore's) */
    char sock[600];
    snprintf(sock, sizeof sock, "%s/mcore.stat", stat_dir);
    W_CHECK(unlink(sock) == 0, "unlink %s: %s", sock, strerror(errno));
    snprintf(args, sizeof args, "stat '%s'", stat_dir);
    st = run_sh(args, NULL, out, sizeof out);
    W_CHECK(st == 1 && strstr(out, "the session is live but serves no "
                                   "statistics") &&
                strstr(out, "'mcadmin ps "),
            "no socket: %d:\n%s", st, out);
}

static void test_stat_live(void **state)
{
    (void)state;
    tu_begin();
    char *dir = tu_mkdtemp();
    snprintf(stat_dir, sizeof stat_dir, "%s", dir);
    mc_config cfg = {.socket_dir = dir};
    tu_drive(&cfg, drv_stat, NULL, 0);
    /* a clean end takes the socket away */
    char path[1024];
    snprintf(path, sizeof path, "%s/mcore.stat", dir);
    if (access(path, F_OK) == 0)
        fail_msg("%s is left after a clean session", path);
    tu_rmtree(dir);
    free(dir);
    tu_end();
}

/* A session in the default directory: `mcadmin stat` without DIR. */
static void drv_default_dir(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    static char out[65536];
    char want[64];
    snprintf(want, sizeof want, " 1:%d ", (int)getpid());
    int st = run_sh("stat --json", json_all_filter, out, sizeof out);
    W_CHECK(st == 0 && strstr(out, want), "stat --json of every session, "
            "%d (%s):\n%s", st, want, out);
    st = run_sh("stat", NULL, out, sizeof out);
    snprintf(want, sizeof want, "  %6d %8d ", 1, (int)getpid());
    W_CHECK(st == 0 && strstr(out, want) && strstr(out, "camlboxes: none\n"),
            "stat of every session, %d (%s):\n%s", st, want, out);
}

static void test_stat_default_dir(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_default_dir, NULL, 0);
    tu_end();
}

/* The master of a session that is killed while a worker runs. */
static int die_first(void *ctx)
{
    (void)ctx;
    mc_pid pid;
    if (mc_start(sleeper_fp, NULL, 0, &pid))
        _exit(3);
    char line[64];
    if (read(ready_pipe[0], line, sizeof line) <= 0)
        _exit(4);
    kill(0, SIGKILL); /* the whole session: its process group */
    return 0;
}

static void test_stat_dead(void **state)
{
    (void)state;
    tu_begin();
    char *dir = tu_mkdtemp();
    fflush(NULL);
    pid_t m = fork();
    assert_true(m >= 0);
    if (m == 0) {
        setpgid(0, 0);
        mc_config cfg = {.socket_dir = dir};
        mc_startup(&cfg, die_first, NULL);
        _exit(5);
    }
    int st;
    assert_int_equal(waitpid(m, &st, 0), m);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    char out[16384], args[1024], path[1024];
    snprintf(path, sizeof path, "%s/mcore.stat", dir);
    if (access(path, F_OK) != 0)
        fail_msg("the dead server's socket %s should be left", path);
    snprintf(args, sizeof args, "stat '%s'", dir);
    int rc = 0;
    for (int i = 0; i < 100; i++) { /* until the lock is free */
        rc = run_sh(args, NULL, out, sizeof out);
        if (strstr(out, "not live"))
            break;
        tu_sleep_ms(50);
    }
    if (rc != 1 || !strstr(out, "session not live (its master is gone)") ||
        !strstr(out, "'mcadmin list ") || !strstr(out, "'mcadmin unlink "))
        fail_msg("mcadmin stat of a dead session exited %d:\n%s", rc, out);
    snprintf(args, sizeof args, "stat --json '%s'", dir);
    rc = run_sh(args, NULL, out, sizeof out);
    if (rc != 1 || !strstr(out, "session not live"))
        fail_msg("mcadmin stat --json of a dead session exited %d:\n%s", rc,
                 out);
    snprintf(args, sizeof args, "unlink '%s'", dir);
    rc = run_sh(args, NULL, out, sizeof out);
    if (rc != 0)
        fail_msg("mcadmin unlink exited %d:\n%s", rc, out);
    if (access(path, F_OK) == 0)
        fail_msg("%s is left after mcadmin unlink", path);
    tu_rmtree(dir);
    free(dir);
    tu_end();
}

static void test_stat_foreign(void **state)
{
    (void)state;
    tu_begin();
    char *dir = tu_mkdtemp();
    char out[16384], args[1024];
    snprintf(args, sizeof args, "stat '%s'", dir);
    int rc = run_sh(args, NULL, out, sizeof out);
    if (rc != 1 || !strstr(out, "is not an mcore session directory") ||
        !strstr(out, "'mcadmin ps'"))
        fail_msg("a directory of no session, exit %d:\n%s", rc, out);
    rc = run_sh("stat /nonexistent-mcore-dir", NULL, out, sizeof out);
    if (rc != 1 || !strstr(out, "/nonexistent-mcore-dir: No such file"))
        fail_msg("a missing directory, exit %d:\n%s", rc, out);
    /* another user's session is not ours to ask: / is root's; as root,
     * a directory given to uid 65534 */
    char other[512];
    snprintf(other, sizeof other, "%s/other", dir);
    if (geteuid() == 0 && (mkdir(other, 0700) != 0 ||
                           chown(other, 65534, 65534) != 0))
        fail_msg("%s: %s", other, strerror(errno));
    snprintf(args, sizeof args, "stat '%s'", geteuid() ? "/" : other);
    rc = run_sh(args, NULL, out, sizeof out);
    if (rc != 1 || !strstr(out, geteuid() ? "belongs to user root (uid 0)"
                                          : "(uid 65534)") ||
        !strstr(out, ", not to you: a session answers its own user only") ||
        !strstr(out, "sudo -u "))
        fail_msg("another user's directory, exit %d:\n%s", rc, out);
    rc = run_sh("stat --watch 0 .", NULL, out, sizeof out);
    if (rc != 1 || !strstr(out, "--watch 0: give seconds"))
        fail_msg("--watch 0, exit %d:\n%s", rc, out);
    rc = run_sh("stat --bogus", NULL, out, sizeof out);
    if (rc != 1 || !strstr(out, "unexpected '--bogus'"))
        fail_msg("--bogus, exit %d:\n%s", rc, out);
    tu_rmtree(dir);
    free(dir);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    if (pipe(ready_pipe) || pipe(stop_pipe))
        return -1;
    if (mc_def_process_named("sleeper", sleeper_body, NULL, &sleeper_fp,
                             &sleeper_jp))
        return -1;
    static char tmp[] = "/tmp/mcore-test-stat.XXXXXX";
    if (!mkdtemp(tmp))
        return -1;
    snprintf(tmp_out, sizeof tmp_out, "%s/out", tmp);
    snprintf(py_script, sizeof py_script, "%s/nums.py", tmp);
    snprintf(json_filter, sizeof json_filter, "python3 '%s'", py_script);
    snprintf(py_all, sizeof py_all, "%s/all.py", tmp);
    snprintf(json_all_filter, sizeof json_all_filter, "python3 '%s'",
             py_all);
    FILE *f = fopen(py_script, "w");
    if (!f || fputs(py_text, f) < 0 || fclose(f) != 0)
        return -1;
    f = fopen(py_all, "w");
    if (!f || fputs(py_all_text, f) < 0 || fclose(f) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(py_script);
    unlink(py_all);
    unlink(tmp_out);
    char *slash = strrchr(py_script, '/');
    if (slash) {
        *slash = '\0';
        rmdir(py_script);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_live),
        cmocka_unit_test(test_stat_default_dir),
        cmocka_unit_test(test_stat_dead),
        cmocka_unit_test(test_stat_foreign),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

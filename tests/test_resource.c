/* tests/test_resource.c: the resource table.
 *
 * Creation of each kind, lookup from another worker, sharing of data and
 * semaphores between workers, holds and deletion (a named object disappears
 * once its last holder lets go, not before), inheritance, the manifest,
 * modes, errors, and the cleanup at the end of a session.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[512];            /* socket dir of the running session */
static mc_res_id mk_fp, mk_jp;     /* creates objects, returns their names */

/* ------------------------------------------------------------ helpers */

/* kinds used below: 'm' memfd shm, 's' named shm, 'e' semaphore, 'f' file */
static int w_create(char kind, mc_res_id *id)
{
    switch (kind) {
    case 'm': return W_RC(mc_shm_create(4096, id), 0);
    case 's': return W_RC(mc_shm_create_named(NULL, 4096, id), 0);
    case 'e': return W_RC(mc_named_sem_create(0, id), 0);
    default: return W_RC(mc_file_create(id), 0);
    }
}

static void manifest_line(char kind, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %s",
             kind == 's' ? "shm" : kind == 'e' ? "sem" : "file", name);
}

/* Mode and presence of a named object. */
static void w_check_named(char kind, const char *name, size_t size)
{
    char p[600];
    if (kind == 'f')
        snprintf(p, sizeof p, "%s", name);
    else
        tu_devshm_path(name, kind == 'e', p, sizeof p);
    struct stat st;
    if (stat(p, &st) != 0) {
        W_CHECK(0, "%s does not exist: %s", p, strerror(errno));
        return;
    }
    W_CHECK((st.st_mode & 0777) == 0600, "%s has mode %o, expected 0600", p,
            (unsigned)(st.st_mode & 0777));
    if (kind == 's')
        W_CHECK((size_t)st.st_size == size, "%s has size %lld, expected %zu",
                p, (long long)st.st_size, size);
    if (kind != 'f')
        W_CHECK(strncmp(name, "/mcore.", 7) == 0,
                "generated name %s does not start with /mcore.", name);
    if (kind == 'f') {
        size_t dl = strlen(g_dir);
        W_CHECK(strncmp(name, g_dir, dl) == 0 && name[dl] == '/',
                "temp file %s is not in the socket dir %s", name, g_dir);
    }
    char line[700];
    manifest_line(kind, name, line, sizeof line);
    W_CHECK(tu_manifest_has(g_dir, line),
            "manifest of %s lacks the line \"%s\"", g_dir, line);
}

static void *w_map(mc_res_id id, size_t size)
{
    int fd = -1;
    if (W_RC(mc_shm_fd(id, &fd), 0) != 0)
        return NULL;
    struct stat st;
    W_CHECK(fstat(fd, &st) == 0 && (size_t)st.st_size >= size,
            "shm fd %d: size %lld < %zu", fd, (long long)st.st_size, size);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        W_CHECK(0, "mmap of shm fd %d: %s", fd, strerror(errno));
        return NULL;
    }
    return p;
}

static char *g_dirp;  /* freed by the teardown when a test fails */

static mc_config dir_cfg(char **dir)
{
    *dir = g_dirp = tu_mkdtemp();
    snprintf(g_dir, sizeof g_dir, "%s", *dir);
    mc_config cfg = { .socket_dir = *dir };
    return cfg;
}

static void drop_dir(char *dir)
{
    tu_rmtree(dir);
    free(dir);
    g_dir[0] = '\0';
    g_dirp = NULL;
}

static int teardown(void **state)
{
    (void)state;
    if (g_dirp)
        drop_dir(g_dirp);
    return 0;
}

/* ------------------------------------------------------------ shm */

struct shm_arg {
    mc_res_id id;
    size_t size;
    uint32_t seed;
};

/* Looks the resource up (it was started with an empty inherit list), then
 * writes the pattern. */
static void w_shm_writer(const void *arg, size_t len)
{
    struct shm_arg a;
    if (len != sizeof a) {
        W_CHECK(0, "bad arg");
        return;
    }
    memcpy(&a, arg, sizeof a);
    mc_res_info info;
    if (W_RC(mc_res_get(a.id, &info), 0) != 0)
        return;
    uint8_t *p = w_map(a.id, a.size);
    if (!p)
        return;
    tu_pattern_fill(p, a.size, a.seed);
    munmap(p, a.size);
    /* ends without releasing: the hold is dropped at exit */
}

static void w_shm_reader(const void *arg, size_t len)
{
    struct shm_arg a;
    memcpy(&a, arg, sizeof a);
    (void)len;
    uint8_t *p = w_map(a.id, a.size);  /* inherited: no lookup needed */
    if (!p)
        return;
    size_t bad = tu_pattern_check(p, a.size, a.seed);
    W_CHECK(bad == (size_t)-1, "reader: byte %zu of the shm is wrong", bad);
    munmap(p, a.size);
    W_RC(mc_release(a.id), 0);
}

static void drv_shm(const void *arg, size_t len)
{
    (void)len;
    char kind = *(const char *)arg;
    size_t size = 65536;
    mc_res_id id;
    int rc = kind == 'm' ? mc_shm_create(size, &id)
                         : mc_shm_create_named(NULL, size, &id);
    if (W_RC(rc, 0) != 0)
        return;
    mc_res_info info;
    memset(&info, 0x55, sizeof info);
    if (W_RC(mc_res_get(id, &info), 0) != 0)
        return;
    W_CHECK(info.kind == (kind == 'm' ? MC_RES_SHM : MC_RES_SHM_NAMED),
            "info.kind %d", (int)info.kind);
    W_CHECK(info.size == size, "info.size %zu", info.size);
    if (kind == 's')
        w_check_named('s', info.name, size);
    else
        W_CHECK(info.name[0] == '\0', "memfd shm has a name \"%.40s\"",
                info.name);

    uint8_t *p = w_map(id, size);
    if (!p)
        return;
    size_t nz = 0;
    for (size_t i = 0; i < size; i++)
        nz += p[i] != 0;
    W_CHECK(nz == 0, "a new shm has %zu non-zero bytes", nz);

    struct shm_arg a = { id, size, 1234 };
    mc_pid pid;
    if (W_RC(tu_start_fn_ex(w_shm_writer, &a, sizeof a, NULL, 0, &pid), 0) ==
        0)
        W_JOIN_OK(tu_driver_jp, pid, "shm writer");
    size_t bad = tu_pattern_check(p, size, a.seed);
    W_CHECK(bad == (size_t)-1, "driver: byte %zu written by the writer is "
            "wrong", bad);
    if (W_RC(tu_start_fn(w_shm_reader, &a, sizeof a, &pid), 0) == 0)
        W_JOIN_OK(tu_driver_jp, pid, "shm reader");
    munmap(p, size);
    W_RC(mc_release(id), 0);
    if (kind == 's') {
        W_CHECK(tu_wait_exists('s', info.name, 0, 2000),
                "%s still exists after the last release", info.name);
        char line[700];
        manifest_line('s', info.name, line, sizeof line);
        W_CHECK(!tu_manifest_has(g_dir, line),
                "manifest still lists \"%s\" after deletion", line);
    }
    W_RC(mc_res_get(id, &info), MC_ENOENT);
}

static void test_shm_memfd(void **state)
{
    (void)state;
    tu_begin();
    char *dir;
    mc_config cfg = dir_cfg(&dir);
    tu_drive(&cfg, drv_shm, "m", 1);
    drop_dir(dir);
    tu_end();
}

static void test_shm_named(void **state)
{
    (void)state;
    tu_begin();
    char *dir;
    mc_config cfg = dir_cfg(&dir);
    tu_drive(&cfg, drv_shm, "s", 1);
    drop_dir(dir);
    tu_end();
}

/* explicit names */
static void drv_shm_names(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    char name[128];
    snprintf(name, sizeof name, "/mcore-test.%d.a", (int)getpid());
    mc_res_id id, id2;
    if (W_RC(mc_shm_create_named(name, 1000, &id), 0) != 0)
        return;
    mc_res_info info;
    if (W_RC(mc_res_get(id, &info), 0) == 0) {
        W_CHECK(strcmp(info.name, name) == 0, "name %s, expected %s",
                info.name, name);
        W_CHECK(info.kind == MC_RES_SHM_NAMED && info.size == 1000,
                "kind %d size %zu", (int)info.kind, info.size);
    }
    W_CHECK(tu_shm_exists(name), "%s not in /dev/shm", name);
    W_RC(mc_shm_create_named(name, 1000, &id2), MC_EEXIST);

    /* a name taken by somebody outside mcore */
    char ext[128];
    snprintf(ext, sizeof ext, "/mcore-test.%d.ext", (int)getpid());
    int fd = shm_open(ext, O_RDWR | O_CREAT | O_EXCL, 0600);
    W_CHECK(fd >= 0, "shm_open %s: %s", ext, strerror(errno));
    if (fd >= 0) {
        W_RC(mc_shm_create_named(ext, 1000, &id2), MC_EEXIST);
        close(fd);
        shm_unlink(ext);
    }

    /* bad names and sizes */
    char longname[260];
    memset(longname, 'x', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    W_RC(mc_shm_create_named("noslash", 100, &id2), MC_EINVAL);
    W_RC(mc_shm_create_named("/a/b", 100, &id2), MC_EINVAL);
    W_RC(mc_shm_create_named("", 100, &id2), MC_EINVAL);
    W_RC(mc_shm_create_named("/", 100, &id2), MC_EINVAL);
    W_RC(mc_shm_create_named(longname, 100, &id2), MC_EINVAL);
    longname[210] = '\0';  /* the header allows < 200 characters */
    W_RC(mc_shm_create_named(longname, 100, &id2), MC_EINVAL);
    W_CHECK(!tu_shm_exists(longname), "a refused create left %.20s...",
            longname);
    W_RC(mc_shm_create_named("/mcore-test.zero", 0, &id2), MC_EINVAL);
    W_RC(mc_shm_create_named(NULL, 100, NULL), MC_EINVAL);
    W_CHECK(!tu_shm_exists("/mcore-test.zero"),
            "a refused create left /dev/shm/mcore-test.zero");

    W_RC(mc_release(id), 0);
    W_CHECK(tu_wait_exists('s', name, 0, 2000), "%s still exists", name);
    /* the name is free again */
    if (W_RC(mc_shm_create_named(name, 10, &id2), 0) == 0)
        W_RC(mc_release(id2), 0);
}

static void test_shm_names(void **state)
{
    (void)state;
    tu_begin();
    char *dir;
    mc_config cfg = dir_cfg(&dir);
    tu_drive(&cfg, drv_shm_names, NULL, 0);
    drop_dir(dir);
    tu_end();
}

/* ------------------------------------------------------------ sem */

static void w_sem_waiter(const void *arg, size_t len)
{
    (void)len;
    mc_res_id id;
    memcpy(&id, arg, sizeof id);
    sem_t *s;
    if (W_RC(mc_named_sem_get(id, &s), 0) != 0)
        return;
    W_CHECK(tu_sem_wait_ms(s, 5000) == 0,
            "waiter: no post within 5 s (%s)", strerror(errno));
}

static void w_sem_poster(const void *arg, size_t len)
{
    (void)len;
    mc_res_id id;
    memcpy(&id, arg, sizeof id);
    sem_t *s;
    if (W_RC(mc_named_sem_get(id, &s), 0) != 0)
        return;
    W_CHECK(sem_post(s) == 0, "sem_post: %s", strerror(errno));
    W_RC(mc_release(id), 0);
}

static void drv_sem(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id id, id3;
    if (W_RC(mc_named_sem_create(0, &id), 0) != 0)
        return;
    mc_res_info info;
    if (W_RC(mc_res_get(id, &info), 0) != 0)
        return;
    W_CHECK(info.kind == MC_RES_SEM, "kind %d", (int)info.kind);
    w_check_named('e', info.name, 0);

    mc_pid wpid, ppid;
    int w_ok = W_RC(tu_start_fn_ex(w_sem_waiter, &id, sizeof id, NULL, 0,
                                   &wpid), 0) == 0;
    tu_sleep_ms(50);
    if (W_RC(tu_start_fn_ex(w_sem_poster, &id, sizeof id, NULL, 0, &ppid),
             0) == 0)
        W_JOIN_OK(tu_driver_jp, ppid, "sem poster");
    if (w_ok)
        W_JOIN_OK(tu_driver_jp, wpid, "sem waiter");

    /* initial value */
    if (W_RC(mc_named_sem_create(3, &id3), 0) == 0) {
        sem_t *s;
        int v = -1;
        if (W_RC(mc_named_sem_get(id3, &s), 0) == 0) {
            sem_getvalue(s, &v);
            W_CHECK(v == 3, "sem created with 3 has value %d", v);
        }
        W_RC(mc_release(id3), 0);
    }
    W_RC(mc_release(id), 0);
    W_CHECK(tu_wait_exists('e', info.name, 0, 2000),
            "sem %s still exists after the last release", info.name);
    char line[700];
    manifest_line('e', info.name, line, sizeof line);
    W_CHECK(!tu_manifest_has(g_dir, line), "manifest still lists \"%s\"",
            line);
}

static void test_sem(void **state)
{
    (void)state;
    tu_begin();
    char *dir;
    mc_config cfg = dir_cfg(&dir);
    tu_drive(&cfg, drv_sem, NULL, 0);
    drop_dir(dir);
    tu_end();
}

/* ------------------------------------------------------------ file */

static void w_file_writer(const void *arg, size_t len)
{
    (void)len;
    mc_res_id id;
    memcpy(&id, arg, sizeof id);
    mc_res_info info;
    if (W_RC(mc_res_get(id, &info), 0) != 0)
        return;
    int fd = open(info.name, O_WRONLY);
    W_CHECK(fd >= 0, "open %s: %s", info.name, strerror(errno));
    if (fd < 0)
        return;
    W_CHECK(write(fd, "hello file", 10) == 10, "write: %s", strerror(errno));
    close(fd);
    W_RC(mc_release(id), 0);
}

static void drv_file(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id id;
    if (W_RC(mc_file_create(&id), 0) != 0)
        return;
    mc_res_info info;
    if (W_RC(mc_res_get(id, &info), 0) != 0)
        return;
    W_CHECK(info.kind == MC_RES_FILE, "kind %d", (int)info.kind);
    w_check_named('f', info.name, 0);
    struct stat st;
    W_CHECK(stat(info.name, &st) == 0 && S_ISREG(st.st_mode) &&
                st.st_size == 0,
            "temp file %s is not an empty regular file", info.name);
    mc_pid pid;
    if (W_RC(tu_start_fn_ex(w_file_writer, &id, sizeof id, NULL, 0, &pid),
             0) == 0)
        W_JOIN_OK(tu_driver_jp, pid, "file writer");
    char buf[32] = "";
    int fd = open(info.name, O_RDONLY);
    W_CHECK(fd >= 0, "open %s: %s", info.name, strerror(errno));
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        W_CHECK(n == 10 && memcmp(buf, "hello file", 10) == 0,
                "file content: %zd bytes", n);
        close(fd);
    }
    W_RC(mc_release(id), 0);
    W_CHECK(tu_wait_exists('f', info.name, 0, 2000),
            "file %s still exists after the last release", info.name);
    char line[700];
    manifest_line('f', info.name, line, sizeof line);
    W_CHECK(!tu_manifest_has(g_dir, line), "manifest still lists \"%s\"",
            line);
}

static void test_file(void **state)
{
    (void)state;
    tu_begin();
    char *dir;
    mc_config cfg = dir_cfg(&dir);
    tu_drive(&cfg, drv_file, NULL, 0);
    drop_dir(dir);
    tu_end();
}

/* ------------------------------------------- release and deletion */

struct rel_arg {
    char kind;
    mc_res_id x, s1, s2;
};

/* B: looks X up, says so (s1), waits for the go (s2), releases X. */
static void w_holder_b(const void *arg, size_t len)
{
    (void)len;
    struct rel_arg a;
    memcpy(&a, arg, sizeof a);
    mc_res_info info;
    sem_t *s1, *s2;
    if (W_RC(mc_named_sem_get(a.s1, &s1), 0) != 0 ||
        W_RC(mc_named_sem_get(a.s2, &s2), 0) != 0)
        return;
    int got = W_RC(mc_res_get(a.x, &info), 0) == 0;
    sem_post(s1);
    W_CHECK(tu_sem_wait_ms(s2, 5000) == 0, "B: no go within 5 s");
    if (got && a.kind == 'm') {
        /* the memfd must still work: the driver released it already */
        int fd;
        if (W_RC(mc_shm_fd(a.x, &fd), 0) == 0) {
            uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                              fd, 0);
            W_CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
            if (p != MAP_FAILED) {
                W_CHECK(p[0] == 0xAB, "memfd byte 0 is %d", p[0]);
                munmap(p, 4096);
            }
        }
    }
    if (got) {
        W_RC(mc_release(a.x), 0);
        W_RC(mc_release(a.x), MC_ENOENT);
    }
}

static void drv_release(const void *arg, size_t len)
{
    (void)len;
    struct rel_arg a;
    a.kind = *(const char *)arg;
    if (w_create(a.kind, &a.x) != 0 || W_RC(mc_named_sem_create(0, &a.s1), 0) ||
        W_RC(mc_named_sem_create(0, &a.s2), 0))
        return;
    mc_res_info info;
    if (W_RC(mc_res_get(a.x, &info), 0) != 0)
        return;
    if (a.kind == 'm') {
        uint8_t *p = w_map(a.x, 4096);
        if (p) {
            p[0] = 0xAB;
            munmap(p, 4096);
        }
    }
    sem_t *s1, *s2;
    if (W_RC(mc_named_sem_get(a.s1, &s1), 0) != 0 ||
        W_RC(mc_named_sem_get(a.s2, &s2), 0) != 0)
        return;
    mc_res_id inh[2] = { a.s1, a.s2 };
    mc_pid pid;
    if (W_RC(tu_start_fn_ex(w_holder_b, &a, sizeof a, inh, 2, &pid), 0) != 0)
        return;
    W_CHECK(tu_sem_wait_ms(s1, 5000) == 0, "B did not look X up in 5 s");
    char line[700] = "";
    if (a.kind != 'm')
        manifest_line(a.kind, info.name, line, sizeof line);

    W_RC(mc_release(a.x), 0);       /* A lets go; B still holds */
    W_RC(mc_release(a.x), MC_ENOENT);
    tu_sleep_ms(50);
    if (a.kind != 'm') {
        W_CHECK(tu_exists(a.kind, info.name),
                "%s was deleted while B still held it", info.name);
        W_CHECK(tu_manifest_has(g_dir, line),
                "manifest lost \"%s\" while B still held it", line);
    }
    sem_post(s2);
    W_JOIN_OK(tu_driver_jp, pid, "holder B");
    if (a.kind != 'm') {
        W_CHECK(tu_wait_exists(a.kind, info.name, 0, 2000),
                "%s still exists 2 s after its last holder released it",
                info.name);
        W_CHECK(!tu_manifest_has(g_dir, line),
                "manifest still lists \"%s\" after deletion", line);
    }
    W_RC(mc_res_get(a.x, &info), MC_ENOENT);
    W_RC(mc_release(a.x), MC_ENOENT);
    W_RC(mc_release(a.s1), 0);
    W_RC(mc_release(a.s2), 0);
}

static void test_release_deletion(void **state)
{
    (void)state;
    static const char kinds[] = "mseff";
    for (int i = 0; i < 4; i++) {
        tu_begin();
        char *dir;
        mc_config cfg = dir_cfg(&dir);
        tu_drive(&cfg, drv_release, &kinds[i], 1);
        drop_dir(dir);
        tu_end();
    }
}

/* ------------------------------------------------------------ errors */

static void w_sleep_200(const void *arg, size_t len);

static void drv_errors(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id shm, sem, file, id;
    if (W_RC(mc_shm_create(4096, &shm), 0) || W_RC(mc_named_sem_create(0, &sem), 0)
        || W_RC(mc_file_create(&file), 0))
        return;
    int fd;
    sem_t *s;
    mc_res_info info;
    mc_res_info seminfo;
    W_RC(mc_res_get(sem, &seminfo), 0);
    W_RC(mc_shm_fd(sem, &fd), MC_ETYPE);
    W_CHECK(tu_sem_exists(seminfo.name),
            "a refused mc_shm_fd(sem) (MC_ETYPE) dropped the hold the "
            "caller had before: %s was deleted", seminfo.name);
    W_RC(mc_shm_fd(file, &fd), MC_ETYPE);
    W_RC(mc_shm_fd(tu_driver_fp, &fd), MC_ETYPE);
    W_RC(mc_res_get(tu_driver_fp, &info), 0);
    W_RC(mc_res_get(sem, &info), 0);
    W_RC(mc_named_sem_get(shm, &s), MC_ETYPE);
    W_RC(mc_named_sem_get(file, &s), MC_ETYPE);
    W_RC(mc_shm_fd((mc_res_id)1 << 40, &fd), MC_ENOENT);
    W_RC(mc_named_sem_get((mc_res_id)1 << 40, &s), MC_ENOENT);
    W_RC(mc_res_get((mc_res_id)1 << 40, &info), MC_ENOENT);
    W_RC(mc_release((mc_res_id)1 << 40), MC_ENOENT);
    W_RC(mc_release(0), MC_ENOENT);
    W_RC(mc_release(-3), MC_ENOENT);
    W_RC(mc_shm_fd(shm, NULL), MC_EINVAL);
    W_RC(mc_named_sem_get(sem, NULL), MC_EINVAL);
    W_RC(mc_res_get(shm, NULL), MC_EINVAL);
    W_RC(mc_shm_create(0, &id), MC_EINVAL);
    W_RC(mc_shm_create(4096, NULL), MC_EINVAL);
    W_RC(mc_file_create(NULL), MC_EINVAL);
    W_RC(mc_named_sem_create(0, NULL), MC_EINVAL);
    W_RC(mc_manage(MC_RES_SHM, "/x", &id), MC_EINVAL);
    W_RC(mc_manage(MC_RES_FORK_POINT, "/x", &id), MC_EINVAL);
    W_RC(mc_manage(MC_RES_SHM_NAMED, "noslash", &id), MC_EINVAL);
    W_RC(mc_manage(MC_RES_SEM, NULL, &id), MC_EINVAL);
    /* fork and join points are resources too */
    if (W_RC(mc_res_get(tu_driver_fp, &info), 0) == 0)
        W_CHECK(info.kind == MC_RES_FORK_POINT, "fork point kind %d",
                (int)info.kind);
    if (W_RC(mc_res_get(tu_driver_jp, &info), 0) == 0)
        W_CHECK(info.kind == MC_RES_JOIN_POINT, "join point kind %d",
                (int)info.kind);
    /* delete, then use */
    W_RC(mc_release(shm), 0);
    W_RC(mc_res_get(shm, &info), MC_ENOENT);
    W_RC(mc_shm_fd(shm, &fd), MC_ENOENT);
    W_RC(mc_release(shm), MC_ENOENT);
    W_RC(mc_release(sem), 0);
    W_RC(mc_named_sem_get(sem, &s), MC_ENOENT);
    W_RC(mc_release(file), 0);
    W_RC(mc_res_get(file, &info), MC_ENOENT);
}

static void test_errors(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_errors, NULL, 0);
    tu_end();
    /* whatever happened there, the next session starts from the
     * definitions (the driver's fork point included) */
    tu_begin();
    tu_drive(NULL, w_sleep_200, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------- inheritance */

static void w_release_expect(const void *arg, size_t len)
{
    (void)len;
    struct {
        mc_res_id id;
        int expect;
    } a;
    memcpy(&a, arg, sizeof a);
    W_RC(mc_release(a.id), a.expect);
}

static void w_sleep_200(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    tu_sleep_ms(200);
}

static void drv_inherit(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    struct {
        mc_res_id id;
        int expect;
    } a;
    mc_res_info info;
    if (W_RC(mc_shm_create_named(NULL, 4096, &a.id), 0) ||
        W_RC(mc_res_get(a.id, &info), 0))
        return;
    mc_pid pid;
    /* empty list: the child holds nothing */
    a.expect = MC_ENOENT;
    if (W_RC(tu_start_fn_ex(w_release_expect, &a, sizeof a, NULL, 0, &pid),
             0) == 0)
        W_JOIN_OK(tu_driver_jp, pid, "child started with an empty list");
    /* mc_start_ex(..., NULL, 0, ...): "exactly the n resources in inherit
     * (n may be 0)": nothing either */
    {
        char *packed = malloc(sizeof(tu_driver_fn *) + sizeof a);
        tu_driver_fn *fn = w_release_expect;
        memcpy(packed, &fn, sizeof fn);
        memcpy(packed + sizeof fn, &a, sizeof a);
        if (W_RC(mc_start_ex(tu_driver_fp, packed, sizeof fn + sizeof a,
                             NULL, 0, &pid), 0) == 0)
            W_JOIN_OK(tu_driver_jp, pid,
                      "child started with mc_start_ex(inherit NULL, n 0)");
        free(packed);
    }
    /* mc_start: inherits everything */
    a.expect = 0;
    if (W_RC(tu_start_fn(w_release_expect, &a, sizeof a, &pid), 0) == 0)
        W_JOIN_OK(tu_driver_jp, pid, "child started with mc_start");
    /* explicit list */
    if (W_RC(tu_start_fn_ex(w_release_expect, &a, sizeof a, &a.id, 1, &pid),
             0) == 0)
        W_JOIN_OK(tu_driver_jp, pid, "child started with [id]");
    W_CHECK(tu_shm_exists(info.name),
            "%s deleted by a child's release while the driver holds it",
            info.name);
    /* a running child that does not hold it does not keep it alive */
    if (W_RC(tu_start_fn_ex(w_sleep_200, NULL, 0, NULL, 0, &pid), 0) == 0) {
        W_RC(mc_release(a.id), 0);
        W_CHECK(tu_wait_exists('s', info.name, 0, 150),
                "%s kept alive by a child that does not hold it",
                info.name);
        W_JOIN_OK(tu_driver_jp, pid, "sleeper");
    }
}

static void test_inheritance(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_inherit, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------------ manage */

static void drv_manage(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    char path[700], shm[128], sem[128];
    snprintf(path, sizeof path, "%s/managed.txt", g_dir);
    snprintf(shm, sizeof shm, "/mcore-test.%d.managed", (int)getpid());
    snprintf(sem, sizeof sem, "/mcore-test.%d.msem", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    W_CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
    W_CHECK(fd >= 0, "shm_open %s: %s", shm, strerror(errno));
    if (fd >= 0)
        close(fd);
    sem_t *s = sem_open(sem, O_CREAT | O_EXCL, 0600, 0);
    W_CHECK(s != SEM_FAILED, "sem_open %s: %s", sem, strerror(errno));
    if (s != SEM_FAILED)
        sem_close(s);

    struct {
        mc_res_kind kind;
        const char *name;
        char k;
    } objs[3] = { { MC_RES_FILE, path, 'f' },
                  { MC_RES_SHM_NAMED, shm, 's' },
                  { MC_RES_SEM, sem, 'e' } };
    mc_res_id ids[3];
    for (int i = 0; i < 3; i++) {
        if (W_RC(mc_manage(objs[i].kind, objs[i].name, &ids[i]), 0) != 0) {
            ids[i] = 0;
            continue;
        }
        mc_res_info info;
        if (W_RC(mc_res_get(ids[i], &info), 0) == 0)
            W_CHECK(info.kind == objs[i].kind &&
                        strcmp(info.name, objs[i].name) == 0,
                    "managed %s: kind %d name %s", objs[i].name,
                    (int)info.kind, info.name);
        char line[800];
        manifest_line(objs[i].k, objs[i].name, line, sizeof line);
        W_CHECK(tu_manifest_has(g_dir, line),
                "manifest lacks \"%s\" for a managed object", line);
    }
    /* a child inherits them; they survive the driver's release */
    mc_pid pid;
    if (W_RC(tu_start_fn(w_sleep_200, NULL, 0, &pid), 0) == 0) {
        for (int i = 0; i < 3; i++)
            if (ids[i])
                W_RC(mc_release(ids[i]), 0);
        for (int i = 0; i < 3; i++)
            W_CHECK(tu_exists(objs[i].k, objs[i].name),
                    "managed %s deleted while a child holds it",
                    objs[i].name);
        W_JOIN_OK(tu_driver_jp, pid, "sleeper");
    }
    for (int i = 0; i < 3; i++)
        W_CHECK(tu_wait_exists(objs[i].k, objs[i].name, 0, 2000),
                "managed %s not deleted after its last holder ended",
                objs[i].name);
    /* clean up if the runtime did not */
    unlink(path);
    shm_unlink(shm);
    sem_unlink(sem);
}

static void test_manage(void **state)
{
    (void)state;
    tu_begin();
    char *dir;
    mc_config cfg = dir_cfg(&dir);
    tu_drive(&cfg, drv_manage, NULL, 0);
    drop_dir(dir);
    tu_end();
}

/* ------------------------------------------------- session-end cleanup */

/* Creates one object of each kind, never releases them, starts a child
 * that inherits them and creates its own; returns all names (kind letter,
 * name, newline). */
static void w_create_kinds(char *out, size_t cap, size_t *used)
{
    static const char kinds[] = "sef";
    for (int i = 0; i < 3; i++) {
        mc_res_id id;
        mc_res_info info;
        if (w_create(kinds[i], &id) != 0 ||
            W_RC(mc_res_get(id, &info), 0) != 0)
            continue;
        *used += (size_t)snprintf(out + *used, cap - *used, "%c%s\n",
                                  kinds[i], info.name);
    }
    mc_res_id m;
    W_RC(mc_shm_create(1 << 20, &m), 0);  /* a memfd too */
}

static int body_mk(void *user, const void *arg, size_t len, void **result,
                   size_t *result_len)
{
    (void)user;
    (void)arg;
    tu_w_reset();
    char *out = calloc(1, 8192);
    size_t used = 0;
    w_create_kinds(out, 8192, &used);
    if (len == 0) {
        /* top level: a child creating more, ending without releasing */
        mc_pid pid;
        if (W_RC(mc_start(mk_fp, "c", 1, &pid), 0) == 0) {
            mc_join_result r = {0};
            if (W_RC(mc_join(mk_jp, pid, &r), 0) == 0) {
                if (r.kind == MC_EXIT_RESULT && r.len < 8192 - used &&
                    (r.len == 0 || ((char *)r.data)[0] != '!')) {
                    memcpy(out + used, r.data, r.len);
                    used += r.len;
                } else {
                    W_CHECK(0, "child: %s %.*s", tu_kind_str(&r),
                            (int)r.len, r.data ? (char *)r.data : "");
                }
                mc_join_result_free(&r);
            }
        }
    }
    if (tu_w_failed()) {
        /* "!" and the report instead of the names */
        snprintf(out, 8192, "!%s", tu_w_report());
        used = strlen(out);
    }
    *result = out;
    *result_len = used;
    return 0;
}

static void test_session_end_cleanup(void **state)
{
    (void)state;
    tu_begin();
    char *dir;
    mc_config cfg = dir_cfg(&dir);
    mc_join_result r = {0};
    tu_assert_rc(mc_run(&cfg, mk_fp, mk_jp, NULL, 0, &r), 0);
    if (r.kind != MC_EXIT_RESULT)
        fail_msg("creator: %s", tu_kind_str(&r));
    char *names = calloc(1, r.len + 1);
    memcpy(names, r.data, r.len);
    mc_join_result_free(&r);
    if (names[0] == '!')
        fail_msg("creator failed:\n%s", names + 1);
    int n = 0;
    for (char *line = strtok(names, "\n"); line; line = strtok(NULL, "\n")) {
        n++;
        if (tu_exists(line[0], line + 1))
            fail_msg("%s (kind %c) survived the end of the session", line + 1,
                     line[0]);
    }
    free(names);
    assert_int_equal(n, 6);
    if (tu_manifest_exists(dir)) {
        char p[700];
        snprintf(p, sizeof p, "%s/mcore.manifest", dir);
        struct stat st;
        if (stat(p, &st) == 0 && st.st_size != 0)
            fail_msg("the manifest %s is not empty after a clean session "
                     "(%lld bytes)", p, (long long)st.st_size);
    }
    drop_dir(dir);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    assert_int_equal(mc_def_process(body_mk, NULL, &mk_fp, &mk_jp), 0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_shm_memfd, teardown),
        cmocka_unit_test_teardown(test_shm_named, teardown),
        cmocka_unit_test_teardown(test_shm_names, teardown),
        cmocka_unit_test_teardown(test_sem, teardown),
        cmocka_unit_test_teardown(test_file, teardown),
        cmocka_unit_test_teardown(test_release_deletion, teardown),
        cmocka_unit_test_teardown(test_inheritance, teardown),
        cmocka_unit_test_teardown(test_manage, teardown),
        cmocka_unit_test_teardown(test_session_end_cleanup, teardown),
        /* last: a failure here may damage the driver's fork point */
        cmocka_unit_test_teardown(test_errors, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

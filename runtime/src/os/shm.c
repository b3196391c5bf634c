/* shm.c: shared memory objects. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "os/shm.h"

int mc__memfd_create(const char *tag, size_t size, int *fd)
{
    int f = memfd_create(tag, MFD_CLOEXEC);
    if (f < 0)
        return mc__errno("memfd_create");
    if (size && ftruncate(f, (off_t)size) < 0) {
        int rc = mc__errno("ftruncate(memfd)");
        close(f);
        return rc;
    }
    *fd = f;
    return 0;
}

int mc__memfd_from(const void *data, size_t len, int *fd)
{
    int f, rc = mc__memfd_create("mcore-blob", 0, &f);
    if (rc)
        return rc;
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = pwrite(f, p + off, len - off, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = mc__errno("write(memfd)");
            close(f);
            return rc;
        }
        off += (size_t)w;
    }
    *fd = f;
    return 0;
}

int mc__memfd_read(int fd, size_t len, void **data)
{
    *data = NULL;
    if (len == 0)
        return 0;
    char *p = malloc(len);
    if (!p)
        return mc__err(MC_ENOMEM, "cannot allocate %zu bytes", len);
    size_t off = 0;
    while (off < len) {
        ssize_t r = pread(fd, p + off, len - off, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(p);
            return r < 0 ? mc__errno("read(memfd)")
                         : mc__err(MC_ESYS, "memfd shorter than %zu bytes",
                                   len);
        }
        off += (size_t)r;
    }
    *data = p;
    return 0;
}

int mc__shm_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 2 && n < 200 && name[0] == '/' && !strchr(name + 1, '/');
}

int mc__shm_create_named(const char *name, size_t size, int *fd)
{
    int f = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f < 0) {
        if (errno == EEXIST)
            return mc__err(MC_EEXIST, "shm %s already exists", name);
        return mc__errno("shm_open");
    }
    /* the umask may have narrowed 0600; it must not widen it either */
    if (fchmod(f, 0600) < 0 || ftruncate(f, (off_t)size) < 0) {
        int rc = mc__errno("sizing shm object");
        close(f);
        shm_unlink(name);
        return rc;
    }
    *fd = f;
    return 0;
}

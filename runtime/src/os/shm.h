/* shm.h: memfds and named POSIX shm objects, and reading/writing whole
 * byte blobs through a memfd (how large messages travel between processes). */
#ifndef MC_SHM_H
#define MC_SHM_H

#include <stddef.h>

/* A new memfd (close-on-exec) of `size` bytes.  0 or MC_ESYS/MC_ENOMEM. */
int mc__memfd_create(const char *tag, size_t size, int *fd);

/* A new memfd holding a copy of data[0..len). */
int mc__memfd_from(const void *data, size_t len, int *fd);

/* Read the first len bytes of fd into a new malloc()ed buffer (NULL when len
 * is 0).  MC_ESYS if the file is shorter. */
int mc__memfd_read(int fd, size_t len, void **data);

/* shm_open(O_CREAT|O_EXCL, 0600) + size.  MC_EEXIST if the name is taken. */
int mc__shm_create_named(const char *name, size_t size, int *fd);

/* Is name a valid POSIX shm/sem name ("/x", no other slash, < 200 chars)? */
int mc__shm_name_ok(const char *name);

#endif

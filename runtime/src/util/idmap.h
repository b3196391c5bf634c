/* idmap.h: a small open-addressing hash map from nonzero int64 keys to
 * pointers, used by the master for its process and resource tables. */
#ifndef MC_IDMAP_H
#define MC_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct mc__idmap {
    int64_t *keys;   /* 0: empty; INT64_MIN: deleted */
    void **vals;
    size_t cap;      /* power of two, or 0 */
    size_t used;     /* live + deleted slots */
    size_t count;    /* live entries */
} mc__idmap;

/* Insert or replace.  0, or MC_ENOMEM (map unchanged). */
int mc__idmap_put(mc__idmap *m, int64_t key, void *val);
/* The value for key, or NULL. */
void *mc__idmap_get(const mc__idmap *m, int64_t key);
/* Remove key; returns its value, or NULL if absent. */
void *mc__idmap_del(mc__idmap *m, int64_t key);
/* Iterate: start with *pos = 0; returns the next value or NULL at the end.
 * Deleting the returned key during iteration is allowed. */
void *mc__idmap_next(const mc__idmap *m, size_t *pos, int64_t *key);
void mc__idmap_free(mc__idmap *m);

#endif

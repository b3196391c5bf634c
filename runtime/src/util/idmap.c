/* idmap.c: linear probing; deletions leave tombstones that a resize drops. */
#include <stdlib.h>

#include "common.h"
#include "util/idmap.h"

#define TOMB INT64_MIN

static size_t slot_of(int64_t key, size_t cap)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
    return (size_t)(h >> 17) & (cap - 1);
}

static int grow(mc__idmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (m->count * 4 < m->cap) /* mostly tombstones: rehash in place size */
        ncap = m->cap;
    int64_t *keys = calloc(ncap, sizeof *keys);
    void **vals = calloc(ncap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return mc__err(MC_ENOMEM, "idmap: cannot grow to %zu slots", ncap);
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0 || m->keys[i] == TOMB)
            continue;
        size_t j = slot_of(m->keys[i], ncap);
        while (keys[j])
            j = (j + 1) & (ncap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    m->used = m->count;
    return 0;
}

static size_t find(const mc__idmap *m, int64_t key)
{
    if (!m->cap)
        return SIZE_MAX;
    for (size_t j = slot_of(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
        if (m->keys[j] == key)
            return j;
        if (m->keys[j] == 0)
            return SIZE_MAX;
    }
}

int mc__idmap_put(mc__idmap *m, int64_t key, void *val)
{
    size_t j = find(m, key);
    if (j != SIZE_MAX) {
        m->vals[j] = val;
        return 0;
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    j = slot_of(key, m->cap);
    while (m->keys[j] && m->keys[j] != TOMB)
        j = (j + 1) & (m->cap - 1);
    if (m->keys[j] == 0)
        m->used++;
    m->keys[j] = key;
    m->vals[j] = val;
    m->count++;
    return 0;
}

void *mc__idmap_get(const mc__idmap *m, int64_t key)
{
    size_t j = find(m, key);
    return j == SIZE_MAX ? NULL : m->vals[j];
}

void *mc__idmap_del(mc__idmap *m, int64_t key)
{
    size_t j = find(m, key);
    if (j == SIZE_MAX)
        return NULL;
    void *v = m->vals[j];
    m->keys[j] = TOMB;
    m->vals[j] = NULL;
    m->count--;
    return v;
}

void *mc__idmap_next(const mc__idmap *m, size_t *pos, int64_t *key)
{
    for (; *pos < m->cap; (*pos)++) {
        int64_t k = m->keys[*pos];
        if (k != 0 && k != TOMB) {
            if (key)
                *key = k;
            return m->vals[(*pos)++];
        }
    }
    return NULL;
}

void mc__idmap_free(mc__idmap *m)
{
    free(m->keys);
    free(m->vals);
    *m = (mc__idmap){0};
}

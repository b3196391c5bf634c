/* tests/types_fixture.h: hand-written mc_type descriptors for the tests of
 * copies and heaps (what mcidl will generate later), and helpers to build,
 * compare and free local values of them.
 *
 *   fx_rec   a record of scalars and a string
 *   fx_node  a linked list node
 *   fx_tree  a binary tree node with a label
 *   fx_strs  a dynamic array of strings (pointer + count field)
 *   fx_root  the root of the heap tests: slots of all of the above
 *
 * Each copy routine copies scalars by assignment and pointer fields with
 * mc_copy_ptr / mc_copy_str, as generated code will.
 */
#ifndef MCORE_TESTS_TYPES_FIXTURE_H
#define MCORE_TESTS_TYPES_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "mcore/type.h"

typedef struct fx_rec {
    int64_t i;
    double d;
    char *s;
} fx_rec;

typedef struct fx_node {
    int64_t v;
    struct fx_node *next;
} fx_node;

typedef struct fx_tree {
    int64_t key;
    struct fx_tree *left, *right;
    char *label;
} fx_tree;

typedef struct fx_strs {
    size_t n;      /* elements of items */
    char **items;  /* one allocation of n fx_type_strptr elements */
    int64_t tag;
} fx_strs;

#define FX_SLOTS 8

typedef struct fx_root {
    int64_t counter;
    int64_t pid;           /* OS pid, for tests that kill a worker */
    char *scratch;         /* replaced often: old strings become garbage */
    fx_node *lists[FX_SLOTS];
    fx_tree *trees[FX_SLOTS];
    fx_rec *recs[FX_SLOTS];
    fx_strs *arrs[FX_SLOTS];
} fx_root;

extern const mc_type fx_type_rec;
extern const mc_type fx_type_node;
extern const mc_type fx_type_tree;
extern const mc_type fx_type_strs;
extern const mc_type fx_type_strptr; /* one char * (elements of items) */
extern const mc_type fx_type_root;

/* ---------------------------------------------- local values (malloc) */

/* Each allocation is malloc()ed; fx_free_graph frees a whole graph of
 * fx_root / fx_node / ... once per allocation, even with sharing and
 * cycles (it walks with a visited set). */
char *fx_strdup(const char *s);
fx_rec *fx_new_rec(int64_t i, double d, const char *s);
fx_node *fx_new_list(size_t n, int64_t first); /* values first, first+1.. */
fx_tree *fx_new_tree(unsigned depth, int64_t key); /* full, labelled */
fx_strs *fx_new_strs(size_t n, int64_t tag);       /* "s<tag>.<i>" */

/* Free a local graph rooted at v of type t (the types above). */
void fx_free_graph(const mc_type *t, void *v);

/* Structural equality of two graphs of type t, including the shape of
 * sharing: a bijection between the allocations of a and of b must exist
 * (checked with maps a->b and b->a).  Returns 1 if equal; otherwise 0 and
 * a description in why (may be NULL). */
int fx_equal(const mc_type *t, const void *a, const void *b, char *why,
             size_t cap);

/* Distinct allocations reachable from v (the value itself included) and,
 * through bytes_of (may be NULL), the sum of bytes_of(type, count) over
 * them. */
typedef size_t fx_bytes_fn(const mc_type *t, size_t count);
size_t fx_count_allocs(const mc_type *t, const void *v, fx_bytes_fn *bytes_of,
                       size_t *total);

#endif

/* tests/test_copy.c: the deep-copy driver, through process-local copies
 * (mc_local_copy / mc_local_free).  Copies into heaps are in test_heap.c.
 *
 * Nothing here forks, so there is no session and no leak bracket; the
 * ASan build's leak checker covers the arenas. */
#include "testutil.h"
#include "types_fixture.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void assert_equal_graph(const mc_type *t, const void *a, const void *b)
{
    char why[256] = "";
    if (!fx_equal(t, a, b, why, sizeof why))
        fail_msg("copy differs from the original: %s", why);
}

static void test_rec_round_trip(void **state)
{
    (void)state;
    fx_Rec *r = fx_new_rec(42, 2.5, "sixteen bytes!!");
    void *c = NULL;
    tu_assert_rc(mc_local_copy(&fx_Rec_type, r, &c), 0);
    fx_Rec *cr = c;
    assert_ptr_not_equal(cr, r);
    assert_ptr_not_equal(cr->s, r->s);
    assert_int_equal(cr->i, 42);
    assert_true(cr->d == 2.5);
    assert_string_equal(cr->s, "sixteen bytes!!");
    assert_int_equal((uintptr_t)cr % 16, 0);
    /* a copy of the copy, freed in the other order */
    void *cc = NULL;
    tu_assert_rc(mc_local_copy(&fx_Rec_type, cr, &cc), 0);
    mc_local_free(c);
    assert_equal_graph(&fx_Rec_type, r, cc);
    mc_local_free(cc);
    fx_free_graph(&fx_Rec_type, r);

    /* NULL string field */
    fx_Rec z = {7, 0.0, NULL};
    tu_assert_rc(mc_local_copy(&fx_Rec_type, &z, &c), 0);
    assert_null(((fx_Rec *)c)->s);
    mc_local_free(c);
}

static void test_string_root(void **state)
{
    (void)state;
    void *c = NULL;
    tu_assert_rc(mc_local_copy(&mc_type_bytes, "hello, world", &c), 0);
    assert_string_equal(c, "hello, world");
    mc_local_free(c);
    tu_assert_rc(mc_local_copy(&mc_type_bytes, "", &c), 0);
    assert_string_equal(c, "");
    mc_local_free(c);
    mc_local_free(NULL);
}

static void test_sharing_and_cycles(void **state)
{
    (void)state;
    fx_Root *r = calloc(1, sizeof *r);
    r->counter = 5;
    r->scratch = fx_strdup("scratch");
    /* a list shared by two slots, and a suffix of it by a third */
    r->lists[0] = fx_new_list(10, 100);
    r->lists[1] = r->lists[0];
    r->lists[2] = r->lists[0]->next->next;
    /* a cyclic list */
    r->lists[3] = fx_new_list(5, 200);
    fx_Node *last = r->lists[3];
    while (last->next)
        last = last->next;
    last->next = r->lists[3];
    /* a tree with a shared subtree and a cycle back to its root */
    r->trees[0] = fx_new_tree(4, 1);
    fx_free_graph(&fx_Tree_type, r->trees[0]->right);
    r->trees[0]->right = r->trees[0]->left;
    r->trees[0]->left->left->left->left = r->trees[0];
    void *c = NULL;
    tu_assert_rc(mc_local_copy(&fx_Root_type, r, &c), 0);
    fx_Root *cr = c;
    assert_equal_graph(&fx_Root_type, r, cr);
    assert_ptr_equal(cr->lists[0], cr->lists[1]);
    assert_ptr_equal(cr->lists[2], cr->lists[0]->next->next);
    assert_ptr_equal(cr->trees[0]->right, cr->trees[0]->left);
    assert_ptr_equal(cr->trees[0]->left->left->left->left, cr->trees[0]);
    mc_local_free(c);
    fx_free_graph(&fx_Root_type, r);
}

/* Strings are owned (mc_copy_str): one shared by two fields is copied for
 * each, with equal bytes; only references (mc_copy_ptr) keep sharing. */
static void test_owned_strings(void **state)
{
    (void)state;
    fx_Rec *a = fx_new_rec(1, 1.0, "one string");
    fx_Strs *s = fx_new_strs(2, 9);
    free(s->items.data[1]);
    s->items.data[1] = s->items.data[0];
    void *ca = NULL, *cs = NULL;
    tu_assert_rc(mc_local_copy(&fx_Rec_type, a, &ca), 0);
    tu_assert_rc(mc_local_copy(&fx_Strs_type, s, &cs), 0);
    fx_Strs *c = cs;
    assert_string_equal(((fx_Rec *)ca)->s, "one string");
    assert_ptr_not_equal(((fx_Rec *)ca)->s, a->s);
    assert_string_equal(c->items.data[0], s->items.data[0]);
    assert_string_equal(c->items.data[1], s->items.data[0]);
    assert_ptr_not_equal(c->items.data[0], c->items.data[1]);
    mc_local_free(ca);
    mc_local_free(cs);
    s->items.data[1] = NULL;
    fx_free_graph(&fx_Rec_type, a);
    fx_free_graph(&fx_Strs_type, s);
}

/* Local copies pack strings (no alignment) between records: every record
 * after a string of odd length must still be aligned for its type. */
static void check_tree_aligned(const fx_Tree *t)
{
    for (; t; t = t->right) {
        if ((uintptr_t)t % _Alignof(fx_Tree))
            fail_msg("tree node %p is misaligned", (const void *)t);
        check_tree_aligned(t->left);
    }
}

static void test_packed_strings(void **state)
{
    (void)state;
    fx_Tree *t = fx_new_tree(6, 1); /* labels of several lengths */
    void *c = NULL;
    tu_assert_rc(mc_local_copy(&fx_Tree_type, t, &c), 0);
    check_tree_aligned(c);
    assert_true(fx_equal(&fx_Tree_type, t, c, NULL, 0));
    mc_local_free(c);
    fx_free_graph(&fx_Tree_type, t);
}

static void test_deep_list(void **state)
{
    (void)state;
    /* a million nodes: the copier must not recurse */
    const size_t n = 1000000;
    fx_Root *r = calloc(1, sizeof *r);
    r->lists[0] = fx_new_list(n, 0);
    void *c = NULL;
    tu_assert_rc(mc_local_copy(&fx_Root_type, r, &c), 0);
    fx_Root *cr = c;
    size_t k = 0;
    for (fx_Node *x = cr->lists[0]; x; x = x->next, k++)
        if (x->v != (int64_t)k)
            fail_msg("node %zu holds %lld", k, (long long)x->v);
    assert_int_equal(k, n);
    assert_equal_graph(&fx_Root_type, r, cr);
    mc_local_free(c);
    fx_free_graph(&fx_Root_type, r);
}

static void test_arrays(void **state)
{
    (void)state;
    fx_Strs *s = fx_new_strs(1000, 3);
    void *c = NULL;
    tu_assert_rc(mc_local_copy(&fx_Strs_type, s, &c), 0);
    assert_equal_graph(&fx_Strs_type, s, c);
    assert_string_equal(((fx_Strs *)c)->items.data[999], "s3.999");
    mc_local_free(c);
    fx_free_graph(&fx_Strs_type, s);

    /* zero elements behind a non-NULL pointer: an allocation of its own */
    fx_Strs e = {{0, NULL}, 4};
    e.items.data = malloc(1);
    tu_assert_rc(mc_local_copy(&fx_Strs_type, &e, &c), 0);
    assert_non_null(((fx_Strs *)c)->items.data);
    assert_ptr_not_equal(((fx_Strs *)c)->items.data, c);
    mc_local_free(c);
    free(e.items.data);
}

/* A type whose copy routine fails after it has allocated. */
static int failing_copy(mc_copier *c, void *dst, const void *src)
{
    const fx_Rec *s = src;
    fx_Rec *d = dst;
    int rc = mc_copy_str(c, &s->s, &d->s);
    if (rc)
        return rc;
    return s->i == 13 ? MC_E2BIG : 0;
}

static const mc_type failing_type = {
    .name = "failing", .id = 99, .size = sizeof(fx_Rec),
    .align = _Alignof(fx_Rec), .copy = failing_copy,
};

static void test_errors(void **state)
{
    (void)state;
    void *c = (void *)1;
    fx_Rec r = {1, 0, NULL};
    tu_assert_rc(mc_local_copy(NULL, &r, &c), MC_EINVAL);
    tu_assert_rc(mc_local_copy(&fx_Rec_type, NULL, &c), MC_EINVAL);
    tu_assert_rc(mc_local_copy(&fx_Rec_type, &r, NULL), MC_EINVAL);
    /* the routine's error comes back, and nothing stays allocated (the
     * ASan build checks) */
    fx_Rec bad = {13, 0, "some string"};
    tu_assert_rc(mc_local_copy(&failing_type, &bad, &c), MC_E2BIG);
    assert_ptr_equal(c, (void *)1);
    fx_Rec good = {12, 0, "some string"};
    tu_assert_rc(mc_local_copy(&failing_type, &good, &c), 0);
    mc_local_free(c);
    /* a type with an alignment the targets cannot give */
    static const mc_type wide = {.name = "wide", .size = 64, .align = 64};
    char buf[64] = {0};
    tu_assert_rc(mc_local_copy(&wide, buf, &c), MC_EINVAL);
}

/* ------------------------------------------- a hand-written pointer table */

static void test_table_only_type(void **state)
{
    (void)state;
    int32_t nums[3] = {7, 8, 9};
    fx_TabRec a = {"a", true, 3, nums, NULL}, b = {"b", false, 0, NULL, &a};
    a.next = &b; /* a cycle */
    void *c;
    tu_assert_rc(mc_local_copy(&fx_TabRec_type, &a, &c), 0);
    fx_TabRec *ca = c, *cb = ca->next;
    assert_ptr_not_equal(ca, &a);
    assert_ptr_not_equal(cb, &b);
    assert_ptr_equal(cb->next, ca); /* the cycle is kept */
    assert_ptr_not_equal(ca->name, a.name);
    assert_string_equal(ca->name, "a");
    assert_string_equal(cb->name, "b");
    assert_ptr_not_equal(ca->nums, nums); /* a deep copy */
    assert_int_equal(ca->nlen, 3);
    assert_int_equal(ca->nums[2], 9);
    assert_null(cb->nums);
    mc_local_free(c);

    /* an absent optional is not followed: its pointer is left as it was
     * (the flag says the value is not there) */
    b.nums = (int32_t *)(uintptr_t)0x10; /* would crash if followed */
    b.nlen = 5;
    tu_assert_rc(mc_local_copy(&fx_TabRec_type, &b, &c), 0);
    assert_ptr_equal(((fx_TabRec *)c)->nums, (int32_t *)(uintptr_t)0x10);
    mc_local_free(c);

    /* an entry of unknown kind fails the copy, and nothing is left
     * allocated (the ASan build checks) */
    static const mc_ptr_field bad_ptrs[] = {
        {.off = offsetof(fx_TabRec, name), .kind = MC_PF_STR},
        {.off = offsetof(fx_TabRec, next), .kind = 99},
    };
    static const mc_type bad = {
        .name = "bad", .id = 78, .size = sizeof(fx_TabRec),
        .align = _Alignof(fx_TabRec), .ptrs = bad_ptrs, .nptrs = 2,
    };
    c = (void *)1;
    tu_assert_rc(mc_local_copy(&bad, &a, &c), MC_EINVAL);
    assert_ptr_equal(c, (void *)1);
    assert_non_null(strstr(mc_last_error_detail(), "unknown kind"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec_round_trip),
        cmocka_unit_test(test_string_root),
        cmocka_unit_test(test_sharing_and_cycles),
        cmocka_unit_test(test_owned_strings),
        cmocka_unit_test(test_packed_strings),
        cmocka_unit_test(test_deep_list),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_table_only_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_marshal.c: the portable encoding (mcore/marshal.h), through the
 * marshal code that mcidl generates for tests/fixture.mcidl. */
#include "testutil.h"
#include "types_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcore/marshal.h"

static void *round_trip(const mc_type *t, const void *v, size_t *len_out)
{
    void *bytes = NULL, *back = NULL;
    size_t len = 0;
    tu_assert_rc(mc_marshal(t, v, &bytes, &len), 0);
    tu_assert_rc(mc_unmarshal(t, bytes, len, &back), 0);
    char why[256] = "";
    if (!fx_equal(t, v, back, why, sizeof why))
        fail_msg("unmarshalled value differs: %s", why);
    free(bytes);
    if (len_out)
        *len_out = len;
    return back;
}

static void test_records_and_arrays(void **state)
{
    (void)state;
    fx_Rec *r = fx_new_rec(-7, 3.25, "a string");
    mc_local_free(round_trip(&fx_Rec_type, r, NULL));
    r->s = (free(r->s), NULL); /* NULL strings survive too */
    mc_local_free(round_trip(&fx_Rec_type, r, NULL));
    fx_free_graph(&fx_Rec_type, r);
    fx_Strs *s = fx_new_strs(500, 4);
    mc_local_free(round_trip(&fx_Strs_type, s, NULL));
    fx_free_graph(&fx_Strs_type, s);
    fx_Strs *e = fx_new_strs(0, 5);
    mc_local_free(round_trip(&fx_Strs_type, e, NULL));
    fx_free_graph(&fx_Strs_type, e);
    char *str;
    size_t len;
    void *b;
    tu_assert_rc(mc_marshal(&mc_type_bytes, "root string", &b, &len), 0);
    tu_assert_rc(mc_unmarshal(&mc_type_bytes, b, len, (void **)&str), 0);
    assert_string_equal(str, "root string");
    mc_local_free(str);
    free(b);
}

/* References keep sharing and cycles; the walk is iterative. */
static void test_graphs(void **state)
{
    (void)state;
    fx_Root *r = calloc(1, sizeof *r);
    r->counter = 9;
    r->scratch = fx_strdup("scratch");
    r->lists[0] = fx_new_list(20, 1);
    r->lists[1] = r->lists[0]->next->next;      /* shared suffix */
    r->lists[2] = fx_new_list(4, 50);
    r->lists[2]->next->next->next->next = r->lists[2]; /* cycle */
    r->trees[0] = fx_new_tree(5, 1);
    r->trees[1] = r->trees[0]->left;             /* shared subtree */
    r->recs[0] = fx_new_rec(1, 1.5, "rec");
    r->recs[1] = r->recs[0];
    r->arrs[0] = fx_new_strs(10, 2);
    mc_local_free(round_trip(&fx_Root_type, r, NULL));
    fx_free_graph(&fx_Root_type, r);

    fx_Root *deep = calloc(1, sizeof *deep);
    deep->lists[0] = fx_new_list(1000000, 0);
    fx_Root *back = round_trip(&fx_Root_type, deep, NULL);
    assert_int_equal(back->lists[0]->next->v, 1);
    mc_local_free(back);
    fx_free_graph(&fx_Root_type, deep);
}

static void test_refusals(void **state)
{
    (void)state;
    fx_Root *r = calloc(1, sizeof *r);
    r->scratch = fx_strdup("x");
    r->lists[0] = fx_new_list(30, 1);
    r->trees[0] = fx_new_tree(3, 1);
    r->arrs[0] = fx_new_strs(5, 1);
    void *b, *v;
    size_t len;
    tu_assert_rc(mc_marshal(&fx_Root_type, r, &b, &len), 0);
    /* another type */
    tu_assert_rc(mc_unmarshal(&fx_Rec_type, b, len, &v), MC_ETYPE);
    /* every truncation */
    for (size_t n = 0; n < len; n++)
        if (mc_unmarshal(&fx_Root_type, b, n, &v) != MC_EINVAL)
            fail_msg("truncated to %zu of %zu bytes: accepted", n, len);
    /* trailing bytes */
    unsigned char *t = malloc(len + 1);
    memcpy(t, b, len);
    t[len] = 0;
    tu_assert_rc(mc_unmarshal(&fx_Root_type, t, len + 1, &v), MC_EINVAL);
    /* not mcore bytes */
    t[0] = 'X';
    tu_assert_rc(mc_unmarshal(&fx_Root_type, t, len, &v), MC_EINVAL);
    /* an older encoding (1: breadth first) is refused as such */
    memcpy(t, b, len);
    t[3] = '1';
    tu_assert_rc(mc_unmarshal(&fx_Root_type, t, len, &v), MC_EINVAL);
    assert_non_null(strstr(mc_last_error_detail(), "version"));
    free(t);
    /* a forged count: a string of 2^60 bytes */
    unsigned char forged[64];
    size_t k = 0;
    memcpy(forged, "mcM3", 4);
    k = 4;
    uint64_t id = fx_Rec_type.id, big = (uint64_t)1 << 60;
    memcpy(forged + k, &id, 8), k += 8;
    memset(forged + k, 0, 16), k += 16;      /* i, d */
    forged[k++] = 1;                          /* a new string */
    memcpy(forged + k, &big, 8), k += 8;
    tu_assert_rc(mc_unmarshal(&fx_Rec_type, forged, k, &v), MC_EINVAL);
    free(b);
    fx_free_graph(&fx_Root_type, r);
}

/* Hand-built input: a little byte writer. */
typedef struct hb {
    unsigned char b[512];
    size_t n;
} hb;

static void hb_put(hb *h, const void *p, size_t n)
{
    assert_true(h->n + n <= sizeof h->b);
    memcpy(h->b + h->n, p, n);
    h->n += n;
}

static void hb_u8(hb *h, uint8_t v) { hb_put(h, &v, 1); }
static void hb_u64(hb *h, uint64_t v) { hb_put(h, &v, 8); }

static void hb_head(hb *h, const mc_type *t)
{
    h->n = 0;
    hb_put(h, "mcM3", 4);
    hb_u64(h, t->id);
}

/* A hand-written type that reads a counted reference and then a reference
 * to one element (mcidl writes only the latter): a back-reference from the
 * second to the first must name an object of one element. */
typedef struct pair {
    fx_Node *many;
    size_t n;
    fx_Node *one;
} pair;

static int pair_unmarshal(mc_reader *r, void *obj)
{
    pair *o = obj;
    mc_get_ref(r, &fx_Node_type, &o->n, (void **)&o->many);
    mc_get_ref(r, &fx_Node_type, NULL, (void **)&o->one);
    return r->err;
}

static const mc_type pair_type = {
    .name = "test_pair", .id = 0x7061697274657374ull,
    .size = sizeof(pair), .align = _Alignof(pair),
    .unmarshal = pair_unmarshal,
};

/* A reference to one element (&T, ?&T: no count wanted)
 * read as an object of 0 or of several elements is refused, both as a new
 * object and as a back-reference; it used to be taken as a whole T (a
 * 1-byte object followed as a node). */
static void test_ref_counts(void **state)
{
    (void)state;
    hb h;
    void *v = NULL;
    for (uint64_t count = 0; count <= 2; count++) {
        hb_head(&h, &fx_Node_type);
        hb_u64(&h, 5);      /* v */
        hb_u8(&h, 1);       /* next: a new object of count elements */
        hb_u64(&h, count);
        for (uint64_t i = 0; i < count; i++) {
            hb_u64(&h, 6);  /* its elements: v, next NULL */
            hb_u8(&h, 0);
        }
        int rc = mc_unmarshal(&fx_Node_type, h.b, h.n, &v);
        if (count == 1) {
            tu_assert_rc(rc, 0);
            fx_Node *n = v;
            assert_int_equal(n->next->v, 6);
            assert_null(n->next->next);
            mc_local_free(v);
        } else {
            tu_assert_rc(rc, MC_EINVAL);
            assert_non_null(strstr(mc_last_error_detail(), "count"));
        }
    }
    for (uint64_t count = 0; count <= 3; count++) {
        hb_head(&h, &pair_type);
        hb_u8(&h, 1);       /* many: a new object of count nodes */
        hb_u64(&h, count);
        hb_u8(&h, 2);       /* one: the same object again */
        hb_u64(&h, 0);
        for (uint64_t i = 0; i < count; i++) {
            hb_u64(&h, 7);
            hb_u8(&h, 0);
        }
        int rc = mc_unmarshal(&pair_type, h.b, h.n, &v);
        if (count == 1) {
            tu_assert_rc(rc, 0);
            pair *p = v;
            assert_ptr_equal(p->one, p->many);
            assert_int_equal(p->n, 1);
            assert_int_equal(p->one->v, 7);
            mc_local_free(v);
        } else {
            tu_assert_rc(rc, MC_EINVAL);
            assert_non_null(strstr(mc_last_error_detail(), "count"));
        }
    }
}

/* Types for the amplification test, written by hand: `claims` reads a
 * u32 k, then k counted owned pointers (as generated code reads k array
 * fields) to elements of `elem`. */
static const mc_type *claims_elem;

static int claims_unmarshal(mc_reader *r, void *obj)
{
    (void)obj;
    uint32_t k = 0;
    mc_get_u32(r, &k);
    for (uint32_t i = 0; i < k && !r->err; i++) {
        void *p;
        size_t n;
        mc_get_own(r, claims_elem, &n, &p);
    }
    return r->err;
}

static const mc_type claims_type = {
    .name = "test_claims", .id = 0x636c61696d737465ull,
    .size = 8, .align = 8, .unmarshal = claims_unmarshal,
};

/* An element that takes no bytes of input (as a record of sync fields
 * only): only the count can bound how many are made. */
static int nothing_unmarshal(mc_reader *r, void *obj)
{
    (void)obj;
    return r->err;
}

static const mc_type nothing_type = {
    .name = "test_nothing", .id = 0x6e6f7468696e6774ull,
    .size = 64, .align = 8, .unmarshal = nothing_unmarshal,
};

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan, a malloc over the child's limit below returns NULL (as
 * without ASan) instead of a report that itself needs memory. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#endif

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':')
            kb = atol(line + n + 1);
    if (f)
        fclose(f);
    return kb;
}

/* Unmarshal b in a child whose address space may grow by 512 MB at most;
 * *grew_kb: how much its peak resident memory grew (VmHWM, reset first
 * through clear_refs).  Returns mc_unmarshal's code, or 1 if the child
 * died (out of memory under ASan). */
static int unmarshal_in_child(const mc_type *t, const void *b, size_t len,
                              long *grew_kb)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        alarm(60); /* a sanitizer stuck reporting: die, not hang */
        long vsz_kb = status_kb("VmSize"), rss_kb = status_kb("VmRSS");
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)(vsz_kb + 512 * 1024) * 1024;
        setrlimit(RLIMIT_AS, &rl);
        FILE *cr = fopen("/proc/self/clear_refs", "w");
        if (cr) {
            fputs("5", cr); /* VmHWM := VmRSS */
            fclose(cr);
        }
        void *v;
        long out[2] = {mc_unmarshal(t, b, len, &v), 0};
        out[1] = status_kb("VmHWM") - rss_kb;
        if (write(fds[1], out, sizeof out) != (ssize_t)sizeof out)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    long out[2] = {1, -1};
    ssize_t got = read(fds[0], out, sizeof out);
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (got != (ssize_t)sizeof out)
        return 1;
    *grew_kb = out[1];
    return (int)out[0];
}

/* Allocation is bounded by the input overall, not per
 * field.  About 200 KB of pointers, each claiming as many elements as
 * there are bytes left (each fits on its own; together they claim the
 * square of the input: 100 GB of 24-byte records), are refused while
 * the peak stays within a few times the input; so are the same claims of
 * elements that take no input at all.  A valid input of 1,000 strings
 * beside them still decodes. */
static void test_amplification(void **state)
{
    (void)state;
    tu_begin();
    size_t len = 200 * 1024;
    unsigned char *b = malloc(len);
    const mc_type *elems[] = {&fx_Rec_type, &nothing_type};
    for (size_t e = 0; e < 2; e++) {
        claims_elem = elems[e];
        size_t k = (len - 16) / 9, n = 0;
        memcpy(b, "mcM3", 4);
        memcpy(b + 4, &claims_type.id, 8);
        uint32_t k32 = (uint32_t)k;
        memcpy(b + 12, &k32, 4);
        n = 16;
        for (size_t i = 0; i < k; i++) {
            uint64_t rest = len - n - 9;
            b[n] = 1;
            memcpy(b + n + 1, &rest, 8);
            n += 9;
        }
        memset(b + n, 0, len - n);
        long grew = -1;
        int rc = unmarshal_in_child(&claims_type, b, len, &grew);
        print_message("%s: %zu claims in %zu bytes: %s, peak grew by %ld "
                      "KiB\n", claims_elem->name, k, len, tu_code_name(rc),
                      grew);
        if (rc != MC_EINVAL)
            fail_msg("hostile input: %s, expected MC_EINVAL",
                     rc == 1 ? "the child died" : tu_code_name(rc));
        /* at most len elements of 64 bytes, and the arena's slack */
        assert_true(grew >= 0 && grew < 32 * 1024);
    }
    free(b);
    tu_end();
}

/* A buffer kept by the caller is reused and grown as needed; the bytes
 * are those of mc_marshal. */
static void test_reused_buffer(void **state)
{
    (void)state;
    fx_Strs *small = fx_new_strs(2, 1), *big = fx_new_strs(5000, 2);
    void *buf = NULL, *ref, *back;
    size_t cap = 0, len, rlen;
    tu_assert_rc(mc_marshal_buf(&fx_Strs_type, small, &buf, &cap, &len), 0);
    void *first = buf;
    assert_true(cap >= len);
    tu_assert_rc(mc_marshal(&fx_Strs_type, small, &ref, &rlen), 0);
    assert_int_equal(len, rlen);
    assert_memory_equal(buf, ref, len);
    free(ref);
    tu_assert_rc(mc_marshal_buf(&fx_Strs_type, small, &buf, &cap, &len), 0);
    assert_ptr_equal(buf, first); /* reused, not reallocated */
    tu_assert_rc(mc_marshal_buf(&fx_Strs_type, big, &buf, &cap, &len), 0);
    assert_true(cap >= len && len > 5000);
    tu_assert_rc(mc_unmarshal(&fx_Strs_type, buf, len, &back), 0);
    char why[256] = "";
    if (!fx_equal(&fx_Strs_type, big, back, why, sizeof why))
        fail_msg("grown buffer: %s", why);
    mc_local_free(back);
    tu_assert_rc(mc_marshal_buf(NULL, small, &buf, &cap, &len), MC_EINVAL);
    free(buf);
    fx_free_graph(&fx_Strs_type, small);
    fx_free_graph(&fx_Strs_type, big);
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* 10,000 mutated inputs: never a crash, only clean errors (or a value). */
static void test_garbage(void **state)
{
    (void)state;
    fx_Root *r = calloc(1, sizeof *r);
    r->lists[0] = fx_new_list(8, 1);
    r->lists[1] = r->lists[0]->next;
    r->trees[0] = fx_new_tree(3, 1);
    r->recs[0] = fx_new_rec(3, 0.5, "abc");
    r->arrs[0] = fx_new_strs(4, 1);
    void *b, *v;
    size_t len;
    tu_assert_rc(mc_marshal(&fx_Root_type, r, &b, &len), 0);
    unsigned char *m = malloc(len);
    uint64_t x = 88172645463325252ull;
    int accepted = 0;
    for (int i = 0; i < 10000; i++) {
        memcpy(m, b, len);
        int flips = 1 + (int)(rnd(&x) % 4);
        for (int f = 0; f < flips; f++)
            m[12 + rnd(&x) % (len - 12)] = (unsigned char)rnd(&x);
        size_t n = i % 3 ? len : rnd(&x) % len;
        int rc = mc_unmarshal(&fx_Root_type, m, n, &v);
        if (rc == 0) {
            accepted++;
            mc_local_free(v);
        } else if (rc != MC_EINVAL) {
            fail_msg("mutated input %d: %s", i, tu_err(rc));
        }
    }
    free(m);
    free(b);
    fx_free_graph(&fx_Root_type, r);
    print_message("%d of 10000 mutated inputs still decoded\n", accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_and_arrays),
        cmocka_unit_test(test_graphs),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_ref_counts),
        cmocka_unit_test(test_amplification),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_reused_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

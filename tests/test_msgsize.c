/* tests/test_msgsize.c: mc_copy_size, the size of a message before it is
 * sent (type.h), against what a camlbox slot really takes: a box whose
 * slot_size is the computed size takes the message, one byte less refuses
 * it with MC_E2BIG, and the refusal's detail gives the size.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One value: a string of n bytes (a char * root and its bytes). */
static void w_check_size(size_t n)
{
    char *str = malloc(n + 1);
    if (!str) {
        W_CHECK(0, "out of memory");
        return;
    }
    memset(str, 'x', n);
    str[n] = '\0';
    size_t size = 0;
    if (W_RC(mc_copy_size(&mc_type_str, &str, &size), 0) == 0) {
        /* the root pointer, then the bytes at a multiple of 8 */
        W_CHECK(size >= sizeof(char *) + n + 1, "a %zu-byte string: %zu",
                n, size);
        for (int fits = 0; fits < 2; fits++) {
            mc_camlbox *box;
            mc_camlbox_sender *s;
            size_t slot = fits ? size : size - 1;
            if (W_RC(mc_camlbox_create(&mc_type_str, 2, slot, NULL, &box), 0))
                break;
            if (W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box),
                                              &mc_type_str, &s), 0) == 0) {
                int rc = mc_camlbox_try_send(s, &str);
                char want[64];
                snprintf(want, sizeof want, "takes %zu bytes", size);
                if (fits)
                    W_CHECK(rc == 0, "a %zu-byte string in a slot of its "
                            "computed size %zu: %s", n, size, tu_err(rc));
                else
                    W_CHECK(rc == MC_E2BIG &&
                                strstr(mc_last_error_detail(), want),
                            "a %zu-byte string in a slot of %zu: %s "
                            "(the detail should say \"%s\")", n, slot,
                            tu_err(rc), want);
                W_RC(mc_camlbox_sender_release(s), 0);
            }
            W_RC(mc_camlbox_destroy(box), 0);
        }
    }
    free(str);
}

static void drv_sizes(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    static const size_t lens[] = {0, 1, 7, 8, 100, 5000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        w_check_size(lens[i]);
    size_t size;
    W_RC(mc_copy_size(NULL, &size, &size), MC_EINVAL);
    W_RC(mc_copy_size(&mc_type_str, NULL, &size), MC_EINVAL);
}

static void test_copy_size(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_sizes, NULL, 0);
    tu_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_size),
    };
    return cmocka_run_group_tests(tests, tu_group_setup_driver, NULL);
}

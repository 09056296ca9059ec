/* test_common_buf.c - ct_buf (bounded buffer), the error space and the reject tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ct/buf.h"
#include "ct/err.h"
#include "ct/reject.h"

static void test_heap_grows_to_limit(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 10);
    assert_null(b.p);
    assert_int_equal(ct_buf_adds(&b, "hello"), 0);
    assert_int_equal(ct_buf_add(&b, " wor", 4), 0);
    assert_int_equal(b.len, 9);
    assert_string_equal(b.p, "hello wor");
    /* Two more bytes would pass the limit: refused, nothing appended. */
    assert_int_equal(ct_buf_adds(&b, "ld"), CT_E_TOOBIG);
    assert_int_equal(b.len, 9);
    assert_string_equal(b.p, "hello wor");
    assert_int_equal(ct_buf_adds(&b, "l"), 0);
    assert_string_equal(b.p, "hello worl");
    assert_true(b.cap <= 11);
    assert_int_equal(ct_buf_adds(&b, "x"), CT_E_TOOBIG);
    ct_buf_free(&b);
    assert_null(b.p);
    ct_buf_free(&b); /* twice is safe */
}

static void test_printf_and_large_growth(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 100000);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(ct_buf_printf(&b, "%d,", i % 10), 0);
    }
    assert_int_equal(b.len, 20000);
    assert_int_equal(strlen(b.p), 20000);
    assert_memory_equal(b.p, "0,1,2,3,", 8);
    assert_memory_equal(b.p + 19996, "8,9,", 4);
    ct_buf_free(&b);

    ct_buf_init(&b, 5);
    assert_int_equal(ct_buf_printf(&b, "%s", "123456"), CT_E_TOOBIG);
    assert_int_equal(b.len, 0);
    assert_int_equal(ct_buf_printf(&b, "%05d", 42), 0);
    assert_string_equal(b.p, "00042");
    ct_buf_free(&b);
}

static void test_fixed_never_allocates(void **state)
{
    (void)state;
    char mem[8];
    struct ct_buf b;
    memset(mem, 'Z', sizeof(mem));
    ct_buf_init_fixed(&b, mem, sizeof(mem));
    assert_int_equal(b.limit, 7);
    assert_string_equal(mem, "");
    assert_int_equal(ct_buf_adds(&b, "abcdefg"), 0);
    assert_ptr_equal(b.p, mem);
    assert_string_equal(mem, "abcdefg");
    assert_int_equal(ct_buf_adds(&b, "h"), CT_E_TOOBIG);
    assert_int_equal(ct_buf_printf(&b, "%d", 1), CT_E_TOOBIG);
    assert_string_equal(mem, "abcdefg");
    size_t len = 99;
    assert_null(ct_buf_take(&b, &len));
    assert_int_equal(len, 0);
    ct_buf_truncate(&b, 3);
    assert_string_equal(mem, "abc");
    ct_buf_reset(&b);
    assert_string_equal(mem, "");
    ct_buf_free(&b);
    assert_ptr_equal(b.p, mem);
}

static void test_take_and_truncate(void **state)
{
    (void)state;
    struct ct_buf b;
    size_t len = 0;
    ct_buf_init(&b, 1024);
    assert_null(ct_buf_take(&b, &len));
    assert_int_equal(ct_buf_add(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    ct_buf_truncate(&b, 10); /* longer than content: ignored */
    assert_int_equal(b.len, 3);
    char *p = ct_buf_take(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "a\0b", 4);
    free(p);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(ct_buf_adds(&b, "again"), 0);
    assert_string_equal(b.p, "again");
    ct_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    ct_buf_free(&b);
}

static void test_zero_limit(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 0);
    assert_int_equal(ct_buf_add(&b, "", 0), 0);
    assert_int_equal(ct_buf_adds(&b, "x"), CT_E_TOOBIG);
    ct_buf_free(&b);
}

static void test_err_names(void **state)
{
    (void)state;
    assert_string_equal(ct_err_name(0), "CT_E_OK");
    assert_string_equal(ct_err_name(CT_E_FULL), "CT_E_FULL");
    assert_string_equal(ct_err_name(CT_E_EXISTS), "CT_E_EXISTS");
    assert_string_equal(ct_strerror(CT_E_FULL), "queue or buffer is full");
    assert_string_equal(ct_strerror(CT_E_TIMEOUT), "timed out");
    assert_string_equal(ct_err_name(-99), "CT_E_UNKNOWN");
    assert_string_equal(ct_strerror(5), "unknown error");
    for (int e = 0; e > CT_E__LAST; e--) {
        assert_string_not_equal(ct_err_name(e), "CT_E_UNKNOWN");
        assert_string_not_equal(ct_strerror(e), "unknown error");
    }
}

static void test_reject_names(void **state)
{
    (void)state;
    assert_string_equal(ct_reject_name(CT_REJ_NONE), "none");
    assert_string_equal(ct_reject_name(CT_REJ_BAD_SIG), "bad_sig");
    assert_string_equal(ct_reject_name(CT_REJ_UTF8), "utf8");
    assert_string_equal(ct_reject_name(CT_REJ_OVERLOAD), "overload");
    assert_string_equal(ct_reject_name(CT_REJ__COUNT), "unknown");
    /* Tags are unique. */
    for (int i = 0; i < CT_REJ__COUNT; i++) {
        for (int j = i + 1; j < CT_REJ__COUNT; j++) {
            assert_string_not_equal(ct_reject_name((enum ct_reject)i),
                                    ct_reject_name((enum ct_reject)j));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_grows_to_limit),
        cmocka_unit_test(test_printf_and_large_growth),
        cmocka_unit_test(test_fixed_never_allocates),
        cmocka_unit_test(test_take_and_truncate),
        cmocka_unit_test(test_zero_limit),
        cmocka_unit_test(test_err_names),
        cmocka_unit_test(test_reject_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

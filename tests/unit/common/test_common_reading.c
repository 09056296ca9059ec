/* test_common_reading.c - struct ct_reading helpers (set/get, range check), the encoder's
 * refusals and ct_fmt_double (shortest exact round-trip form). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ct/buf.h"
#include "ct/err.h"
#include "ct/payload.h"

static void build(struct ct_reading *r, enum ct_kind kind, const char *id)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->boot = 7;
    r->seq = 123456;
    r->ts_ms = 1763888400123LL;
}

static void test_encode_refusals(void **state)
{
    (void)state;
    struct ct_reading r;
    char mem[64];
    struct ct_buf b;
    build(&r, CT_KIND_AIR, "hn-air-0001");
    assert_int_equal(ct_reading_set_num(&r, "pm25", 1), 0);
    ct_buf_init_fixed(&b, mem, sizeof(mem));
    assert_int_equal(ct_buf_adds(&b, "x"), 0);
    assert_int_equal(ct_payload_encode(&r, &b), CT_E_TOOBIG);
    assert_string_equal(mem, "x");
    ct_buf_init(&b, CT_PAYLOAD_MAX);
    r.values[0].num = NAN;
    assert_int_equal(ct_payload_encode(&r, &b), CT_E_INVAL);
    assert_int_equal(b.len, 0);
    r.values[0].num = 1;
    snprintf(r.id, sizeof(r.id), "Bad Id");
    assert_int_equal(ct_payload_encode(&r, &b), CT_E_INVAL);
    /* Integers the strict decoder would refuse are refused here too. */
    build(&r, CT_KIND_AIR, "hn-air-0001");
    r.seq = 9007199254740992ULL;
    assert_int_equal(ct_payload_encode(&r, &b), CT_E_INVAL);
    r.seq = 9007199254740991ULL;
    r.ts_ms = -9007199254740992LL;
    assert_int_equal(ct_payload_encode(&r, &b), CT_E_INVAL);
    r.ts_ms = 0;
    r.has_rssi = true;
    r.rssi = INT64_MIN;
    assert_int_equal(ct_payload_encode(&r, &b), CT_E_INVAL);
    r.rssi = -80;
    assert_int_equal(ct_payload_encode(&r, &b), 0);
    assert_string_equal(b.p, "{\"v\":1,\"id\":\"hn-air-0001\",\"boot\":7,"
                             "\"seq\":9007199254740991,\"ts\":0,\"m\":{},\"rssi\":-80}");
    assert_int_equal(b.len, strlen(b.p));
    ct_buf_free(&b);
}

static void test_check_ranges(void **state)
{
    (void)state;
    struct ct_reading r;
    build(&r, CT_KIND_AIR, "a");
    assert_int_equal(ct_reading_set_num(&r, "pm25", 2500), 0);
    assert_int_equal(ct_reading_set_num(&r, "rh", 100), 0);
    assert_int_equal(ct_reading_set_num(&r, "t", -20.5), 0);
    assert_int_equal(ct_reading_set_num(&r, "pm10", 2000), 0);
    assert_int_equal(ct_reading_check_ranges(&r), 2);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.values[0].name, "rh");
    assert_string_equal(r.values[1].name, "pm10");
    assert_int_equal(r.ndrops, 2);
    assert_string_equal(r.drops[0].name, "pm25");
    assert_int_equal(r.drops[0].reason, CT_REJ_RANGE);
    assert_string_equal(r.drops[1].name, "t");
    assert_int_equal(ct_reading_check_ranges(&r), 0);

    build(&r, CT_KIND_PARKING, "p");
    assert_int_equal(ct_reading_set_num(&r, "capacity", 120), 0);
    assert_int_equal(ct_reading_set_num(&r, "occupied", 121), 0);
    assert_int_equal(ct_reading_check_ranges(&r), 1);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.drops[0].name, "occupied");
    build(&r, CT_KIND_PARKING, "p");
    assert_int_equal(ct_reading_set_num(&r, "capacity", 120), 0);
    assert_int_equal(ct_reading_set_num(&r, "occupied", 120), 0);
    assert_int_equal(ct_reading_check_ranges(&r), 0);
    build(&r, CT_KIND_PARKING, "p");
    assert_int_equal(ct_reading_set_bool(&r, "occupied", true), 0);
    assert_int_equal(ct_reading_check_ranges(&r), 0);

    build(&r, CT_KIND_RAIN, "r");
    assert_int_equal(ct_reading_set_num(&r, "tips", 4294967296.0), 0);
    assert_int_equal(ct_reading_set_num(&r, "mm", 500), 0);
    assert_int_equal(ct_reading_check_ranges(&r), 1);
    assert_string_equal(r.drops[0].name, "tips");
    build(&r, CT_KIND_WATER, "w");
    assert_int_equal(ct_reading_set_num(&r, "t", 50.5), 0);
    assert_int_equal(ct_reading_set_num(&r, "ph", 14), 0);
    assert_int_equal(ct_reading_check_ranges(&r), 1);
    assert_string_equal(r.drops[0].name, "t");
}

static void test_set_get(void **state)
{
    (void)state;
    struct ct_reading r;
    build(&r, CT_KIND_AIR, "a");
    assert_null(ct_reading_get(&r, "pm25"));
    assert_int_equal(ct_reading_set_num(&r, "pm25", 1), 0);
    assert_int_equal(ct_reading_set_num(&r, "pm25", 2), 0);
    assert_int_equal(r.n, 1);
    assert_true(ct_reading_get(&r, "pm25")->num == 2);
    assert_int_equal(ct_reading_set_num(&r, "pm25", NAN), CT_E_INVAL);
    assert_int_equal(ct_reading_set_num(&r, "pm25", INFINITY), CT_E_INVAL);
    assert_int_equal(ct_reading_set_num(&r, "", 1), CT_E_INVAL);
    assert_int_equal(ct_reading_set_num(&r, "a_name_too_long1", 1), CT_E_INVAL);
    assert_int_equal(ct_reading_set_num(&r, "a_name_long_15c", 1), 0);
    char name[16];
    for (int i = r.n; i < CT_MAX_VALUES; i++) {
        snprintf(name, sizeof(name), "x%d", i);
        assert_int_equal(ct_reading_set_num(&r, name, i), 0);
    }
    assert_int_equal(ct_reading_set_num(&r, "one-more", 1), CT_E_FULL);
    assert_int_equal(ct_reading_set_num(&r, "pm25", 3), 0); /* updating still works */

    build(&r, CT_KIND_RAIN, "r");
    assert_int_equal(ct_reading_set_num(&r, "tips", 1.5), CT_E_INVAL);
    assert_int_equal(ct_reading_set_num(&r, "tips", 2), 0);
    assert_int_equal(ct_reading_get(&r, "tips")->type, CT_VT_INT);
    assert_int_equal(ct_reading_set_bool(&r, "tips", true), 0);
    assert_int_equal(ct_reading_get(&r, "tips")->type, CT_VT_BOOL);
}

static void expect_fmt(double x, const char *want)
{
    char out[32];
    assert_int_equal(ct_fmt_double(x, out), 0);
    assert_string_equal(out, want);
}

static void test_fmt_double(void **state)
{
    (void)state;
    expect_fmt(41.2, "41.2");
    expect_fmt(78, "78");
    expect_fmt(63.0, "63");
    expect_fmt(0, "0");
    expect_fmt(-3.5, "-3.5");
    expect_fmt(1e-7, "1e-07");
    expect_fmt(0.1 + 0.2, "0.30000000000000004");
    expect_fmt(1.0 / 3.0, "0.3333333333333333");
    expect_fmt(9007199254740991.0, "9007199254740991"); /* 2^53-1: the last exact integer */
    expect_fmt(-9007199254740991.0, "-9007199254740991");
    /* From 2^53 up plain digits would be an inexact integer to the decoder: exponent form. */
    expect_fmt(9007199254740992.0, "9.007199254740992e+15");
    expect_fmt(-9007199254740992.0, "-9.007199254740992e+15");
    expect_fmt(18014398509481984.0, "1.8014398509481984e+16");
    expect_fmt(33333333333333332.0, "3.3333333333333332e+16");
    expect_fmt(1e16, "1e+16");
    expect_fmt(1e15, "1000000000000000"); /* integral below 2^53: no exponent, unlike %.15g */
    expect_fmt(-1e15, "-1000000000000000");
    expect_fmt(1e20, "1e+20"); /* beyond 2^53: shortest form */
    expect_fmt(1e300, "1e+300");
    expect_fmt(4294967295.0, "4294967295");
    expect_fmt(123456.789, "123456.789");
    char out[32];
    assert_int_equal(ct_fmt_double(NAN, out), CT_E_RANGE);
    assert_int_equal(ct_fmt_double(INFINITY, out), CT_E_RANGE);
    assert_int_equal(ct_fmt_double(-INFINITY, out), CT_E_RANGE);

    /* Random bit patterns: every finite double reads back exactly. */
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double x;
        memcpy(&x, &s, sizeof(x));
        if (!isfinite(x)) {
            continue;
        }
        assert_int_equal(ct_fmt_double(x, out), 0);
        assert_true(strlen(out) < 32);
        double back = strtod(out, NULL);
        if (memcmp(&back, &x, sizeof(x)) != 0 && !(x == 0 && back == 0)) {
            fail_msg("%a printed as %s", x, out);
        }
        /* Plain digits only for exact integers (|x| < 2^53). */
        if (strpbrk(out, ".e") == NULL && fabs(x) >= 9007199254740992.0) {
            fail_msg("%a printed as the inexact integer %s", x, out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_refusals),
        cmocka_unit_test(test_check_ranges),
        cmocka_unit_test(test_set_get),
        cmocka_unit_test(test_fmt_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

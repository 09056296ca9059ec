/* test_common_lp.c - line-protocol encoder, compared byte for byte with tests/data/golden. */
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
#include "ct/lp.h"

#define FLOAT(k, v)                                                                                \
    {                                                                                              \
        .key = (k), .type = CT_LP_FLOAT, .f = (v)                                                  \
    }
#define INT(k, v)                                                                                  \
    {                                                                                              \
        .key = (k), .type = CT_LP_INT, .i = (v)                                                    \
    }
#define BOOL(k, v)                                                                                 \
    {                                                                                              \
        .key = (k), .type = CT_LP_BOOL, .b = (v)                                                   \
    }
#define STR(k, v)                                                                                  \
    {                                                                                              \
        .key = (k), .type = CT_LP_STRING, .s = (v)                                                 \
    }
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Asserts that 'got' equals the file tests/data/golden/<name> byte for byte. */
static void assert_golden(const struct ct_buf *got, const char *name)
{
    char path[1024];
    char want[8192];
    const char *root = getenv("CT_SOURCE_DIR");
    assert_non_null(root);
    snprintf(path, sizeof(path), "%s/tests/data/golden/%s", root, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open golden file %s", path);
    }
    size_t n = fread(want, 1, sizeof(want), f);
    fclose(f);
    if (n != got->len || memcmp(want, got->p, n) != 0) {
        fail_msg("%s differs:\n--- want (%zu bytes)\n%.*s--- got (%zu bytes)\n%.*s", name, n,
                 (int)n, want, got->len, (int)got->len, got->p);
    }
}

static void test_golden_raw_air(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 1 << 16);
    const struct ct_lp_tag t1[] = {
        {"ward", "Hàng Bông"}, {"device", "hn-air-0001"}, {"district", "Hoàn Kiếm"}};
    const struct ct_lp_field f1[] = {FLOAT("pm25", 41.2), FLOAT("pm10", 63.0), FLOAT("no2", 22.1),
                                     FLOAT("t", 29.4), FLOAT("rh", 78)};
    assert_int_equal(ct_lp_point(&b, "air", t1, N(t1), f1, N(f1), 1763888400000LL), 0);
    const struct ct_lp_tag t2[] = {
        {"district", "Ba Đình"}, {"ward", ""}, {"device", "hn-air-0002"}};
    const struct ct_lp_field f2[] = {FLOAT("pm25", 0.1), FLOAT("co", 200000), FLOAT("t", -3.5)};
    assert_int_equal(ct_lp_point(&b, "air", t2, N(t2), f2, N(f2), 1763888460000LL), 0);
    assert_golden(&b, "lp_raw_air.lp");
    ct_buf_free(&b);
}

static void test_golden_escaping(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 1 << 16);
    const struct ct_lp_tag t1[] = {{"ward", "Đồng Xuân"},
                                   {"name", "Bãi xe Chợ Đồng Xuân, cổng=2"},
                                   {"district", ""},
                                   {"device", "hn-park-0001"},
                                   {"lot", NULL}};
    const struct ct_lp_field f1[] = {
        INT("free spaces", 33), STR("label", "Hồ \"Gươm\" \\ Hà Nội, a=b"),
        BOOL("ok", true),       FLOAT("ratio", 0.725),
        FLOAT("big", 1e300),    FLOAT("tiny", 1e-7)};
    assert_int_equal(ct_lp_point(&b, "my station,hn", t1, N(t1), f1, N(f1), INT64_MIN), 0);
    const struct ct_lp_tag t2[] = {{"reason", "bad_sig"}, {"device", "hn-air-0009"}};
    const struct ct_lp_field f2[] = {INT("count", 1)};
    assert_int_equal(ct_lp_point(&b, "rejected", t2, N(t2), f2, N(f2), 1763888400LL), 0);
    assert_golden(&b, "lp_escaping.lp");
    ct_buf_free(&b);
}

static void test_golden_aggregates(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 1 << 16);
    const struct ct_lp_tag t1[] = {
        {"device", "hn-air-0001"}, {"district", "Hoàn Kiếm"}, {"collector", "col-a"}};
    const struct ct_lp_field f1[] = {FLOAT("pm25_min", 12.5), FLOAT("pm25_max", 48.25),
                                     FLOAT("pm25_sum", 303.75), INT("pm25_count", 10)};
    assert_int_equal(ct_lp_point(&b, "air_1m", t1, N(t1), f1, N(f1), 1763888400000LL), 0);
    const struct ct_lp_tag t2[] = {
        {"ward", "Dịch Vọng"}, {"district", "Cầu Giấy"}, {"device", "hn-rain-0003"}};
    const struct ct_lp_field f2[] = {FLOAT("mm", 0.2), INT("tips", 4294967295LL)};
    assert_int_equal(ct_lp_point(&b, "rain", t2, N(t2), f2, N(f2), 1763888400000LL), 0);
    const struct ct_lp_tag t3[] = {{"device", "hn-park-0001"}};
    const struct ct_lp_field f3[] = {INT("capacity", 120), INT("occupied", 87), INT("free", 33),
                                     FLOAT("ratio", 0.725), BOOL("bay", false)};
    assert_int_equal(ct_lp_point(&b, "parking_lot", t3, N(t3), f3, N(f3), -1), 0);
    assert_golden(&b, "lp_aggregates.lp");
    ct_buf_free(&b);
}

static void test_tags_sorted_bytewise(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 1024);
    const struct ct_lp_tag t[] = {{"b", "2"}, {"a", "1"}, {"B", "0"}, {"ab", "3"}};
    const struct ct_lp_field f[] = {INT("x", -5)};
    assert_int_equal(ct_lp_point(&b, "m", t, N(t), f, N(f), 0), 0);
    assert_string_equal(b.p, "m,B=0,a=1,ab=3,b=2 x=-5i 0\n");
    ct_buf_reset(&b);
    assert_int_equal(ct_lp_point(&b, "m", NULL, 0, f, N(f), INT64_MIN), 0);
    assert_string_equal(b.p, "m x=-5i\n");
    ct_buf_free(&b);
}

static void test_refusals_append_nothing(void **state)
{
    (void)state;
    struct ct_buf b;
    ct_buf_init(&b, 4096);
    assert_int_equal(ct_buf_adds(&b, "keep\n"), 0);
    const struct ct_lp_tag ok_tag[] = {{"device", "d"}};
    const struct ct_lp_tag nl_tag[] = {{"device", "d\nx"}};
    const struct ct_lp_tag cr_key[] = {{"dev\rice", "d"}};
    const struct ct_lp_tag empty_key[] = {{"", "d"}};
    const struct ct_lp_field ok[] = {FLOAT("v", 1)};
    const struct ct_lp_field nan[] = {FLOAT("v", 0.0 / 0.0)};
    const struct ct_lp_field inf[] = {FLOAT("v", 1.0 / 0.0)};
    const struct ct_lp_field nl_str[] = {STR("s", "a\nb")};
    const struct ct_lp_field nl_key[] = {INT("k\n", 1)};
    const struct ct_lp_field null_str[] = {STR("s", NULL)};
    struct ct_lp_tag many[CT_LP_MAX_TAGS + 1];
    for (size_t i = 0; i < N(many); i++) {
        many[i].key = "k";
        many[i].val = "v";
    }

    assert_int_equal(ct_lp_point(&b, "m", nl_tag, 1, ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", cr_key, 1, ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", empty_key, 1, ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m\n", ok_tag, 1, ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "", ok_tag, 1, ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", ok_tag, 1, nan, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", ok_tag, 1, inf, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", ok_tag, 1, nl_str, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", ok_tag, 1, nl_key, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", ok_tag, 1, null_str, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", ok_tag, 1, ok, 0, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", many, N(many), ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", many, CT_LP_MAX_TAGS, ok, 1, 1), 0);
    ct_buf_truncate(&b, 5);
    assert_string_equal(b.p, "keep\n");

    /* Too big for the buffer: refused whole, the earlier content stays. */
    struct ct_buf small;
    char mem[24];
    ct_buf_init_fixed(&small, mem, sizeof(mem));
    assert_int_equal(ct_lp_point(&small, "m", ok_tag, 1, ok, 1, 1), 0);
    assert_string_equal(mem, "m,device=d v=1 1\n");
    assert_int_equal(ct_lp_point(&small, "m", ok_tag, 1, ok, 1, 1), CT_E_TOOBIG);
    assert_string_equal(mem, "m,device=d v=1 1\n");
    ct_buf_free(&b);
}

static void test_trailing_backslash_refused(void **state)
{
    (void)state;
    /* A backslash as the last byte of a measurement, tag key, tag value or field key would
     * escape the separator after it (influxd answers 400): refused, nothing appended. A string
     * field value ending in a backslash is quoted and escaped, so it is fine. */
    struct ct_buf b;
    ct_buf_init(&b, 4096);
    assert_int_equal(ct_buf_adds(&b, "keep\n"), 0);
    const struct ct_lp_tag ok_tag[] = {{"device", "d"}};
    const struct ct_lp_tag bs_val[] = {{"device", "d"}, {"ward", "Kim Mã \\"}};
    const struct ct_lp_tag bs_key[] = {{"ward\\", "x"}};
    const struct ct_lp_field ok[] = {FLOAT("v", 1)};
    const struct ct_lp_field bs_fkey[] = {FLOAT("v", 1), INT("k\\", 2)};
    const struct ct_lp_field bs_str[] = {STR("s", "end \\")};
    assert_int_equal(ct_lp_point(&b, "m\\", ok_tag, 1, ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", bs_val, 2, ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", bs_key, 1, ok, 1, 1), CT_E_INVAL);
    assert_int_equal(ct_lp_point(&b, "m", ok_tag, 1, bs_fkey, 2, 1), CT_E_INVAL);
    assert_string_equal(b.p, "keep\n");
    /* Elsewhere a backslash is written as-is and reads back. */
    const struct ct_lp_tag inner[] = {{"device", "a\\,b"}};
    assert_int_equal(ct_lp_point(&b, "m\\x", inner, 1, bs_str, 1, INT64_MIN), 0);
    assert_string_equal(b.p, "keep\nm\\x,device=a\\\\,b s=\"end \\\\\"\n");
    ct_buf_free(&b);
}

static void test_deterministic_bytes(void **state)
{
    (void)state;
    /* The same point always has the same bytes, whatever the tag order given. */
    struct ct_buf a, b;
    ct_buf_init(&a, 4096);
    ct_buf_init(&b, 4096);
    const struct ct_lp_tag t1[] = {{"x", "1"}, {"y", "2"}, {"z", "3"}};
    const struct ct_lp_tag t2[] = {{"z", "3"}, {"x", "1"}, {"y", "2"}};
    const struct ct_lp_field f[] = {FLOAT("v", 0.1 + 0.2)};
    assert_int_equal(ct_lp_point(&a, "m", t1, 3, f, 1, 7), 0);
    assert_int_equal(ct_lp_point(&b, "m", t2, 3, f, 1, 7), 0);
    assert_string_equal(a.p, b.p);
    assert_string_equal(a.p, "m,x=1,y=2,z=3 v=0.30000000000000004 7\n");
    ct_buf_free(&a);
    ct_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_raw_air),
        cmocka_unit_test(test_golden_escaping),
        cmocka_unit_test(test_golden_aggregates),
        cmocka_unit_test(test_tags_sorted_bytewise),
        cmocka_unit_test(test_refusals_append_nothing),
        cmocka_unit_test(test_deterministic_bytes),
        cmocka_unit_test(test_trailing_backslash_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

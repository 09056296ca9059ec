/* test_common_topic.c - strict topic grammar (protocol.md section 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ct/err.h"
#include "ct/topic.h"

static int parse(const char *t, struct ct_topic *out)
{
    return ct_topic_parse(t, strlen(t), out);
}

static void test_valid_topics(void **state)
{
    (void)state;
    struct ct_topic t;
    assert_int_equal(parse("city/v1/air/hn-air-0001/up", &t), 0);
    assert_int_equal(t.type, CT_TOPIC_UP);
    assert_int_equal(t.kind, CT_KIND_AIR);
    assert_string_equal(t.id, "hn-air-0001");
    assert_int_equal(parse("city/v1/parking/hn-park-0001/status", &t), 0);
    assert_int_equal(t.type, CT_TOPIC_STATUS);
    assert_int_equal(t.kind, CT_KIND_PARKING);
    assert_string_equal(t.id, "hn-park-0001");
    assert_int_equal(parse("city/v1/alert/flood/hoan-kiem", &t), 0);
    assert_int_equal(t.type, CT_TOPIC_ALERT);
    assert_int_equal(t.kind, CT_KIND_FLOOD);
    assert_string_equal(t.id, "hoan-kiem");
    assert_int_equal(parse("city/v1/water/w/up", &t), 0);
    assert_string_equal(t.id, "w");
}

static void test_invalid_topics(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "city/v1/air/hn-air-0001",
        "city/v1/air/hn-air-0001/up/",
        "city/v1/air/hn-air-0001/up/x",
        "/city/v1/air/hn-air-0001/up",
        "City/v1/air/hn-air-0001/up",
        "city/v2/air/hn-air-0001/up",
        "city/v1/Air/hn-air-0001/up",
        "city/v1/smoke/hn-air-0001/up",
        "city/v1/air/HN-air-0001/up",
        "city/v1/air/hn_air/up",
        "city/v1/air//up",
        "city/v1/air/+/up",
        "city/v1/air/#",
        "city/v1/air/hn-air-0001/down",
        "city/v1/air/hn-air-0001/UP",
        "city/v1/air/hn-air-0001/upx",
        "city/v1/alert/air",
        "city/v1/alert/smoke/hoan-kiem",
        "city/v1/alert/air/Hoan-Kiem",
        "city/v1/alert/air/hoan kiem",
        "city//air/hn-air-0001/up",
        "$share/g/city/v1/+/+/up",
    };
    struct ct_topic t;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &t) != CT_E_PARSE) {
            fail_msg("accepted invalid topic \"%s\"", bad[i]);
        }
    }
    char longid[80];
    memcpy(longid, "city/v1/air/", 12);
    memset(longid + 12, 'a', 65);
    memcpy(longid + 77, "/up", 3);
    assert_int_equal(ct_topic_parse(longid, 80, &t), CT_E_PARSE);
    /* 64 chars is the limit and is accepted. */
    memcpy(longid + 76, "/up", 3);
    assert_int_equal(ct_topic_parse(longid, 79, &t), 0);
    assert_int_equal(strlen(t.id), 64);
    /* Embedded NUL and a length that stops early. */
    assert_int_equal(ct_topic_parse("city/v1/air/a\0b/up", 18, &t), CT_E_PARSE);
    assert_int_equal(ct_topic_parse("city/v1/air/ab/upXX", 17, &t), 0);
    assert_string_equal(t.id, "ab");
}

static void test_format(void **state)
{
    (void)state;
    char out[CT_TOPIC_MAX];
    struct ct_topic t;
    assert_int_equal(ct_topic_format(CT_TOPIC_UP, CT_KIND_RAIN, "hn-rain-0003", out, sizeof(out)),
                     0);
    assert_string_equal(out, "city/v1/rain/hn-rain-0003/up");
    assert_int_equal(
        ct_topic_format(CT_TOPIC_STATUS, CT_KIND_WATER, "hn-water-1", out, sizeof(out)), 0);
    assert_string_equal(out, "city/v1/water/hn-water-1/status");
    assert_int_equal(ct_topic_format(CT_TOPIC_ALERT, CT_KIND_FLOOD, "ba-dinh", out, sizeof(out)),
                     0);
    assert_string_equal(out, "city/v1/alert/flood/ba-dinh");
    assert_int_equal(parse(out, &t), 0);
    assert_int_equal(t.type, CT_TOPIC_ALERT);
    /* Exactly fitting, and one byte short. */
    const char *want = "city/v1/air/a/up";
    assert_int_equal(ct_topic_format(CT_TOPIC_UP, CT_KIND_AIR, "a", out, strlen(want) + 1), 0);
    assert_string_equal(out, want);
    assert_int_equal(ct_topic_format(CT_TOPIC_UP, CT_KIND_AIR, "a", out, strlen(want)),
                     CT_E_TOOBIG);
    assert_int_equal(ct_topic_format(CT_TOPIC_UP, CT_KIND_AIR, "A", out, sizeof(out)), CT_E_INVAL);
    assert_int_equal(ct_topic_format(CT_TOPIC_UP, CT_KIND__COUNT, "a", out, sizeof(out)),
                     CT_E_INVAL);
}

static void test_roundtrip_all_kinds(void **state)
{
    (void)state;
    char out[CT_TOPIC_MAX];
    struct ct_topic t;
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        for (int ty = CT_TOPIC_UP; ty <= CT_TOPIC_ALERT; ty++) {
            assert_int_equal(
                ct_topic_format((enum ct_topic_type)ty, (enum ct_kind)k, "dev-9", out, sizeof(out)),
                0);
            assert_int_equal(parse(out, &t), 0);
            assert_int_equal(t.type, ty);
            assert_int_equal(t.kind, k);
            assert_string_equal(t.id, "dev-9");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_topics),
        cmocka_unit_test(test_invalid_topics),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_roundtrip_all_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

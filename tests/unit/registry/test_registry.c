/* test_registry.c - the device registry loader: members, kinds, errors naming line and member,
 * duplicates, lookups through the hash table, Vietnamese names kept byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ct/err.h"
#include "ct/registry.h"

#include "ct_failmalloc.h"

static const char good[] =
    "# citytel registry\n"
    "\n"
    "{\"id\":\"air-hk-01\",\"kind\":\"air\",\"name\":\"Hồ Hoàn Kiếm\",\"lat\":21.0285,"
    "\"lon\":105.8522,\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Trống\"}\n"
    "   # an indented comment\n"
    "{\"id\":\"rain-cg-02\",\"kind\":\"rain\",\"name\":\"Cầu Giấy – Dịch Vọng\",\"lat\":21.03,"
    "\"lon\":105.79,\"district\":\"Cầu Giấy\",\"ward\":\"Dịch Vọng\",\"mm_per_tip\":0.5,"
    "\"interval_s\":120,\"public\":false}\r\n"
    "{\"id\":\"flood-tx-03\",\"kind\":\"flood\",\"name\":\"Ngã Tư Sở\",\"lat\":21.003,"
    "\"lon\":105.82,\"district\":\"Thanh Xuân\",\"ward\":\"Khương Mai\",\"mount_cm\":250,"
    "\"bands_cm\":[10,20,30,50]}\n"
    "{\"id\":\"park-lot-1\",\"kind\":\"parking\",\"name\":\"Bãi xe Nhà hát Lớn\",\"lat\":21.024,"
    "\"lon\":105.857,\"district\":\"Hoàn Kiếm\",\"ward\":\"Tràng Tiền\",\"mode\":\"lot\","
    "\"capacity\":120}\n"
    "{\"id\":\"park-bay-7\",\"kind\":\"parking\",\"name\":\"Ô đỗ số 7\",\"lat\":21.024,"
    "\"lon\":105.857,\"district\":\"Hoàn Kiếm\",\"ward\":\"Tràng Tiền\",\"mode\":\"bay\","
    "\"lot\":\"park-lot-1\"}\n"
    "{\"id\":\"water-tl-04\",\"kind\":\"water\",\"name\":\"Sông Tô Lịch\",\"lat\":21.0,"
    "\"lon\":105.8,\"district\":\"Đống Đa\",\"ward\":\"Láng Thượng\"}";

static struct ct_registry *parse_ok(const char *text)
{
    struct ct_registry *reg = NULL;
    char err[256] = "";
    int rc = ct_registry_parse(text, strlen(text), "registry.jsonl", &reg, err, sizeof(err));
    if (rc != 0) {
        print_error("unexpected error: %s\n", err);
    }
    assert_int_equal(rc, 0);
    assert_non_null(reg);
    return reg;
}

static void test_registry_parses_all_kinds(void **state)
{
    (void)state;
    struct ct_registry *reg = parse_ok(good);
    assert_int_equal(ct_registry_count(reg), 6);

    const struct ct_device *d = ct_registry_at(reg, 0);
    assert_string_equal(d->id, "air-hk-01");
    assert_int_equal(d->kind, CT_KIND_AIR);
    assert_string_equal(d->name, "Hồ Hoàn Kiếm");
    assert_string_equal(d->district, "Hoàn Kiếm");
    assert_string_equal(d->ward, "Hàng Trống");
    assert_true(d->lat == 21.0285 && d->lon == 105.8522);
    assert_true(d->is_public);
    assert_int_equal(d->interval_s, ct_kind_default_interval_s(CT_KIND_AIR));

    d = ct_registry_find(reg, "rain-cg-02", strlen("rain-cg-02"));
    assert_non_null(d);
    assert_ptr_equal(d, ct_registry_at(reg, 1));
    assert_string_equal(d->name, "Cầu Giấy – Dịch Vọng");
    assert_true(d->mm_per_tip == 0.5);
    assert_int_equal(d->interval_s, 120);
    assert_false(d->is_public);

    d = ct_registry_find(reg, "flood-tx-03", 11);
    assert_non_null(d);
    assert_true(d->mount_cm == 250);
    assert_int_equal(d->nbands, 4);
    assert_true(d->bands_cm[0] == 10 && d->bands_cm[3] == 50);

    d = ct_registry_find(reg, "park-lot-1", 10);
    assert_int_equal(d->park_mode, CT_PARK_LOT);
    assert_int_equal(d->capacity, 120);
    d = ct_registry_find(reg, "park-bay-7", 10);
    assert_int_equal(d->park_mode, CT_PARK_BAY);
    assert_string_equal(d->lot, "park-lot-1");
    assert_string_equal(ct_registry_at(reg, 5)->name, "Sông Tô Lịch");
    assert_null(ct_registry_at(reg, 6));

    /* The length argument counts, not a NUL: a prefix of a known id is unknown. */
    assert_null(ct_registry_find(reg, "air-hk-01x", 9 + 1));
    assert_non_null(ct_registry_find(reg, "air-hk-01x", 9));
    assert_null(ct_registry_find(reg, "air-hk-0", 8));
    assert_null(ct_registry_find(reg, "", 0));
    ct_registry_free(reg);
}

static void test_registry_rain_default_mm_per_tip(void **state)
{
    (void)state;
    struct ct_registry *reg = parse_ok(
        "{\"id\":\"r\",\"kind\":\"rain\",\"name\":\"Mưa\",\"lat\":1,\"lon\":2,\"district\":\"Ba "
        "Đình\",\"ward\":\"Kim Mã\"}\n");
    assert_true(ct_registry_at(reg, 0)->mm_per_tip == 0.2);
    ct_registry_free(reg);
}

/* Builds line 3 of a registry from 'line' and checks the error message exactly. */
static void expect_error(const char *line, const char *want)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"id\":\"lot-a\",\"kind\":\"parking\",\"name\":\"Bãi A\",\"lat\":1,\"lon\":2,"
             "\"district\":\"Tây Hồ\",\"ward\":\"Quảng An\",\"mode\":\"lot\",\"capacity\":5}\n"
             "# comment\n%s\n",
             line);
    struct ct_registry *reg = (struct ct_registry *)1;
    char err[256] = "";
    int rc = ct_registry_parse(text, strlen(text), "registry.jsonl", &reg, err, sizeof(err));
    assert_int_equal(rc, CT_E_PARSE);
    assert_ptr_equal(reg, (struct ct_registry *)1);
    assert_string_equal(err, want);
}

#define BASE                                                                                       \
    "\"name\":\"Trạm\",\"lat\":21,\"lon\":105,\"district\":\"Hà Đông\",\"ward\":\"Yên Nghĩa\""

static void test_registry_errors_name_line_and_member(void **state)
{
    (void)state;
    expect_error("{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"Trạm\",\"lat\":91,\"lon\":105,"
                 "\"district\":\"x\",\"ward\":\"y\"}",
                 "registry.jsonl:3: member \"lat\": expected a number in -90..90");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"Trạm\",\"lat\":\"21\",\"lon\":105,"
                 "\"district\":\"x\",\"ward\":\"y\"}",
                 "registry.jsonl:3: member \"lat\": expected a number in -90..90");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE ",\"colour\":1}",
                 "registry.jsonl:3: member \"colour\": unknown member for kind \"air\"");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE ",\"mode\":\"lot\"}",
                 "registry.jsonl:3: member \"mode\": unknown member for kind \"air\"");
    expect_error("{\"id\":\"a1\",\"kind\":\"flood\"," BASE ",\"mm_per_tip\":0.2}",
                 "registry.jsonl:3: member \"mm_per_tip\": unknown member for kind \"flood\"");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"Trạm\",\"lat\":21,\"lon\":105,"
                 "\"district\":\"x\"}",
                 "registry.jsonl:3: member \"ward\": required");
    expect_error("{\"id\":\"a1\"," BASE "}", "registry.jsonl:3: member \"kind\": required");
    expect_error("{\"id\":\"a1\",\"kind\":\"bus\"," BASE "}",
                 "registry.jsonl:3: member \"kind\": expected \"air\", \"water\", \"rain\", "
                 "\"flood\" or \"parking\"");
    expect_error("{\"id\":\"lot-a\",\"kind\":\"air\"," BASE "}",
                 "registry.jsonl:3: member \"id\": duplicate id \"lot-a\"");
    expect_error("{\"id\":\"Bad_ID\",\"kind\":\"air\"," BASE "}",
                 "registry.jsonl:3: member \"id\": expected 1..64 characters of [a-z0-9-]");
    expect_error("{\"id\":\"a1\",\"id\":\"a2\",\"kind\":\"air\"," BASE "}",
                 "registry.jsonl:3: member \"id\": appears twice");
    expect_error("{\"id\":\"p1\",\"kind\":\"parking\"," BASE ",\"mode\":\"lot\"}",
                 "registry.jsonl:3: member \"capacity\": required for mode \"lot\"");
    expect_error("{\"id\":\"p1\",\"kind\":\"parking\"," BASE "}",
                 "registry.jsonl:3: member \"mode\": required for kind \"parking\"");
    expect_error("{\"id\":\"p1\",\"kind\":\"parking\"," BASE ",\"mode\":\"bay\",\"lot\":\"lot-a\","
                 "\"capacity\":3}",
                 "registry.jsonl:3: member \"capacity\": not allowed for mode \"bay\"");
    expect_error(
        "{\"id\":\"p1\",\"kind\":\"parking\"," BASE ",\"mode\":\"bay\",\"lot\":\"nope\"}",
        "registry.jsonl:3: member \"lot\": \"nope\" is not a parking lot of this registry");
    expect_error("{\"id\":\"p1\",\"kind\":\"parking\"," BASE ",\"mode\":\"lot\",\"capacity\":1.5}",
                 "registry.jsonl:3: member \"capacity\": expected an integer in 0..1000000");
    expect_error("{\"id\":\"f1\",\"kind\":\"flood\"," BASE ",\"bands_cm\":[10,5]}",
                 "registry.jsonl:3: member \"bands_cm\": expected an array of increasing numbers "
                 ">= 0");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE ",\"interval_s\":0}",
                 "registry.jsonl:3: member \"interval_s\": expected an integer in 1..604800");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE ",\"public\":1}",
                 "registry.jsonl:3: member \"public\": expected true or false");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"\xc3\x28\",\"lat\":1,\"lon\":1,"
                 "\"district\":\"x\",\"ward\":\"y\"}",
                 "registry.jsonl:3: member \"name\": invalid UTF-8 or a control character");
    expect_error("{\"id\":\"a1\",", "registry.jsonl:3: malformed JSON");
    expect_error("[1,2]", "registry.jsonl:3: expected a JSON object");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE "} x",
                 "registry.jsonl:3: trailing characters after the object");
}

static void test_registry_tag_text_ending_in_backslash(void **state)
{
    (void)state;
    /* District and ward become line-protocol tag values, where a final backslash would escape
     * the separator after it: refused at load time, naming the line and the member. */
    expect_error("{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"Trạm\",\"lat\":1,\"lon\":1,"
                 "\"district\":\"Ba Đình \\\\\",\"ward\":\"y\"}",
                 "registry.jsonl:3: member \"district\": must not end with a backslash (a "
                 "line-protocol tag value)");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"Trạm\",\"lat\":1,\"lon\":1,"
                 "\"district\":\"x\",\"ward\":\"Kim Mã\\\\\"}",
                 "registry.jsonl:3: member \"ward\": must not end with a backslash (a "
                 "line-protocol tag value)");
    /* A backslash elsewhere is fine, and so is a name ending in one (never a tag). */
    struct ct_registry *reg =
        parse_ok("{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"Trạm \\\"x\\\", y=1\\\\\","
                 "\"lat\":1,\"lon\":1,\"district\":\"a\\\\b\",\"ward\":\"\\\\ end\"}\n");
    const struct ct_device *d = ct_registry_find(reg, "a1", 2);
    assert_non_null(d);
    assert_string_equal(d->name, "Trạm \"x\", y=1\\");
    assert_string_equal(d->district, "a\\b");
    assert_string_equal(d->ward, "\\ end");
    ct_registry_free(reg);
}

static void test_registry_out_of_memory(void **state)
{
    (void)state;
#if CT_FAILMALLOC
    /* Each allocation of a parse failing in turn (cJSON's included) gives CT_E_NOMEM with a
     * message, never CT_E_PARSE ("malformed JSON"), until the parse needs no more. */
    size_t len = strlen(good);
    int rc = CT_E_NOMEM;
    unsigned long n;
    for (n = 1; rc == CT_E_NOMEM; n++) {
        struct ct_registry *reg = NULL;
        char err[256] = "";
        ct_failmalloc_arm(n);
        rc = ct_registry_parse(good, len, "registry.jsonl", &reg, err, sizeof(err));
        ct_failmalloc_disarm();
        if (rc == CT_E_NOMEM) {
            assert_null(reg);
            assert_non_null(strstr(err, "out of memory"));
        } else {
            if (rc != 0) {
                fail_msg("allocation %lu failing: rc %d (%s)", n, rc, err);
            }
            assert_int_equal(ct_registry_count(reg), 6);
        }
        ct_registry_free(reg);
    }
    assert_true(n > 10);
#else
    skip();
#endif
}

static void test_registry_many_devices_hash(void **state)
{
    (void)state;
    enum { N = 5000 };
    size_t cap = (size_t)N * 200;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(text + len, cap - len,
                         "{\"id\":\"dev-%d\",\"kind\":\"air\",\"name\":\"Trạm số %d\",\"lat\":21,"
                         "\"lon\":105,\"district\":\"Long Biên\",\"ward\":\"Bồ Đề\"}\n",
                         i, i);
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
    struct ct_registry *reg = NULL;
    char err[256];
    assert_int_equal(ct_registry_parse(text, len, "big", &reg, err, sizeof(err)), 0);
    assert_int_equal(ct_registry_count(reg), N);
    for (int i = 0; i < N; i++) {
        char id[32], name[64];
        int n = snprintf(id, sizeof(id), "dev-%d", i);
        const struct ct_device *d = ct_registry_find(reg, id, (size_t)n);
        assert_non_null(d);
        assert_ptr_equal(d, ct_registry_at(reg, (size_t)i));
        snprintf(name, sizeof(name), "Trạm số %d", i);
        assert_string_equal(d->name, name);
    }
    assert_null(ct_registry_find(reg, "dev-5000", 8));
    ct_registry_free(reg);
    free(text);
}

static void test_registry_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_registry_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(good, f);
    fputs("\n{\"id\":\"air-hk-01\",\"kind\":\"air\"," BASE "}\n", f);
    fclose(f);
    struct ct_registry *reg = NULL;
    char err[512];
    assert_int_equal(ct_registry_load(path, &reg, err, sizeof(err)), CT_E_PARSE);
    char want[600];
    snprintf(want, sizeof(want), "%s:10: member \"id\": duplicate id \"air-hk-01\"", path);
    assert_string_equal(err, want);
    assert_null(reg);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs(good, f);
    fclose(f);
    assert_int_equal(ct_registry_load(path, &reg, err, sizeof(err)), 0);
    assert_int_equal(ct_registry_count(reg), 6);
    ct_registry_free(reg);
    unlink(path);

    assert_int_equal(ct_registry_load(path, &reg, err, sizeof(err)), CT_E_IO);
    assert_non_null(strstr(err, "cannot open"));
    ct_registry_free(NULL);
    assert_int_equal(ct_registry_count(NULL), 0);
}

/* The optional TT 10/2021 codes: read when present, strict (charset, length, members), and no two
 * devices share them (an incoming station file names its device by them). */
static void test_registry_tt10_codes(void **state)
{
    (void)state;
    struct ct_registry *reg = parse_ok(
        "{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"Trạm Hàng Bông\",\"lat\":21,\"lon\":105,"
        "\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Bông\",\"tt10\":{\"province\":\"HN\","
        "\"facility\":\"CITYTEL\",\"station\":\"KK-0001\"}}\n"
        "{\"id\":\"a2\",\"kind\":\"air\",\"name\":\"x\",\"lat\":21,\"lon\":105,"
        "\"district\":\"x\",\"ward\":\"y\"}\n");
    const struct ct_device *d = ct_registry_find(reg, "a1", 2);
    assert_non_null(d);
    assert_true(d->has_tt10);
    assert_string_equal(d->tt10_province, "HN");
    assert_string_equal(d->tt10_facility, "CITYTEL");
    assert_string_equal(d->tt10_station, "KK-0001");
    assert_false(ct_registry_find(reg, "a2", 2)->has_tt10);
    ct_registry_free(reg);

    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE
                 ",\"tt10\":{\"province\":\"HN\",\"facility\":\"F_1\",\"station\":\"S\"}}",
                 "registry.jsonl:3: member \"tt10\": member \"facility\": expected 1..32 "
                 "characters of [A-Za-z0-9-]");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE
                 ",\"tt10\":{\"province\":\"HN\",\"facility\":\"F\"}}",
                 "registry.jsonl:3: member \"tt10\": member \"station\" required");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE
                 ",\"tt10\":{\"province\":\"HN\",\"facility\":\"F\",\"station\":\"S\","
                 "\"x\":1}}",
                 "registry.jsonl:3: member \"tt10\": unknown member \"x\"");
    expect_error("{\"id\":\"a1\",\"kind\":\"air\"," BASE ",\"tt10\":\"HN_F_S\"}",
                 "registry.jsonl:3: member \"tt10\": expected an object {\"province\", "
                 "\"facility\", \"station\"}");

    const char *dup = "{\"id\":\"a1\",\"kind\":\"air\",\"name\":\"x\",\"lat\":21,\"lon\":105,"
                      "\"district\":\"x\",\"ward\":\"y\",\"tt10\":{\"province\":\"HN\","
                      "\"facility\":\"F\",\"station\":\"S\"}}\n"
                      "{\"id\":\"w1\",\"kind\":\"water\",\"name\":\"x\",\"lat\":21,\"lon\":105,"
                      "\"district\":\"x\",\"ward\":\"y\",\"tt10\":{\"province\":\"HN\","
                      "\"facility\":\"F\",\"station\":\"S\"}}\n";
    struct ct_registry *bad = NULL;
    char err[256] = "";
    assert_int_equal(ct_registry_parse(dup, strlen(dup), "r", &bad, err, sizeof(err)), CT_E_PARSE);
    assert_null(bad);
    assert_string_equal(err, "r: member \"tt10\": devices \"a1\" and \"w1\" have the same "
                             "codes HN_F_S");
}

static void test_registry_empty(void **state)
{
    (void)state;
    struct ct_registry *reg = parse_ok("# nothing yet\n\n");
    assert_int_equal(ct_registry_count(reg), 0);
    assert_null(ct_registry_find(reg, "a", 1));
    ct_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_parses_all_kinds),
        cmocka_unit_test(test_registry_rain_default_mm_per_tip),
        cmocka_unit_test(test_registry_errors_name_line_and_member),
        cmocka_unit_test(test_registry_many_devices_hash),
        cmocka_unit_test(test_registry_load_file),
        cmocka_unit_test(test_registry_empty),
        cmocka_unit_test(test_registry_tt10_codes),
        cmocka_unit_test(test_registry_tag_text_ending_in_backslash),
        cmocka_unit_test(test_registry_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_quarantine.c - col_quarantine: JSON escaping (Vietnamese, invalid UTF-8, control
 * characters), truncation, rotation with the oldest file dropped, counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "col_quarantine.h"
#include "ct/err.h"
#include "quarantine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1763888400123ull /* 2025-11-23T09:00:00.123Z */

static void mkdir_tmp(char *out, size_t cap)
{
    const char *base = getenv("CT_BINARY_DIR");
    snprintf(out, cap, "%s/qtest-XXXXXX", base != NULL ? base : "/tmp");
    assert_non_null(mkdtemp(out));
}

/* Reads a whole file into a NUL-terminated heap string (caller frees); NULL if missing. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s != '\0'; s++) {
        n += *s == c;
    }
    return n;
}

static void clean(const char *dir, const char *name, unsigned keep)
{
    char p[700];
    for (unsigned i = 0; i <= keep + 1; i++) {
        if (i == 0) {
            snprintf(p, sizeof(p), "%s/%s", dir, name);
        } else {
            snprintf(p, sizeof(p), "%s/%s.%u", dir, name, i);
        }
        unlink(p);
    }
    rmdir(dir);
}

static char *line_of(const struct col_quarantine_entry *e, size_t max_payload)
{
    struct qbuf b = {0};
    assert_int_equal(col_quarantine_qline_build(&b, e, max_payload), 0);
    return b.p;
}

static void test_quarantine_vietnamese_utf8(void **state)
{
    const char *pl = "{\"name\":\"Tr\xe1\xba\xa1m quan tr\xe1\xba\xaf"
                     "c Ho\xc3\xa0n Ki\xe1\xba\xbfm\","
                     "\"pm25\":41.2}";
    struct col_quarantine_entry e = {
        .time_ms = T0,
        .reason = "range",
        .device = "hn-air-0001",
        .topic = "city/v1/air/hn-air-0001/up",
        .detail = "m.pm25: value 2500 is above the maximum 2000",
        .payload = pl,
        .payload_len = strlen(pl),
    };
    char *l = line_of(&e, 8192);
    const char *want =
        "{\"time\":\"2025-11-23T09:00:00.123Z\",\"reason\":\"range\",\"device\":\"hn-air-0001\","
        "\"topic\":\"city/v1/air/hn-air-0001/up\",\"detail\":\"m.pm25: value 2500 is above the "
        "maximum 2000\",\"payload_len\":54,\"payload_encoding\":\"utf8\",\"payload\":"
        "\"{\\\"name\\\":\\\"Tr\xe1\xba\xa1m quan tr\xe1\xba\xaf"
        "c Ho\xc3\xa0n Ki\xe1\xba\xbfm\\\","
        "\\\"pm25\\\":41.2}\",\"truncated\":false}\n";
    assert_string_equal(l, want);
    free(l);
}

static void test_quarantine_invalid_utf8_base64(void **state)
{
    const unsigned char pl[] = {0xff, 0xfe, '{', '"', 'a', '"', ':', '1', '}', 0xc3};
    struct col_quarantine_entry e = {
        .time_ms = T0, .reason = "utf8", .payload = pl, .payload_len = sizeof(pl)};
    char *l = line_of(&e, 8192);
    assert_non_null(strstr(l, "\"device\":null,\"topic\":null,\"detail\":null,\"payload_len\":10,"
                              "\"payload_encoding\":\"base64\",\"payload\":\"//57ImEiOjF9ww==\","
                              "\"truncated\":false}\n"));
    free(l);
    /* Overlong, surrogate and above-U+10FFFF sequences are invalid too. */
    assert_int_equal(col_quarantine_utf8_valid_prefix((const unsigned char *)"a\xc0\xaf", 3), 1);
    assert_int_equal(col_quarantine_utf8_valid_prefix((const unsigned char *)"\xed\xa0\x80", 3), 0);
    assert_int_equal(col_quarantine_utf8_valid_prefix((const unsigned char *)"\xf4\x90\x80\x80", 4),
                     0);
    assert_int_equal(col_quarantine_utf8_valid_prefix((const unsigned char *)"\xf0\x9f\x8c\xa7", 4),
                     4);
    assert_int_equal(col_quarantine_utf8_valid_prefix((const unsigned char *)"\xe1\xba", 2), 0);
}

static void test_quarantine_escapes(void **state)
{
    const char pl[] = "a\"b\\c\n\t\x01\x1f/";
    /* A topic with an invalid byte is kept readable: the byte becomes U+FFFD. */
    struct col_quarantine_entry e = {.time_ms = T0,
                                     .reason = "json",
                                     .topic = "city/\xff",
                                     .payload = pl,
                                     .payload_len = sizeof(pl) - 1};
    char *l = line_of(&e, 8192);
    assert_non_null(strstr(l, "\"topic\":\"city/\\ufffd\""));
    assert_non_null(strstr(l, "\"payload\":\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\""));
    free(l);
}

static void test_quarantine_truncation(void **state)
{
    /* 10 two-byte characters; keeping 5 bytes cuts back to 2 whole characters. */
    const char *pl =
        "\xc3\xa0\xc3\xa0\xc3\xa0\xc3\xa0\xc3\xa0\xc3\xa0\xc3\xa0\xc3\xa0\xc3\xa0\xc3\xa0";
    struct col_quarantine_entry e = {
        .time_ms = T0, .reason = "size", .payload = pl, .payload_len = strlen(pl)};
    char *l = line_of(&e, 5);
    assert_non_null(strstr(l, "\"payload_len\":20,\"payload_encoding\":\"utf8\",\"payload\":"
                              "\"\xc3\xa0\xc3\xa0\",\"truncated\":true}\n"));
    free(l);
    const unsigned char bin[] = {0xff, 1, 2, 3, 4, 5};
    e.payload = bin;
    e.payload_len = sizeof(bin);
    l = line_of(&e, 4);
    assert_non_null(strstr(l, "\"payload\":\"/wECAw==\",\"truncated\":true}\n"));
    free(l);
    e.reason = NULL;
    struct qbuf b = {0};
    assert_int_equal(col_quarantine_qline_build(&b, &e, 10), CT_E_INVAL);
    col_quarantine_qbuf_free(&b);
}

static void test_quarantine_rotation(void **state)
{
    char dir[512];
    char path[600];
    char p[700];
    char pl[300];
    mkdir_tmp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/quarantine.log", dir);
    struct col_quarantine_cfg cfg = {.path = path, .max_bytes = 4096, .keep = 2};
    struct col_quarantine *q = NULL;
    assert_int_equal(col_quarantine_open(&cfg, &q), 0);
    const int n = 100;
    for (int i = 0; i < n; i++) {
        int len = snprintf(pl, sizeof(pl), "{\"i\":%d,\"pad\":\"%0200d\"}", i, 0);
        struct col_quarantine_entry e = {.time_ms = T0 + (uint64_t)i,
                                         .reason = "schema",
                                         .device = "hn-air-0002",
                                         .topic = "t",
                                         .detail = "missing member",
                                         .payload = pl,
                                         .payload_len = (size_t)len};
        assert_int_equal(col_quarantine_write(q, &e), 0);
    }
    struct col_quarantine_stats st;
    col_quarantine_stats(q, &st);
    assert_int_equal(st.written, n);
    assert_int_equal(st.dropped, 0);
    assert_true(st.rotations >= 3);

    int lines = 0;
    for (unsigned i = 0; i <= 3; i++) {
        if (i == 0) {
            snprintf(p, sizeof(p), "%s", path);
        } else {
            snprintf(p, sizeof(p), "%s.%u", path, i);
        }
        char *s = slurp(p);
        if (i == 3) {
            assert_null(s); /* only 2 rotated files are kept */
            continue;
        }
        assert_non_null(s);
        struct stat sb;
        assert_int_equal(stat(p, &sb), 0);
        assert_true(sb.st_size <= 4096);
        if (i == 0) {
            assert_int_equal((uint64_t)sb.st_size, st.bytes);
            /* The newest line is the last of the live file. */
            assert_non_null(strstr(s, "{\\\"i\\\":99,"));
        }
        lines += count_char(s, '\n');
        free(s);
    }
    assert_int_equal((uint64_t)lines + st.expired, (uint64_t)n);
    assert_true(st.expired > 0);
    col_quarantine_close(q);

    /* Reopening counts the existing lines, so expiry stays exact. */
    q = NULL;
    assert_int_equal(col_quarantine_open(&cfg, &q), 0);
    for (int i = 0; i < 40; i++) {
        struct col_quarantine_entry e = {
            .time_ms = T0, .reason = "json", .payload = pl, .payload_len = 200};
        assert_int_equal(col_quarantine_write(q, &e), 0);
    }
    struct col_quarantine_stats st2;
    col_quarantine_stats(q, &st2);
    lines = 0;
    for (unsigned i = 0; i <= 2; i++) {
        if (i == 0) {
            snprintf(p, sizeof(p), "%s", path);
        } else {
            snprintf(p, sizeof(p), "%s.%u", path, i);
        }
        char *s = slurp(p);
        assert_non_null(s);
        lines += count_char(s, '\n');
        free(s);
    }
    assert_int_equal((uint64_t)lines, (uint64_t)n - st.expired + 40 - st2.expired);
    col_quarantine_close(q);
    clean(dir, "quarantine.log", 2);
}

static void test_quarantine_too_big_dropped(void **state)
{
    char dir[512];
    char path[600];
    mkdir_tmp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/q.log", dir);
    struct col_quarantine_cfg cfg = {.path = path,
                                     .max_bytes = 4096,
                                     .keep = COL_QUARANTINE_KEEP_NONE,
                                     .max_payload_bytes = 100000};
    struct col_quarantine *q = NULL;
    assert_int_equal(col_quarantine_open(&cfg, &q), 0);
    char *big = malloc(5000);
    memset(big, 'x', 5000);
    struct col_quarantine_entry e = {
        .time_ms = T0, .reason = "size", .payload = big, .payload_len = 5000};
    assert_int_equal(col_quarantine_write(q, &e), CT_E_TOOBIG);
    e.payload_len = 3000;
    assert_int_equal(col_quarantine_write(q, &e), 0);
    assert_int_equal(col_quarantine_write(q, &e), 0); /* rotates: keep none empties the file */
    struct col_quarantine_stats st;
    col_quarantine_stats(q, &st);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.written, 2);
    assert_int_equal(st.rotations, 1);
    assert_int_equal(st.expired, 1);
    char *s = slurp(path);
    assert_int_equal(count_char(s, '\n'), 1);
    free(s);
    free(big);
    col_quarantine_close(q);
    col_quarantine_close(NULL);
    struct col_quarantine_cfg bad = {.path = path, .max_bytes = 100};
    assert_int_equal(col_quarantine_open(&bad, &q), CT_E_INVAL);
    clean(dir, "q.log", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quarantine_vietnamese_utf8),
        cmocka_unit_test(test_quarantine_invalid_utf8_base64),
        cmocka_unit_test(test_quarantine_escapes),
        cmocka_unit_test(test_quarantine_truncation),
        cmocka_unit_test(test_quarantine_rotation),
        cmocka_unit_test(test_quarantine_too_big_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

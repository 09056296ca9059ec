/* test_sink_http.c - the sink's pure HTTP helpers: write URLs, headers, gzip round trip,
 * Retry-After parsing and the reading of InfluxDB error bodies (partial writes). */
#include "sink_int.h"

#include <ct/err.h>
#include <ct/gzip.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

static void test_sink_http_urls(void **state)
{
    struct col_sink_cfg c = {.url = "http://h:8086//", .api_version = 1, .db = "a b"};
    char *u = col_sink_build_url(&c);
    assert_string_equal(u, "http://h:8086/write?db=a%20b&precision=ms");
    free(u);
    c.precision = "s";
    c.rp = "autogen";
    u = col_sink_build_url(&c);
    assert_string_equal(u, "http://h:8086/write?db=a%20b&rp=autogen&precision=s");
    free(u);
    struct col_sink_cfg v2 = {
        .url = "http://h", .api_version = 2, .org = "o/1", .bucket = "b", .precision = "ns"};
    u = col_sink_build_url(&v2);
    assert_string_equal(u, "http://h/api/v2/write?org=o%2F1&bucket=b&precision=ns");
    free(u);
    struct col_sink_cfg none = {.api_version = 1};
    assert_null(col_sink_build_url(&none));
}

static void test_sink_http_headers(void **state)
{
    struct col_sink_cfg c = {.api_version = 2, .gzip = true, .token = "t0k"};
    struct curl_slist *h = col_sink_build_headers(&c);
    const char *want[] = {"Content-Type: text/plain; charset=utf-8",
                          "Expect:", "Content-Encoding: gzip", "Authorization: Token t0k"};
    size_t i = 0;
    for (struct curl_slist *p = h; p; p = p->next, i++) {
        assert_true(i < 4);
        assert_string_equal(p->data, want[i]);
    }
    assert_int_equal(i, 4);
    curl_slist_free_all(h);
}

static void test_sink_http_gzip_roundtrip(void **state)
{
    const char *in = "air,device=a pm25=1 1\nair,device=a pm25=1 1\nair,device=a pm25=1 1\n";
    char *gz;
    size_t gz_len;
    assert_int_equal(ct_gzip(in, strlen(in), &gz, &gz_len), 0);
    assert_true((unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
    char out[256];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    zs.next_in = (Bytef *)gz;
    zs.avail_in = (uInt)gz_len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = sizeof(out);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, strlen(in));
    assert_memory_equal(out, in, strlen(in));
    inflateEnd(&zs);
    /* Same input, same bytes: a retried gzip body is identical. */
    char *gz2;
    size_t gz2_len;
    assert_int_equal(ct_gzip(in, strlen(in), &gz2, &gz2_len), 0);
    assert_int_equal(gz_len, gz2_len);
    assert_memory_equal(gz, gz2, gz_len);
    free(gz);
    free(gz2);
}

static void test_sink_http_retry_after(void **state)
{
    uint64_t ms = 0;
    assert_true(col_sink_parse_retry_after(" 1\r\n", 4, &ms));
    assert_int_equal(ms, 1000);
    assert_true(col_sink_parse_retry_after("120", 3, &ms));
    assert_int_equal(ms, 120000);
    assert_false(col_sink_parse_retry_after(" Wed, 21 Oct 2015 07:28:00 GMT\r\n", 32, &ms));
    assert_false(col_sink_parse_retry_after("", 0, &ms));
    assert_false(col_sink_parse_retry_after("-1", 2, &ms));
    assert_false(col_sink_parse_retry_after("1x", 2, &ms));
    /* Capped at 5 minutes; over a day is absurd and ignored (the normal backoff applies). */
    assert_true(col_sink_parse_retry_after("3600", 4, &ms));
    assert_int_equal(ms, COL_SINK_RETRY_AFTER_MAX_MS);
    assert_true(col_sink_parse_retry_after("300", 3, &ms));
    assert_int_equal(ms, 300000);
    assert_false(col_sink_parse_retry_after("86401", 5, &ms));
    assert_false(col_sink_parse_retry_after("99999999999999999999", 20, &ms));
    assert_false(col_sink_parse_retry_after("1.5", 3, &ms));
}

static void test_sink_http_error_message(void **state)
{
    const char *v1 = "{\"error\":\"partial write: x dropped=1\"}";
    char *m = col_sink_error_message(v1, strlen(v1));
    assert_string_equal(m, "partial write: x dropped=1");
    assert_true(col_sink_is_partial(m));
    free(m);
    const char *v2 = "{\"code\":\"invalid\",\"message\":\"unable to parse 'x': bad\"}";
    m = col_sink_error_message(v2, strlen(v2));
    assert_string_equal(m, "unable to parse 'x': bad");
    assert_false(col_sink_is_partial(m));
    free(m);
    m = col_sink_error_message("plain text", 5);
    assert_string_equal(m, "plain");
    free(m);
}

static void test_sink_http_named_lines(void **state)
{
    const char *msg = "partial write: unable to parse 'm,t=it\\'s v=1': bad\n"
                      "unable to parse 'm v=': missing dropped=0";
    const char *batch = "m v=1 1\nm,t=it\\'s v=1\nm v=\nm v= 2\n";
    char *out;
    size_t len;
    assert_int_equal(col_sink_named_lines(msg, batch, strlen(batch), &out, &len), 2);
    assert_int_equal(len, strlen("m,t=it\\'s v=1\nm v=\n"));
    assert_memory_equal(out, "m,t=it\\'s v=1\nm v=\n", len);
    free(out);
    assert_int_equal(col_sink_named_lines("partial write: other", batch, strlen(batch), &out, &len),
                     0);
    assert_null(out);
}

static void test_sink_http_partition(void **state)
{
    const char *msg = "unable to parse 'm v=': missing";
    const char *batch = "m v=1 1\nm v=\nm v=2 2\n";
    char *bad;
    char *rest;
    size_t bad_len;
    size_t rest_len;
    assert_int_equal(
        col_sink_partition_named(msg, batch, strlen(batch), &bad, &bad_len, &rest, &rest_len), 1);
    assert_int_equal(bad_len, 5);
    assert_memory_equal(bad, "m v=\n", 5);
    assert_int_equal(rest_len, 16);
    assert_memory_equal(rest, "m v=1 1\nm v=2 2\n", 16);
    free(bad);
    free(rest);
    assert_int_equal(
        col_sink_partition_named("other", batch, strlen(batch), &bad, &bad_len, &rest, &rest_len),
        0);
    assert_null(bad);
    assert_int_equal(rest_len, strlen(batch));
    free(rest);
}

/* 400s about the store's setup are the store's fault; a data 400 is not. */
static void test_sink_http_store_400(void **state)
{
    assert_true(col_sink_is_store_400("retention policy not found: autogen"));
    assert_true(col_sink_is_store_400("database not found: \"x\""));
    assert_true(col_sink_is_store_400("database is required"));
    assert_false(col_sink_is_store_400("partial write: field type conflict: dropped=1"));
    assert_false(col_sink_is_store_400("unable to parse 'm v=': missing"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_http_urls),
        cmocka_unit_test(test_sink_http_partition),
        cmocka_unit_test(test_sink_http_store_400),
        cmocka_unit_test(test_sink_http_headers),
        cmocka_unit_test(test_sink_http_gzip_roundtrip),
        cmocka_unit_test(test_sink_http_retry_after),
        cmocka_unit_test(test_sink_http_error_message),
        cmocka_unit_test(test_sink_http_named_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

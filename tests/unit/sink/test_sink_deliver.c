/* test_sink_deliver.c - the sink against the fake InfluxDB when the store is healthy: exact
 * bytes, URLs and headers (v1 and v2), gzip, batching by points, bytes and timer, the inflight
 * limit, the memory limit with on_room, and the low-water mark. */
#include "sink_test_util.h"

#include <ct/err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static bool two_reqs(struct tctx *t)
{
    return fake_influx_count(t->fake) >= 2;
}

static bool one_req(struct tctx *t)
{
    return fake_influx_count(t->fake) >= 1;
}

static void test_sink_exact_bytes_v1(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.rp = "raw";
    t.cfg.user = "writer";
    t.cfg.password = "p&ss word";
    tctx_sink(&t);
    const char *a = "air,device=hn-air-0001,district=ba\\ dinh pm25=41.2 1763888400000\n";
    const char *b = "rain,device=hn-rain-0002 mm=0.4,tips=12i 1763888400000\n"
                    "flood,device=hn-fl-1 depth=3 1763888400001\n";
    const char *c = "parking,device=lot-7 occupied=41i,capacity=100i 1763888400002";
    assert_int_equal(col_sink_enqueue(t.sink, a, strlen(a), 1), 0);
    assert_int_equal(col_sink_enqueue(t.sink, b, strlen(b), 2), 0);
    assert_int_equal(col_sink_enqueue(t.sink, c, strlen(c), 3), 0);
    assert_int_equal(col_sink_low_water(t.sink), 1);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(fake_influx_count(t.fake), 1);
    const struct fake_influx_req *r = fake_influx_req(t.fake, 0);
    char want[1024];
    snprintf(want, sizeof(want), "%s%s%s\n", a, b, c);
    assert_string_equal(r->body, want);
    assert_int_equal(r->body_len, strlen(want));
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->target, "/write?db=city&rp=raw&u=writer&p=p%26ss%20word&precision=ms");
    assert_null(fake_influx_header(r, "Expect"));
    assert_null(fake_influx_header(r, "Content-Encoding"));
    assert_false(r->gzip);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.batches_ok, 1);
    assert_int_equal(st.points_delivered, 4);
    assert_int_equal(st.bytes_pending, 0);
    assert_int_equal(st.inflight, 0);
    assert_int_equal(st.retries, 0);
    tctx_finish(&t);
}

static void test_sink_v2_url_and_token(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.api_version = 2;
    t.cfg.db = NULL;
    t.cfg.org = "city of hanoi";
    t.cfg.bucket = "telemetry";
    t.cfg.token = "s3cr3t==";
    t.cfg.precision = "u";
    tctx_sink(&t);
    const char *a = "air,device=x pm25=1 1\n";
    assert_int_equal(col_sink_enqueue(t.sink, a, strlen(a), 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    const struct fake_influx_req *r = fake_influx_req(t.fake, 0);
    assert_non_null(r);
    assert_string_equal(r->target,
                        "/api/v2/write?org=city%20of%20hanoi&bucket=telemetry&precision=us");
    assert_string_equal(fake_influx_header(r, "Authorization"), "Token s3cr3t==");
    assert_string_equal(r->body, a);
    tctx_finish(&t);
}

static void test_sink_invalid_cfg(void **state)
{
    struct tctx t;
    tctx_init(&t);
    struct col_sink *s = NULL;
    t.cfg.db = NULL;
    assert_int_equal(col_sink_create(&t.loop, &t.cfg, NULL, NULL, &s), CT_E_INVAL);
    t.cfg.db = "city";
    t.cfg.precision = "hours";
    assert_int_equal(col_sink_create(&t.loop, &t.cfg, NULL, NULL, &s), CT_E_INVAL);
    t.cfg.precision = NULL;
    t.cfg.api_version = 3;
    assert_int_equal(col_sink_create(&t.loop, &t.cfg, NULL, NULL, &s), CT_E_INVAL);
    assert_null(s);
    tctx_finish(&t);
}

static void test_sink_gzip(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.gzip = true;
    tctx_sink(&t);
    char lines[4096];
    size_t used = 0;
    for (int i = 0; i < 50; i++) {
        used +=
            (size_t)snprintf(lines + used, sizeof(lines) - used,
                             "water,device=hn-w-%02d ph=7.%d,do=8.1 17638884%05d\n", i, i % 10, i);
    }
    assert_int_equal(col_sink_enqueue(t.sink, lines, used, 9), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(fake_influx_count(t.fake), 1);
    const struct fake_influx_req *r = fake_influx_req(t.fake, 0);
    assert_true(r->gzip);
    assert_false(r->gzip_bad);
    assert_string_equal(fake_influx_header(r, "Content-Encoding"), "gzip");
    assert_true(r->raw_len < used); /* compressed on the wire */
    assert_int_equal(r->body_len, used);
    assert_memory_equal(r->body, lines, used);
    tctx_finish(&t);
}

static void test_sink_batch_by_points(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.batch_max_points = 2;
    t.cfg.flush_ms = 60000; /* only full batches go without a flush */
    tctx_sink(&t);
    const char *lines = "m v=1 1\nm v=2 2\nm v=3 3\nm v=4 4\nm v=5 5\n";
    assert_int_equal(col_sink_enqueue(t.sink, lines, strlen(lines), 4), 0);
    assert_true(tctx_run_until(&t, two_reqs, 5000));
    assert_int_equal(col_sink_low_water(t.sink), 4); /* the fifth line is still held */
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(fake_influx_count(t.fake), 3);
    size_t len;
    char *all = tctx_bodies(&t, 204, &len);
    /* Batches may complete in any order over two connections; each has exactly 2, 2 and 1. */
    size_t sizes[3];
    for (size_t i = 0; i < 3; i++) {
        const struct fake_influx_req *r = fake_influx_req(t.fake, i);
        size_t n = 0;
        for (size_t k = 0; k < r->body_len; k++) {
            n += r->body[k] == '\n';
        }
        sizes[i] = n;
    }
    assert_int_equal(sizes[0] + sizes[1] + sizes[2], 5);
    assert_int_equal(sizes[2], 1);
    assert_int_equal(len, strlen(lines));
    free(all);
    tctx_finish(&t);
}

static void test_sink_batch_by_bytes(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.batch_max_bytes = 30; /* three 10-byte lines per batch */
    t.cfg.max_inflight = 1;     /* keeps the order of the requests */
    tctx_sink(&t);
    const char *lines = "m v=11 11\nm v=12 12\nm v=13 13\nm v=14 14\nm v=15 15\n";
    assert_int_equal(col_sink_enqueue(t.sink, lines, strlen(lines), 1), 0);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(fake_influx_count(t.fake), 2);
    assert_string_equal(fake_influx_req(t.fake, 0)->body, "m v=11 11\nm v=12 12\nm v=13 13\n");
    assert_string_equal(fake_influx_req(t.fake, 1)->body, "m v=14 14\nm v=15 15\n");
    tctx_finish(&t);
}

static void test_sink_flush_timer(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.flush_ms = 200;
    tctx_sink(&t);
    uint64_t t0 = tctx_ms();
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\n", 8, 1), 0);
    assert_true(tctx_run_until(&t, one_req, 5000));
    uint64_t waited = fake_influx_req(t.fake, 0)->t_ms - t0;
    assert_true(waited >= 195);
    assert_true(waited < 2000);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    tctx_finish(&t);
}

static void test_sink_max_inflight(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 3;
    t.cfg.batch_max_points = 1;
    tctx_sink(&t);
    struct fake_influx_resp slow = {.status = 204, .delay_ms = 100};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(fake_influx_script(t.fake, &slow, 1), 0);
    }
    for (int i = 0; i < 8; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "m v=%d %d\n", i, i);
        assert_int_equal(col_sink_enqueue(t.sink, line, (size_t)n, (uint64_t)i), 0);
    }
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.inflight, 3);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(fake_influx_count(t.fake), 8);
    assert_int_equal(fake_influx_max_concurrent(t.fake), 3);
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.points_delivered, 8);
    assert_true(st.last_latency_ms >= 100);
    assert_true(st.ewma_latency_ms >= 100);
    tctx_finish(&t);
}

static bool got_room(struct tctx *t)
{
    return t->rooms > 0;
}

static void test_sink_full_and_room(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_pending_bytes = 100;
    tctx_sink(&t);
    struct fake_influx_resp slow = {.status = 204, .delay_ms = 100};
    assert_int_equal(fake_influx_script(t.fake, &slow, 1), 0);
    char chunk[61];
    memset(chunk, 'x', 59);
    memcpy(chunk, "m v=", 4);
    chunk[59] = '\n';
    chunk[60] = '\0';
    assert_int_equal(col_sink_enqueue(t.sink, chunk, 60, 1), 0);
    assert_int_equal(col_sink_enqueue(t.sink, chunk, 60, 2), CT_E_FULL);
    assert_int_equal(col_sink_low_water(t.sink), 1); /* the refused chunk holds nothing */
    char big[128];
    memset(big, 'y', sizeof(big));
    assert_int_equal(col_sink_enqueue(t.sink, big, sizeof(big), 2), CT_E_TOOBIG);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.full_refusals, 1);
    assert_int_equal(st.bytes_pending, 60);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, got_room, 5000));
    assert_int_equal(t.rooms, 1);
    assert_int_equal(col_sink_enqueue(t.sink, chunk, 60, 2), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    /* A mark may go back (derived points carry the lowest mark of their inputs). */
    assert_int_equal(col_sink_enqueue(t.sink, chunk, 60, 1), 0);
    assert_int_equal(col_sink_low_water(t.sink), 1);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(fake_influx_count(t.fake), 3);
    tctx_finish(&t);
}

static bool ok_1(struct tctx *t)
{
    struct col_sink_stats st;
    col_sink_stats(t->sink, &st);
    return st.batches_ok >= 1;
}

static bool ok_2(struct tctx *t)
{
    struct col_sink_stats st;
    col_sink_stats(t->sink, &st);
    return st.batches_ok >= 2;
}

static void test_sink_low_water(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 1;
    t.cfg.batch_max_points = 2;
    tctx_sink(&t);
    struct fake_influx_resp slow = {.status = 204, .delay_ms = 50};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fake_influx_script(t.fake, &slow, 1), 0);
    }
    assert_int_equal(col_sink_low_water(t.sink), UINT64_MAX);
    /* Message 5 yields three lines: its mark is held by two batches. */
    assert_int_equal(col_sink_enqueue(t.sink, "a v=1 1\na v=2 2\na v=3 3\n", 24, 5), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "b v=1 1\n", 8, 7), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "c v=1 1\n", 8, 9), 0);
    col_sink_flush(t.sink);
    assert_int_equal(col_sink_low_water(t.sink), 5);
    assert_true(tctx_run_until(&t, ok_1, 5000));
    assert_int_equal(col_sink_low_water(t.sink), 5); /* "a v=3" and "b" are in batch two */
    assert_true(tctx_run_until(&t, ok_2, 5000));
    assert_int_equal(col_sink_low_water(t.sink), 9);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_true(st.oldest_pending_ms < 5000);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(col_sink_low_water(t.sink), UINT64_MAX);
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.oldest_pending_ms, 0);
    tctx_finish(&t);
}

static void test_sink_large_body_no_expect(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.batch_max_bytes = 4u * 1024 * 1024;
    t.cfg.batch_max_points = 100000;
    tctx_sink(&t);
    size_t cap = 2u * 1024 * 1024;
    char *lines = malloc(cap);
    assert_non_null(lines);
    size_t used = 0;
    for (int i = 0; used + 64 < cap; i++) {
        used += (size_t)snprintf(lines + used, cap - used, "big,device=d%06d v=%di %d\n", i, i, i);
    }
    assert_int_equal(col_sink_enqueue(t.sink, lines, used, 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(fake_influx_count(t.fake), 1);
    const struct fake_influx_req *r = fake_influx_req(t.fake, 0);
    assert_null(fake_influx_header(r, "Expect")); /* no 100-continue round trip */
    assert_int_equal(r->body_len, used);
    assert_memory_equal(r->body, lines, used);
    free(lines);
    tctx_finish(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_exact_bytes_v1),
        cmocka_unit_test(test_sink_v2_url_and_token),
        cmocka_unit_test(test_sink_invalid_cfg),
        cmocka_unit_test(test_sink_gzip),
        cmocka_unit_test(test_sink_batch_by_points),
        cmocka_unit_test(test_sink_batch_by_bytes),
        cmocka_unit_test(test_sink_flush_timer),
        cmocka_unit_test(test_sink_max_inflight),
        cmocka_unit_test(test_sink_full_and_room),
        cmocka_unit_test(test_sink_low_water),
        cmocka_unit_test(test_sink_large_body_no_expect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

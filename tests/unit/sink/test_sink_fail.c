/* test_sink_fail.c - the sink against a failing store (the fake InfluxDB's script): Retry-After on
 * 503 and 429, backoff on 500, partial writes (v1 and v2 bodies), 400s naming lines or none
 * (isolation by halving), 413 splitting, a
 * hanging store and the total timeout, 401 with the auth callback, a refused connection, the
 * backlog-versus-fresh slot rule, and close with work in flight. */
#include "sink_test_util.h"

#include <ct/err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char three[] = "air,device=a pm25=1 1\nair,device=b pm25=2 2\nair,device=c pm25=3 3\n";

/* Enqueues 'three' with mark 1, flushes, runs until settled and checks the delivered copy. */
static void deliver_three(struct tctx *t)
{
    assert_int_equal(col_sink_enqueue(t->sink, three, strlen(three), 1), 0);
    col_sink_flush(t->sink);
    assert_true(tctx_run_until(t, tcond_settled, 10000));
}

static void check_retried_once(struct tctx *t, int first_status, uint64_t min_gap_ms)
{
    assert_int_equal(fake_influx_count(t->fake), 2);
    const struct fake_influx_req *a = fake_influx_req(t->fake, 0);
    const struct fake_influx_req *b = fake_influx_req(t->fake, 1);
    assert_int_equal(a->status, first_status);
    assert_int_equal(b->status, 204);
    /* byte-identical resend */
    assert_int_equal(a->body_len, b->body_len);
    assert_memory_equal(a->body, b->body, a->body_len);
    assert_string_equal(b->body, three);
    assert_true(b->t_ms - a->t_ms >= min_gap_ms);
    struct col_sink_stats st;
    col_sink_stats(t->sink, &st);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.batches_ok, 1);
    assert_int_equal(st.points_delivered, 3);
}

static void test_sink_503_retry_after(void **state)
{
    struct tctx t;
    tctx_init(&t);
    tctx_sink(&t);
    struct fake_influx_resp r = {.status = 503, .headers = "Retry-After: 1\r\n"};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    deliver_three(&t);
    check_retried_once(&t, 503, 1000);
    tctx_finish(&t);
}

static void test_sink_429_retry_after(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.gzip = true; /* the gzip copy is resent identically too */
    tctx_sink(&t);
    struct fake_influx_resp r = {.status = 429,
                                 .headers = "Retry-After: 1\r\n",
                                 .body = "{\"error\":\"too many requests\"}"};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    deliver_three(&t);
    check_retried_once(&t, 429, 1000);
    assert_int_equal(fake_influx_req(t.fake, 0)->raw_len, fake_influx_req(t.fake, 1)->raw_len);
    tctx_finish(&t);
}

static void test_sink_500_backoff(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.retry_base_ms = 1;
    t.cfg.retry_max_ms = 50;
    tctx_sink(&t);
    struct fake_influx_resp r[] = {{.status = 500}, {.status = 502}, {.status = 500}};
    assert_int_equal(fake_influx_script(t.fake, r, 3), 0);
    assert_int_equal(col_sink_enqueue(t.sink, three, strlen(three), 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(fake_influx_count(t.fake), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(fake_influx_req(t.fake, i)->body, three);
    }
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.points_delivered, 3);
    assert_int_equal(st.batches_backlog, 0);
    tctx_finish(&t);
}

static void test_sink_partial_write_v1(void **state)
{
    struct tctx t;
    tctx_init(&t);
    tctx_sink(&t);
    struct fake_influx_resp r = {
        .status = 400,
        .body = "{\"error\":\"partial write: unable to parse 'air,device=b pm25=': missing field "
                "value\\nunable to parse 'air,device=d pm25=x 4': invalid boolean dropped=0\"}"};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    const char *lines = "air,device=a pm25=1 1\nair,device=b pm25=\nair,device=c pm25=3 3\n"
                        "air,device=d pm25=x 4\n";
    assert_int_equal(col_sink_enqueue(t.sink, lines, strlen(lines), 3), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(fake_influx_count(t.fake), 1); /* the good lines are not resent */
    assert_int_equal(t.reject_calls, 2);            /* one call per line, each whole */
    assert_int_equal(t.reject_cls, COL_SINK_REJ_PARSE);
    assert_int_equal(t.reject_status, 400);
    assert_string_equal(t.rejected, "air,device=b pm25=\nair,device=d pm25=x 4\n");
    assert_non_null(strstr(t.reason, "partial write"));
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.rejects[COL_SINK_REJ_PARSE], 2);
    assert_int_equal(st.points_delivered, 2);
    assert_int_equal(st.retries, 0);
    tctx_finish(&t);
}

static void test_sink_partial_write_v2(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.api_version = 2;
    t.cfg.org = "o";
    t.cfg.bucket = "b";
    tctx_sink(&t);
    struct fake_influx_resp r = {
        .status = 400,
        .body = "{\"code\":\"invalid\",\"message\":\"partial write error (2 written): unable to "
                "parse 'air,device=b pm25=2 2 9': bad timestamp\"}"};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    const char *lines = "air,device=a pm25=1 1\nair,device=b pm25=2 2 9\nair,device=c pm25=3 3\n";
    assert_int_equal(col_sink_enqueue(t.sink, lines, strlen(lines), 3), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(fake_influx_count(t.fake), 1);
    assert_string_equal(t.rejected, "air,device=b pm25=2 2 9\n");
    assert_int_equal(t.reject_cls, COL_SINK_REJ_PARSE);
    tctx_finish(&t);
}

/* A 400 naming no line of the batch: the batch is halved until the line the store refuses on
 * its own is alone; only it is rejected, every other line is delivered. */
static void test_sink_400_isolates_line(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 1;
    tctx_sink(&t);
    struct fake_influx_resp bad = {.status = 400,
                                   .body = "{\"error\":\"partial write: field type conflict: "
                                           "input field \\\"pm25\\\" dropped=1\"}"};
    struct fake_influx_resp ok = {.status = 204};
    /* [a b c] 400 -> halves [a b] 400 and [c] 204; [a b] -> [a] 204, [b] 400: rejected */
    struct fake_influx_resp script[] = {bad, bad, ok, ok, bad};
    assert_int_equal(fake_influx_script(t.fake, script, 5), 0);
    deliver_three(&t);
    assert_int_equal(fake_influx_count(t.fake), 5);
    assert_int_equal(t.reject_calls, 1);
    assert_int_equal(t.reject_cls, COL_SINK_REJ_BAD_REQUEST);
    assert_string_equal(t.rejected, "air,device=b pm25=2 2\n");
    assert_non_null(strstr(t.reason, "field type conflict"));
    size_t len;
    char *got = tctx_bodies(&t, 204, &len);
    assert_string_equal(got, "air,device=c pm25=3 3\nair,device=a pm25=1 1\n");
    free(got);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.rejects[COL_SINK_REJ_BAD_REQUEST], 1);
    assert_int_equal(st.points_delivered, 2);
    assert_int_equal(st.splits, 2);
    assert_true(st.store_ok);
    tctx_finish(&t);
}

/* A plain 400 (nothing written) naming one line: that line is rejected, the others resent. */
static void test_sink_400_named_rest_resent(void **state)
{
    struct tctx t;
    tctx_init(&t);
    tctx_sink(&t);
    struct fake_influx_resp r = {
        .status = 400, .body = "{\"error\":\"unable to parse 'air,device=b pm25=2 2': bad\"}"};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    deliver_three(&t);
    assert_int_equal(fake_influx_count(t.fake), 2);
    assert_string_equal(t.rejected, "air,device=b pm25=2 2\n");
    assert_int_equal(t.reject_cls, COL_SINK_REJ_PARSE);
    assert_string_equal(fake_influx_req(t.fake, 1)->body,
                        "air,device=a pm25=1 1\nair,device=c pm25=3 3\n");
    tctx_finish(&t);
}

static void test_sink_413_split(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 1; /* one request at a time keeps the recorded order */
    tctx_sink(&t);
    fake_influx_set_max_body(t.fake, 40); /* at most four 10-byte lines per request */
    char lines[256];
    size_t used = 0;
    for (int i = 10; i < 21; i++) {
        used += (size_t)snprintf(lines + used, sizeof(lines) - used, "m v=%d %d\n", i, i);
    }
    assert_int_equal(used, 110);
    assert_int_equal(col_sink_enqueue(t.sink, lines, used, 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    size_t len;
    char *ok = tctx_bodies(&t, 204, &len);
    assert_int_equal(len, used);
    assert_memory_equal(ok, lines, used); /* everything once, in order */
    free(ok);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_true(st.splits >= 2);
    assert_int_equal(st.points_delivered, 11);
    assert_int_equal(t.reject_calls, 0);
    tctx_finish(&t);
}

static void test_sink_413_single_line_rejected(void **state)
{
    struct tctx t;
    tctx_init(&t);
    tctx_sink(&t);
    fake_influx_set_max_body(t.fake, 5);
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\n", 8, 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 5000));
    assert_int_equal(t.reject_cls, COL_SINK_REJ_TOO_LARGE);
    assert_int_equal(t.reject_status, 413);
    assert_string_equal(t.rejected, "m v=1 1\n");
    tctx_finish(&t);
}

static void test_sink_hang_timeout_retry(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.total_timeout_ms = 300;
    tctx_sink(&t);
    struct fake_influx_resp r = {.hang = true};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    deliver_three(&t);
    assert_int_equal(fake_influx_count(t.fake), 2);
    assert_int_equal(fake_influx_req(t.fake, 0)->status, 0);
    check_retried_once(&t, 0, 300);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.transport_errors, 1);
    tctx_finish(&t);
}

static void test_sink_401_auth_callback(void **state)
{
    struct tctx t;
    tctx_init(&t);
    tctx_sink(&t);
    struct fake_influx_resp r = {.status = 401, .body = "{\"error\":\"authorization failed\"}"};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    deliver_three(&t);
    check_retried_once(&t, 401, 0);
    assert_int_equal(t.auth_calls, 1);
    assert_int_equal(t.auth_status, 401);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.auth_errors, 1);
    tctx_finish(&t);
}

static bool has_transport_error(struct tctx *t)
{
    struct col_sink_stats st;
    col_sink_stats(t->sink, &st);
    return st.transport_errors >= 2;
}

static void test_sink_refused_holds_low_water(void **state)
{
    struct tctx t;
    tctx_init(&t);
    /* A port that was just free: bind port 0 elsewhere, read it, close it. */
    uv_tcp_t probe;
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int alen = sizeof(got);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(&t.loop, &probe);
    assert_int_equal(uv_tcp_bind(&probe, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&probe, (struct sockaddr *)&got, &alen), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d",
             ntohs(((struct sockaddr_in *)&got)->sin_port));
    uv_close((uv_handle_t *)&probe, NULL);
    t.cfg.url = url;
    tctx_sink(&t);
    assert_int_equal(col_sink_enqueue(t.sink, three, strlen(three), 42), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, has_transport_error, 5000));
    assert_int_equal(col_sink_low_water(t.sink), 42);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.batches_backlog + st.inflight, 1);
    assert_int_equal(st.bytes_pending, strlen(three));
    tctx_finish(&t); /* closing with a held batch frees it */
}

static bool backlog_drained_some(struct tctx *t)
{
    struct col_sink_stats st;
    col_sink_stats(t->sink, &st);
    return st.batches_ok >= 1;
}

static void test_sink_fresh_slot_during_drain(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 2;
    t.cfg.batch_max_points = 1;
    t.cfg.retry_base_ms = 1;
    t.cfg.retry_max_ms = 1;
    tctx_sink(&t);
    /* The outage: the first request fails; the rest answer slowly. */
    struct fake_influx_resp fail = {.status = 500};
    struct fake_influx_resp slow = {.status = 204, .delay_ms = 150};
    assert_int_equal(fake_influx_script(t.fake, &fail, 1), 0);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(fake_influx_script(t.fake, &slow, 1), 0);
    }
    assert_int_equal(col_sink_enqueue(t.sink, "old v=1 1\n", 10, 1), 0);
    /* While the first batch fails, more batches queue behind it. */
    for (int i = 2; i <= 6; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "old v=%d %d\n", i, i);
        assert_int_equal(col_sink_enqueue(t.sink, line, (size_t)n, (uint64_t)i), 0);
    }
    assert_true(tctx_run_until(&t, backlog_drained_some, 5000));
    assert_int_equal(col_sink_enqueue(t.sink, "new v=1 1\n", 10, 100), 0);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    /* The fresh batch went out before the last old one. */
    size_t n = fake_influx_count(t.fake);
    size_t fresh_at = n, last_old = 0;
    for (size_t i = 0; i < n; i++) {
        const struct fake_influx_req *r = fake_influx_req(t.fake, i);
        if (getenv("SINK_TEST_VERBOSE")) {
            fprintf(stderr, "%zu %d %llu %s", i, r->status, (unsigned long long)r->t_ms, r->body);
        }
        if (strncmp(r->body, "new", 3) == 0) {
            fresh_at = i;
        } else if (r->status == 204) {
            last_old = i;
        }
    }
    assert_true(fresh_at < n);
    assert_true(fresh_at < last_old);
    assert_true(fake_influx_max_concurrent(t.fake) <= 2);
    tctx_finish(&t);
}

static void test_sink_alternate_with_one_slot(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 1;
    t.cfg.batch_max_points = 1;
    t.cfg.retry_base_ms = 1;
    t.cfg.retry_max_ms = 1;
    tctx_sink(&t);
    struct fake_influx_resp fail = {.status = 500};
    struct fake_influx_resp slow = {.status = 204, .delay_ms = 50};
    assert_int_equal(fake_influx_script(t.fake, &fail, 1), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(fake_influx_script(t.fake, &slow, 1), 0);
    }
    for (int i = 1; i <= 5; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "old v=%d %d\n", i, i);
        assert_int_equal(col_sink_enqueue(t.sink, line, (size_t)n, (uint64_t)i), 0);
    }
    assert_true(tctx_run_until(&t, backlog_drained_some, 5000));
    assert_int_equal(col_sink_enqueue(t.sink, "new v=1 1\n", 10, 100), 0);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    /* 500 on old 1, then old 1, old 2, and the fresh batch takes the next turn. */
    assert_int_equal(fake_influx_count(t.fake), 7);
    assert_int_equal(fake_influx_max_concurrent(t.fake), 1);
    assert_string_equal(fake_influx_req(t.fake, 0)->body, "old v=1 1\n");
    assert_string_equal(fake_influx_req(t.fake, 1)->body, "old v=1 1\n");
    assert_string_equal(fake_influx_req(t.fake, 2)->body, "old v=2 2\n");
    assert_string_equal(fake_influx_req(t.fake, 3)->body, "new v=1 1\n");
    assert_string_equal(fake_influx_req(t.fake, 6)->body, "old v=5 5\n");
    tctx_finish(&t);
}

static void on_reject_close(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                            int status, const char *reason)
{
    struct tctx *t = arg;
    t->reject_calls++;
    col_sink_close(t->sink, NULL, NULL);
    t->sink = NULL;
    t->closed = true;
}

static bool rejected_once(struct tctx *t)
{
    return t->reject_calls > 0;
}

static void test_sink_close_from_callback(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.batch_max_points = 1;
    static const struct col_sink_callbacks cbs = {NULL, on_reject_close, NULL};
    assert_int_equal(col_sink_create(&t.loop, &t.cfg, &cbs, &t, &t.sink), 0);
    struct fake_influx_resp r[] = {{.status = 400}, {.status = 204, .delay_ms = 2000}};
    assert_int_equal(fake_influx_script(t.fake, r, 2), 0);
    assert_int_equal(col_sink_enqueue(t.sink, three, strlen(three), 1), 0);
    assert_true(tctx_run_until(&t, rejected_once, 5000));
    assert_int_equal(t.reject_calls, 1);
    tctx_finish(&t); /* the sink is already closed; the loop must still empty */
}

static void test_sink_retry_after_survives_success(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 2;
    t.cfg.batch_max_points = 1;
    tctx_sink(&t);
    struct fake_influx_resp r[] = {{.status = 503, .headers = "Retry-After: 1\r\n"},
                                   {.status = 204, .delay_ms = 100}};
    assert_int_equal(fake_influx_script(t.fake, r, 2), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "a v=1 1\nb v=2 2\n", 16, 1), 0);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    /* The success that came after the 503 does not cancel its Retry-After. */
    assert_int_equal(fake_influx_count(t.fake), 3);
    const struct fake_influx_req *first = fake_influx_req(t.fake, 0);
    const struct fake_influx_req *retry = fake_influx_req(t.fake, 2);
    assert_int_equal(first->status, 503);
    assert_string_equal(retry->body, first->body);
    assert_true(retry->t_ms - first->t_ms >= 1000);
    tctx_finish(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_503_retry_after),
        cmocka_unit_test(test_sink_429_retry_after),
        cmocka_unit_test(test_sink_retry_after_survives_success),
        cmocka_unit_test(test_sink_500_backoff),
        cmocka_unit_test(test_sink_partial_write_v1),
        cmocka_unit_test(test_sink_partial_write_v2),
        cmocka_unit_test(test_sink_400_isolates_line),
        cmocka_unit_test(test_sink_400_named_rest_resent),
        cmocka_unit_test(test_sink_413_split),
        cmocka_unit_test(test_sink_413_single_line_rejected),
        cmocka_unit_test(test_sink_hang_timeout_retry),
        cmocka_unit_test(test_sink_401_auth_callback),
        cmocka_unit_test(test_sink_refused_holds_low_water),
        cmocka_unit_test(test_sink_fresh_slot_during_drain),
        cmocka_unit_test(test_sink_alternate_with_one_slot),
        cmocka_unit_test(test_sink_close_from_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

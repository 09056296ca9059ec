/* test_sink_state.c - what the sink does when the STORE is at fault, and what it says: a missing
 * database (404), a refused connection, a frozen store (connection accepted, no answer), 401,
 * and a 400 about the store's setup keep every batch and retry it (never on_reject, the low water
 * never passes it); the state callback and the log say so once when it starts and once when it
 * ends, never once per retry. Also Retry-After values that are too long, absurd or negative,
 * the low water over marks that arrive in any order, a rejected line handed over whole, and a
 * change of cause during one outage (one WARN line). */
#include "col_obs.h"
#include "sink_test_util.h"

#include <ct/err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* State callback records and the captured log. */
struct seen {
    int calls;
    bool ok[8];
    char why[8][256];
};

static struct seen g_seen;

static void on_state(void *arg, bool ok, const char *why)
{
    struct seen *s = arg;
    if (s->calls < 8) {
        s->ok[s->calls] = ok;
        snprintf(s->why[s->calls], sizeof(s->why[0]), "%s", why);
    }
    s->calls++;
}

static FILE *g_log;

static void log_capture(void)
{
    g_log = tmpfile();
    assert_non_null(g_log);
    col_log_set_stream(g_log);
}

/* Lines of the captured log containing 'needle'; stops the capture. */
static int log_count(const char *needle)
{
    char line[4096];
    int n = 0;
    fflush(g_log);
    rewind(g_log);
    while (fgets(line, sizeof(line), g_log) != NULL) {
        n += strstr(line, needle) != NULL;
    }
    return n;
}

static void log_end(void)
{
    col_log_set_stream(NULL);
    fclose(g_log);
    g_log = NULL;
}

static void start(struct tctx *t)
{
    memset(&g_seen, 0, sizeof(g_seen));
    tctx_sink(t);
    col_sink_set_state_cb(t->sink, on_state, &g_seen);
}

static bool state_failed(struct tctx *t)
{
    (void)t;
    return g_seen.calls >= 1;
}

static bool recovered_and_settled(struct tctx *t)
{
    return g_seen.calls >= 2 && tcond_settled(t);
}

static size_t count_nl(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += p[i] == '\n';
    }
    return n;
}

/* The reported loss: 402 lines while the database is missing. Every line is kept, retried and
 * delivered once the database exists; nothing is rejected; one ERROR and one INFO line. */
static void test_sink_404_keeps_and_recovers(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.batch_max_points = 50;
    t.cfg.db = "citytel";
    log_capture();
    start(&t);
    struct fake_influx_resp nf = {.status = 404,
                                  .body = "{\"error\":\"database not found: \\\"citytel\\\"\"}"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(fake_influx_script(t.fake, &nf, 1), 0);
    }
    for (unsigned i = 1; i <= 402; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "air,device=d%u pm25=%u %u\n", i, i, i);
        assert_int_equal(col_sink_enqueue(t.sink, line, (size_t)n, i), 0);
    }
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, state_failed, 10000));
    const char *why;
    int64_t since;
    assert_false(col_sink_ok(t.sink, &why, &since));
    assert_string_equal(why, "database \"citytel\" not found (HTTP 404)");
    assert_true(since > 0);
    assert_int_equal(col_sink_low_water(t.sink), 1); /* never passes the held batch */
    assert_true(tctx_run_until(&t, recovered_and_settled, 20000));
    assert_int_equal(t.reject_calls, 0);
    size_t len;
    char *ok = tctx_bodies(&t, 204, &len);
    assert_int_equal(count_nl(ok, len), 402);
    free(ok);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.points_delivered, 402);
    assert_int_equal(st.not_found, 6);
    assert_int_equal(st.rejects[COL_SINK_REJ_BAD_REQUEST] + st.rejects[COL_SINK_REJ_PARSE], 0);
    assert_true(st.store_ok);
    assert_int_equal(st.store_failures, 1);
    assert_int_equal(g_seen.calls, 2);
    assert_false(g_seen.ok[0]);
    assert_string_equal(g_seen.why[0], "database \"citytel\" not found (HTTP 404)");
    assert_true(g_seen.ok[1]);
    assert_non_null(strstr(g_seen.why[1], "store accepts writes again after "));
    assert_non_null(strstr(g_seen.why[1], " s, 6 retries"));
    assert_true(col_sink_ok(t.sink, NULL, NULL));
    assert_int_equal(log_count("ERROR [sink]"), 1);
    assert_int_equal(log_count("INFO  [sink] store accepts writes again"), 1);
    log_end();
    tctx_finish(&t);
}

static bool many_transport_errors(struct tctx *t)
{
    struct col_sink_stats st;
    col_sink_stats(t->sink, &st);
    return st.transport_errors >= 4;
}

static void test_sink_refused_state_once(void **state)
{
    struct tctx t;
    tctx_init(&t);
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
    log_capture();
    start(&t);
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\n", 8, 42), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, many_transport_errors, 10000));
    assert_int_equal(g_seen.calls, 1);
    assert_false(g_seen.ok[0]);
    assert_string_equal(g_seen.why[0], "store unreachable: Connection refused");
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_false(st.store_ok);
    assert_int_equal(st.store_failures, 1);
    assert_int_equal(col_sink_low_water(t.sink), 42);
    assert_int_equal(log_count("ERROR [sink]"), 1); /* not one per retry */
    assert_int_equal(log_count("[sink]"), 1);
    log_end();
    tctx_finish(&t);
}

/* A frozen store (connection accepted, never answers, like a SIGSTOPped influxd): the request
 * times out, which is a failure of the store; the batch is resent when it answers again. */
static void test_sink_freeze_is_failure(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.total_timeout_ms = 400;
    log_capture();
    start(&t);
    struct fake_influx_resp hang = {.hang = true};
    assert_int_equal(fake_influx_script(t.fake, &hang, 1), 0);
    assert_int_equal(fake_influx_script(t.fake, &hang, 1), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\n", 8, 7), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, state_failed, 10000));
    assert_false(g_seen.ok[0]);
    assert_true(strncmp(g_seen.why[0], "no answer for ", 14) == 0); /* 0.4 s unless loaded */
    assert_int_equal(col_sink_low_water(t.sink), 7);
    assert_true(tctx_run_until(&t, recovered_and_settled, 10000));
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.timeouts, 2);
    assert_int_equal(st.points_delivered, 1);
    assert_int_equal(g_seen.calls, 2);
    assert_non_null(strstr(g_seen.why[1], ", 2 retries"));
    assert_int_equal(log_count("ERROR [sink]"), 1);
    assert_int_equal(log_count("INFO  [sink]"), 1);
    log_end();
    tctx_finish(&t);
}

static void test_sink_401_state_and_alert_once(void **state)
{
    struct tctx t;
    tctx_init(&t);
    start(&t);
    struct fake_influx_resp r = {.status = 401, .body = "{\"error\":\"authorization failed\"}"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    }
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\n", 8, 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, recovered_and_settled, 10000));
    assert_int_equal(t.auth_calls, 1); /* the alert once, not per retry */
    assert_string_equal(g_seen.why[0], "HTTP 401: check credentials (authorization failed)");
    assert_int_equal(t.reject_calls, 0);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.auth_errors, 3);
    tctx_finish(&t);
}

/* A 400 about the store's setup is the store's fault: retried, never rejected. */
static void test_sink_400_store_setup_retried(void **state)
{
    struct tctx t;
    tctx_init(&t);
    start(&t);
    struct fake_influx_resp r = {.status = 400,
                                 .body = "{\"error\":\"retention policy not found: autogen\"}"};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\nm v=2 2\n", 16, 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, recovered_and_settled, 10000));
    assert_int_equal(t.reject_calls, 0);
    assert_int_equal(fake_influx_count(t.fake), 2);
    assert_string_equal(fake_influx_req(t.fake, 1)->body, "m v=1 1\nm v=2 2\n");
    assert_non_null(strstr(g_seen.why[0], "retention policy not found"));
    tctx_finish(&t);
}

/* Retry-After: an absurd or negative value is ignored (normal backoff: well under a second
 * here), not obeyed. */
static void retry_after_ignored(const char *header)
{
    struct tctx t;
    tctx_init(&t);
    start(&t);
    struct fake_influx_resp r = {.status = 503, .headers = header};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\n", 8, 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(fake_influx_count(t.fake), 2);
    const struct fake_influx_req *a = fake_influx_req(t.fake, 0);
    const struct fake_influx_req *b = fake_influx_req(t.fake, 1);
    assert_true(b->t_ms - a->t_ms < 3000);
    tctx_finish(&t);
}

static void test_sink_retry_after_absurd_ignored(void **state)
{
    retry_after_ignored("Retry-After: 99999999999999\r\n");
    retry_after_ignored("Retry-After: -5\r\n");
    retry_after_ignored("Retry-After: soon\r\n");
}

/* Marks in any order: the low water is the minimum mark over everything held, in one batch or
 * across batches, until the store accepts it. */
static void test_sink_low_water_min_mark(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.batch_max_points = 2;
    t.cfg.max_inflight = 1;
    start(&t);
    struct fake_influx_resp r = {.status = 503};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    }
    assert_int_equal(col_sink_enqueue(t.sink, "raw v=10 10\n", 12, 10), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "raw v=11 11\n", 12, 11), 0); /* batch [10 11] */
    assert_int_equal(col_sink_enqueue(t.sink, "raw v=12 12\n", 12, 12), 0);
    assert_int_equal(col_sink_low_water(t.sink), 10);
    /* A window over records 5..9 is written now: its point carries mark 5. */
    assert_int_equal(col_sink_enqueue(t.sink, "agg v=5 5\n", 10, 5), 0); /* batch [12 5] */
    assert_int_equal(col_sink_low_water(t.sink), 5);
    assert_int_equal(col_sink_enqueue(t.sink, "raw v=13 13\n", 12, 13), 0);
    assert_true(tctx_run_until(&t, state_failed, 10000));
    assert_int_equal(col_sink_low_water(t.sink), 5);
    assert_true(tctx_run_until(&t, recovered_and_settled, 10000));
    assert_int_equal(col_sink_low_water(t.sink), UINT64_MAX);
    tctx_finish(&t);
}

/* A line named in a partial write reaches on_reject whole, however long (no 8 KiB cut). */
static size_t g_reject_len;
static int g_reject_calls;

static void on_reject_len(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                          int status, const char *reason)
{
    (void)arg;
    (void)cls;
    (void)lines;
    (void)status;
    (void)reason;
    g_reject_len = len;
    g_reject_calls++;
}

static void test_sink_rejected_line_whole(void **state)
{
    struct tctx t;
    tctx_init(&t);
    static const struct col_sink_callbacks cbs = {NULL, on_reject_len, NULL};
    assert_int_equal(col_sink_create(&t.loop, &t.cfg, &cbs, &t, &t.sink), 0);
    size_t n = 20000;
    char *line = malloc(n + 1);
    assert_non_null(line);
    memcpy(line, "m s=\"", 5);
    memset(line + 5, 'x', n - 5);
    line[n] = '\0';
    size_t blen = n + 256;
    char *body = malloc(blen);
    assert_non_null(body);
    snprintf(body, blen, "{\"error\":\"partial write: unable to parse '%s': bad string\"}", line);
    struct fake_influx_resp r = {.status = 400, .body = body};
    assert_int_equal(fake_influx_script(t.fake, &r, 1), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\n", 8, 1), 0);
    line[n] = '\n';
    assert_int_equal(col_sink_enqueue(t.sink, line, n + 1, 2), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(g_reject_calls, 1);
    assert_int_equal(g_reject_len, n + 1);
    free(body);
    free(line);
    tctx_finish(&t);
}

/* A new cause during the same outage is logged once (WARN); the state callback is not called
 * again (no transition); col_sink_ok() gives the current cause. */
static void test_sink_reason_change_logged_once(void **state)
{
    struct tctx t;
    tctx_init(&t);
    log_capture();
    start(&t);
    struct fake_influx_resp r[] = {
        {.status = 503}, {.status = 503}, {.status = 404}, {.status = 404}};
    assert_int_equal(fake_influx_script(t.fake, r, 4), 0);
    assert_int_equal(col_sink_enqueue(t.sink, "m v=1 1\n", 8, 1), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, recovered_and_settled, 10000));
    assert_int_equal(g_seen.calls, 2);
    assert_string_equal(g_seen.why[0], "store error: HTTP 503");
    assert_int_equal(log_count("ERROR [sink] store failing: store error: HTTP 503"), 1);
    assert_int_equal(
        log_count("WARN  [sink] store still failing, now: database \"city\" not found (HTTP 404)"),
        1);
    assert_int_equal(log_count("INFO  [sink]"), 1);
    assert_int_equal(log_count("[sink]"), 3);
    log_end();
    tctx_finish(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_404_keeps_and_recovers),
        cmocka_unit_test(test_sink_refused_state_once),
        cmocka_unit_test(test_sink_freeze_is_failure),
        cmocka_unit_test(test_sink_401_state_and_alert_once),
        cmocka_unit_test(test_sink_reason_change_logged_once),
        cmocka_unit_test(test_sink_400_store_setup_retried),
        cmocka_unit_test(test_sink_retry_after_absurd_ignored),
        cmocka_unit_test(test_sink_low_water_min_mark),
        cmocka_unit_test(test_sink_rejected_line_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

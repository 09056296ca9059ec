/* test_sink_coalesce_queued.c - batches queued behind a busy slot and never sent go out merged:
 * fewer POSTs, every line once and in order, within batch_max_points, with the lowest mark of the
 * merged batches held as the low water; a batch sent once is retried alone and byte-identical. */
#include "sink_test_util.h"

#include <ct/err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

enum { N_BATCHES = 20, LINES_PER = 3, MAX_POINTS = 25 };

static bool two_reqs(struct tctx *t)
{
    return fake_influx_count(t->fake) >= 2;
}

static bool two_ok(struct tctx *t)
{
    struct col_sink_stats st;
    col_sink_stats(t->sink, &st);
    return st.batches_ok >= 2;
}

/* Mark of queued batch i: rising, but batch 4 (merged into the first POST, not at its head)
 * carries the lowest mark of all. */
static uint64_t mark_of(int i)
{
    return i == 4 ? 1 : 10 + (uint64_t)i;
}

static void test_sink_coalesce_queued(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 1;
    t.cfg.batch_max_points = MAX_POINTS;
    t.cfg.flush_ms = 60000; /* batches are cut by col_sink_flush() only */
    tctx_sink(&t);
    /* A slow store: every answer takes 200 ms, so batches queue behind the one slot. */
    struct fake_influx_resp slow = {.status = 204, .delay_ms = 200};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(fake_influx_script(t.fake, &slow, 1), 0);
    }
    char want[8192];
    size_t want_len = 0;
    const char *first = "m,b=first v=0i 1\n";
    assert_int_equal(col_sink_enqueue(t.sink, first, strlen(first), 50), 0);
    col_sink_flush(t.sink); /* in flight now */
    want_len += (size_t)snprintf(want + want_len, sizeof(want) - want_len, "%s", first);
    for (int i = 0; i < N_BATCHES; i++) {
        char chunk[256];
        size_t n = 0;
        for (int k = 0; k < LINES_PER; k++) {
            n += (size_t)snprintf(chunk + n, sizeof(chunk) - n, "m,b=%02d v=%di %d\n", i, k,
                                  100 + i * LINES_PER + k);
        }
        assert_int_equal(col_sink_enqueue(t.sink, chunk, n, mark_of(i)), 0);
        col_sink_flush(t.sink); /* one small batch per chunk, queued: the slot is busy */
        memcpy(want + want_len, chunk, n);
        want_len += n;
    }
    assert_int_equal(fake_influx_count(t.fake), 0);
    assert_int_equal(col_sink_low_water(t.sink), 1);

    /* The first merged POST (batches 0-7, 24 lines) holds batch 4's mark while in flight. */
    assert_true(tctx_run_until(&t, two_reqs, 5000));
    assert_int_equal(col_sink_low_water(t.sink), 1);
    /* Once it is accepted the low water is the lowest mark still held: batch 8's. */
    assert_true(tctx_run_until(&t, two_ok, 5000));
    assert_int_equal(col_sink_low_water(t.sink), mark_of(8));
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(col_sink_low_water(t.sink), UINT64_MAX);

    /* 1 + ceil(60 / 24) POSTs instead of 21, each within batch_max_points. */
    assert_int_equal(fake_influx_count(t.fake), 4);
    size_t got_len = 0;
    char *got = tctx_bodies(&t, 204, &got_len);
    assert_non_null(got);
    /* Every line arrived once, in the order it was enqueued. */
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
    size_t lines[4] = {0};
    for (size_t i = 0; i < 4; i++) {
        const struct fake_influx_req *r = fake_influx_req(t.fake, i);
        for (size_t k = 0; k < r->body_len; k++) {
            lines[i] += r->body[k] == '\n';
        }
        assert_true(lines[i] <= MAX_POINTS);
    }
    assert_int_equal(lines[0], 1);
    assert_int_equal(lines[1], 24);
    assert_int_equal(lines[2], 24);
    assert_int_equal(lines[3], 12);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.batches_ok, 4);
    assert_int_equal(st.points_delivered, 1 + N_BATCHES * LINES_PER);
    assert_int_equal(st.coalesced, N_BATCHES - 3);
    assert_int_equal(st.bytes_pending, 0);
    tctx_finish(&t);
}

static void test_sink_coalesce_skips_sent(void **state)
{
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_inflight = 1;
    t.cfg.flush_ms = 60000;
    tctx_sink(&t);
    struct fake_influx_resp fail = {.status = 500};
    assert_int_equal(fake_influx_script(t.fake, &fail, 1), 0);
    const char *a = "a v=1i 1\na v=2i 2\n";
    const char *b = "b v=1i 3\n";
    const char *c = "c v=1i 4\n";
    assert_int_equal(col_sink_enqueue(t.sink, a, strlen(a), 1), 0);
    col_sink_flush(t.sink); /* sent: answered 500, into the backlog */
    assert_int_equal(col_sink_enqueue(t.sink, b, strlen(b), 2), 0);
    col_sink_flush(t.sink); /* queued behind it, never sent */
    assert_int_equal(col_sink_enqueue(t.sink, c, strlen(c), 3), 0);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    /* The sent batch is retried alone, byte for byte; the two never sent go out as one. */
    assert_int_equal(fake_influx_count(t.fake), 3);
    const struct fake_influx_req *r0 = fake_influx_req(t.fake, 0);
    const struct fake_influx_req *r1 = fake_influx_req(t.fake, 1);
    const struct fake_influx_req *r2 = fake_influx_req(t.fake, 2);
    assert_int_equal(r0->status, 500);
    assert_string_equal(r0->body, a);
    assert_int_equal(r1->raw_len, r0->raw_len);
    assert_string_equal(r1->body, a);
    assert_string_equal(r2->body, "b v=1i 3\nc v=1i 4\n");
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.coalesced, 1);
    assert_int_equal(st.points_delivered, 4);
    tctx_finish(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_coalesce_queued),
        cmocka_unit_test(test_sink_coalesce_skips_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

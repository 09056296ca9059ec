/* test_sink_memory_trim.c - after a backlog of at least an eighth of max_pending_bytes drains,
 * the sink hands the allocator's free pages back once (citytel_store_memory_trims_total); a
 * queue that never grows that far, or that has not drained, does not trim. */
#include "sink_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

enum { MAX_PENDING = 64 * 1024, LINE = 64 };

/* malloc_trim is glibc's: elsewhere the sink counts nothing. */
#ifdef __GLIBC__
#define WANT_TRIMS 1
#else
#define WANT_TRIMS 0
#endif

/* Enqueues 'bytes' of line protocol in lines of LINE bytes (the tag value pads each line), one
 * batch per 16 lines. */
static void fill(struct tctx *t, size_t bytes, int *ts)
{
    for (size_t done = 0; done < bytes; done += LINE) {
        char tail[40];
        int n = snprintf(tail, sizeof(tail), " v=%di %d\n", *ts, *ts);
        char line[LINE + sizeof(tail)];
        int pad = LINE - (int)strlen("m,d=") - n;
        assert_true(pad > 0);
        memcpy(line, "m,d=", 4);
        memset(line + 4, 'p', (size_t)pad);
        memcpy(line + 4 + pad, tail, (size_t)n + 1);
        assert_int_equal(strlen(line), LINE);
        assert_int_equal(col_sink_enqueue(t->sink, line, LINE, (uint64_t)*ts), 0);
        if (++*ts % 16 == 0) {
            col_sink_flush(t->sink);
        }
    }
    col_sink_flush(t->sink);
}

static uint64_t trims(struct tctx *t)
{
    struct col_sink_stats st;
    col_sink_stats(t->sink, &st);
    return st.memory_trims;
}

static void test_sink_memory_trim(void **state)
{
    (void)state;
    struct tctx t;
    tctx_init(&t);
    t.cfg.max_pending_bytes = MAX_PENDING;
    t.cfg.max_inflight = 1;
    t.cfg.flush_ms = 60000; /* batches are cut by fill() */
    tctx_sink(&t);
    int ts = 1;

    /* A small queue (a sixteenth of the limit) drains without a trim. */
    fill(&t, MAX_PENDING / 16, &ts);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(trims(&t), 0);

    /* A store that answers slowly: a backlog of a quarter of the limit builds up. */
    struct fake_influx_resp slow = {.status = 204, .delay_ms = 300};
    assert_int_equal(fake_influx_script(t.fake, &slow, 1), 0);
    fill(&t, MAX_PENDING / 4, &ts);
    struct col_sink_stats st;
    col_sink_stats(t.sink, &st);
    assert_true(st.bytes_pending >= MAX_PENDING / 4 - LINE);
    assert_int_equal(trims(&t), 0); /* held, not drained: nothing to hand back yet */
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(trims(&t), WANT_TRIMS);
    /* Every line was delivered once. */
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.points_delivered, (uint64_t)(ts - 1));
    assert_int_equal(st.bytes_pending, 0);

    /* The peak was reset by the trim: another small queue does not trim again. */
    fill(&t, MAX_PENDING / 16, &ts);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(trims(&t), WANT_TRIMS);
    col_sink_stats(t.sink, &st);
    assert_int_equal(st.points_delivered, (uint64_t)(ts - 1));
    tctx_finish(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_memory_trim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

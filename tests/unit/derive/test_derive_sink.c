/* test_derive_sink.c - derived points and the journal, through the real sink and the fake
 * InfluxDB: a window over records 5..9 is written after its raw points were delivered; while the
 * store fails, the sink's low water stays at 5 (so the journal keeps records 5..9) until the
 * store accepts the window's point. */
#include "derive_test.h"
#include "sink_test_util.h"

struct both {
    struct tctx *t;
    int enqueued;
};

static int to_sink(void *arg, const char *lp, size_t len, uint64_t mark)
{
    struct both *b = arg;
    b->enqueued++;
    return col_sink_enqueue(b->t->sink, lp, len, mark);
}

static bool store_failed(struct tctx *t)
{
    return !col_sink_ok(t->sink, NULL, NULL);
}

static void test_window_holds_journal_until_stored(void **state)
{
    struct tctx t;
    struct both b = {&t, 0};
    struct col_derive_cfg cfg = {.instance = "c1", .window_s = 3600, .grace_ms = 60000};
    struct col_derive_emit emit = {to_sink, NULL, &b};
    struct col_derive *d;
    struct ct_registry *reg;
    struct ct_reading r;
    char err[256];

    (void)state;
    tctx_init(&t);
    tctx_sink(&t);
    assert_int_equal(
        ct_registry_parse(registry_text, sizeof(registry_text) - 1, "test", &reg, err, sizeof(err)),
        0);
    assert_int_equal(col_derive_create(&cfg, &emit, &d), 0);
    const struct ct_device *dev = ct_registry_find(reg, "hn-water-0001", 13);
    assert_non_null(dev);
    /* Records 5..9: raw points go to the sink with their own marks and are delivered. */
    for (uint64_t mark = 5; mark <= 9; mark++) {
        char raw[96];
        int64_t ts = T0 + (int64_t)mark * MIN_MS;
        reading(&r, dev, 1, ts, 1, "ph", 7.0);
        assert_int_equal(col_derive_add(d, dev, &r, mark, ts), 0);
        int n = snprintf(raw, sizeof(raw), "water,device=hn-water-0001 ph=7 %lld\n", (long long)ts);
        assert_int_equal(col_sink_enqueue(t.sink, raw, (size_t)n, mark), 0);
    }
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    assert_int_equal(col_derive_low_water(d), 5); /* the open window */

    /* The store fails; the window closes and its point goes to the sink. */
    struct fake_influx_resp fail = {.status = 503};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fake_influx_script(t.fake, &fail, 1), 0);
    }
    col_derive_tick(d, T0 + HOUR_MS_T + 60001);
    assert_int_equal(b.enqueued, 1);
    assert_int_equal(col_derive_low_water(d), UINT64_MAX);
    assert_int_equal(col_sink_low_water(t.sink), 5);
    col_sink_flush(t.sink);
    assert_true(tctx_run_until(&t, store_failed, 10000));
    assert_int_equal(col_sink_low_water(t.sink), 5); /* records 5..9 stay in the journal */
    assert_true(tctx_run_until(&t, tcond_settled, 10000));
    size_t len;
    char *ok = tctx_bodies(&t, 204, &len);
    assert_non_null(strstr(ok, "water_agg_1h,collector=c1,device=hn-water-0001"));
    free(ok);
    col_derive_free(d);
    ct_registry_free(reg);
    tctx_finish(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_holds_journal_until_stored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

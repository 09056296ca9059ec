/* test_derive_agg.c - window aggregates (exact lines, grace, late parts, low water) and the
 * quality flags (stuck, spike, sentinel, the qc field on a raw point). */
#include "derive_test.h"

#define AGG_TEST_SETTLE_MS 1000 /* AGG_SETTLE_MS of derive_int.h */

static void test_window_exact_line(void **state)
{
    struct col_derive_cfg cfg = {0};
    struct fx f;
    struct ct_reading r;
    char line[1024];
    const struct ct_device *dev;

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-air-0001");
    reading(&r, dev, 1, T0 + 10000, 2, "pm25", 10.0, "pm10", 20.0);
    assert_int_equal(col_derive_add(f.d, dev, &r, 5, T0 + 10000), 0);
    reading(&r, dev, 1, T0 + 40000, 2, "pm25", 30.5, "pm10", 40.0);
    assert_int_equal(col_derive_add(f.d, dev, &r, 6, T0 + 40000), 0);
    col_derive_tick(f.d, T0 + MIN_MS + 120000); /* end + grace: not passed yet */
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 0);
    assert_int_equal(col_derive_low_water(f.d), 5);
    col_derive_tick(f.d, T0 + MIN_MS + 120001);
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 1);
    assert_true(line_of(&f.cap, "air_agg_1m,", 0, line, sizeof(line)));
    assert_string_equal(line, "air_agg_1m,collector=c1,device=hn-air-0001,district=Ba\\ Đình,"
                              "ward=Ngọc\\ Hà pm25_min=10,pm25_max=30.5,pm25_sum=40.5,"
                              "pm25_count=2i,pm10_min=20,pm10_max=40,pm10_sum=60,pm10_count=2i,"
                              "interval_s=60i 1795428000000");
    /* The window's point carries the lowest mark of its readings. */
    assert_int_equal(f.cap.last_mark, 5);
    /* Only the configured window holds the journal; the hour aggregate (still open) does not,
     * so the spool need not keep an hour of traffic. */
    assert_int_equal(col_derive_low_water(f.d), UINT64_MAX);
    col_derive_tick(f.d, T0 + HOUR_MS_T + 120001);
    assert_int_equal(f.cap.last_mark, 5);
    assert_int_equal(count_lines(&f.cap, "air_agg_1h,"), 1);
    assert_true(line_of(&f.cap, "air_agg_1h,", 0, line, sizeof(line)));
    assert_non_null(strstr(line, " pm25_min=10,pm25_max=30.5,pm25_sum=40.5,pm25_count=2i,"));
    assert_int_equal(col_derive_low_water(f.d), UINT64_MAX);
    fx_close(&f);
}

static void test_late_reading_parts(void **state)
{
    struct col_derive_cfg cfg = {0};
    struct col_derive_stats st;
    struct fx f;
    struct ct_reading r;
    char line[1024];
    const struct ct_device *dev;

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-air-0001");
    reading(&r, dev, 1, T0 + 10000, 1, "pm25", 10.0);
    col_derive_add(f.d, dev, &r, 1, T0 + 10000);
    col_derive_tick(f.d, T0 + 181000);
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 1);
    /* Later than end + grace for a window already written: a late part. */
    reading(&r, dev, 1, T0 + 20000, 1, "pm25", 14.0);
    col_derive_add(f.d, dev, &r, 2, T0 + 182000);
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 1);
    col_derive_tick(f.d, T0 + 183000);
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 2);
    assert_true(line_of(&f.cap, "air_agg_1m,", 1, line, sizeof(line)));
    assert_string_equal(line, "air_agg_1m,collector=c1,device=hn-air-0001,district=Ba\\ Đình,"
                              "part=1,ward=Ngọc\\ Hà pm25_min=14,pm25_max=14,pm25_sum=14,"
                              "pm25_count=1i,interval_s=60i 1795428000000");
    reading(&r, dev, 1, T0 + 30000, 1, "pm25", 16.0);
    col_derive_add(f.d, dev, &r, 3, T0 + 184000);
    col_derive_tick(f.d, T0 + 185000);
    assert_true(line_of(&f.cap, "air_agg_1m,", 2, line, sizeof(line)));
    assert_non_null(strstr(line, ",part=2,"));
    assert_non_null(strstr(line, " pm25_min=16,"));
    col_derive_stats(f.d, &st);
    assert_int_equal(st.windows_emitted, 1);
    assert_int_equal(st.late_parts, 2);
    fx_close(&f);
}

/* A backlog: readings of a window long past its close arrive one after another (a store outage
 * drained, a journal replayed). The window is written once when they pause, not as a late part
 * at every tick; while they keep coming, at most once per update_ms. */
static void test_backlog_one_point_per_window(void **state)
{
    struct col_derive_cfg cfg = {.update_ms = 5000};
    struct col_derive_stats st;
    struct fx f;
    struct ct_reading r;
    char line[1024];
    const struct ct_device *dev;
    int64_t now = T0 + HOUR_MS_T / 2; /* the window of T0 closed 28 minutes ago */

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-air-0001");
    for (int i = 0; i < 4; i++) { /* one reading each 400 ms, a tick each second */
        reading(&r, dev, 1, T0 + 1000 * i, 1, "pm25", 10.0 + i);
        assert_int_equal(col_derive_add(f.d, dev, &r, (uint64_t)i + 1, now + 400 * i), 0);
        if (i % 2 == 1) {
            col_derive_tick(f.d, now + 400 * i + 100);
        }
    }
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 0);
    col_derive_tick(f.d, now + 1200 + AGG_TEST_SETTLE_MS); /* a pause of a second */
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 1);
    assert_true(line_of(&f.cap, "air_agg_1m,", 0, line, sizeof(line)));
    assert_non_null(strstr(line, " pm25_min=10,pm25_max=13,pm25_sum=46,pm25_count=4i,interval_s="));
    /* Readings that never pause: one late part per update_ms (5 s), not one per tick. */
    now += 10000;
    for (int i = 0; i < 24; i++) {
        reading(&r, dev, 1, T0 + 10000 + 1000 * i, 1, "pm25", 20.0);
        col_derive_add(f.d, dev, &r, (uint64_t)i + 10, now + 500 * i);
        col_derive_tick(f.d, now + 500 * i + 1);
    }
    /* 12 s of readings: written at 5 s and 10 s after the part opened, the rest still open. */
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 3);
    assert_true(line_of(&f.cap, "air_agg_1m,", 1, line, sizeof(line)));
    assert_non_null(strstr(line, ",part=1,"));
    col_derive_tick(f.d, now + 500 * 23 + AGG_TEST_SETTLE_MS);
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 4);
    col_derive_stats(f.d, &st);
    assert_int_equal(st.windows_emitted, 1);
    assert_int_equal(st.late_parts, 3);
    fx_close(&f);
}

static void test_low_water_released(void **state)
{
    struct col_derive_cfg cfg = {.window_s = 3600, .grace_ms = 60000};
    struct fx f;
    struct ct_reading r;
    const struct ct_device *dev;

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-water-0001");
    assert_int_equal(col_derive_low_water(f.d), UINT64_MAX);
    reading(&r, dev, 1, T0 + 5 * MIN_MS, 1, "ph", 7.0);
    col_derive_add(f.d, dev, &r, 10, T0 + 5 * MIN_MS);
    reading(&r, dev, 1, T0 + 10 * MIN_MS, 1, "ph", 7.2);
    col_derive_add(f.d, dev, &r, 11, T0 + 10 * MIN_MS);
    /* A reading of the next hour opens a second window. */
    reading(&r, dev, 1, T0 + HOUR_MS_T + MIN_MS, 1, "ph", 7.1);
    col_derive_add(f.d, dev, &r, 12, T0 + HOUR_MS_T + MIN_MS);
    assert_int_equal(col_derive_low_water(f.d), 10);
    col_derive_tick(f.d, T0 + HOUR_MS_T + 60000);
    assert_int_equal(col_derive_low_water(f.d), 10);
    assert_int_equal(count_lines(&f.cap, "water_agg_1h,"), 0);
    col_derive_tick(f.d, T0 + HOUR_MS_T + 60001);
    assert_int_equal(count_lines(&f.cap, "water_agg_1h,"), 1);
    assert_int_equal(col_derive_low_water(f.d), 12);
    col_derive_tick(f.d, T0 + 2 * HOUR_MS_T + 60001);
    assert_int_equal(col_derive_low_water(f.d), UINT64_MAX);
    assert_int_equal(count_lines(&f.cap, "water_agg_1h,"), 2);
    fx_close(&f);
}

/* A window over records 5..9 (arriving out of order of mark: 7, 5, 9, 6, 8) holds the journal at
 * 5 while open, and its point is emitted with mark 5, the lowest input, not 9; a reading's own
 * triggered points carry its mark. */
static void test_derived_mark_is_lowest_input(void **state)
{
    struct col_derive_cfg cfg = {.window_s = 3600, .grace_ms = 60000};
    struct fx f;
    struct ct_reading r;
    const struct ct_device *dev;
    const uint64_t marks[] = {7, 5, 9, 6, 8};

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-water-0001");
    for (int i = 0; i < 5; i++) {
        reading(&r, dev, 1, T0 + (i + 1) * MIN_MS, 1, "ph", 7.0 + i * 0.1);
        assert_int_equal(col_derive_add(f.d, dev, &r, marks[i], T0 + (i + 1) * MIN_MS), 0);
    }
    assert_int_equal(col_derive_low_water(f.d), 5);
    assert_int_equal(count_lines(&f.cap, "water_agg_1h,"), 0);
    /* A reading of a later record in the next hour: its own window, mark 10. */
    reading(&r, dev, 1, T0 + HOUR_MS_T + MIN_MS, 1, "ph", 7.1);
    assert_int_equal(col_derive_add(f.d, dev, &r, 10, T0 + HOUR_MS_T + MIN_MS), 0);
    f.cap.calls = 0;
    col_derive_tick(f.d, T0 + HOUR_MS_T + 60001);
    assert_int_equal(count_lines(&f.cap, "water_agg_1h,"), 1);
    assert_true(f.cap.calls >= 1);
    assert_int_equal(f.cap.last_mark, 5); /* not 10, not 9 */
    assert_int_equal(col_derive_low_water(f.d), 10);
    fx_close(&f);
}

/* With a 1-minute window, the one-hour aggregate holds the journal at its lowest mark after the
 * minute windows are written; its point carries that mark. */
static void test_low_water_configured_window(void **state)
{
    struct col_derive_cfg cfg = {0};
    struct fx f;
    struct ct_reading r;
    const struct ct_device *dev;

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-air-0001");
    reading(&r, dev, 1, T0 + 10000, 1, "pm25", 10.0);
    assert_int_equal(col_derive_add(f.d, dev, &r, 3, T0 + 10000), 0);
    reading(&r, dev, 1, T0 + 30 * MIN_MS, 1, "pm25", 12.0);
    assert_int_equal(col_derive_add(f.d, dev, &r, 4, T0 + 30 * MIN_MS), 0);
    col_derive_tick(f.d, T0 + 40 * MIN_MS); /* both minute windows written */
    assert_int_equal(count_lines(&f.cap, "air_agg_1m,"), 2);
    /* The open hour does not hold the journal (only the configured window does). */
    assert_int_equal(col_derive_low_water(f.d), UINT64_MAX);
    col_derive_tick(f.d, T0 + HOUR_MS_T + 120001);
    assert_int_equal(count_lines(&f.cap, "air_agg_1h,"), 1);
    assert_int_equal(f.cap.last_mark, 3);
    assert_int_equal(col_derive_low_water(f.d), UINT64_MAX);
    fx_close(&f);
}

static void test_device_bound(void **state)
{
    struct col_derive_cfg cfg = {.max_devices = 1};
    struct col_derive_stats st;
    struct fx f;
    struct ct_reading r;

    (void)state;
    fx_open(&f, &cfg);
    reading(&r, dev_of(&f, "hn-air-0001"), 1, T0, 1, "pm25", 1.0);
    assert_int_equal(col_derive_add(f.d, dev_of(&f, "hn-air-0001"), &r, 1, T0), 0);
    reading(&r, dev_of(&f, "hn-water-0001"), 1, T0, 1, "ph", 7.0);
    assert_int_equal(col_derive_add(f.d, dev_of(&f, "hn-water-0001"), &r, 2, T0), CT_E_FULL);
    col_derive_stats(f.d, &st);
    assert_int_equal(st.devices_tracked, 1);
    assert_int_equal(st.devices_refused, 1);
    fx_close(&f);
}

static void qc(struct fx *f, const struct ct_device *dev, struct ct_reading *r,
               struct col_derive_qc *q)
{
    assert_int_equal(col_derive_qc(f->d, dev, r, q), 0);
}

static void test_qc_stuck(void **state)
{
    struct col_derive_cfg cfg = {0};
    struct col_derive_qc q;
    struct fx f;
    struct ct_reading r;
    const struct ct_device *dev;

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-air-0001");
    /* pm25 stays at 12.0; pm10 moves. 6 h after the run started pm25 is stuck. */
    for (int i = 0; i <= 12; i++) {
        reading(&r, dev, 1, T0 + i * 30 * MIN_MS, 2, "pm25", 12.0, "pm10", 20.0 + (i % 3));
        qc(&f, dev, &r, &q);
        if (i < 12) {
            assert_int_equal(q.nflags, 0);
            assert_string_equal(q.text, "");
        } else {
            assert_int_equal(q.nflags, 1);
            assert_string_equal(q.text, "pm25:stuck");
        }
    }
    /* A new value ends the run. */
    reading(&r, dev, 1, T0 + 13 * 30 * MIN_MS, 2, "pm25", 12.5, "pm10", 21.0);
    qc(&f, dev, &r, &q);
    assert_int_equal(q.nflags, 0);
    fx_close(&f);
}

static void test_qc_spike_and_sentinel(void **state)
{
    static const double pm10[] = {20, 21, 19, 22, 20, 21};
    struct col_derive_cfg cfg = {0};
    struct col_derive_stats st;
    struct col_derive_qc q;
    struct fx f;
    struct ct_reading r;
    const struct ct_device *dev;
    int64_t ts = T0;

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-air-0001");
    for (size_t i = 0; i < 6; i++) {
        reading(&r, dev, 1, ts += MIN_MS, 2, "pm25", 10.0 + (double)i, "pm10", pm10[i]);
        qc(&f, dev, &r, &q);
        assert_int_equal(q.nflags, 0);
    }
    reading(&r, dev, 1, ts += MIN_MS, 2, "pm25", 12.0, "pm10", 150.0);
    qc(&f, dev, &r, &q);
    assert_string_equal(q.text, "pm10:spike");
    /* A modest move (below the member's minimum jump) is not a spike. */
    reading(&r, dev, 1, ts += MIN_MS, 2, "pm25", 13.0, "pm10", 40.0);
    qc(&f, dev, &r, &q);
    assert_int_equal(q.nflags, 0);
    /* PMS5003 in fog: both PM 0 at 100 % humidity. */
    reading(&r, dev, 1, ts += MIN_MS, 3, "pm25", 0.0, "pm10", 0.0, "rh", 100.0);
    qc(&f, dev, &r, &q);
    assert_string_equal(q.text, "pm25:sentinel,pm10:sentinel");
    /* The same zeros at ordinary humidity are values. */
    reading(&r, dev, 1, ts += MIN_MS, 3, "pm25", 0.0, "pm10", 0.0, "rh", 80.0);
    qc(&f, dev, &r, &q);
    assert_int_equal(q.nflags, 0);
    /* A flood sensor at exactly 0 right after 35 cm lost its echo. */
    dev = dev_of(&f, "hn-flood-0001");
    reading(&r, dev, 1, ts += MIN_MS, 1, "depth", 35.0);
    qc(&f, dev, &r, &q);
    assert_int_equal(q.nflags, 0);
    reading(&r, dev, 1, ts += MIN_MS, 1, "depth", 0.0);
    qc(&f, dev, &r, &q);
    assert_string_equal(q.text, "depth:sentinel");
    col_derive_stats(f.d, &st);
    assert_int_equal(st.qc_spike, 1);
    assert_int_equal(st.qc_sentinel, 3);
    assert_int_equal(st.qc_stuck, 0);
    fx_close(&f);
}

static void test_qc_field_on_raw_point(void **state)
{
    struct col_derive_qc q = {.nflags = 2, .text = "pm25:stuck,pm10:spike"};
    struct col_derive_qc clean = {0};
    struct ct_buf b;

    (void)state;
    ct_buf_init(&b, 4096);
    assert_int_equal(ct_buf_adds(&b, "x\nair,device=a pm25=1,pm10=2 1795428000000\n"), 0);
    assert_int_equal(col_derive_qc_lp(&clean, &b, 2), 0);
    assert_string_equal(b.p, "x\nair,device=a pm25=1,pm10=2 1795428000000\n");
    assert_int_equal(col_derive_qc_lp(&q, &b, 2), 0);
    assert_string_equal(
        b.p, "x\nair,device=a pm25=1,pm10=2,qc=\"pm25:stuck,pm10:spike\" 1795428000000\n");
    assert_int_equal(col_derive_qc_lp(&q, &b, b.len), CT_E_INVAL);
    ct_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_exact_line),
        cmocka_unit_test(test_late_reading_parts),
        cmocka_unit_test(test_backlog_one_point_per_window),
        cmocka_unit_test(test_low_water_released),
        cmocka_unit_test(test_derived_mark_is_lowest_input),
        cmocka_unit_test(test_low_water_configured_window),
        cmocka_unit_test(test_device_bound),
        cmocka_unit_test(test_qc_stuck),
        cmocka_unit_test(test_qc_spike_and_sentinel),
        cmocka_unit_test(test_qc_field_on_raw_point),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

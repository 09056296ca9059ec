/* test_indices_flood.c - flood bands: hysteresis (no flapping at a threshold), minimum duration,
 * one report per change, rate of rise and configuration checks. */
#include "idx_test.h"

#include "col_indices.h"
#include "ct/err.h"

#define T0 ((int64_t)1795428000)

static struct col_flood_event feed(const struct col_flood_cfg *cfg, struct col_flood_state *st,
                                   int64_t ts, double depth)
{
    struct col_flood_event ev;

    assert_int_equal(col_flood_update(cfg, st, ts, depth, &ev), 0);
    return ev;
}

static void test_default_bands(void **state)
{
    const struct col_flood_cfg *cfg = col_flood_default_cfg();

    (void)state;
    assert_int_equal(col_flood_cfg_check(cfg), 0);
    assert_int_equal(cfg->n_bands, 5);
    assert_int_equal(col_flood_band_of(cfg, -3.0), 0);
    assert_int_equal(col_flood_band_of(cfg, 9.99), 0);
    assert_int_equal(col_flood_band_of(cfg, 10.0), 1);
    assert_int_equal(col_flood_band_of(cfg, 20.0), 2);
    assert_int_equal(col_flood_band_of(cfg, 39.9), 2);
    assert_int_equal(col_flood_band_of(cfg, 40.0), 3);
    assert_int_equal(col_flood_band_of(cfg, 60.0), 4);
    assert_int_equal(col_flood_band_of(cfg, 250.0), 4);
    assert_string_equal(cfg->bands[0].vi, "Khô");
    assert_string_equal(cfg->bands[2].en, "Flooded (cars slow)");
    assert_string_equal(cfg->bands[4].vi, "Nguy hiểm");
}

/* A station's table from its registry bands: 0 prepended, the default's labels when the count
 * is five, "Mức i" otherwise, the default's ramp of colours; unusable bands give the default. */
static void test_station_bands(void **state)
{
    static const double four[] = {10, 30, 50};
    static const double five[] = {5, 15, 30, 50};
    static const double bad[] = {30, 10};
    struct col_flood_station s;

    (void)state;
    assert_int_equal(col_flood_station_setup(&s, four, 3), 0);
    assert_int_equal(s.cfg.n_bands, 4);
    assert_true(s.cfg.bands == s.bands);
    assert_int_equal(col_flood_band_of(&s.cfg, 35.0), 2);
    assert_string_equal(s.cfg.bands[3].vi, "Mức 3");
    assert_string_equal(s.cfg.bands[3].en, "Level 3");
    assert_string_equal(s.cfg.bands[3].color, "#FF0000");
    assert_true(col_flood_station_same(&s, four, 3));
    assert_false(col_flood_station_same(&s, five, 4));
    assert_false(col_flood_station_same(&s, NULL, 0));

    assert_int_equal(col_flood_station_setup(&s, five, 4), 0);
    assert_int_equal(s.cfg.n_bands, 5);
    assert_string_equal(s.cfg.bands[1].vi, "Ngập nhẹ");
    assert_true(s.cfg.bands[1].min_cm == 5.0);

    assert_int_equal(col_flood_station_setup(&s, bad, 2), CT_E_INVAL);
    assert_true(s.cfg.bands == col_flood_default_cfg()->bands);
    assert_int_equal(col_flood_station_setup(&s, NULL, 0), 0);
    assert_true(col_flood_station_same(&s, NULL, 0));
    assert_string_equal(s.cfg.bands[4].vi, "Nguy hiểm");
}

static void test_first_sample_and_min_duration(void **state)
{
    const struct col_flood_cfg *cfg = col_flood_default_cfg(); /* 2 cm, 120 s */
    struct col_flood_state st;
    struct col_flood_event ev;

    (void)state;
    col_flood_init(&st);
    ev = feed(cfg, &st, T0, 3.0);
    assert_true(ev.changed);
    assert_int_equal(ev.from, -1);
    assert_int_equal(ev.to, 0);
    assert_false(feed(cfg, &st, T0 + 60, 4.0).changed);
    /* Rises into band 1: confirmed only after 120 s in it. */
    assert_false(feed(cfg, &st, T0 + 120, 12.0).changed);
    assert_false(feed(cfg, &st, T0 + 180, 12.5).changed);
    ev = feed(cfg, &st, T0 + 240, 13.0);
    assert_true(ev.changed);
    assert_int_equal(ev.from, 0);
    assert_int_equal(ev.to, 1);
    /* Reported once. */
    assert_false(feed(cfg, &st, T0 + 300, 13.0).changed);
    assert_false(feed(cfg, &st, T0 + 360, 13.0).changed);
    assert_int_equal(st.band, 1);
}

static void test_no_flapping_at_threshold(void **state)
{
    const struct col_flood_cfg *cfg = col_flood_default_cfg();
    struct col_flood_state st;
    int changes = 0;
    int i;

    (void)state;
    col_flood_init(&st);
    (void)feed(cfg, &st, T0, 5.0);
    /* Noise around the 10 cm threshold, a sample a minute, for two hours. */
    for (i = 1; i <= 120; i++) {
        changes += feed(cfg, &st, T0 + 60 * i, (i % 2) ? 10.4 : 9.6).changed ? 1 : 0;
    }
    assert_int_equal(changes, 0);
    assert_int_equal(st.band, 0);
    /* Once in band 1, dips to 8.5 cm (above 10 - 2) do not leave it. */
    for (i = 121; i <= 125; i++) {
        changes += feed(cfg, &st, T0 + 60 * i, 11.0).changed ? 1 : 0;
    }
    assert_int_equal(changes, 1);
    assert_int_equal(st.band, 1);
    for (i = 126; i <= 246; i++) {
        changes += feed(cfg, &st, T0 + 60 * i, (i % 2) ? 8.5 : 10.5).changed ? 1 : 0;
    }
    assert_int_equal(changes, 1);
    assert_int_equal(st.band, 1);
    /* Below 8 cm for the minimum duration: back to band 0, once. */
    for (i = 247; i <= 252; i++) {
        changes += feed(cfg, &st, T0 + 60 * i, 7.9).changed ? 1 : 0;
    }
    assert_int_equal(changes, 2);
    assert_int_equal(st.band, 0);
}

static void test_fast_rise_and_fall(void **state)
{
    const struct col_flood_cfg *cfg = col_flood_default_cfg();
    struct col_flood_state st;
    struct col_flood_event ev;

    (void)state;
    col_flood_init(&st);
    (void)feed(cfg, &st, T0, 0.0);
    /* The wait keeps running while the water rises through several bands. */
    assert_false(feed(cfg, &st, T0 + 60, 15.0).changed);
    assert_false(feed(cfg, &st, T0 + 120, 30.0).changed);
    ev = feed(cfg, &st, T0 + 180, 45.0);
    assert_true(ev.changed);
    assert_int_equal(ev.from, 0);
    assert_int_equal(ev.to, 3);
    /* A short dip cancels a pending fall. */
    assert_false(feed(cfg, &st, T0 + 240, 20.0).changed);
    assert_false(feed(cfg, &st, T0 + 300, 45.0).changed);
    assert_false(feed(cfg, &st, T0 + 360, 20.0).changed);
    assert_false(feed(cfg, &st, T0 + 420, 20.0).changed);
    ev = feed(cfg, &st, T0 + 480, 20.0);
    assert_true(ev.changed);
    assert_int_equal(ev.from, 3);
    assert_int_equal(ev.to, 2);
}

static void test_zero_duration_config(void **state)
{
    static const struct col_flood_band bands[] = {{0, "a", "a", "#000000"},
                                                  {5, "b", "b", "#111111"}};
    const struct col_flood_cfg cfg = {bands, 2, 1.0, 0, 600};
    struct col_flood_state st;
    struct col_flood_event ev;

    (void)state;
    assert_int_equal(col_flood_cfg_check(&cfg), 0);
    col_flood_init(&st);
    (void)feed(&cfg, &st, T0, 0.0);
    ev = feed(&cfg, &st, T0 + 1, 5.0);
    assert_true(ev.changed);
    assert_int_equal(ev.to, 1);
    assert_false(feed(&cfg, &st, T0 + 2, 4.5).changed); /* within 1 cm */
    assert_true(feed(&cfg, &st, T0 + 3, 3.9).changed);
}

static void test_rate_of_rise(void **state)
{
    const struct col_flood_cfg *cfg = col_flood_default_cfg(); /* 1800 s window */
    struct col_flood_state st;
    struct col_flood_event ev;
    int i;

    (void)state;
    col_flood_init(&st);
    assert_true(isnan(col_flood_rate_cm_h(cfg, &st)));
    (void)feed(cfg, &st, T0, 0.0);
    assert_true(isnan(col_flood_rate_cm_h(cfg, &st)));
    /* 1 cm per minute for an hour: 60 cm/h over any window. */
    for (i = 1; i <= 60; i++) {
        (void)feed(cfg, &st, T0 + 60 * i, (double)i);
    }
    assert_near(col_flood_rate_cm_h(cfg, &st), 60.0, 1e-9);
    /* Only the last 30 minutes count: flat for 30 min after a rise. */
    for (i = 61; i <= 90; i++) {
        (void)feed(cfg, &st, T0 + 60 * i, 60.0);
    }
    assert_near(col_flood_rate_cm_h(cfg, &st), 0.0, 1e-9);
    (void)feed(cfg, &st, T0 + 60 * 91, 30.0);
    assert_near(col_flood_rate_cm_h(cfg, &st), -60.0, 1e-9);
    /* Out of order samples are refused. */
    assert_int_equal(col_flood_update(cfg, &st, T0, 1.0, &ev), CT_E_RANGE);
    assert_int_equal(col_flood_update(cfg, &st, T0 + 60 * 92, NAN, &ev), CT_E_INVAL);
}

static void test_config_check(void **state)
{
    static const struct col_flood_band ok[] = {{0, "a", "a", "#000000"}, {10, "b", "b", "#111111"}};
    static const struct col_flood_band not_zero[] = {{1, "a", "a", "#000000"}};
    static const struct col_flood_band unsorted[] = {
        {0, "a", "a", "#000000"}, {10, "b", "b", "#111111"}, {5, "c", "c", "#222222"}};
    static const struct col_flood_band no_label[] = {{0, "a", "a", "#000000"},
                                                     {10, NULL, "b", "#111111"}};
    struct col_flood_cfg cfg = {ok, 2, 2.0, 60, 600};

    (void)state;
    assert_int_equal(col_flood_cfg_check(&cfg), 0);
    cfg.hysteresis_cm = 10.0; /* not below the narrowest band */
    assert_int_equal(col_flood_cfg_check(&cfg), CT_E_INVAL);
    cfg.hysteresis_cm = -1.0;
    assert_int_equal(col_flood_cfg_check(&cfg), CT_E_INVAL);
    cfg.hysteresis_cm = 2.0;
    cfg.rate_window_s = 0;
    assert_int_equal(col_flood_cfg_check(&cfg), CT_E_INVAL);
    cfg.rate_window_s = 600;
    cfg.min_duration_s = -1;
    assert_int_equal(col_flood_cfg_check(&cfg), CT_E_INVAL);
    cfg.min_duration_s = 0;
    cfg.n_bands = 0;
    assert_int_equal(col_flood_cfg_check(&cfg), CT_E_INVAL);
    cfg.bands = not_zero;
    cfg.n_bands = 1;
    assert_int_equal(col_flood_cfg_check(&cfg), CT_E_INVAL);
    cfg.bands = unsorted;
    cfg.n_bands = 3;
    assert_int_equal(col_flood_cfg_check(&cfg), CT_E_INVAL);
    cfg.bands = no_label;
    cfg.n_bands = 2;
    assert_int_equal(col_flood_cfg_check(&cfg), CT_E_INVAL);
    assert_int_equal(col_flood_cfg_check(NULL), CT_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_bands),
        cmocka_unit_test(test_station_bands),
        cmocka_unit_test(test_first_sample_and_min_duration),
        cmocka_unit_test(test_no_flapping_at_threshold),
        cmocka_unit_test(test_fast_rise_and_fall),
        cmocka_unit_test(test_zero_duration_config),
        cmocka_unit_test(test_rate_of_rise),
        cmocka_unit_test(test_config_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_indices_rain.c - rain accumulations across hour boundaries, exactness, the ring's time
 * keys, rebuild from hourly sums, rainfall terms and the intensity flag. */
#include "idx_test.h"

#include "col_indices.h"
#include "col_indices_rain_gauge.h"
#include "ct/err.h"

/* 2026-11-23 10:00:00 UTC. */
#define T10 ((int64_t)1795428000)
#define MIN ((int64_t)60)
#define HOUR ((int64_t)3600)

static double sum(const struct col_rain_ring *r, int64_t now, int64_t window)
{
    double mm = -1.0;

    assert_int_equal(col_rain_sum(r, now, window, &mm), 0);
    return mm;
}

static void test_sums_across_hour_boundary(void **state)
{
    struct col_rain_ring r;

    (void)state;
    col_rain_init(&r);
    assert_int_equal(col_rain_add(&r, T10 + 55 * MIN, 1.0), 0);       /* 10:50-10:55 */
    assert_int_equal(col_rain_add(&r, T10 + HOUR + 5 * MIN, 2.0), 0); /* 11:00-11:05 */
    assert_near(sum(&r, T10 + HOUR + 10 * MIN, HOUR), 3.0, 0.0);
    assert_near(sum(&r, T10 + HOUR + 55 * MIN, HOUR), 2.0, 0.0); /* 10:55 slot has left */
    assert_near(sum(&r, T10 + HOUR + 50 * MIN, HOUR), 3.0, 0.0); /* (10:50, 11:50] */
    assert_near(sum(&r, T10 + 2 * HOUR + 5 * MIN, HOUR), 0.0, 0.0);
    assert_near(sum(&r, T10 + 3 * HOUR + 50 * MIN, 3 * HOUR), 3.0, 0.0);
    assert_near(sum(&r, T10 + 3 * HOUR + 55 * MIN, 3 * HOUR), 2.0, 0.0);
    assert_near(sum(&r, T10 + 24 * HOUR, 24 * HOUR), 3.0, 0.0);
    assert_near(sum(&r, T10 + 24 * HOUR + 55 * MIN, 24 * HOUR), 2.0, 0.0);
}

static void test_boundary_timestamp_belongs_to_ending_hour(void **state)
{
    struct col_rain_ring r;

    (void)state;
    col_rain_init(&r);
    /* An interval ending exactly at 11:00:00 is rain of the hour 10:00-11:00. */
    assert_int_equal(col_rain_add(&r, T10 + HOUR, 4.2), 0);
    assert_near(sum(&r, T10 + HOUR, HOUR), 4.2, 1e-12);
    assert_near(sum(&r, T10 + HOUR + 1, HOUR), 4.2, 1e-12);
    assert_near(sum(&r, T10 + 2 * HOUR, HOUR), 0.0, 0.0);
    /* 10:00:00 itself belongs to the hour before. */
    assert_int_equal(col_rain_add(&r, T10, 1.0), 0);
    assert_near(sum(&r, T10 + HOUR, HOUR), 4.2, 1e-12);
}

static void test_exact_sums(void **state)
{
    struct col_rain_ring r;
    int i;

    (void)state;
    col_rain_init(&r);
    /* 0.2 mm tips every 10 s for 24 h minus a bit: floating sums would drift. */
    for (i = 0; i < 8000; i++) {
        assert_int_equal(col_rain_add(&r, T10 + 10 * (int64_t)i, 0.2), 0);
    }
    assert_true(sum(&r, T10 + 80000, 24 * HOUR) == 1600.0);
    assert_true(sum(&r, T10 + 79800, HOUR) == 72.0); /* 360 tips in (76200, 79800] */
    assert_true(sum(&r, T10 + 79990, HOUR) == 69.8); /* whole slots: (76500, 80100] */
}

static void test_ring_reuse_and_old_data(void **state)
{
    struct col_rain_ring r;

    (void)state;
    col_rain_init(&r);
    assert_int_equal(col_rain_add(&r, T10 + 5 * MIN, 1.0), 0);
    /* Exactly 24 h later the same ring index is reused for the new slot. */
    assert_int_equal(col_rain_add(&r, T10 + 24 * HOUR + 5 * MIN, 2.0), 0);
    assert_near(sum(&r, T10 + 24 * HOUR + 5 * MIN, 24 * HOUR), 2.0, 0.0);
    assert_near(sum(&r, T10 + 5 * MIN, HOUR), 0.0, 0.0); /* the old slot is gone */
    /* Too old to keep: refused and not counted. */
    assert_int_equal(col_rain_add(&r, T10 + 5 * MIN, 9.0), CT_E_RANGE);
    /* Late but inside 24 h: accepted. */
    assert_int_equal(col_rain_add(&r, T10 + 23 * HOUR, 0.5), 0);
    assert_near(sum(&r, T10 + 24 * HOUR + 5 * MIN, 24 * HOUR), 2.5, 1e-12);
}

static void test_bad_input(void **state)
{
    struct col_rain_ring r;
    double mm;

    (void)state;
    col_rain_init(&r);
    assert_int_equal(col_rain_add(&r, T10, -0.1), CT_E_RANGE);
    assert_int_equal(col_rain_add(&r, T10, NAN), CT_E_INVAL);
    assert_int_equal(col_rain_add(&r, T10, 20000.0), CT_E_RANGE);
    assert_int_equal(col_rain_add(NULL, T10, 1.0), CT_E_INVAL);
    assert_int_equal(col_rain_sum(&r, T10, 0, &mm), CT_E_INVAL);
    assert_int_equal(col_rain_sum(&r, T10, 301, &mm), CT_E_INVAL);
    assert_int_equal(col_rain_sum(&r, T10, 25 * HOUR, &mm), CT_E_INVAL);
    assert_int_equal(col_rain_sum(&r, T10, HOUR, NULL), CT_E_INVAL);
    assert_int_equal(col_rain_sum(&r, -1, HOUR, &mm), CT_E_INVAL);
    assert_int_equal(col_rain_add(&r, INT64_MIN, 1.0), CT_E_RANGE);
    assert_near(sum(&r, T10, HOUR), 0.0, 0.0);
}

static void test_rebuild_from_hourly(void **state)
{
    struct col_rain_ring r;
    const int64_t ends[] = {T10 + HOUR, T10 + 2 * HOUR, T10 + 3 * HOUR, T10 - 30 * HOUR};
    const double mm[] = {1.5, 2.5, 4.0, 100.0};
    const double bad[] = {1.5, -1.0, 4.0, 0.0};

    (void)state;
    col_rain_init(&r);
    assert_int_equal(col_rain_add(&r, T10 + 5 * MIN, 50.0), 0);
    assert_int_equal(col_rain_rebuild(&r, ends, mm, 4), 0);
    assert_near(sum(&r, T10 + 3 * HOUR, HOUR), 4.0, 0.0);
    assert_near(sum(&r, T10 + 3 * HOUR, 3 * HOUR), 8.0, 0.0);  /* the 30 h old hour is out */
    assert_near(sum(&r, T10 + 3 * HOUR, 24 * HOUR), 8.0, 0.0); /* the earlier 50 mm is gone */
    assert_near(sum(&r, T10 + 2 * HOUR, HOUR), 2.5, 0.0);
    /* New intervals continue on the rebuilt ring. */
    assert_int_equal(col_rain_add(&r, T10 + 3 * HOUR + 5 * MIN, 0.5), 0);
    /* A mid-hour window counts each stored hour whole: the hour ending 11:00 is inside. */
    assert_near(sum(&r, T10 + 3 * HOUR + 5 * MIN, 3 * HOUR), 8.5, 1e-12);
    assert_int_equal(col_rain_rebuild(&r, ends, bad, 4), CT_E_RANGE);
    assert_near(sum(&r, T10 + 3 * HOUR, 3 * HOUR), 5.5, 1e-12);
    assert_int_equal(col_rain_rebuild(&r, NULL, mm, 1), CT_E_INVAL);
    assert_int_equal(col_rain_rebuild(&r, NULL, NULL, 0), 0);
}

/* The hourly 24-h sum (rain_24h): due at the first reading past an hour boundary, for the 24
 * hours ending there; a reading at the boundary itself belongs to the hour it ends; a gap over
 * several boundaries gives the latest; never for the first reading or one out of order. */
static void test_gauge_hourly_24h(void **state)
{
    const int64_t h = T10 * 1000;
    struct col_rain_gauge g;
    unsigned flags = 0;
    double mm1, mm24, mm;
    int64_t at = 0;

    (void)state;
    col_rain_gauge_init(&g);
    assert_false(col_rain_gauge_hour(&g, h - 5 * MIN * 1000, &at, &mm));
    assert_int_equal(col_rain_gauge_step(&g, h - 5 * MIN * 1000, 1.0, &mm1, &mm24, &flags), 0);
    assert_false(col_rain_gauge_hour(&g, h, &at, &mm));
    assert_int_equal(col_rain_gauge_step(&g, h, 0.5, &mm1, &mm24, &flags), 0);
    assert_true(col_rain_gauge_hour(&g, h + 1, &at, &mm));
    assert_int_equal(at, h);
    assert_true(fabs(mm - 1.5) < 1e-9);
    assert_int_equal(col_rain_gauge_step(&g, h + 1, 2.0, &mm1, &mm24, &flags), 0);
    assert_false(col_rain_gauge_hour(&g, h + 5 * MIN * 1000, &at, &mm));
    assert_false(col_rain_gauge_hour(&g, h - 1000, &at, &mm));
    /* Three hours later: the latest boundary, with all 3.5 mm. */
    assert_true(col_rain_gauge_hour(&g, h + 3 * HOUR * 1000 + 1000, &at, &mm));
    assert_int_equal(at, h + 3 * HOUR * 1000);
    assert_true(fabs(mm - 3.5) < 1e-9);
}

static void test_terms(void **state)
{
    (void)state;
    assert_int_equal(col_rain_term_12h(0.0), COL_RAIN_TERM_NONE);
    assert_int_equal(col_rain_term_12h(0.29), COL_RAIN_TERM_NEGLIGIBLE);
    assert_int_equal(col_rain_term_12h(0.3), COL_RAIN_TERM_LIGHT);
    assert_int_equal(col_rain_term_12h(2.99), COL_RAIN_TERM_LIGHT);
    assert_int_equal(col_rain_term_12h(3.0), COL_RAIN_TERM_RAIN);
    assert_int_equal(col_rain_term_12h(7.99), COL_RAIN_TERM_RAIN);
    assert_int_equal(col_rain_term_12h(8.0), COL_RAIN_TERM_MODERATE);
    assert_int_equal(col_rain_term_12h(25.0), COL_RAIN_TERM_MODERATE);
    assert_int_equal(col_rain_term_12h(25.1), COL_RAIN_TERM_HEAVY);
    assert_int_equal(col_rain_term_12h(50.0), COL_RAIN_TERM_HEAVY);
    assert_int_equal(col_rain_term_12h(50.1), COL_RAIN_TERM_VERY_HEAVY);
    assert_int_equal(col_rain_term_12h(-1.0), COL_RAIN_TERM_INVALID);
    assert_int_equal(col_rain_term_24h(0.0), COL_RAIN_TERM_NONE);
    assert_int_equal(col_rain_term_24h(0.1), COL_RAIN_TERM_LIGHT);
    assert_int_equal(col_rain_term_24h(5.99), COL_RAIN_TERM_LIGHT);
    assert_int_equal(col_rain_term_24h(6.0), COL_RAIN_TERM_RAIN);
    assert_int_equal(col_rain_term_24h(15.0), COL_RAIN_TERM_RAIN);
    assert_int_equal(col_rain_term_24h(15.1), COL_RAIN_TERM_MODERATE);
    assert_int_equal(col_rain_term_24h(50.0), COL_RAIN_TERM_MODERATE);
    assert_int_equal(col_rain_term_24h(50.1), COL_RAIN_TERM_HEAVY);
    assert_int_equal(col_rain_term_24h(100.0), COL_RAIN_TERM_HEAVY);
    assert_int_equal(col_rain_term_24h(100.1), COL_RAIN_TERM_VERY_HEAVY);
    assert_int_equal(col_rain_term_24h(NAN), COL_RAIN_TERM_INVALID);
    assert_string_equal(col_rain_term_name(COL_RAIN_TERM_MODERATE, true), "mưa vừa");
    assert_string_equal(col_rain_term_name(COL_RAIN_TERM_VERY_HEAVY, true), "mưa rất to");
    assert_string_equal(col_rain_term_name(COL_RAIN_TERM_NEGLIGIBLE, true),
                        "mưa nhỏ, lượng mưa không đáng kể");
    assert_string_equal(col_rain_term_name(COL_RAIN_TERM_HEAVY, false), "heavy rain");
    assert_null(col_rain_term_name(COL_RAIN_TERM_INVALID, true));
}

static void test_intensity(void **state)
{
    struct col_rain_ring r;
    int i;

    (void)state;
    assert_false(col_rain_is_intense(29.9));
    assert_true(col_rain_is_intense(30.0));
    assert_false(col_rain_is_intense(NAN));
    assert_string_equal(col_rain_intense_label(true), "gây ngập úng");
    col_rain_init(&r);
    for (i = 1; i <= 12; i++) {
        assert_int_equal(col_rain_add(&r, T10 + 5 * MIN * i, 2.5), 0);
    }
    assert_true(col_rain_is_intense(sum(&r, T10 + HOUR, HOUR)));
    assert_false(col_rain_is_intense(sum(&r, T10 + HOUR + 5 * MIN, HOUR)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums_across_hour_boundary),
        cmocka_unit_test(test_boundary_timestamp_belongs_to_ending_hour),
        cmocka_unit_test(test_exact_sums),
        cmocka_unit_test(test_ring_reuse_and_old_data),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_rebuild_from_hourly),
        cmocka_unit_test(test_gauge_hourly_24h),
        cmocka_unit_test(test_terms),
        cmocka_unit_test(test_intensity),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

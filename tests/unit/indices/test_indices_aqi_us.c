/* test_indices_aqi_us.c - US EPA AQI (2024): domain.md's examples, both ends of every table row,
 * truncation, undefined combinations, NowCast examples, categories and unit conversion. */
#include "idx_test.h"

#include "col_indices.h"
#include "ct/err.h"

static struct col_aqi_sub us(enum col_aqi_pollutant p, enum col_aqi_avg avg, double c)
{
    struct col_aqi_sub s;

    assert_int_equal(col_aqi_us_sub(p, avg, c, &s), 0);
    return s;
}

static void test_domain_examples(void **state)
{
    (void)state;
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_24H, 35.45).aqi, 100); /* truncated to 35.4 */
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_24H, 12.0).aqi, 56);   /* 2015 table: 50 */
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_24H, 40.0).aqi, 112);
    assert_int_equal(us(COL_AQI_CO, COL_AQI_AVG_8H, 10.0).aqi, 109);
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_24H, 225.5).aqi, 301);
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_24H, 325.4).aqi, 500);
    assert_false(us(COL_AQI_PM25, COL_AQI_AVG_24H, 325.4).beyond);
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_24H, 325.5).aqi, 500);
    assert_true(us(COL_AQI_PM25, COL_AQI_AVG_24H, 325.5).beyond);
}

struct row {
    double lo;
    double hi;
    int ilo;
    int ihi;
};

struct table_case {
    enum col_aqi_pollutant p;
    enum col_aqi_avg avg;
    size_t n;
    struct row rows[6];
};

/* The 2024 breakpoints (domain.md section 2), copied independently of the library. */
static const struct table_case tables[] = {
    {COL_AQI_PM25,
     COL_AQI_AVG_24H,
     6,
     {{0.0, 9.0, 0, 50},
      {9.1, 35.4, 51, 100},
      {35.5, 55.4, 101, 150},
      {55.5, 125.4, 151, 200},
      {125.5, 225.4, 201, 300},
      {225.5, 325.4, 301, 500}}},
    {COL_AQI_PM10,
     COL_AQI_AVG_24H,
     6,
     {{0, 54, 0, 50},
      {55, 154, 51, 100},
      {155, 254, 101, 150},
      {255, 354, 151, 200},
      {355, 424, 201, 300},
      {425, 604, 301, 500}}},
    {COL_AQI_O3,
     COL_AQI_AVG_8H,
     5,
     {{0.000, 0.054, 0, 50},
      {0.055, 0.070, 51, 100},
      {0.071, 0.085, 101, 150},
      {0.086, 0.105, 151, 200},
      {0.106, 0.200, 201, 300}}},
    {COL_AQI_O3,
     COL_AQI_AVG_1H,
     4,
     {{0.125, 0.164, 101, 150},
      {0.165, 0.204, 151, 200},
      {0.205, 0.404, 201, 300},
      {0.405, 0.604, 301, 500}}},
    {COL_AQI_CO,
     COL_AQI_AVG_8H,
     6,
     {{0.0, 4.4, 0, 50},
      {4.5, 9.4, 51, 100},
      {9.5, 12.4, 101, 150},
      {12.5, 15.4, 151, 200},
      {15.5, 30.4, 201, 300},
      {30.5, 50.4, 301, 500}}},
    {COL_AQI_SO2,
     COL_AQI_AVG_1H,
     4,
     {{0, 35, 0, 50}, {36, 75, 51, 100}, {76, 185, 101, 150}, {186, 304, 151, 200}}},
    {COL_AQI_SO2, COL_AQI_AVG_24H, 2, {{305, 604, 201, 300}, {605, 1004, 301, 500}}},
    {COL_AQI_NO2,
     COL_AQI_AVG_1H,
     6,
     {{0, 53, 0, 50},
      {54, 100, 51, 100},
      {101, 360, 101, 150},
      {361, 649, 151, 200},
      {650, 1249, 201, 300},
      {1250, 2049, 301, 500}}},
};

static void test_every_row_boundary(void **state)
{
    size_t t;
    size_t i;

    (void)state;
    for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        const struct table_case *tc = &tables[t];

        for (i = 0; i < tc->n; i++) {
            assert_int_equal(us(tc->p, tc->avg, tc->rows[i].lo).aqi, tc->rows[i].ilo);
            assert_int_equal(us(tc->p, tc->avg, tc->rows[i].hi).aqi, tc->rows[i].ihi);
        }
    }
    /* PM NowCast values use the 24-h table. */
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_NOWCAST, 9.1).aqi, 51);
    assert_int_equal(us(COL_AQI_PM10, COL_AQI_AVG_NOWCAST, 425).aqi, 301);
}

static void test_truncation(void **state)
{
    (void)state;
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_24H, 9.09).aqi, 50); /* 9.0 */
    assert_int_equal(us(COL_AQI_PM10, COL_AQI_AVG_24H, 54.9).aqi, 50); /* 54 */
    assert_int_equal(us(COL_AQI_O3, COL_AQI_AVG_8H, 0.0709).aqi, 100); /* 0.070 */
    assert_int_equal(us(COL_AQI_CO, COL_AQI_AVG_8H, 4.49).aqi, 50);    /* 4.4 */
    assert_int_equal(us(COL_AQI_SO2, COL_AQI_AVG_1H, 35.99).aqi, 50);  /* 35 */
    assert_int_equal(us(COL_AQI_NO2, COL_AQI_AVG_1H, 100.9).aqi, 100); /* 100 */
    assert_int_equal(us(COL_AQI_O3, COL_AQI_AVG_8H, 0.2009).aqi, 300); /* 0.200 */
    assert_near(col_aqi_truncate(0.29, 0.01), 0.29, 1e-12);            /* not 0.28 */
    assert_near(col_aqi_truncate(35.45, 0.1), 35.4, 1e-12);
    assert_near(col_aqi_truncate(57.0, 1.0), 57.0, 0.0);
}

static void test_undefined_and_beyond(void **state)
{
    struct col_aqi_sub s;

    (void)state;
    assert_int_equal(us(COL_AQI_O3, COL_AQI_AVG_8H, 0.201).aqi, COL_AQI_NONE); /* use 1h */
    assert_int_equal(us(COL_AQI_O3, COL_AQI_AVG_1H, 0.124).aqi, COL_AQI_NONE);
    assert_int_equal(us(COL_AQI_O3, COL_AQI_AVG_1H, 0.605).aqi, 500);
    assert_true(us(COL_AQI_O3, COL_AQI_AVG_1H, 0.605).beyond);
    assert_int_equal(us(COL_AQI_SO2, COL_AQI_AVG_1H, 305).aqi, COL_AQI_NONE);
    assert_int_equal(us(COL_AQI_SO2, COL_AQI_AVG_24H, 304).aqi, COL_AQI_NONE);
    assert_int_equal(us(COL_AQI_SO2, COL_AQI_AVG_24H, 1005).aqi, 500);
    assert_int_equal(us(COL_AQI_NO2, COL_AQI_AVG_1H, 2050).aqi, 500);
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_1H, 10).aqi, COL_AQI_NONE);
    assert_int_equal(us(COL_AQI_CO, COL_AQI_AVG_1H, 1).aqi, COL_AQI_NONE);
    assert_int_equal(us(COL_AQI_NO2, COL_AQI_AVG_8H, 1).aqi, COL_AQI_NONE);
    assert_int_equal(us(COL_AQI_O3, COL_AQI_AVG_24H, 0.01).aqi, COL_AQI_NONE);
    assert_int_equal(col_aqi_us_sub(COL_AQI_CO, COL_AQI_AVG_8H, -0.1, &s), CT_E_RANGE);
    assert_int_equal(col_aqi_us_sub(COL_AQI_CO, (enum col_aqi_avg)9, 1, &s), CT_E_INVAL);
}

static void test_nowcast_examples(void **state)
{
    /* EPA training slides, oldest -> newest 50 80 75 90 82 53 64 74 21 10 16 13. */
    static const double epa[12] = {13, 16, 10, 21, 74, 64, 53, 82, 90, 75, 80, 50};
    /* AirNow-Tech forum 172, oldest -> newest 34.9 43 50 64.9 69.2 66.2 53.7 48.6 49.2 35 NA 21. */
    const double forum[12] = {21, NAN, 35, 49.2, 48.6, 53.7, 66.2, 69.2, 64.9, 50, 43, 34.9};
    double nc;

    (void)state;
    nc = col_aqi_nowcast(epa, 12, COL_AQI_NOWCAST_MIN_WEIGHT);
    assert_near(nc, 17.41392, 1e-5);
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_NOWCAST, nc).aqi, 66); /* 17.4 */
    nc = col_aqi_nowcast(forum, 12, COL_AQI_NOWCAST_MIN_WEIGHT);
    assert_near(nc, 28.409801, 1e-6);
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_NOWCAST, nc).aqi, 87); /* 28.4 */
    /* The NowCast is truncated before the equation: 35.49 -> 35.4 -> 100, not 101. */
    assert_int_equal(us(COL_AQI_PM25, COL_AQI_AVG_NOWCAST, 35.49).aqi, 100);
}

static void test_current(void **state)
{
    struct col_aqi_us_in in;
    struct col_aqi_result r;
    int i;

    (void)state;
    for (i = 0; i < 12; i++) {
        in.pm25[i] = 12.0;
        in.pm10[i] = NAN;
    }
    in.o3_8h = 0.060; /* 51 + 49/15*5 = 67.3 -> 67 */
    in.o3_1h = 0.130; /* 101 + 49/39*5 = 107.3 -> 107 */
    in.co_8h = NAN;
    in.so2_1h = 400;  /* undefined at 1 h */
    in.so2_24h = 305; /* -> 201 */
    in.no2_1h = 20;
    assert_int_equal(col_aqi_us_current(&in, &r), 0);
    assert_int_equal(r.sub[COL_AQI_PM25].aqi, 56);
    assert_int_equal(r.sub[COL_AQI_O3].aqi, 107);
    assert_int_equal(r.sub[COL_AQI_SO2].aqi, 201);
    assert_int_equal(r.sub[COL_AQI_CO].aqi, COL_AQI_NONE);
    assert_int_equal(r.aqi, 201);
    assert_int_equal(r.dominant, COL_AQI_SO2);
    in.so2_24h = NAN;
    assert_int_equal(col_aqi_us_current(&in, &r), 0);
    assert_int_equal(r.sub[COL_AQI_SO2].aqi, COL_AQI_NONE);
    assert_int_equal(r.aqi, 107);
    assert_int_equal(r.dominant, COL_AQI_O3);
    assert_int_equal(col_aqi_us_current(NULL, &r), CT_E_INVAL);
}

static void test_us_categories(void **state)
{
    (void)state;
    assert_string_equal(col_aqi_category_name(COL_AQI_US, 50, false), "Good");
    assert_string_equal(col_aqi_category_name(COL_AQI_US, 51, false), "Moderate");
    assert_string_equal(col_aqi_category_name(COL_AQI_US, 101, false),
                        "Unhealthy for Sensitive Groups");
    assert_string_equal(col_aqi_category_name(COL_AQI_US, 151, false), "Unhealthy");
    assert_string_equal(col_aqi_category_name(COL_AQI_US, 201, false), "Very Unhealthy");
    assert_string_equal(col_aqi_category_name(COL_AQI_US, 301, false), "Hazardous");
    assert_string_equal(col_aqi_category_name(COL_AQI_US, 150, true),
                        "Không tốt cho nhóm nhạy cảm");
    assert_string_equal(col_aqi_category_name(COL_AQI_US, 500, true), "Nguy hại");
    assert_string_equal(col_aqi_color(150), "#FF7E00");
    assert_string_equal(col_aqi_color(250), "#8F3F97");
}

static void test_unit_conversion(void **state)
{
    enum col_aqi_pollutant p;

    (void)state;
    assert_near(col_aqi_ugm3_to_ppb(COL_AQI_NO2, 100.0), 100.0 * 24.45 / 46.01, 1e-12);
    assert_near(col_aqi_ugm3_to_ppb(COL_AQI_NO2, 100.0), 53.14, 0.01);
    assert_near(col_aqi_ugm3_to_ppm(COL_AQI_CO, 10000.0), 8.73, 0.01);
    assert_near(col_aqi_ugm3_to_ppm(COL_AQI_O3, 196.3), 0.1000, 0.0001);
    assert_near(col_aqi_ppb_to_ugm3(COL_AQI_SO2, 75.0), 196.5, 0.1);
    for (p = COL_AQI_O3; p < COL_AQI_N_POLLUTANTS; p++) {
        assert_near(col_aqi_ppm_to_ugm3(p, col_aqi_ugm3_to_ppm(p, 123.4)), 123.4, 1e-9);
    }
    assert_true(isnan(col_aqi_ugm3_to_ppb(COL_AQI_PM25, 10.0)));
    assert_true(isnan(col_aqi_ppb_to_ugm3(COL_AQI_N_POLLUTANTS, 10.0)));
}

static void test_pollutant_names(void **state)
{
    enum col_aqi_pollutant p = COL_AQI_PM25;

    (void)state;
    assert_int_equal(col_aqi_pollutant_parse("so2", &p), 0);
    assert_int_equal(p, COL_AQI_SO2);
    assert_int_equal(col_aqi_pollutant_parse("SO2", &p), CT_E_INVAL);
    assert_int_equal(p, COL_AQI_SO2);
    assert_string_equal(col_aqi_pollutant_name(COL_AQI_PM25), "pm25");
    assert_null(col_aqi_pollutant_name(COL_AQI_N_POLLUTANTS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_examples),  cmocka_unit_test(test_every_row_boundary),
        cmocka_unit_test(test_truncation),       cmocka_unit_test(test_undefined_and_beyond),
        cmocka_unit_test(test_nowcast_examples), cmocka_unit_test(test_current),
        cmocka_unit_test(test_us_categories),    cmocka_unit_test(test_unit_conversion),
        cmocka_unit_test(test_pollutant_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

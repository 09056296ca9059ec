/* test_indices_wqi_parking.c - preliminary VN_WQI (sub-index tables, formula, missing groups,
 * categories) and the parking helpers. */
#include "idx_test.h"

#include "col_indices.h"
#include "ct/err.h"

static struct col_wqi_in empty_in(void)
{
    struct col_wqi_in in = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};

    return in;
}

static void test_sub_indices(void **state)
{
    (void)state;
    assert_near(col_wqi_sub_ph(5.4), 10, 0);
    assert_near(col_wqi_sub_ph(5.5), 50, 1e-12);
    assert_near(col_wqi_sub_ph(5.75), 75, 1e-12);
    assert_near(col_wqi_sub_ph(6.0), 100, 1e-12);
    assert_near(col_wqi_sub_ph(7.0), 100, 1e-12);
    assert_near(col_wqi_sub_ph(8.75), 75, 1e-12);
    assert_near(col_wqi_sub_ph(9.0), 50, 1e-12);
    assert_near(col_wqi_sub_ph(9.1), 10, 0);
    assert_near(col_wqi_sub_do_pct(19.9), 10, 0);
    assert_near(col_wqi_sub_do_pct(20), 25, 1e-12);
    assert_near(col_wqi_sub_do_pct(62.5), 62.5, 1e-12);
    assert_near(col_wqi_sub_do_pct(100), 100, 1e-12);
    assert_near(col_wqi_sub_do_pct(137.5), 62.5, 1e-12);
    assert_near(col_wqi_sub_do_pct(200), 25, 1e-12);
    assert_near(col_wqi_sub_do_pct(201), 10, 0);
    assert_near(col_wqi_do_sat(20.0), 9.021808, 1e-6);
    assert_near(col_wqi_sub_do(col_wqi_do_sat(25.0) * 0.5, 25.0), 50, 1e-9);
    assert_near(col_wqi_sub_cod(5), 100, 0);
    assert_near(col_wqi_sub_cod(20), 75 - 25.0 / 3.0, 1e-12);
    assert_near(col_wqi_sub_cod(150), 10, 1e-12);
    assert_near(col_wqi_sub_cod(151), 10, 0);
    assert_near(col_wqi_sub_nh4(0.29), 100, 0);
    assert_near(col_wqi_sub_nh4(0.3), 75, 1e-12);
    assert_near(col_wqi_sub_nh4(0.45), 62.5, 1e-12);
    assert_near(col_wqi_sub_nh4(5.1), 10, 0);
    assert_near(col_wqi_sub_bod5(3), 100, 0);
    assert_near(col_wqi_sub_bod5(10.5), 62.5, 1e-12);
    assert_near(col_wqi_sub_coliform(10000), 25, 1e-12);
    assert_near(col_wqi_sub_coliform(10001), 10, 0);
    assert_true(isnan(col_wqi_sub_cod(-1)));
    assert_true(isnan(col_wqi_sub_ph(NAN)));
    assert_true(isnan(col_wqi_sub_do(8.0, NAN)));
}

static void test_probe_only_is_preliminary(void **state)
{
    struct col_wqi_in in = empty_in();
    struct col_wqi_result r;

    (void)state;
    in.ph = 7.0;
    in.do_mg_l = col_wqi_do_sat(28.0); /* 100 % saturation */
    in.temp_c = 28.0;
    in.cod_mg_l = 5.0;
    in.nh4_mg_l = 0.1;
    assert_int_equal(col_wqi_compute(&in, &r), 0);
    assert_int_equal(r.wqi, 100);
    assert_int_equal(r.groups, 2);
    assert_true(r.preliminary);
    assert_false(r.full_method); /* fewer than 3 groups */
    assert_string_equal(col_wqi_category_name(r.wqi, true), "Rất tốt");
    assert_string_equal(col_wqi_color(r.wqi), "#3333FF");
}

static void test_formula_with_and_without_group_v(void **state)
{
    struct col_wqi_in in = empty_in();
    struct col_wqi_result r;
    double iv = (75 - 25.0 / 3.0 + 62.5) / 2.0;

    (void)state;
    in.ph = 8.75;       /* 75 */
    in.cod_mg_l = 20;   /* 66.67 */
    in.nh4_mg_l = 0.45; /* 62.5 */
    assert_int_equal(col_wqi_compute(&in, &r), 0);
    assert_near(r.exact, 0.75 * iv, 1e-9); /* 48.44 */
    assert_int_equal(r.wqi, 48);
    assert_string_equal(col_wqi_category_name(r.wqi, true), "Xấu");
    in.coliform_mpn = 5000; /* 75 */
    assert_int_equal(col_wqi_compute(&in, &r), 0);
    assert_near(r.exact, 0.75 * cbrt(iv * iv * 75.0), 1e-9); /* 50.91 */
    assert_int_equal(r.wqi, 51);
    assert_string_equal(col_wqi_category_name(r.wqi, false), "Medium");
    assert_int_equal(r.groups, 3);
    assert_true(r.full_method);
    assert_true(r.preliminary);
    /* With every lab part present the index is no longer preliminary. */
    in.bod5_mg_l = 3.0;
    in.wqi_ii = 100.0;
    in.wqi_iii = 50.0;
    assert_int_equal(col_wqi_compute(&in, &r), 0);
    assert_false(r.preliminary);
    assert_int_equal(r.groups, 5);
    iv = (75 - 25.0 / 3.0 + 62.5 + 100.0) / 3.0;
    assert_near(r.exact, 0.75 * 0.5 * cbrt(iv * iv * 75.0), 1e-9);
    in.bod5_mg_l = -1.0; /* unusable BOD5 counts as missing */
    assert_int_equal(col_wqi_compute(&in, &r), 0);
    assert_true(r.preliminary);
    in.bod5_mg_l = 3.0;
    in.wqi_iii = 101.0;
    assert_int_equal(col_wqi_compute(&in, &r), CT_E_RANGE);
}

static void test_no_group_iv(void **state)
{
    struct col_wqi_in in = empty_in();
    struct col_wqi_result r;

    (void)state;
    in.ph = 7.0;
    in.do_mg_l = 7.0; /* no temperature: DO cannot be used */
    assert_int_equal(col_wqi_compute(&in, &r), 0);
    assert_int_equal(r.wqi, COL_WQI_NONE);
    assert_true(isnan(r.exact));
    assert_null(col_wqi_category_name(r.wqi, true));
    assert_int_equal(col_wqi_compute(NULL, &r), CT_E_INVAL);
}

static void test_categories(void **state)
{
    static const struct {
        int wqi;
        const char *vi;
        const char *color;
    } rows[] = {{100, "Rất tốt", "#3333FF"},
                {91, "Rất tốt", "#3333FF"},
                {90, "Tốt", "#00E400"},
                {76, "Tốt", "#00E400"},
                {75, "Trung bình", "#FFFF00"},
                {51, "Trung bình", "#FFFF00"},
                {50, "Xấu", "#FF7E00"},
                {26, "Xấu", "#FF7E00"},
                {25, "Kém", "#FF0000"},
                {10, "Kém", "#FF0000"},
                {9, "Ô nhiễm rất nặng", "#7E0023"},
                {0, "Ô nhiễm rất nặng", "#7E0023"}};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_string_equal(col_wqi_category_name(rows[i].wqi, true), rows[i].vi);
        assert_string_equal(col_wqi_color(rows[i].wqi), rows[i].color);
    }
    assert_string_equal(col_wqi_category_name(5, false), "Very heavily polluted");
    assert_null(col_wqi_color(101));
}

static void test_parking(void **state)
{
    double ratio = -1.0;

    (void)state;
    assert_int_equal(col_parking_free(248, 200), 48);
    assert_int_equal(col_parking_free(248, 300), 0);  /* over-reported: clamp */
    assert_int_equal(col_parking_free(248, -5), 248); /* negative count: clamp */
    assert_int_equal(col_parking_occupied(248, 300), 248);
    assert_int_equal(col_parking_free(0, 3), 0);
    assert_int_equal(col_parking_free(-1, 3), 0);
    assert_true(col_parking_ratio(200, 50, &ratio));
    assert_near(ratio, 0.25, 0);
    assert_true(col_parking_ratio(200, 500, &ratio));
    assert_near(ratio, 1.0, 0);
    ratio = -1.0;
    assert_false(col_parking_ratio(0, 0, &ratio)); /* capacity 0: no ratio */
    assert_near(ratio, -1.0, 0);
    assert_false(col_parking_ratio(10, 1, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sub_indices),
        cmocka_unit_test(test_probe_only_is_preliminary),
        cmocka_unit_test(test_formula_with_and_without_group_v),
        cmocka_unit_test(test_no_group_iv),
        cmocka_unit_test(test_categories),
        cmocka_unit_test(test_parking),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

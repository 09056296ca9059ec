/* test_drv_water.c - pH, dissolved oxygen, turbidity and conductivity drivers. */
#include "drv_test_util.h"

#include <math.h>

#include "fw_drv_do.h"
#include "fw_drv_ec.h"
#include "fw_drv_err.h"
#include "fw_drv_ph.h"
#include "fw_drv_turbidity.h"

static void test_drv_ph_ideal_electrode(void **state)
{
    /* Ideal electrode calibrated at 25 degC: 0 mV at pH 7, +177.48 mV at pH 4 (59.16 mV/pH). */
    struct fw_drv_ph_cal cal = {
        .mv_ph7 = 0.0f, .mv_buf = 177.48f, .ph_buf = 4.0f, .t_cal_c = 25.0f};
    float ph = 0.0f;

    (void)state;
    DRV_ASSERT_NEAR(fw_drv_ph_nernst_mv(25.0f), 59.153, 1e-3);
    DRV_ASSERT_NEAR(fw_drv_ph_nernst_mv(0.0f), 54.193, 1e-3);
    assert_int_equal(fw_drv_ph_cal_check(&cal), 0);
    assert_int_equal(fw_drv_ph_from_mv(&cal, -118.3f, 25.0f, &ph), 0);
    DRV_ASSERT_NEAR(ph, 9.0, 1e-3);
    assert_int_equal(fw_drv_ph_from_mv(&cal, 177.48f, 25.0f, &ph), 0);
    DRV_ASSERT_NEAR(ph, 4.0, 1e-4);
    /* At 50 degC the slope is 0.1984 * 323.15 = 64.11 mV/pH: pH 9 gives -128.23 mV. Without
     * compensation this would read 9.17. */
    assert_int_equal(fw_drv_ph_from_mv(&cal, -128.226f, 50.0f, &ph), 0);
    DRV_ASSERT_NEAR(ph, 9.0, 2e-3);
}

static void test_drv_ph_real_electrode_round_trip(void **state)
{
    /* Offset +12 mV, 54 mV/pH at 20 degC (92.8 % efficiency), calibrated with pH 10. */
    struct fw_drv_ph_cal cal = {
        .mv_ph7 = 12.0f, .mv_buf = -150.0f, .ph_buf = 10.0f, .t_cal_c = 20.0f};
    float ph = 0.0f;
    float mv = 0.0f;

    (void)state;
    assert_int_equal(fw_drv_ph_from_mv(&cal, 12.0f, 40.0f, &ph), 0);
    DRV_ASSERT_NEAR(ph, 7.0, 1e-5);
    assert_int_equal(fw_drv_ph_from_mv(&cal, -150.0f, 20.0f, &ph), 0);
    DRV_ASSERT_NEAR(ph, 10.0, 1e-4);
    for (float t = 0.0f; t <= 50.0f; t += 5.0f) {
        for (float p = 0.0f; p <= 14.0f; p += 0.5f) {
            assert_int_equal(fw_drv_ph_build_mv(&cal, p, t, &mv), 0);
            assert_int_equal(fw_drv_ph_from_mv(&cal, mv, t, &ph), 0);
            DRV_ASSERT_NEAR(ph, p, 1e-4);
        }
    }
}

static void test_drv_ph_errors(void **state)
{
    struct fw_drv_ph_cal cal = {
        .mv_ph7 = 0.0f, .mv_buf = -177.0f, .ph_buf = 4.0f, .t_cal_c = 25.0f};
    float ph = -1.0f;

    (void)state;
    /* Buffers swapped: the slope has the wrong sign. */
    assert_int_equal(fw_drv_ph_cal_check(&cal), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_ph_from_mv(&cal, 0.0f, 25.0f, &ph), FW_DRV_E_RANGE);
    assert_true(ph == -1.0f);
    /* Worn electrode: 40 mV/pH is 68 % efficiency. */
    cal.mv_buf = 120.0f;
    assert_int_equal(fw_drv_ph_cal_check(&cal), FW_DRV_E_RANGE);
    cal.mv_buf = 177.0f;
    cal.ph_buf = 6.0f;
    assert_int_equal(fw_drv_ph_cal_check(&cal), FW_DRV_E_INVAL);
    cal.ph_buf = 4.0f;
    assert_int_equal(fw_drv_ph_cal_check(&cal), 0);
    assert_int_equal(fw_drv_ph_from_mv(&cal, -450.0f, 25.0f, &ph), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_ph_from_mv(&cal, 0.0f, 101.0f, &ph), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_ph_from_mv(&cal, NAN, 25.0f, &ph), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_ph_build_mv(&cal, 14.5f, 25.0f, &ph), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_ph_from_mv(NULL, 0.0f, 25.0f, &ph), FW_DRV_E_INVAL);
}

static void test_drv_do_saturation_and_conversion(void **state)
{
    struct fw_drv_do_cal cal = {.sat_mv = 1200.0f, .t_cal_c = 25.0f, .sat_mv_per_c = 0.0f};
    float v = 0.0f;
    float mv = 0.0f;

    (void)state;
    DRV_ASSERT_NEAR(fw_drv_do_sat_mg_l(0.0f), 14.652, 1e-4);
    DRV_ASSERT_NEAR(fw_drv_do_sat_mg_l(20.0f), 9.021808, 1e-4);
    DRV_ASSERT_NEAR(fw_drv_do_sat_mg_l(25.0f), 8.175656, 1e-4);
    assert_int_equal(fw_drv_do_from_mv(&cal, 600.0f, 25.0f, &v), 0);
    DRV_ASSERT_NEAR(v, 4.087828, 1e-4);
    assert_int_equal(fw_drv_do_from_mv(&cal, -3.0f, 25.0f, &v), 0);
    assert_true(v == 0.0f);
    /* Probe with +20 mV/degC: at 15 degC saturation gives 1000 mV; DO_sat(15) = 10.034188. */
    cal.sat_mv_per_c = 20.0f;
    assert_int_equal(fw_drv_do_from_mv(&cal, 500.0f, 15.0f, &v), 0);
    DRV_ASSERT_NEAR(v, 5.017094, 1e-4);
    for (float t = 0.0f; t <= 50.0f; t += 2.5f) {
        for (float d = 0.0f; d <= 20.0f; d += 1.25f) {
            assert_int_equal(fw_drv_do_build_mv(&cal, d, t, &mv), 0);
            assert_int_equal(fw_drv_do_from_mv(&cal, mv, t, &v), 0);
            DRV_ASSERT_NEAR(v, d, 1e-4);
        }
    }
    assert_int_equal(fw_drv_do_from_mv(&cal, 600.0f, 51.0f, &v), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_do_from_mv(&cal, 5000.0f, 0.0f, &v), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_do_build_mv(&cal, 26.0f, 10.0f, &mv), FW_DRV_E_RANGE);
    cal.sat_mv = 0.0f;
    assert_int_equal(fw_drv_do_from_mv(&cal, 600.0f, 25.0f, &v), FW_DRV_E_INVAL);
    /* A temperature coefficient that drives the saturation output to 0 mV. */
    cal.sat_mv = 400.0f;
    cal.sat_mv_per_c = 20.0f;
    assert_int_equal(fw_drv_do_from_mv(&cal, 100.0f, 5.0f, &v), FW_DRV_E_RANGE);
}

static void test_drv_turb_falling_curve(void **state)
{
    /* SEN0189-like: output falls as turbidity rises. */
    struct fw_drv_turb_cal cal = {
        .pts = {{4200.0f, 0.0f},
                {3800.0f, 500.0f},
                {3000.0f, 1500.0f},
                {2500.0f, 3000.0f},
                {2100.0f, 4000.0f}},
        .n = 5,
    };
    float ntu = -1.0f;
    float mv = 0.0f;

    (void)state;
    assert_int_equal(fw_drv_turb_cal_check(&cal), 0);
    assert_int_equal(fw_drv_turb_from_mv(&cal, 3400.0f, &ntu), 0);
    DRV_ASSERT_NEAR(ntu, 1000.0, 1e-3);
    assert_int_equal(fw_drv_turb_from_mv(&cal, 2300.0f, &ntu), 0);
    DRV_ASSERT_NEAR(ntu, 3500.0, 1e-3);
    assert_int_equal(fw_drv_turb_from_mv(&cal, 3800.0f, &ntu), 0);
    DRV_ASSERT_NEAR(ntu, 500.0, 1e-3);
    assert_int_equal(fw_drv_turb_from_mv(&cal, 4500.0f, &ntu), 0);
    assert_true(ntu == 0.0f);
    assert_int_equal(fw_drv_turb_from_mv(&cal, 1500.0f, &ntu), 0);
    assert_true(ntu == 4000.0f);
    for (float t = 0.0f; t <= 4000.0f; t += 125.0f) {
        assert_int_equal(fw_drv_turb_build_mv(&cal, t, &mv), 0);
        assert_int_equal(fw_drv_turb_from_mv(&cal, mv, &ntu), 0);
        DRV_ASSERT_NEAR(ntu, t, 0.01);
    }
    assert_int_equal(fw_drv_turb_build_mv(&cal, 4001.0f, &mv), FW_DRV_E_RANGE);
}

static void test_drv_turb_rising_curve_and_bad_tables(void **state)
{
    struct fw_drv_turb_cal cal = {
        .pts = {{100.0f, 0.0f}, {2000.0f, 2000.0f}, {3000.0f, 5000.0f}},
        .n = 3,
    };
    float ntu = 0.0f;

    (void)state;
    assert_int_equal(fw_drv_turb_from_mv(&cal, 1050.0f, &ntu), 0);
    DRV_ASSERT_NEAR(ntu, 1000.0, 1e-3);
    /* 2800 mV is 4400 NTU on the table: clamped to the protocol's 4000. */
    assert_int_equal(fw_drv_turb_from_mv(&cal, 2800.0f, &ntu), 0);
    assert_true(ntu == 4000.0f);
    assert_int_equal(fw_drv_turb_from_mv(&cal, INFINITY, &ntu), FW_DRV_E_RANGE);

    cal.pts[2].mv = 1900.0f; /* mV not monotonic */
    assert_int_equal(fw_drv_turb_cal_check(&cal), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_turb_from_mv(&cal, 1050.0f, &ntu), FW_DRV_E_RANGE);
    cal.pts[2].mv = 3000.0f;
    cal.pts[2].ntu = 1000.0f; /* NTU not monotonic */
    assert_int_equal(fw_drv_turb_cal_check(&cal), FW_DRV_E_RANGE);
    cal.pts[2].ntu = 2000.0f; /* flat segment: not invertible */
    assert_int_equal(fw_drv_turb_cal_check(&cal), FW_DRV_E_RANGE);
    cal.pts[2].ntu = 5000.0f;
    assert_int_equal(fw_drv_turb_cal_check(&cal), 0);
    cal.n = 1;
    assert_int_equal(fw_drv_turb_cal_check(&cal), FW_DRV_E_LEN);
    cal.n = FW_DRV_TURB_MAX_POINTS + 1;
    assert_int_equal(fw_drv_turb_cal_check(&cal), FW_DRV_E_LEN);
}

static void test_drv_ec_compensation(void **state)
{
    struct fw_drv_ec_cal cal = {.k = 1.0f, .alpha = FW_DRV_EC_ALPHA_DEFAULT};
    float ec = 0.0f;
    float raw = 0.0f;

    (void)state;
    assert_int_equal(fw_drv_ec_compensate(&cal, 1000.0f, 25.0f, &ec), 0);
    DRV_ASSERT_NEAR(ec, 1000.0, 1e-3);
    /* 1000 / (1 + 0.02 * (15 - 25)) = 1250; 1000 / 1.2 = 833.33. */
    assert_int_equal(fw_drv_ec_compensate(&cal, 1000.0f, 15.0f, &ec), 0);
    DRV_ASSERT_NEAR(ec, 1250.0, 1e-2);
    assert_int_equal(fw_drv_ec_compensate(&cal, 1000.0f, 35.0f, &ec), 0);
    DRV_ASSERT_NEAR(ec, 833.333, 1e-2);
    cal.k = 1.1f;
    assert_int_equal(fw_drv_ec_compensate(&cal, 1000.0f, 25.0f, &ec), 0);
    DRV_ASSERT_NEAR(ec, 1100.0, 1e-2);
    for (float t = 0.0f; t <= 50.0f; t += 5.0f) {
        /* Up to just below the limit: at 200000 exactly, float rounding may land above it. */
        for (float e = 0.0f; e < 200000.0f; e += 12500.0f) {
            assert_int_equal(fw_drv_ec_build_raw(&cal, e, t, &raw), 0);
            assert_int_equal(fw_drv_ec_compensate(&cal, raw, t, &ec), 0);
            DRV_ASSERT_NEAR(ec, e, e * 1e-5 + 1e-3);
        }
    }
    assert_int_equal(fw_drv_ec_compensate(&cal, -1.0f, 25.0f, &ec), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_ec_compensate(&cal, 190000.0f, 25.0f, &ec), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_ec_compensate(&cal, 1000.0f, 55.0f, &ec), FW_DRV_E_RANGE);
    cal.alpha = 0.05f; /* 1 + 0.05 * (0 - 25) < 0 */
    assert_int_equal(fw_drv_ec_compensate(&cal, 1000.0f, 0.0f, &ec), FW_DRV_E_RANGE);
    cal.alpha = 0.2f;
    assert_int_equal(fw_drv_ec_compensate(&cal, 1000.0f, 25.0f, &ec), FW_DRV_E_INVAL);
    cal.alpha = 0.02f;
    cal.k = 0.0f;
    assert_int_equal(fw_drv_ec_compensate(&cal, 1000.0f, 25.0f, &ec), FW_DRV_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drv_ph_ideal_electrode),
        cmocka_unit_test(test_drv_ph_real_electrode_round_trip),
        cmocka_unit_test(test_drv_ph_errors),
        cmocka_unit_test(test_drv_do_saturation_and_conversion),
        cmocka_unit_test(test_drv_turb_falling_curve),
        cmocka_unit_test(test_drv_turb_rising_curve_and_bad_tables),
        cmocka_unit_test(test_drv_ec_compensation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_drv_gas.c - electrochemical NO2/CO/SO2/O3 channel: AE correction, nT table, units. */
#include "drv_test_util.h"

#include <math.h>

#include "fw_drv_err.h"
#include "fw_drv_gas.h"

/* An NO2-B43F-like sensor on a board with -0.73 mV/nA gain. */
static struct fw_drv_gas_cal no2_cal(void)
{
    struct fw_drv_gas_cal c = {
        .species = FW_DRV_GAS_NO2,
        .we_zero_mv = 295.0f,
        .ae_zero_mv = 282.0f,
        .sens_mv_per_ppm = fw_drv_gas_sens_mv_per_ppm(-400.0f, -0.73f),
        .nt = {1.3f, 1.3f, 1.3f, 1.3f, 1.0f, 0.6f, 0.4f, 0.2f, -1.5f},
    };
    return c;
}

static void test_drv_gas_convert_known(void **state)
{
    struct fw_drv_gas_cal cal = no2_cal();
    struct fw_drv_gas_reading r;

    (void)state;
    DRV_ASSERT_NEAR(cal.sens_mv_per_ppm, 292.0, 1e-3);
    DRV_ASSERT_NEAR(fw_drv_gas_nt(&cal, 20.0f), 0.6, 1e-6);
    DRV_ASSERT_NEAR(fw_drv_gas_nt(&cal, 25.0f), 0.5, 1e-6);
    DRV_ASSERT_NEAR(fw_drv_gas_nt(&cal, 45.0f), -0.65, 1e-6);
    DRV_ASSERT_NEAR(fw_drv_gas_nt(&cal, -35.0f), 1.3, 1e-6);
    DRV_ASSERT_NEAR(fw_drv_gas_nt(&cal, 60.0f), -1.5, 1e-6);
    /* WEc = (310.2 - 295) - 0.6 * (285 - 282) = 13.4 mV; 13.4 / 0.292 = 45.890 ppb;
     * 45.890 * 46.01 / 24.45 = 86.357 ug/m3. */
    assert_int_equal(fw_drv_gas_convert(&cal, 310.2f, 285.0f, 20.0f, &r), 0);
    DRV_ASSERT_NEAR(r.ppb, 45.890, 0.01);
    DRV_ASSERT_NEAR(r.ug_m3, 86.357, 0.02);
    assert_false(r.clamped);
    /* Clean air with noise: negative, clamped to 0. */
    assert_int_equal(fw_drv_gas_convert(&cal, 294.0f, 282.0f, 20.0f, &r), 0);
    assert_true(r.clamped);
    assert_true(r.ppb == 0.0f && r.ug_m3 == 0.0f);
    /* Molar masses: 1 ppm CO = 1145.6 ug/m3, 1 ppb NO2 = 1.8818 ug/m3 at 25 degC. */
    DRV_ASSERT_NEAR(fw_drv_gas_ppb_to_ug_m3(FW_DRV_GAS_CO, 1000.0f), 1145.6, 0.1);
    DRV_ASSERT_NEAR(fw_drv_gas_ppb_to_ug_m3(FW_DRV_GAS_NO2, 1.0f), 1.8818, 1e-3);
    /* SO2 64.07 and O3 48.00 g/mol: 1 ppb = 2.6204 and 1.9632 ug/m3 at 25 degC. */
    DRV_ASSERT_NEAR(fw_drv_gas_ppb_to_ug_m3(FW_DRV_GAS_SO2, 1.0f), 2.6204, 1e-3);
    DRV_ASSERT_NEAR(fw_drv_gas_ppb_to_ug_m3(FW_DRV_GAS_O3, 1.0f), 1.9632, 1e-3);
    assert_true(fw_drv_gas_molar_mass((enum fw_drv_gas_species)4) == 0.0f);
    /* The same electrode signal as SO2: ppb unchanged, ug/m3 by the SO2 molar mass. */
    cal.species = FW_DRV_GAS_SO2;
    assert_int_equal(fw_drv_gas_convert(&cal, 310.2f, 285.0f, 20.0f, &r), 0);
    DRV_ASSERT_NEAR(r.ppb, 45.890, 0.01);
    DRV_ASSERT_NEAR(r.ug_m3, 45.890 * 64.07 / 24.45, 0.03);
}

static void test_drv_gas_errors_and_round_trip(void **state)
{
    struct fw_drv_gas_cal cal = no2_cal();
    struct fw_drv_gas_reading r;
    float we = 0.0f;

    (void)state;
    assert_int_equal(fw_drv_gas_convert(&cal, 300.0f, 282.0f, 51.0f, &r), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_gas_convert(&cal, NAN, 282.0f, 20.0f, &r), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_gas_build(&cal, -1.0f, 282.0f, 20.0f, &we), FW_DRV_E_RANGE);
    cal.species = (enum fw_drv_gas_species)7;
    assert_int_equal(fw_drv_gas_convert(&cal, 300.0f, 282.0f, 20.0f, &r), FW_DRV_E_INVAL);
    cal = no2_cal();
    cal.sens_mv_per_ppm = 0.0f;
    assert_int_equal(fw_drv_gas_convert(&cal, 300.0f, 282.0f, 20.0f, &r), FW_DRV_E_INVAL);
    cal = no2_cal();

    /* CO-B4-like: positive sensitivity, nT rising with temperature. */
    struct fw_drv_gas_cal co = {
        .species = FW_DRV_GAS_CO,
        .we_zero_mv = 270.0f,
        .ae_zero_mv = 260.0f,
        .sens_mv_per_ppm = fw_drv_gas_sens_mv_per_ppm(420.0f, 0.8f),
        .nt = {0.7f, 0.7f, 0.7f, 0.7f, 1.0f, 3.0f, 3.5f, 4.0f, 4.5f},
    };
    for (float t = -30.0f; t <= 50.0f; t += 5.0f) {
        for (float ppb = 0.0f; ppb <= 20000.0f; ppb += 2500.0f) {
            assert_int_equal(fw_drv_gas_build(&co, ppb, 265.0f, t, &we), 0);
            assert_int_equal(fw_drv_gas_convert(&co, we, 265.0f, t, &r), 0);
            DRV_ASSERT_NEAR(r.ppb, ppb, 0.5);
            DRV_ASSERT_NEAR(r.ug_m3, ppb * 28.01 / 24.45, 0.6);
        }
        assert_int_equal(fw_drv_gas_build(&cal, 50.0f, 290.0f, t, &we), 0);
        assert_int_equal(fw_drv_gas_convert(&cal, we, 290.0f, t, &r), 0);
        DRV_ASSERT_NEAR(r.ppb, 50.0, 0.01);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drv_gas_convert_known),
        cmocka_unit_test(test_drv_gas_errors_and_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

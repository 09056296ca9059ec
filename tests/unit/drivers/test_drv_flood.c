/* test_drv_flood.c - ultrasonic flood depth: sound speed, median filter, invalid echoes, clamps. */
#include "drv_test_util.h"

#include "fw_drv_depth.h"
#include "fw_drv_err.h"

static struct fw_drv_depth_cfg street_cfg(void)
{
    /* JSN-SR04T on a pole, 300 cm above the road. */
    struct fw_drv_depth_cfg c = {
        .mount_height_cm = 300.0f, .min_range_cm = 25.0f, .max_range_cm = 600.0f, .window = 5};
    return c;
}

static void test_drv_depth_sound_speed(void **state)
{
    (void)state;
    DRV_ASSERT_NEAR(fw_drv_depth_sound_speed(0.0f), 331.3, 1e-4);
    DRV_ASSERT_NEAR(fw_drv_depth_sound_speed(20.0f), 343.42, 1e-4);
    /* 5000 us at 20 degC: 5000e-6 * 343.42 / 2 m = 85.855 cm. */
    DRV_ASSERT_NEAR(fw_drv_depth_echo_to_cm(5000, 20.0f), 85.855, 1e-3);
    /* The same echo at 40 degC is 3.5 % farther. */
    DRV_ASSERT_NEAR(fw_drv_depth_echo_to_cm(5000, 40.0f), 88.885, 1e-3);
}

static void test_drv_depth_median_rejects_outlier(void **state)
{
    struct fw_drv_depth st;
    struct fw_drv_depth_cfg cfg = street_cfg();
    uint32_t echo = 0;
    uint32_t drop = 0;
    float depth = -1.0f;
    float dist = -1.0f;

    (void)state;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), 0);
    assert_int_equal(fw_drv_depth_read(&st, &depth, &dist), FW_DRV_E_AGAIN);
    /* 40 cm of water at 30 degC: 260 cm to the surface. */
    assert_int_equal(fw_drv_depth_build_echo(300.0f, 40.0f, 30.0f, &echo), 0);
    assert_int_equal(echo, 14879);
    /* A raindrop 60 cm below the sensor returns an early echo. */
    assert_int_equal(fw_drv_depth_build_echo(300.0f, 240.0f, 30.0f, &drop), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, echo - 3, 30.0f), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, drop, 30.0f), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, echo + 2, 30.0f), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, echo, 30.0f), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, echo + 1, 30.0f), 0);
    assert_int_equal(fw_drv_depth_read(&st, &depth, &dist), 0);
    DRV_ASSERT_NEAR(dist, 260.0, 0.05);
    DRV_ASSERT_NEAR(depth, 40.0, 0.05);
    /* Two early echoes in the window (the first one has left it) are still out-voted... */
    assert_int_equal(fw_drv_depth_add_echo(&st, drop, 30.0f), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, drop, 30.0f), 0);
    assert_int_equal(fw_drv_depth_read(&st, &depth, NULL), 0);
    DRV_ASSERT_NEAR(depth, 40.0, 0.05);
    /* ...three of five are a majority: the water really rose (or a vehicle stands below). */
    assert_int_equal(fw_drv_depth_add_echo(&st, drop, 30.0f), 0);
    assert_int_equal(fw_drv_depth_read(&st, &depth, NULL), 0);
    DRV_ASSERT_NEAR(depth, 240.0, 0.05);
    assert_int_equal(st.valid, 8);
    assert_int_equal(st.invalid, 0);
}

static void test_drv_depth_invalid_echoes_counted(void **state)
{
    struct fw_drv_depth st;
    struct fw_drv_depth_cfg cfg = street_cfg();
    float depth = -1.0f;
    float dist = -1.0f;

    (void)state;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, 0, 25.0f), FW_DRV_E_RANGE);
    /* 38000 us is the JSN-SR04T's "no echo" pulse: 656 cm, beyond 600 cm. */
    assert_int_equal(fw_drv_depth_add_echo(&st, 38000, 25.0f), FW_DRV_E_RANGE);
    /* 1000 us is 17 cm: inside the blind zone. */
    assert_int_equal(fw_drv_depth_add_echo(&st, 1000, 25.0f), FW_DRV_E_RANGE);
    assert_int_equal(st.invalid, 3);
    assert_int_equal(st.count, 0);
    assert_int_equal(fw_drv_depth_read(&st, &depth, &dist), FW_DRV_E_AGAIN);
    /* A bad temperature is an argument error, not an invalid echo. */
    assert_int_equal(fw_drv_depth_add_echo(&st, 15000, 90.0f), FW_DRV_E_RANGE);
    assert_int_equal(st.invalid, 3);

    /* Two valid echoes: the median of an even count is the mean of the middle two. */
    assert_int_equal(fw_drv_depth_add_echo(&st, 17000, 20.0f), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, 17400, 20.0f), 0);
    assert_int_equal(fw_drv_depth_read(&st, &depth, &dist), 0);
    DRV_ASSERT_NEAR(dist, 17200 * 343.42 / 20000.0, 1e-3);
    assert_int_equal(st.valid, 2);

    /* Without a blind zone, a 0 us echo (timeout) is still invalid, not a 0 cm distance. */
    cfg.min_range_cm = 0.0f;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, 0, 25.0f), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_depth_add_echo(&st, 1, 25.0f), 0);
    assert_int_equal(st.invalid, 1);
    assert_int_equal(st.count, 1);
}

static void test_drv_depth_clamps_and_ring(void **state)
{
    struct fw_drv_depth st;
    struct fw_drv_depth_cfg cfg = street_cfg();
    float depth = -1.0f;
    uint32_t echo = 0;

    (void)state;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), 0);
    /* Farther than the mount height (a pothole, a wet-road reflection): depth 0, not negative. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fw_drv_depth_add_echo(&st, 18800, 20.0f), 0); /* 322.8 cm */
    }
    assert_int_equal(fw_drv_depth_read(&st, &depth, NULL), 0);
    assert_true(depth == 0.0f);
    /* The ring keeps the newest 5: three new readings of 100 cm win. */
    assert_int_equal(fw_drv_depth_build_echo(300.0f, 200.0f, 20.0f, &echo), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fw_drv_depth_add_echo(&st, echo, 20.0f), 0);
    }
    assert_int_equal(fw_drv_depth_read(&st, &depth, NULL), 0);
    DRV_ASSERT_NEAR(depth, 200.0, 0.05);

    /* Mounted 7 m up under a bridge: 550 cm of water is reported as the range's 500. */
    cfg.mount_height_cm = 700.0f;
    cfg.max_range_cm = 800.0f;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), 0);
    assert_int_equal(fw_drv_depth_build_echo(700.0f, 550.0f, 20.0f, &echo), 0);
    assert_int_equal(fw_drv_depth_add_echo(&st, echo, 20.0f), 0);
    assert_int_equal(fw_drv_depth_read(&st, &depth, NULL), 0);
    assert_true(depth == 500.0f);
}

static void test_drv_depth_round_trip_and_errors(void **state)
{
    struct fw_drv_depth st;
    struct fw_drv_depth_cfg cfg = street_cfg();
    float depth = -1.0f;
    uint32_t echo = 0;

    (void)state;
    for (float t = -10.0f; t <= 45.0f; t += 5.0f) {
        for (float d = 0.0f; d <= 270.0f; d += 15.0f) {
            assert_int_equal(fw_drv_depth_init(&st, &cfg), 0);
            assert_int_equal(fw_drv_depth_build_echo(300.0f, d, t, &echo), 0);
            assert_int_equal(fw_drv_depth_add_echo(&st, echo, t), 0);
            assert_int_equal(fw_drv_depth_read(&st, &depth, NULL), 0);
            /* 1 us of rounding is 0.017 cm. */
            DRV_ASSERT_NEAR(depth, d, 0.01);
        }
    }
    assert_int_equal(fw_drv_depth_build_echo(300.0f, 300.0f, 20.0f, &echo), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_depth_build_echo(300.0f, -1.0f, 20.0f, &echo), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_depth_build_echo(300.0f, 10.0f, -50.0f, &echo), FW_DRV_E_RANGE);
    cfg.window = 4;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), FW_DRV_E_INVAL);
    cfg.window = 11;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), FW_DRV_E_INVAL);
    cfg.window = 0;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), FW_DRV_E_INVAL);
    cfg = street_cfg();
    cfg.max_range_cm = 20.0f;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), FW_DRV_E_INVAL);
    cfg = street_cfg();
    cfg.mount_height_cm = 0.0f;
    assert_int_equal(fw_drv_depth_init(&st, &cfg), FW_DRV_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drv_depth_sound_speed),
        cmocka_unit_test(test_drv_depth_median_rejects_outlier),
        cmocka_unit_test(test_drv_depth_invalid_echoes_counted),
        cmocka_unit_test(test_drv_depth_clamps_and_ring),
        cmocka_unit_test(test_drv_depth_round_trip_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

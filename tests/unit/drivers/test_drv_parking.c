/* test_drv_parking.c - lot counter (clamps, anomalies) and magnetometer bay sensor (learning,
 * hysteresis, debounce, drift tracking). */
#include "drv_test_util.h"

#include <math.h>

#include "fw_drv_bay.h"
#include "fw_drv_err.h"
#include "fw_drv_lot.h"

static void test_drv_lot_clamps_count_anomalies(void **state)
{
    struct fw_drv_lot lot;

    (void)state;
    assert_int_equal(fw_drv_lot_init(&lot, 0, 0), FW_DRV_E_INVAL);
    assert_int_equal(fw_drv_lot_init(&lot, 10001, 0), FW_DRV_E_INVAL);
    assert_int_equal(fw_drv_lot_init(&lot, 3, 4), FW_DRV_E_INVAL);
    assert_int_equal(fw_drv_lot_init(&lot, 3, 1), 0);
    assert_int_equal(fw_drv_lot_event(&lot, FW_DRV_LOT_ENTRY), 0);
    assert_int_equal(fw_drv_lot_event(&lot, FW_DRV_LOT_ENTRY), 0);
    assert_int_equal(lot.occupied, 3);
    assert_int_equal(fw_drv_lot_event(&lot, FW_DRV_LOT_ENTRY), FW_DRV_E_RANGE);
    assert_int_equal(lot.occupied, 3);
    assert_int_equal(lot.anomalies, 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fw_drv_lot_event(&lot, FW_DRV_LOT_EXIT), 0);
    }
    assert_int_equal(fw_drv_lot_event(&lot, FW_DRV_LOT_EXIT), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_lot_event(&lot, FW_DRV_LOT_EXIT), FW_DRV_E_RANGE);
    assert_int_equal(lot.occupied, 0);
    assert_int_equal(lot.anomalies, 3);
    assert_int_equal(lot.entries, 3);
    assert_int_equal(lot.exits, 5);
    assert_int_equal(fw_drv_lot_event(&lot, (enum fw_drv_lot_ev)9), FW_DRV_E_INVAL);
    assert_int_equal(lot.anomalies, 3);
    assert_int_equal(fw_drv_lot_set(&lot, 4), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_lot_set(&lot, 2), 0);
    assert_int_equal(lot.occupied, 2);
}

/* Builds the events from 'from' to 'to' with churn and replays them on a lot of 'cap' spaces. */
static void lot_round_trip(uint16_t cap, uint16_t from, uint16_t to, uint16_t churn)
{
    enum fw_drv_lot_ev ev[256];
    struct fw_drv_lot lot;
    size_t n = 0;

    assert_int_equal(fw_drv_lot_build(from, to, churn, ev, 256, &n), 0);
    assert_int_equal(n, 2u * churn + (size_t)(from > to ? from - to : to - from));
    assert_int_equal(fw_drv_lot_init(&lot, cap, from), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fw_drv_lot_event(&lot, ev[i]), 0);
    }
    assert_int_equal(lot.occupied, to);
    assert_int_equal(lot.anomalies, 0);
}

static void test_drv_lot_build_round_trip(void **state)
{
    enum fw_drv_lot_ev ev[4];
    size_t n = 99;

    (void)state;
    lot_round_trip(120, 37, 80, 20);
    lot_round_trip(120, 80, 3, 10);
    lot_round_trip(40, 40, 40, 25); /* full lot: churn must exit first */
    lot_round_trip(40, 0, 0, 25);   /* empty lot: churn must enter first */
    lot_round_trip(40, 0, 40, 0);
    assert_int_equal(fw_drv_lot_build(0, 3, 1, ev, 4, &n), FW_DRV_E_LEN);
    assert_int_equal(n, 99);
}

/* Empty-bay earth field as read by the magnetometer, LSB. */
static const int16_t earth[3] = {-1200, 2300, -3900};

static struct fw_drv_bay_cfg bay_cfg(void)
{
    struct fw_drv_bay_cfg c = {.upper = 100.0f,
                               .lower = 40.0f,
                               .debounce_ms = 2000,
                               .learn_samples = 8,
                               .drift_alpha = 0.05f};
    return c;
}

/* Feeds one sample whose magnitude deviates by 'dev' from the earth field. */
static int feed(struct fw_drv_bay *bay, uint32_t t, float dev, bool *changed)
{
    int16_t v[3];

    assert_int_equal(fw_drv_bay_build(earth, dev, v), 0);
    return fw_drv_bay_update(bay, t, v[0], v[1], v[2], changed);
}

/* A bay that has learned the earth field with a little noise; returns the next sample time. */
static uint32_t learned_bay(struct fw_drv_bay *bay)
{
    struct fw_drv_bay_cfg cfg = bay_cfg();
    uint32_t t = 0;

    assert_int_equal(fw_drv_bay_init(bay, &cfg), 0);
    for (int i = 0; i < 8; i++, t += 250) {
        assert_int_equal(feed(bay, t, (i % 2) ? 3.0f : -3.0f, NULL), FW_DRV_E_AGAIN);
    }
    DRV_ASSERT_NEAR(bay->baseline, fw_drv_bay_magnitude(earth[0], earth[1], earth[2]), 1.0);
    return t;
}

static void test_drv_bay_arrival_and_departure_debounced(void **state)
{
    struct fw_drv_bay bay;
    uint32_t t = learned_bay(&bay);
    uint32_t t0;
    bool changed = true;

    (void)state;
    assert_int_equal(feed(&bay, t, 0.0f, &changed), 0);
    assert_false(changed);
    /* A car passing over the bay for 1.5 s does not occupy it. */
    for (uint32_t end = t + 1500; t < end; t += 250) {
        assert_int_equal(feed(&bay, t, 300.0f, &changed), 0);
        assert_false(changed);
    }
    assert_int_equal(feed(&bay, t, 0.0f, &changed), 0);
    t += 250;
    /* A car parks: occupied once the deviation held for 2 s, not one sample earlier. */
    t0 = t;
    for (; t < t0 + 2000; t += 250) {
        assert_int_equal(feed(&bay, t, 300.0f, &changed), 0);
        assert_false(changed);
        assert_false(fw_drv_bay_occupied(&bay));
    }
    assert_int_equal(feed(&bay, t, 300.0f, &changed), 0);
    assert_true(changed);
    assert_true(fw_drv_bay_occupied(&bay));
    t += 250;
    /* It leaves: free after 2 s below the lower threshold. */
    t0 = t;
    for (; t < t0 + 2000; t += 250) {
        assert_int_equal(feed(&bay, t, 10.0f, &changed), 0);
        assert_false(changed);
    }
    assert_int_equal(feed(&bay, t, 10.0f, &changed), 0);
    assert_true(changed);
    assert_false(fw_drv_bay_occupied(&bay));
    assert_int_equal(bay.changes, 2);
}

static void test_drv_bay_hysteresis_without_flapping(void **state)
{
    struct fw_drv_bay bay;
    uint32_t t = learned_bay(&bay);
    bool changed = false;

    (void)state;
    /* Free bay, a neighbour's car keeps the deviation flickering around the upper threshold
     * for a minute: never occupied. */
    for (int i = 0; i < 240; i++, t += 250) {
        assert_int_equal(feed(&bay, t, (i % 3 == 2) ? 95.0f : 105.0f, &changed), 0);
        assert_false(changed);
    }
    /* Between the thresholds nothing changes either way. */
    for (int i = 0; i < 40; i++, t += 250) {
        assert_int_equal(feed(&bay, t, 70.0f, &changed), 0);
        assert_false(fw_drv_bay_occupied(&bay));
    }
    for (int i = 0; i < 9; i++, t += 250) {
        assert_int_equal(feed(&bay, t, 400.0f, &changed), 0);
    }
    assert_true(fw_drv_bay_occupied(&bay));
    /* Occupied, the deviation sinks into the band and flickers around the lower threshold (the
     * driver opens a door, a bus passes): stays occupied. */
    for (int i = 0; i < 240; i++, t += 250) {
        assert_int_equal(feed(&bay, t, (i % 3 == 2) ? 45.0f : 35.0f, &changed), 0);
        assert_false(changed);
        assert_true(fw_drv_bay_occupied(&bay));
    }
    assert_int_equal(bay.changes, 1);
}

static void test_drv_bay_tracks_drift_only_while_free(void **state)
{
    struct fw_drv_bay bay;
    uint32_t t = learned_bay(&bay);
    float base0 = bay.baseline;
    bool changed = false;
    float dev = 0.0f;

    (void)state;
    /* The field drifts up by 200 LSB (twice the upper threshold) over 400 samples: tracked, never
     * taken for a vehicle. */
    for (int i = 0; i < 400; i++, t += 250) {
        dev += 0.5f;
        assert_int_equal(feed(&bay, t, dev, &changed), 0);
        assert_false(fw_drv_bay_occupied(&bay));
    }
    DRV_ASSERT_NEAR(bay.baseline, base0 + 200.0f, 12.0);
    /* Occupied, the baseline is frozen. */
    for (int i = 0; i < 20; i++, t += 250) {
        assert_int_equal(feed(&bay, t, dev + 300.0f, &changed), 0);
    }
    assert_true(fw_drv_bay_occupied(&bay));
    {
        float frozen = bay.baseline;

        for (int i = 0; i < 100; i++, t += 250) {
            assert_int_equal(feed(&bay, t, dev + 300.0f + (float)(i % 5), &changed), 0);
        }
        assert_true(bay.baseline == frozen);
    }
}

static void test_drv_bay_build_and_errors(void **state)
{
    struct fw_drv_bay bay;
    struct fw_drv_bay_cfg cfg = bay_cfg();
    int16_t v[3];
    const int16_t zero[3] = {0, 0, 0};
    const int16_t big[3] = {30000, 100, 100};
    float mag = fw_drv_bay_magnitude(earth[0], earth[1], earth[2]);

    (void)state;
    DRV_ASSERT_NEAR(fw_drv_bay_magnitude(-32768, -32768, -32768), 56755.8, 0.1);
    assert_int_equal(fw_drv_bay_build(earth, 300.0f, v), 0);
    DRV_ASSERT_NEAR(fw_drv_bay_magnitude(v[0], v[1], v[2]), mag + 300.0f, 1.0);
    assert_int_equal(fw_drv_bay_build(earth, -250.0f, v), 0);
    DRV_ASSERT_NEAR(fw_drv_bay_magnitude(v[0], v[1], v[2]), mag - 250.0f, 1.0);
    assert_int_equal(fw_drv_bay_build(zero, 10.0f, v), FW_DRV_E_INVAL);
    assert_int_equal(fw_drv_bay_build(big, 5000.0f, v), FW_DRV_E_RANGE);
    assert_int_equal(fw_drv_bay_build(earth, -1e5f, v), FW_DRV_E_RANGE);

    /* A stored baseline skips learning; a car removing field (negative deviation) counts too. */
    assert_int_equal(fw_drv_bay_init(&bay, &cfg), 0);
    assert_int_equal(fw_drv_bay_set_baseline(&bay, mag), 0);
    for (uint32_t t = 0; t <= 2000; t += 250) {
        assert_int_equal(feed(&bay, t, -150.0f, NULL), 0);
    }
    assert_true(fw_drv_bay_occupied(&bay));
    assert_int_equal(fw_drv_bay_set_baseline(&bay, NAN), FW_DRV_E_INVAL);

    cfg.lower = 100.0f;
    assert_int_equal(fw_drv_bay_init(&bay, &cfg), FW_DRV_E_INVAL);
    cfg = bay_cfg();
    cfg.learn_samples = 0;
    assert_int_equal(fw_drv_bay_init(&bay, &cfg), FW_DRV_E_INVAL);
    cfg = bay_cfg();
    cfg.drift_alpha = 1.5f;
    assert_int_equal(fw_drv_bay_init(&bay, &cfg), FW_DRV_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drv_lot_clamps_count_anomalies),
        cmocka_unit_test(test_drv_lot_build_round_trip),
        cmocka_unit_test(test_drv_bay_arrival_and_departure_debounced),
        cmocka_unit_test(test_drv_bay_hysteresis_without_flapping),
        cmocka_unit_test(test_drv_bay_tracks_drift_only_while_free),
        cmocka_unit_test(test_drv_bay_build_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

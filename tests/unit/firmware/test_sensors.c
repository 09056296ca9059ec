/* test_sensors.c - the node's samplers over the simulated sensor buses (fw_sensors.h over
 * hal_posix_bus.c): every kind reads back the physical values within the drivers' round-trip
 * accuracy, a recorded PMS5003 capture with damaged frames, tipping-bucket edges with contact
 * bounce (exact tips, mm in the app's payloads), the flood median against false echoes, and the
 * calibration blob in NVS (first-boot defaults, a stored record changes the conversion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/payload.h"
#include "fw_app.h"
#include "fw_app_model.h"
#include "fw_drv_err.h"
#include "fw_sensors.h"

#define NCH 12

/* A node's physical values, set by the test (the HAL sensor source answers from 'node'). */
struct phys {
    const char *name[NCH];
    double v[NCH];
    size_t n;
    int reads;
};

static int phys_read(void *arg, void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                     double *out)
{
    (void)arg;
    (void)kind;
    (void)now_ms;
    struct phys *p = node;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->name[i], channel) == 0) {
            p->reads++;
            *out = p->v[i];
            return 0;
        }
    }
    return CT_E_NOTFOUND;
}

static void phys_set(struct phys *p, const char *name, double v)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->name[i], name) == 0) {
            p->v[i] = v;
            return;
        }
    }
    assert_true(p->n < NCH);
    p->name[p->n] = name;
    p->v[p->n++] = v;
}

struct fx {
    char dir[128];
    struct fw_nvs *nvs;
    struct fw_sensors *s;
    struct phys phys;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ct-test-sensors-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(fw_nvs_open(f->dir, &f->nvs), 0);
    fw_hal_sensor_set_source(phys_read, NULL);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    fw_sensors_destroy(f->s);
    fw_hal_sensor_set_source(NULL, NULL);
    fw_nvs_close(f->nvs);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void make(struct fx *f, enum ct_kind kind, enum ct_park_mode mode)
{
    fw_sensors_destroy(f->s);
    f->s = NULL;
    struct fw_sensors_cfg cfg = {
        .kind = kind, .park_mode = mode, .nvs = f->nvs, .node = &f->phys, .seed = 7};
    assert_int_equal(fw_sensors_create(&cfg, &f->s), 0);
}

/* Runs the sampler once at now_ms into *r; returns its result. */
static int sample(struct fx *f, enum ct_kind kind, int64_t now_ms, struct ct_reading *r)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    const struct fw_sampler *sp = fw_sensors_sampler(f->s);
    return sp->read(sp->ctx, &f->phys, kind, now_ms, r);
}

static double get(const struct ct_reading *r, const char *name)
{
    const struct ct_value *v = ct_reading_get(r, name);
    if (v == NULL) {
        fail_msg("member %s missing", name);
    }
    return v->type == CT_VT_BOOL ? (v->b ? 1.0 : 0.0) : v->num;
}

static bool has(const struct ct_reading *r, const char *name)
{
    return ct_reading_get(r, name) != NULL;
}

static void near(const struct ct_reading *r, const char *name, double want, double tol)
{
    double got = get(r, name);
    if (!(fabs(got - want) <= tol)) {
        fail_msg("%s: got %.4f, want %.4f +- %.4f", name, got, want, tol);
    }
}

/* The ADC's half LSB (0.0625 mV) seen through a gas channel's sensitivity, in ug/m3. */
static double gas_tol(const struct fw_drv_calib *c, unsigned g)
{
    double ppb = 0.0625 / (fabs(c->gas[g].sens_mv_per_ppm) / 1000.0);
    return ppb * fw_drv_gas_molar_mass(c->gas[g].species) / FW_DRV_GAS_MOLAR_VOLUME_L + 0.02;
}

static void test_sensors_air_roundtrip(void **state)
{
    struct fx *f = *state;
    make(f, CT_KIND_AIR, CT_PARK_NONE);
    const struct fw_drv_calib *c = fw_sensors_calib(f->s);
    struct ct_reading r;
    for (int i = 0; i < 40; i++) {
        double pm25 = 5 + i * 6.3, pm10 = pm25 * 1.6, t = 8 + i * 0.8, rh = 35 + i * 1.5;
        phys_set(&f->phys, "pm25", pm25);
        phys_set(&f->phys, "pm10", pm10);
        phys_set(&f->phys, "no2", 2 + i * 5.1);
        phys_set(&f->phys, "co", 200 + i * 190.7);
        phys_set(&f->phys, "so2", 1 + i * 2.1);
        phys_set(&f->phys, "o3", 2 + i * 6.2);
        phys_set(&f->phys, "t", t);
        phys_set(&f->phys, "rh", rh);
        assert_int_equal(sample(f, CT_KIND_AIR, 1000 * i, &r), 0);
        near(&r, "pm25", pm25, 0.5); /* the sensor reports whole ug/m3 */
        near(&r, "pm10", pm10, 0.5);
        near(&r, "t", t, 0.01); /* 175 / 65535 degC per tick, then 2 decimals */
        near(&r, "rh", rh, 0.01);
        near(&r, "no2", 2 + i * 5.1, gas_tol(c, FW_DRV_GAS_NO2));
        near(&r, "co", 200 + i * 190.7, gas_tol(c, FW_DRV_GAS_CO));
        near(&r, "so2", 1 + i * 2.1, gas_tol(c, FW_DRV_GAS_SO2));
        near(&r, "o3", 2 + i * 6.2, gas_tol(c, FW_DRV_GAS_O3));
    }
    struct fw_sensors_stats st;
    fw_sensors_get_stats(f->s, &st);
    assert_int_equal(st.pms_frames, 40);
    assert_int_equal(st.pms_bad_checksum + st.pms_bad_frame + st.value_errors, 0);
    assert_true(st.pms_skipped > 0); /* the simulated line noise was skipped */
    assert_int_equal(st.calib, FW_SENSORS_CALIB_FIRST_BOOT);
}

/* The default random-walk model drives the buses too; each instant is read once. */
static void test_sensors_air_model_source(void **state)
{
    struct fx *f = *state;
    static struct fw_app_model m;
    fw_app_model_init(&m, CT_KIND_AIR, 99);
    fw_hal_sensor_set_source(fw_app_model_read, &m);
    make(f, CT_KIND_AIR, CT_PARK_NONE);
    struct ct_reading r;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(sample(f, CT_KIND_AIR, 60000 * i, &r), 0);
        near(&r, "pm25", m.value[0], 0.5);
        near(&r, "pm10", m.value[1], 0.5);
        near(&r, "no2", m.value[2], 0.6);
        near(&r, "co", m.value[5], 0.6);
        near(&r, "t", m.value[6], 0.01);
        near(&r, "rh", m.value[7], 0.01);
    }
}

static void test_sensors_water_roundtrip(void **state)
{
    struct fx *f = *state;
    make(f, CT_KIND_WATER, CT_PARK_NONE);
    struct ct_reading r;
    for (int i = 0; i < 40; i++) {
        double ph = 6.0 + i * 0.07, dox = 0.5 + i * 0.21, turb = 2 + i * 7.4, ec = 150 + i * 26.3;
        double t = 15 + i * 0.47;
        phys_set(&f->phys, "ph", ph);
        phys_set(&f->phys, "do", dox);
        phys_set(&f->phys, "turb", turb);
        phys_set(&f->phys, "ec", ec);
        phys_set(&f->phys, "t", t);
        assert_int_equal(sample(f, CT_KIND_WATER, 1000 * i, &r), 0);
        near(&r, "t", t, 0.015);
        near(&r, "ph", ph, 0.01);
        near(&r, "do", dox, 0.025);
        near(&r, "turb", turb, 0.1);
        near(&r, "ec", ec, 0.15);
    }
}

static void test_sensors_flood_median_ignores_outliers(void **state)
{
    struct fx *f = *state;
    make(f, CT_KIND_FLOOD, CT_PARK_NONE);
    struct ct_reading r;
    for (int i = 0; i < 30; i++) {
        double depth = i < 5 ? 0.0 : 3.0 + i * 3.7;
        phys_set(&f->phys, "depth", depth);
        assert_int_equal(sample(f, CT_KIND_FLOOD, 1000 * i, &r), 0);
        near(&r, "depth", depth, 0.05);
    }
    struct fw_hal_bus_stats bs;
    fw_hal_bus_get_stats(fw_sensors_bus(f->s), &bs);
    assert_true(bs.echo_outliers >= 30 * 5 / FW_HAL_SIM_OUTLIER_EVERY);

    /* Without the median (window 1) the false echoes show: the filter is what removes them. */
    struct fw_drv_calib c;
    fw_drv_calib_defaults(&c);
    c.depth_window = 1;
    assert_int_equal(fw_sensors_calib_store(f->nvs, &c, false), 0);
    make(f, CT_KIND_FLOOD, CT_PARK_NONE);
    phys_set(&f->phys, "depth", 10.0);
    int wrong = 0;
    for (int i = 0; i < 3 * (int)FW_HAL_SIM_OUTLIER_EVERY; i++) {
        assert_int_equal(sample(f, CT_KIND_FLOOD, 1000 * i, &r), 0);
        wrong += fabs(get(&r, "depth") - 10.0) > 100.0;
    }
    assert_int_equal(wrong, 3);
}

static void test_sensors_parking_lot_and_bay(void **state)
{
    struct fx *f = *state;
    make(f, CT_KIND_PARKING, CT_PARK_LOT);
    struct ct_reading r;
    static const double occ[] = {0, 12, 15, 9, 60, 119, 120, 118, 40, 0, 3};
    for (size_t i = 0; i < sizeof(occ) / sizeof(occ[0]); i++) {
        phys_set(&f->phys, "occupied", occ[i]);
        assert_int_equal(sample(f, CT_KIND_PARKING, 10000 * (int64_t)(i + 1), &r), 0);
        assert_int_equal((int)get(&r, "occupied"), (int)occ[i]);
        assert_int_equal((int)get(&r, "capacity"), 120);
    }
    struct fw_hal_bus_stats bs;
    fw_hal_bus_get_stats(fw_sensors_bus(f->s), &bs);
    assert_true(bs.lot_events >= 12 + 3 + 6 + 51 + 59 + 1 + 2 + 78 + 40 + 3);

    make(f, CT_KIND_PARKING, CT_PARK_BAY);
    static const int bay[] = {0, 0, 1, 1, 0, 1, 0, 0, 1};
    for (size_t i = 0; i < sizeof(bay) / sizeof(bay[0]); i++) {
        phys_set(&f->phys, "occupied", bay[i]);
        assert_int_equal(sample(f, CT_KIND_PARKING, 10000 * (int64_t)(i + 1), &r), 0);
        assert_int_equal((int)get(&r, "occupied"), bay[i]);
        assert_int_equal(ct_reading_get(&r, "occupied")->type, CT_VT_BOOL);
        assert_false(has(&r, "capacity"));
    }
}

static void test_sensors_pms5003_replay(void **state)
{
    struct fx *f = *state;
    make(f, CT_KIND_AIR, CT_PARK_NONE);
    phys_set(&f->phys, "pm25", 500); /* must not be read: the UART replays the capture */
    phys_set(&f->phys, "t", 30);
    phys_set(&f->phys, "rh", 70);
    char path[512];
    const char *src = getenv("CT_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/tests/data/frames/pms5003_stream.hex", src ? src : ".");
    assert_int_equal(fw_hal_uart_replay(fw_sensors_bus(f->s), FW_HAL_UART_PMS, path), 0);
    struct ct_reading r;
    struct fw_sensors_stats st;
    /* frame 1 (pms5003_clean.hex): atmospheric PM2.5 0x0011, PM10 0x0015 */
    assert_int_equal(sample(f, CT_KIND_AIR, 1000, &r), 0);
    near(&r, "pm25", 17, 0);
    near(&r, "pm10", 21, 0);
    near(&r, "t", 30, 0.01);
    /* frame 2 (pms5003_haze.hex) after a cut frame, a bad checksum and a bad length */
    assert_int_equal(sample(f, CT_KIND_AIR, 2000, &r), 0);
    near(&r, "pm25", 104, 0);
    near(&r, "pm10", 125, 0);
    fw_sensors_get_stats(f->s, &st);
    assert_int_equal(st.pms_frames, 2);
    /* the cut frame runs into the next one and fails its checksum too: 2 checksums, 1 length */
    assert_int_equal(st.pms_bad_checksum, 2);
    assert_int_equal(st.pms_bad_frame, 1);
    assert_int_equal(st.pms_skipped, 71);
    assert_int_equal(st.pms_missing, 0);
    /* the capture is over: no PM values, the rest of the reading stands */
    assert_int_equal(sample(f, CT_KIND_AIR, 3000, &r), 0);
    assert_false(has(&r, "pm25"));
    near(&r, "rh", 70, 0.01);
    fw_sensors_get_stats(f->s, &st);
    assert_int_equal(st.pms_missing, 1);
    assert_int_equal(st.pms_frames, 2);
}

static void test_sensors_replay_file_errors(void **state)
{
    struct fx *f = *state;
    make(f, CT_KIND_AIR, CT_PARK_NONE);
    char path[256];
    snprintf(path, sizeof(path), "%s/bad.hex", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("42 4D 0\n", fp);
    fclose(fp);
    struct fw_hal_bus *bus = fw_sensors_bus(f->s);
    assert_int_equal(fw_hal_uart_replay(bus, FW_HAL_UART_PMS, path), CT_E_PARSE);
    snprintf(path, sizeof(path), "%s/missing.hex", f->dir);
    assert_int_equal(fw_hal_uart_replay(bus, FW_HAL_UART_PMS, path), CT_E_IO);
}

/* Rain through the app: bounced edges give exact tips and mm = delta tips x mm_per_tip. */
static void test_sensors_rain_tips_and_mm(void **state)
{
    struct fx *f = *state;
    make(f, CT_KIND_RAIN, CT_PARK_NONE);
    uint8_t key[CT_KEY_LEN];
    memset(key, 0x42, sizeof(key));
    struct fw_app_cfg cfg = {
        .kind = CT_KIND_RAIN,
        .id = "hn-rain-0001",
        .key = key,
        .nvs = f->nvs,
        .mm_per_tip = 0.5,
        .sensor_node = &f->phys,
        .sampler = fw_sensors_sampler(f->s),
    };
    struct fw_app *app = NULL;
    assert_int_equal(fw_app_create(&cfg, &app), 0);
    /* tips of the source at each 10 s poll; 120 tips in one poll are more than the edge queue
     * holds (51 tips) and the 10 s between polls (100 ms per tip at most): they arrive later */
    static const double tips[] = {0, 0, 3, 8, 8, 9, 129, 129, 129, 129, 134, 134};
    int lagged = 0;
    for (size_t i = 0; i < sizeof(tips) / sizeof(tips[0]); i++) {
        phys_set(&f->phys, "tips", tips[i]);
        fw_app_step(app, FW_APP_POLL_MS * (int64_t)i);
        struct fw_sensors_stats now;
        fw_sensors_get_stats(f->s, &now);
        lagged += now.tips < tips[i];
    }
    assert_true(lagged >= 2);
    struct fw_sensors_stats st;
    fw_sensors_get_stats(f->s, &st);
    assert_int_equal(st.tips, 134);
    assert_true(st.tip_bounces >= 134 * 4); /* every transition bounced and was ignored */
    fw_app_destroy(app);

    struct fw_outbox *ob = NULL;
    struct fw_outbox_cfg ocfg = {.max_records = 4096};
    assert_int_equal(fw_outbox_open(f->nvs, &ocfg, &ob), 0);
    static struct fw_outbox_rec rec;
    double prev = 0, mm_sum = 0, last = -1;
    int n = 0;
    while (fw_outbox_next(ob, &rec) == 0) {
        struct ct_reading r;
        assert_int_equal(ct_payload_decode(rec.payload, rec.len, CT_KIND_RAIN, &r, NULL), 0);
        double t = get(&r, "tips");
        near(&r, "mm", (t - prev) * 0.5, 1e-9);
        assert_true(t >= prev);
        mm_sum += get(&r, "mm");
        prev = t;
        last = t;
        n++;
        assert_int_equal(fw_outbox_ack(ob, rec.recno), 0);
    }
    fw_outbox_close(ob);
    assert_true(n >= 6); /* a message for each change of tips */
    assert_true(last == 134.0);
    assert_true(fabs(mm_sum - 134 * 0.5) < 1e-9);
}

static void test_sensors_calibration_from_nvs(void **state)
{
    struct fx *f = *state;
    phys_set(&f->phys, "ph", 7.5);
    phys_set(&f->phys, "do", 6.0);
    phys_set(&f->phys, "turb", 40);
    phys_set(&f->phys, "ec", 800);
    phys_set(&f->phys, "t", 26);
    make(f, CT_KIND_WATER, CT_PARK_NONE);
    struct fw_sensors_stats st;
    fw_sensors_get_stats(f->s, &st);
    assert_int_equal(st.calib, FW_SENSORS_CALIB_FIRST_BOOT);
    uint8_t blob[FW_DRV_CALIB_BLOB_LEN + 8];
    size_t len = 0;
    assert_int_equal(fw_nvs_read(f->nvs, FW_SENSORS_CALIB_BLOB, blob, sizeof(blob), &len), 0);
    assert_int_equal(len, FW_DRV_CALIB_BLOB_LEN);
    struct ct_reading r;
    assert_int_equal(sample(f, CT_KIND_WATER, 0, &r), 0);
    near(&r, "ec", 800, 0.15);
    near(&r, "ph", 7.5, 0.01);

    /* the next boot reads the blob */
    make(f, CT_KIND_WATER, CT_PARK_NONE);
    fw_sensors_get_stats(f->s, &st);
    assert_int_equal(st.calib, FW_SENSORS_CALIB_NVS);

    /* a recalibrated cell (k 1.25) and a pH 7 offset of +10 mV change the conversion */
    struct fw_drv_calib c;
    fw_drv_calib_defaults(&c);
    c.ec.k = 1.25f;
    c.ph.mv_ph7 += 10.0f;
    c.ph.mv_buf += 10.0f;
    assert_int_equal(fw_sensors_calib_store(f->nvs, &c, false), 0);
    make(f, CT_KIND_WATER, CT_PARK_NONE);
    assert_int_equal(sample(f, CT_KIND_WATER, 1000, &r), 0);
    near(&r, "ec", 1000, 0.2);
    /* +10 mV reads as a lower pH by 10 mV over the electrode's slope at 26 degC */
    double slope = (175.0 - 3.0) / 3.0 * (26 + 273.15) / (25 + 273.15);
    near(&r, "ph", 7.5 + 10.0 / slope, 0.01);

    /* a damaged blob: defaults are used and the blob is kept for service */
    blob[20] ^= 0x40;
    assert_int_equal(fw_nvs_write(f->nvs, FW_SENSORS_CALIB_BLOB, blob, len, false), 0);
    make(f, CT_KIND_WATER, CT_PARK_NONE);
    fw_sensors_get_stats(f->s, &st);
    assert_int_equal(st.calib, FW_SENSORS_CALIB_BAD_DEFAULTS);
    assert_int_equal(sample(f, CT_KIND_WATER, 2000, &r), 0);
    near(&r, "ec", 800, 0.15);
    uint8_t again[FW_DRV_CALIB_BLOB_LEN + 8];
    size_t len2 = 0;
    assert_int_equal(fw_nvs_read(f->nvs, FW_SENSORS_CALIB_BLOB, again, sizeof(again), &len2), 0);
    assert_memory_equal(again, blob, len);

    /* an invalid record is refused */
    c.depth_window = 4;
    assert_int_equal(fw_sensors_calib_store(f->nvs, &c, false), CT_E_INVAL);
}

static void test_sensors_calib_encoding(void **state)
{
    (void)state;
    struct fw_drv_calib c, d;
    fw_drv_calib_defaults(&c);
    assert_int_equal(fw_drv_calib_check(&c), 0);
    c.gas[FW_DRV_GAS_CO].nt[3] = 0.55f;
    c.turb.n = 5;
    uint8_t b[FW_DRV_CALIB_BLOB_LEN];
    assert_int_equal(fw_drv_calib_encode(&c, b, sizeof(b)), FW_DRV_CALIB_BLOB_LEN);
    assert_int_equal(fw_drv_calib_decode(b, sizeof(b), &d), 0);
    assert_true(d.gas[FW_DRV_GAS_CO].nt[3] == 0.55f);
    assert_int_equal(d.turb.n, 5);
    assert_true(d.lot_capacity == c.lot_capacity);
    assert_int_equal(fw_drv_calib_decode(b, sizeof(b) - 1, &d), FW_DRV_E_LEN);
    b[0] ^= 1;
    assert_int_equal(fw_drv_calib_decode(b, sizeof(b), &d), FW_DRV_E_FRAME);
    b[0] ^= 1;
    b[100] ^= 1;
    assert_int_equal(fw_drv_calib_decode(b, sizeof(b), &d), FW_DRV_E_CHECKSUM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sensors_air_roundtrip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensors_air_model_source, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensors_water_roundtrip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensors_flood_median_ignores_outliers, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensors_parking_lot_and_bay, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensors_pms5003_replay, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensors_replay_file_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensors_rain_tips_and_mm, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sensors_calibration_from_nvs, fx_setup, fx_teardown),
        cmocka_unit_test(test_sensors_calib_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_derive_events.c - rain 1h/24h sums and terms with reboots, the console's correction of
 * the live sums (col_derive_rain_adjust, also after a rebuild), flood bands with hysteresis
 * and one alert per rise, parking from a lot counter and from bays, station liveness. */
#include "derive_test.h"

static void rain(struct fx *f, uint64_t boot, int64_t ts, double tips, double mm, uint64_t mark)
{
    const struct ct_device *dev = dev_of(f, "hn-rain-0001");
    struct ct_reading r;

    reading(&r, dev, boot, ts, 2, "tips", tips, "mm", mm);
    assert_int_equal(col_derive_add(f->d, dev, &r, mark, ts), 0);
}

static void test_rain_sums_reboot(void **state)
{
    struct col_derive_cfg cfg = {0};
    struct col_derive_stats st;
    struct fx f;
    char line[1024];

    (void)state;
    fx_open(&f, &cfg);
    rain(&f, 1, T0 + 5 * MIN_MS, 0, 0.0, 1);
    rain(&f, 1, T0 + 10 * MIN_MS, 10, 2.0, 2);
    rain(&f, 1, T0 + 15 * MIN_MS, 25, 3.0, 3);
    assert_int_equal(count_lines(&f.cap, "rain_1h,"), 3);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_string_equal(line, "rain_1h,device=hn-rain-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ Bạc "
                              "mm=5,intense=false,mm_24h=5 1795428900000");
    /* One derived point per reading: the 24-h sum rides on rain_1h; rain_24h waits for the
     * first reading past the hour. */
    assert_int_equal(count_lines(&f.cap, "rain_24h,"), 0);
    /* A new boot: tips restart at 5; the node's mm (1.0) is the interval's rain. */
    rain(&f, 2, T0 + 20 * MIN_MS, 5, 1.0, 4);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=6,intense=false,mm_24h=6 "));
    /* Another boot without mm: the tips since boot count (3 x 0.2), never the negative delta. */
    rain(&f, 3, T0 + 25 * MIN_MS, 3, NAN, 5);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=6.6,intense=false,mm_24h=6.6 "));
    /* A heavy burst: 30 mm within the hour is intense. */
    rain(&f, 3, T0 + 30 * MIN_MS, 153, 30.0, 6);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=36.6,intense=true,mm_24h=36.6 "));
    /* The first slots leave the 1-h window; the 24-h sum keeps them. */
    rain(&f, 3, T0 + HOUR_MS_T + 20 * MIN_MS, 153, 0.0, 7);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=30.6,intense=true,mm_24h=36.6 "));
    /* That reading is the first past T0 + 1 h: the 24 hours ending there, once, at the hour. */
    assert_int_equal(count_lines(&f.cap, "rain_24h,"), 1);
    assert_true(line_of(&f.cap, "rain_24h,", -1, line, sizeof(line)));
    assert_string_equal(line, "rain_24h,device=hn-rain-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ Bạc "
                              "mm=36.6 1795431600000");
    col_derive_stats(f.d, &st);
    assert_int_equal(st.rain_reboots, 2);
    assert_int_equal(st.rain_mismatch, 0);
    /* mm disagreeing with the tips delta of the same boot is counted. */
    rain(&f, 3, T0 + HOUR_MS_T + 25 * MIN_MS, 163, 1.0, 8);
    col_derive_stats(f.d, &st);
    assert_int_equal(st.rain_mismatch, 1);
    assert_int_equal(count_lines(&f.cap, "rain_24h,"), 1);
    fx_close(&f);
}

static void depth(struct fx *f, int64_t ts, double cm, uint64_t mark)
{
    const struct ct_device *dev = dev_of(f, "hn-flood-0001");
    struct ct_reading r;

    reading(&r, dev, 1, ts, 1, "depth", cm);
    assert_int_equal(col_derive_add(f->d, dev, &r, mark, ts), 0);
}

static void test_flood_hysteresis_one_alert(void **state)
{
    static const double noisy[] = {12, 12.5, 11, 12, 12.2, 9.5, 10.5, 9, 10.2, 11, 9.1};
    struct col_derive_cfg cfg = {0};
    struct col_derive_stats st;
    struct fx f;
    char line[1024];
    int64_t ts = T0;
    uint64_t mark = 1;

    (void)state;
    fx_open(&f, &cfg);
    depth(&f, ts, 5.0, mark++);
    assert_int_equal(f.cap.alerts, 0);
    /* Water around the 10 cm threshold: confirmed after 120 s, then noise within the
     * hysteresis (2 cm) keeps the band. */
    for (size_t i = 0; i < sizeof(noisy) / sizeof(noisy[0]); i++) {
        depth(&f, ts += 30000, noisy[i], mark++);
    }
    assert_int_equal(count_lines(&f.cap, "flood_level,"), 12);
    assert_int_equal(f.cap.alerts, 1);
    assert_string_equal(f.cap.topic[0], "city/v1/alert/flood/bac-tu-liem");
    assert_non_null(strstr(f.cap.payload[0], "\"type\":\"flood\""));
    assert_non_null(strstr(f.cap.payload[0], "\"level\":1,\"label_vi\":\"Ngập nhẹ\","
                                             "\"label_en\":\"Minor\",\"value\":12.2}"));
    assert_true(line_of(&f.cap, "flood_level,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, "flood_level,device=hn-flood-0001,district=Bắc\\ Từ\\ Liêm,"
                                 "ward=Cổ\\ Nhuế depth_cm=9.1,band=1i,rise_cm_h="));
    /* The band's name and colour are the readers' (the station's table), not the point's. */
    assert_null(strstr(line, "band_vi"));
    assert_null(strstr(line, "color"));
    /* A real rise to 25 cm: a second alert, once. */
    for (int i = 0; i < 8; i++) {
        depth(&f, ts += 30000, 25.0 + i * 0.1, mark++);
    }
    assert_int_equal(f.cap.alerts, 2);
    assert_non_null(strstr(f.cap.payload[1], "\"level\":2,"));
    /* Falling back is not an alert. */
    for (int i = 0; i < 8; i++) {
        depth(&f, ts += 30000, 3.0, mark++);
    }
    assert_int_equal(f.cap.alerts, 2);
    assert_true(line_of(&f.cap, "flood_level,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, ",band=0i,"));
    col_derive_stats(f.d, &st);
    assert_int_equal(st.alerts_flood, 2);
    assert_int_equal(count_lines(&f.cap, "alert,"), 2);
    fx_close(&f);
}

static void test_flood_rebuild_band(void **state)
{
    static const char js[] = "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":"
                             "\"flood_level\",\"tags\":{\"device\":\"hn-flood-0001\"},"
                             "\"columns\":[\"time\",\"band\"],\"values\":[[1795427000000,2]]}]}]}";
    struct col_derive_cfg cfg = {0};
    struct fx f;

    (void)state;
    fx_open(&f, &cfg);
    assert_int_equal(col_derive_rebuild_apply(f.d, js, sizeof(js) - 1), 0);
    /* Still in band 2 after the restart: no new alert. */
    depth(&f, T0, 24.0, 1);
    depth(&f, T0 + 30000, 25.0, 2);
    assert_int_equal(f.cap.alerts, 0);
    assert_int_equal(count_lines(&f.cap, "flood_level,"), 2);
    fx_close(&f);
}

static void test_parking_lot_and_bays(void **state)
{
    struct col_derive_cfg cfg = {0};
    struct fx f;
    struct ct_reading r;
    char line[1024];
    const struct ct_device *lot;
    const struct ct_device *b1;
    const struct ct_device *b2;

    (void)state;
    fx_open(&f, &cfg);
    lot = dev_of(&f, "hn-park-lot1");
    reading(&r, lot, 1, T0, 2, "capacity", 50.0, "occupied", 20.0);
    r.values[0].type = CT_VT_INT;
    r.values[1].type = CT_VT_INT;
    col_derive_add(f.d, lot, &r, 1, T0);
    assert_true(line_of(&f.cap, "parking_lot,", -1, line, sizeof(line)));
    assert_string_equal(line, "parking_lot,district=Hoàn\\ Kiếm,lot=hn-park-lot1,"
                              "ward=Cửa\\ Nam capacity=50i,occupied=20i,free=30i,ratio=0.4 "
                              "1795428000000");
    b1 = dev_of(&f, "hn-park-b1");
    b2 = dev_of(&f, "hn-park-b2");
    reading(&r, b1, 1, T0 + 1000, 0);
    ct_reading_set_bool(&r, "occupied", true);
    col_derive_add(f.d, b1, &r, 2, T0 + 1000);
    assert_true(line_of(&f.cap, "parking_lot,", -1, line, sizeof(line)));
    assert_string_equal(line, "parking_lot,district=Hoàn\\ Kiếm,lot=hn-park-lot2,"
                              "ward=Tràng\\ Tiền capacity=2i,occupied=1i,free=1i,ratio=0.5 "
                              "1795428001000");
    reading(&r, b2, 1, T0 + 2000, 0);
    ct_reading_set_bool(&r, "occupied", true);
    col_derive_add(f.d, b2, &r, 3, T0 + 2000);
    assert_true(line_of(&f.cap, "parking_lot,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " capacity=2i,occupied=2i,free=0i,ratio=1 "));
    /* The same state again does not count twice; a bay leaving frees one space. */
    col_derive_add(f.d, b2, &r, 4, T0 + 3000);
    reading(&r, b1, 1, T0 + 4000, 0);
    ct_reading_set_bool(&r, "occupied", false);
    col_derive_add(f.d, b1, &r, 5, T0 + 4000);
    assert_true(line_of(&f.cap, "parking_lot,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " capacity=2i,occupied=1i,free=1i,ratio=0.5 1795428004000"));
    assert_int_equal(count_lines(&f.cap, "parking_lot,"), 5);
    fx_close(&f);
}

static bool stale_cb(void *arg, const char *id, int64_t last_seen_ms)
{
    char *out = arg;

    snprintf(out, 128, "%s@%lld", id, (long long)last_seen_ms);
    return true;
}

static void test_stale_once_and_back(void **state)
{
    struct col_derive_cfg cfg = {0};
    struct col_derive_stats st;
    struct fx f;
    struct ct_reading r;
    const struct ct_device *dev;
    char line[1024];
    char who[128] = "";

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-air-0001"); /* interval_s 60: stale after 180 s of silence */
    reading(&r, dev, 1, T0, 1, "pm25", 10.0);
    col_derive_add(f.d, dev, &r, 1, T0);
    col_derive_tick(f.d, T0 + 180000);
    assert_int_equal(count_lines(&f.cap, "station,"), 0);
    assert_int_equal(col_derive_stale_each(f.d, NULL, NULL), 0);
    for (int64_t t = T0 + 180001; t < T0 + 600000; t += 1000) {
        col_derive_tick(f.d, t);
    }
    assert_int_equal(count_lines(&f.cap, "station,"), 1);
    assert_true(line_of(&f.cap, "station,", 0, line, sizeof(line)));
    assert_string_equal(line, "station,device=hn-air-0001,district=Ba\\ Đình,ward=Ngọc\\ Hà "
                              "stale=true,online=true,last_seen_ms=1795428000000i 1795428180001");
    assert_int_equal(f.cap.alerts, 1);
    assert_string_equal(f.cap.topic[0], "city/v1/alert/air/ba-dinh");
    assert_non_null(strstr(f.cap.payload[0], "\"type\":\"stale\""));
    assert_int_equal(col_derive_stale_each(f.d, stale_cb, who), 1);
    assert_string_equal(who, "hn-air-0001@1795428000000");
    /* A reading makes it fresh again: one station point, no alert. */
    reading(&r, dev, 1, T0 + 600000, 1, "pm25", 11.0);
    col_derive_add(f.d, dev, &r, 2, T0 + 600000);
    assert_int_equal(count_lines(&f.cap, "station,"), 2);
    assert_true(line_of(&f.cap, "station,", 1, line, sizeof(line)));
    assert_non_null(strstr(line, " stale=false,online=true,last_seen_ms=1795428600000i "));
    assert_int_equal(col_derive_stale_each(f.d, NULL, NULL), 0);
    /* The will: offline, once. */
    assert_int_equal(col_derive_status(f.d, dev, false, T0 + 601000), 0);
    assert_int_equal(col_derive_status(f.d, dev, false, T0 + 602000), 0);
    assert_int_equal(count_lines(&f.cap, "station,"), 3);
    assert_true(line_of(&f.cap, "station,", 2, line, sizeof(line)));
    assert_non_null(strstr(line, " stale=false,online=false,"));
    assert_int_equal(f.cap.alerts, 1);
    col_derive_stats(f.d, &st);
    assert_int_equal(st.alerts_stale, 1);
    fx_close(&f);
}

/* A station the registry marks non-public goes silent: the alert is in the store (for the staff),
 * never on the public alert topic, which would carry its name. */
static void test_private_station_alert_stays_off_mqtt(void **state)
{
    struct col_derive_cfg cfg = {0};
    struct col_derive_stats st;
    struct fx f;
    struct ct_reading r;
    const struct ct_device *dev;

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-air-0099");
    reading(&r, dev, 1, T0, 1, "pm25", 10.0);
    col_derive_add(f.d, dev, &r, 1, T0);
    for (int64_t t = T0 + 1000; t < T0 + 600000; t += 1000) {
        col_derive_tick(f.d, t);
    }
    assert_int_equal(count_lines(&f.cap, "alert,device=hn-air-0099,"), 1);
    assert_int_equal(f.cap.alerts, 0);
    assert_null(strstr(f.cap.payload[0], "nội bộ"));
    col_derive_stats(f.d, &st);
    assert_int_equal(st.alerts_stale, 1);
    fx_close(&f);
}

/* The console's correction of the live sums (col_derive_rain_adjust): a burst of 500 tips taken
 * out of the ring gives the next reading's sums without it, with validated=true; put back, the
 * sums hold it again; after validated_until the field is absent. */
static void test_derive_rain_adjust(void **state)
{
    const int64_t burst_ts[2] = {T0 + 20 * MIN_MS, T0 - 48 * HOUR_MS_T};
    const double burst_mm[2] = {100.0, 5.0};
    const int64_t until = T0 + 20 * MIN_MS + 24 * HOUR_MS_T;
    struct col_derive_cfg cfg = {0};
    struct col_derive_stats st;
    struct fx f;
    char line[1024];

    (void)state;
    fx_open(&f, &cfg);
    rain(&f, 1, T0 + 5 * MIN_MS, 0, 0.0, 1);
    rain(&f, 1, T0 + 10 * MIN_MS, 1, 0.2, 2);
    rain(&f, 1, T0 + 20 * MIN_MS, 501, 100.0, 3);
    rain(&f, 1, T0 + 25 * MIN_MS, 502, 0.2, 4);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=100.4,intense=true,mm_24h=100.4 "));
    /* Taken out: exact (micrometres), and the next point says the sums are validated. */
    assert_int_equal(col_derive_rain_adjust(f.d, "hn-rain-0001", burst_ts, burst_mm, 1, -1, until),
                     0);
    rain(&f, 1, T0 + 30 * MIN_MS, 503, 0.2, 5);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=0.6,intense=false,mm_24h=0.6,validated=true "));
    /* Put back (the range withdrawn); an amount older than the ring is ignored. */
    assert_int_equal(col_derive_rain_adjust(f.d, "hn-rain-0001", burst_ts, burst_mm, 2, 1, until),
                     0);
    rain(&f, 1, T0 + 35 * MIN_MS, 504, 0.2, 6);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=100.8,intense=true,mm_24h=100.8,validated=true "));
    /* Taken out again; a smaller validated_until does not lower the one remembered. */
    assert_int_equal(col_derive_rain_adjust(f.d, "hn-rain-0001", burst_ts, burst_mm, 1, -1, T0), 0);
    rain(&f, 1, until, 505, 0.2, 7);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, ",validated=true "));
    /* After validated_until the points are derive's own again: no field. */
    rain(&f, 1, until + 5 * MIN_MS, 506, 0.2, 8);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=0.4,intense=false,mm_24h=0.8 "));
    assert_null(strstr(line, "validated"));
    /* Unknown device, not a rain gauge, bad sign. */
    assert_int_equal(col_derive_rain_adjust(f.d, "hn-nope", burst_ts, burst_mm, 1, -1, until),
                     CT_E_NOTFOUND);
    depth(&f, T0, 5.0, 9);
    assert_int_equal(col_derive_rain_adjust(f.d, "hn-flood-0001", burst_ts, burst_mm, 1, -1, until),
                     CT_E_NOTFOUND);
    assert_int_equal(col_derive_rain_adjust(f.d, "hn-rain-0001", burst_ts, burst_mm, 1, 0, until),
                     CT_E_INVAL);
    col_derive_stats(f.d, &st);
    assert_int_equal(st.rain_adjusts, 3);
    assert_int_equal(st.rain_adjust_unknown, 2);
    assert_int_equal(st.rain_adjust_missing, 0);
    fx_close(&f);
}

/* After a restart the ring holds the rebuild's hourly sums (the raw points, the burst included)
 * in each hour's last slot: the burst is taken from there. */
static void test_derive_rain_adjust_rebuilt(void **state)
{
    static const char js[] =
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":"
        "\"rain\",\"tags\":{\"device\":\"hn-rain-0001\"},"
        "\"columns\":[\"time\",\"mm\"],\"values\":[[1795428000000,100.4]]}]}]}";
    const int64_t ts = T0 + 20 * MIN_MS;
    const double mm = 100.0;
    struct col_derive_cfg cfg = {0};
    struct col_derive_stats st;
    struct fx f;
    char line[1024];

    (void)state;
    fx_open(&f, &cfg);
    assert_int_equal(col_derive_rebuild_apply(f.d, js, sizeof(js) - 1), 0);
    assert_int_equal(
        col_derive_rain_adjust(f.d, "hn-rain-0001", &ts, &mm, 1, -1, ts + 24 * HOUR_MS_T), 0);
    rain(&f, 1, T0 + HOUR_MS_T + 10 * MIN_MS, 600, 0.2, 1);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=0.6,intense=false,mm_24h=0.6,validated=true "));
    /* Taken a second time: the slot holds only the valid 0.4 mm, and never goes below 0. */
    assert_int_equal(
        col_derive_rain_adjust(f.d, "hn-rain-0001", &ts, &mm, 1, -1, ts + 24 * HOUR_MS_T), 0);
    rain(&f, 1, T0 + HOUR_MS_T + 15 * MIN_MS, 601, 0.2, 2);
    assert_true(line_of(&f.cap, "rain_1h,", -1, line, sizeof(line)));
    assert_non_null(strstr(line, " mm=0.4,intense=false,mm_24h=0.4,validated=true "));
    col_derive_stats(f.d, &st);
    assert_int_equal(st.rain_adjust_missing, 1);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rain_sums_reboot),
        cmocka_unit_test(test_derive_rain_adjust),
        cmocka_unit_test(test_derive_rain_adjust_rebuilt),
        cmocka_unit_test(test_flood_hysteresis_one_alert),
        cmocka_unit_test(test_flood_rebuild_band),
        cmocka_unit_test(test_parking_lot_and_bays),
        cmocka_unit_test(test_stale_once_and_back),
        cmocka_unit_test(test_private_station_alert_stays_off_mqtt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

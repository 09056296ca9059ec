/* test_derive_air.c - hourly air_aqi on the decision's worked example (Decision 1459 section
 * 2.3), one alert when the AQI enters "Xấu", water_wqi, and the rebuild of NowCast from a
 * canned /query response giving the same next-hour AQI as an uninterrupted run. */
#include "derive_test.h"

/* PM2.5 hourly means 09:00 .. 20:00 of the decision's example, oldest first. */
static const double example_pm25[12] = {26.9, 24.7, 20.5, 23.5, 19.5, 16.5,
                                        19.0, 16.5, 20.3, 22.4, 19.6, 20.6};

/* Feeds one reading in the middle of hour h (from T0) and closes the hour. */
static void feed_hour(struct fx *f, int h, double pm25, double o3, double no2, uint64_t mark)
{
    const struct ct_device *dev = dev_of(f, "hn-air-0001");
    struct ct_reading r;
    int64_t ts = T0 + h * HOUR_MS_T + 30 * MIN_MS;

    reading(&r, dev, 1, ts, 3, "pm25", pm25, "o3", o3, "no2", no2);
    assert_int_equal(col_derive_add(f->d, dev, &r, mark, ts), 0);
    col_derive_tick(f->d, T0 + (h + 1) * HOUR_MS_T + 120001);
}

static double field_num(const char *line, const char *key)
{
    const char *p = strstr(line, key);

    assert_non_null(p);
    return strtod(p + strlen(key), NULL);
}

static void test_hourly_decision_example(void **state)
{
    struct col_derive_cfg cfg = {.stale_intervals = 100000};
    struct fx f;
    char line[2048];

    (void)state;
    fx_open(&f, &cfg);
    for (int h = 0; h < 12; h++) {
        feed_hour(&f, h, example_pm25[h], h == 11 ? 136.1 : NAN, h == 11 ? 118.7 : NAN,
                  (uint64_t)h + 1);
    }
    /* Hour 0 alone has no NowCast (2 of the last 3 hours needed): 11 points. */
    assert_int_equal(count_lines(&f.cap, "air_aqi,"), 11);
    assert_true(line_of(&f.cap, "air_aqi,", -1, line, sizeof(line)));
    /* O3 136.1 -> 43, NO2 118.7 -> 59 (the decision prints 60: erratum), PM2.5 NowCast
     * 20.2658 -> 41; AQI^h = 59. US: NowCast 20.2 -> 72, NO2 63 ppb -> 61. */
    assert_non_null(strstr(line, "air_aqi,device=hn-air-0001,district=Ba\\ Đình,ward=Ngọc\\ Hà "
                                 "aqi_vn=59i,aqi_vn_level=2i,aqi_vn_category=\"Trung bình\","
                                 "aqi_vn_color=\"#FFFF00\",dominant=\"no2\",aqi_us=72i,"
                                 "aqi_us_category=\"Moderate\",nowcast_pm25="));
    assert_float_equal(field_num(line, "nowcast_pm25="), 20.2658, 5e-4);
    /* Time = the hour's end: 22:00 UTC. */
    assert_non_null(strstr(line, " 1795471200000"));
    /* The 1-h aggregate is written beside the 1-minute one. */
    assert_int_equal(count_lines(&f.cap, "air_agg_1h,"), 12);
    assert_int_equal(f.cap.alerts, 0);
    fx_close(&f);
}

static void test_aqi_enters_xau_once(void **state)
{
    struct col_derive_cfg cfg = {.stale_intervals = 100000};
    struct col_derive_stats st;
    struct fx f;
    char line[1024];

    (void)state;
    fx_open(&f, &cfg);
    feed_hour(&f, 0, 20.0, NAN, NAN, 1);
    feed_hour(&f, 1, 20.0, NAN, NAN, 2);
    assert_int_equal(f.cap.alerts, 0);
    /* NowCast of 100 and 20 (w = 0.5): 73.3 -> Kém (level 3): no alert yet. */
    feed_hour(&f, 2, 100.0, NAN, NAN, 3);
    assert_int_equal(f.cap.alerts, 0);
    for (int h = 3; h < 8; h++) {
        feed_hour(&f, h, 100.0, NAN, NAN, (uint64_t)h + 1);
    }
    assert_int_equal(f.cap.alerts, 1);
    assert_string_equal(f.cap.topic[0], "city/v1/alert/air/ba-dinh");
    assert_non_null(strstr(f.cap.payload[0], "{\"v\":1,\"type\":\"aqi\",\"device\":\"hn-air-0001\","
                                             "\"name\":\"Trạm Ngọc Hà\",\"district\":\"Ba Đình\","
                                             "\"ts\":"));
    assert_non_null(strstr(f.cap.payload[0], "\"level\":4,\"label_vi\":\"Xấu\","
                                             "\"label_en\":\"Bad\",\"value\":"));
    assert_int_equal(count_lines(&f.cap, "alert,"), 1);
    assert_true(line_of(&f.cap, "alert,", 0, line, sizeof(line)));
    assert_non_null(strstr(line, "alert,device=hn-air-0001,district=Ba\\ Đình,type=aqi "
                                 "level=4i,label=\"Xấu\",value="));
    /* Back to clean air, then bad again: a second alert (once per change). */
    for (int h = 8; h < 20; h++) {
        feed_hour(&f, h, 5.0, NAN, NAN, (uint64_t)h + 1);
    }
    assert_int_equal(f.cap.alerts, 1);
    for (int h = 20; h < 24; h++) {
        feed_hour(&f, h, 120.0, NAN, NAN, (uint64_t)h + 1);
    }
    assert_int_equal(f.cap.alerts, 2);
    col_derive_stats(f.d, &st);
    assert_int_equal(st.alerts_aqi, 2);
    fx_close(&f);
}

static void test_water_wqi(void **state)
{
    struct col_derive_cfg cfg = {.window_s = 300};
    struct fx f;
    struct ct_reading r;
    const struct ct_device *dev;
    char line[1024];

    (void)state;
    fx_open(&f, &cfg);
    dev = dev_of(&f, "hn-water-0001");
    reading(&r, dev, 1, T0 + 10 * MIN_MS, 4, "ph", 7.0, "do", 7.5, "t", 28.0, "cod", 12.0);
    col_derive_add(f.d, dev, &r, 1, T0 + 10 * MIN_MS);
    col_derive_tick(f.d, T0 + HOUR_MS_T + 600001);
    assert_int_equal(count_lines(&f.cap, "water_agg_5m,"), 1);
    assert_int_equal(count_lines(&f.cap, "water_wqi,"), 1);
    assert_true(line_of(&f.cap, "water_wqi,", 0, line, sizeof(line)));
    assert_non_null(strstr(line, "water_wqi,device=hn-water-0001,district=Tây\\ Hồ,"
                                 "ward=Quảng\\ An wqi="));
    assert_non_null(strstr(line, ",preliminary=true 1795431600000"));
    fx_close(&f);
}

static void test_daily_decision_example(void **state)
{
    struct col_derive_cfg cfg = {.stale_intervals = 100000};
    struct fx f;
    char line[1024];

    (void)state;
    fx_open(&f, &cfg);
    /* The day 01:00 .. 00:00 in Hanoi ends at 17:00 UTC = T0 + 7 h; its hours start from
     * T0 - 17 h. PM2.5 24-h mean 55.7 -> 110, NO2 max 130.8 -> 65, O3 1-h max 114.6 -> 36. */
    for (int h = -17; h <= 6; h++) {
        feed_hour(&f, h, 55.7, h == 0 ? 114.6 : NAN, h == 3 ? 130.8 : 20.0, (uint64_t)h + 20);
    }
    assert_int_equal(count_lines(&f.cap, "air_aqi_daily,"), 1);
    assert_true(line_of(&f.cap, "air_aqi_daily,", 0, line, sizeof(line)));
    assert_string_equal(line, "air_aqi_daily,device=hn-air-0001,district=Ba\\ Đình,"
                              "ward=Ngọc\\ Hà aqi_vn=110i,aqi_vn_level=3i,aqi_vn_category=\"Kém\","
                              "aqi_vn_color=\"#FF7E00\",dominant=\"pm25\" 1795453200000");
    fx_close(&f);
}

/* The canned /query response holding hours 0..11 of the example (epoch=ms). */
static void canned_response(struct ct_buf *b)
{
    assert_int_equal(ct_buf_adds(b, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":"
                                    "\"air\",\"tags\":{\"device\":\"hn-air-0001\"},\"columns\":"
                                    "[\"time\",\"pm25_sum\",\"pm25_count\",\"pm10_sum\","
                                    "\"pm10_count\"],\"values\":["),
                     0);
    for (int h = 0; h < 12; h++) {
        assert_int_equal(ct_buf_printf(b, "%s[%lld,%.1f,1,null,0]", h ? "," : "",
                                       (long long)(T0 + h * HOUR_MS_T), example_pm25[h]),
                         0);
    }
    assert_int_equal(ct_buf_adds(b, "]}]}]}"), 0);
}

/* The uninterrupted run: hours 0..11 of the example and a 13th hour of 31.0; its last air_aqi
 * line goes to 'la'. */
static void uninterrupted(struct fx *a, struct col_derive_cfg *cfg, char *la, size_t cap)
{
    fx_open(a, cfg);
    for (int h = 0; h < 12; h++) {
        feed_hour(a, h, example_pm25[h], NAN, NAN, (uint64_t)h + 1);
    }
    feed_hour(a, 12, 31.0, NAN, NAN, 13);
    assert_true(line_of(&a->cap, "air_aqi,", -1, la, cap));
}

/* The uninterrupted run into 'a' (its line in 'la'), then 'b' opened as the restarted process
 * with an empty state and a buffer 'js' for the store's answer. */
static void restart(struct fx *a, struct fx *b, struct col_derive_cfg *cfg, char *la, size_t cap,
                    struct ct_buf *js)
{
    uninterrupted(a, cfg, la, cap);
    cfg->instance = NULL;
    fx_open(b, cfg);
    ct_buf_init(js, 1 << 16);
}

static void test_rebuild_restores_nowcast(void **state)
{
    struct col_derive_cfg cfg = {.stale_intervals = 100000};
    struct col_derive_stats st;
    struct fx a;
    struct fx b;
    struct ct_buf js;
    char la[2048];
    char lb[2048];

    (void)state;
    /* Uninterrupted: 13 hours. Restarted: the 12 hours come from the store, then the 13th
     * hour live. */
    restart(&a, &b, &cfg, la, sizeof(la), &js);
    canned_response(&js);
    assert_int_equal(col_derive_rebuild_apply(b.d, js.p, js.len), 0);
    feed_hour(&b, 12, 31.0, NAN, NAN, 13);
    assert_int_equal(count_lines(&b.cap, "air_aqi,"), 1);
    assert_true(line_of(&b.cap, "air_aqi,", -1, lb, sizeof(lb)));
    assert_string_equal(la, lb);
    assert_non_null(strstr(lb, "nowcast_pm25="));
    col_derive_stats(b.d, &st);
    assert_int_equal(st.rebuild_rows, 12);
    /* Errors and the queries. */
    assert_int_equal(col_derive_rebuild_apply(b.d, "{\"results\":[{\"error\":\"x\"}]}", 31),
                     CT_E_PARSE);
    assert_int_equal(col_derive_rebuild_apply(b.d, "[1", 2), CT_E_PARSE);
    for (int w = 0; w < COL_DERIVE_RB__COUNT; w++) {
        char q[2048];
        assert_non_null(col_derive_rebuild_query((enum col_derive_rebuild)w));
        /* The selection run on InfluxDB is the very InfluxQL of the query (store.kind
         * "influxdb" rebuilds as before). */
        assert_int_equal(
            col_storeq_influxql(col_derive_rebuild_sel((enum col_derive_rebuild)w), 1, q, 3000), 0);
        assert_string_equal(q, col_derive_rebuild_query((enum col_derive_rebuild)w));
    }
    assert_null(col_derive_rebuild_sel(COL_DERIVE_RB__COUNT));
    assert_non_null(strstr(col_derive_rebuild_query(COL_DERIVE_RB_AIR), "GROUP BY time(1h)"));
    assert_null(col_derive_rebuild_query(COL_DERIVE_RB__COUNT));
    ct_buf_free(&js);
    fx_close(&a);
    fx_close(&b);
}

/* The same restart on VictoriaMetrics: the raw readings of hours 0..11 as /api/v1/export lines
 * (one reading per hour, mid-hour, plus one outside the 32-h window and one of another
 * measurement), reduced by col_storeq_vm_answer, give the same next-hour air_aqi line. */
static void test_rebuild_from_victoriametrics(void **state)
{
    struct col_derive_cfg cfg = {.stale_intervals = 100000};
    const struct col_storeq_sel *sel = col_derive_rebuild_sel(COL_DERIVE_RB_AIR);
    int64_t now = T0 + 12 * HOUR_MS_T + 60000;
    struct ct_buf js;
    struct fx a;
    struct fx b;
    char *answer = NULL;
    char la[2048];
    char lb[2048];

    (void)state;
    restart(&a, &b, &cfg, la, sizeof(la), &js);
    assert_int_equal(ct_buf_printf(&js, "{\"metric\":{\"__name__\":\"air_pm25\",\"db\":\"citytel\","
                                        "\"device\":\"hn-air-0001\"},\"values\":[500"),
                     0);
    for (int h = 0; h < 12; h++) {
        assert_int_equal(ct_buf_printf(&js, ",%.1f", example_pm25[h]), 0);
    }
    assert_int_equal(
        ct_buf_printf(&js, "],\"timestamps\":[%lld", (long long)(now - 33 * HOUR_MS_T)), 0);
    for (int h = 0; h < 12; h++) {
        assert_int_equal(ct_buf_printf(&js, ",%lld", (long long)(T0 + h * HOUR_MS_T + 30 * MIN_MS)),
                         0);
    }
    assert_int_equal(ct_buf_adds(&js, "]}\n{\"metric\":{\"__name__\":\"air_aqi_aqi_vn\","
                                      "\"device\":\"hn-air-0001\"},\"values\":[300],"
                                      "\"timestamps\":[1795428000000]}\n"),
                     0);
    assert_int_equal(col_storeq_vm_answer(sel, 1, now, js.p, js.len, &answer), 0);
    assert_int_equal(col_derive_rebuild_apply(b.d, answer, strlen(answer)), 0);
    feed_hour(&b, 12, 31.0, NAN, NAN, 13);
    assert_true(line_of(&b.cap, "air_aqi,", -1, lb, sizeof(lb)));
    assert_string_equal(la, lb);
    free(answer);
    ct_buf_free(&js);
    fx_close(&a);
    fx_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hourly_decision_example),
        cmocka_unit_test(test_aqi_enters_xau_once),
        cmocka_unit_test(test_water_wqi),
        cmocka_unit_test(test_daily_decision_example),
        cmocka_unit_test(test_rebuild_restores_nowcast),
        cmocka_unit_test(test_rebuild_from_victoriametrics),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

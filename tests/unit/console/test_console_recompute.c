/* test_console_recompute: the points the console writes again from the validated data after a
 * range is marked invalid (console_recompute.c): the hour's aggregate and air index without the
 * values inside the ranges (the caller's and the store's decisions), same series and time as
 * derive's, with validated=true; validated=false alone when only the invalid values made an
 * index; and the statements it asks the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "col_console_recompute.h"
#include "col_indices_wqi_hour.h"
#include "ct/err.h"

#define H 3600000LL
#define T07 1795417200000LL /* 2026-11-23T07:00Z */
#define T09 (T07 + 2 * H)

static struct ct_device dev(void)
{
    struct ct_device d;

    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "hn-air-0001");
    d.kind = CT_KIND_AIR;
    d.district = (char *)"Hoàn Kiếm";
    d.ward = (char *)"Hàng Bông";
    d.interval_s = 60;
    return d;
}

/* PM2.5 41 in 07:00, 08:00 and 09:00 (one reading each) and two spikes of 400 at 09:20 and
 * 09:21 (the first with PM10 50); the store's decisions mark 09:21 invalid, the caller's range
 * 09:20. */
static const char answer[] =
    "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
    "\"device\",\"pm10\",\"pm25\",\"qc\"],\"values\":["
    "[1795417800000,\"hn-air-0001\",null,41,null],"
    "[1795421400000,\"hn-air-0001\",null,41,null],"
    "[1795425000000,\"hn-air-0001\",null,41,null],"
    "[1795425600000,\"hn-air-0001\",50,400,\"pm25:spike\"],"
    "[1795425660000,\"hn-air-0001\",null,400,null]]}]},"
    "{\"statement_id\":1,\"series\":[{\"name\":\"console_decision\",\"columns\":[\"time\","
    "\"action\",\"by\",\"from\",\"param\",\"station\",\"to\"],\"values\":["
    "[1795427000000,\"invalid\",\"oanh\",1795425660000,\"pm25\",\"hn-air-0001\","
    "1795425660000]]}]}]}";

/* The points of station 'd''s 09:00 hour from the store's answer 'ans', with 'r' marked invalid
 * by the caller, into *lp (initialised here; the caller frees it). */
static void recompute_of(const struct ct_device *d, const char *ans,
                         const struct col_console_range *r, struct ct_buf *lp)
{
    struct col_console_recompute_in in = {
        .dev = d, .instance = "col-a", .first_ms = T09, .last_ms = T09, .ranges = r, .nranges = 1};

    ct_buf_init(lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, ans, strlen(ans), lp), 0);
    printf("%.*s", (int)lp->len, lp->p);
}

/* The same for the air station's answer above with PM2.5 marked invalid from 'from' to 'to' (and
 * 09:21 by the store's decision). */
static void recompute(int64_t from, int64_t to, struct ct_buf *lp)
{
    struct ct_device d = dev();
    struct col_console_range r = {"pm25", from, to};

    recompute_of(&d, answer, &r, lp);
}

static void test_console_recompute_points(void **state)
{
    struct ct_buf lp;

    (void)state;
    recompute(1795425600000LL, 1795425600000LL, &lp);
    /* The hour's aggregate: PM2.5 41 alone (both spikes left out), PM10 of the spike's reading
     * kept (only PM2.5 was marked); derive's series (collector, device, district, ward) and time
     * (the hour's start). */
    assert_non_null(strstr(lp.p, "air_agg_1h,collector=col-a,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,ward=Hàng\\ Bông pm25_min=41,pm25_max=41,"
                                 "pm25_sum=41,pm25_count=1i,pm10_min=50,pm10_max=50,pm10_sum=50,"
                                 "pm10_count=1i,interval_s=60i,validated=true 1795424400000\n"));
    /* The hour's index at its end: PM2.5 NowCast over 41, 41, 41 = 41 -> VN_AQI 82 (Trung bình),
     * US AQI 115; the spikes would have made it far higher. */
    assert_non_null(strstr(lp.p, "air_aqi,device=hn-air-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ "
                                 "Bông aqi_vn=82i,aqi_vn_level=2i,aqi_vn_category=\"Trung bình\","
                                 "aqi_vn_color=\"#FFFF00\",dominant=\"pm25\",aqi_us=115i,"
                                 "aqi_us_category=\"Unhealthy for Sensitive Groups\","
                                 "nowcast_pm25=41,validated=true 1795428000000\n"));
    /* Only the two points: the hours before first_ms are read, not written. */
    size_t lines = 0;
    for (size_t i = 0; i < lp.len; i++) {
        lines += lp.p[i] == '\n';
    }
    assert_int_equal(lines, 2);
    ct_buf_free(&lp);
}

/* Every PM2.5 of 08:00 and 09:00 marked invalid: the aggregate says count 0, and the index, which
 * the raw data had, has no validated value any more: validated=false alone. */
static void test_console_recompute_no_index(void **state)
{
    struct ct_buf lp;

    (void)state;
    recompute(T07 + H, T09 + H - 1, &lp);
    assert_non_null(strstr(lp.p, "Bông pm25_sum=0,pm25_count=0i,pm10_min=50,"));
    assert_null(strstr(lp.p, "pm25_min"));
    assert_non_null(strstr(lp.p, "air_aqi,device=hn-air-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ "
                                 "Bông validated=false 1795428000000\n"));
    ct_buf_free(&lp);
}

/* The water index of an hour: an NH4 spike (5 mg/L at 09:20) marked invalid; the hour's
 * water_wqi is the index of the other reading's means (its own point, validated=true), which
 * the spike would have lowered. */
static void test_console_recompute_water(void **state)
{
    static const char water[] =
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"water\",\"columns\":["
        "\"time\",\"cod\",\"do\",\"nh4\",\"ph\",\"t\"],\"values\":["
        "[1795425000000,10,6.5,0.1,7.0,26],[1795425600000,null,null,5.0,null,null]]}]},"
        "{\"statement_id\":1}]}";
    struct ct_device d = dev();
    struct col_console_range r = {"nh4", 1795425600000LL, 1795425600000LL};
    struct col_wqi_in valid, raw;
    struct col_wqi_result vr, rr;
    char want[160];
    struct ct_buf lp;

    (void)state;
    snprintf(d.id, sizeof(d.id), "hn-water-0001");
    d.kind = CT_KIND_WATER;
    valid = (struct col_wqi_in){7.0, 6.5, 26, 10, 0.1, NAN, NAN, NAN, NAN};
    raw = valid;
    raw.nh4_mg_l = (0.1 + 5.0) / 2;
    assert_int_equal(col_wqi_compute(&valid, &vr), 0);
    assert_int_equal(col_wqi_compute(&raw, &rr), 0);
    assert_true(rr.wqi < vr.wqi);
    recompute_of(&d, water, &r, &lp);
    assert_non_null(strstr(lp.p, "water_agg_1h,collector=col-a,device=hn-water-0001,"));
    assert_non_null(strstr(lp.p, "nh4_min=0.1,nh4_max=0.1,nh4_sum=0.1,nh4_count=1i"));
    snprintf(want, sizeof(want),
             "water_wqi,device=hn-water-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ Bông wqi=%di,",
             vr.wqi);
    assert_non_null(strstr(lp.p, want));
    assert_non_null(strstr(lp.p, ",validated=true 1795428000000\n"));
    ct_buf_free(&lp);
}

/* The daily VN_AQI at the day's end (17:00Z = 00:00 in Hanoi) when its last hour is written:
 * PM2.5 41 in each of the day's 24 hours and a spike of 400 in the last, marked invalid: the
 * 24-h mean is 41, VN_AQI 82 (the spike would have made it 97). */
static void test_console_recompute_daily(void **state)
{
    const int64_t last = 1795449600000LL; /* 16:00Z, the day's last hour */
    struct ct_device d = dev();
    struct col_console_range r = {"pm25", last + 1200000, last + 1200000};
    struct col_console_recompute_in in = {.dev = &d,
                                          .instance = "col-a",
                                          .first_ms = last,
                                          .last_ms = last,
                                          .ranges = &r,
                                          .nranges = 1};
    struct ct_buf ans, lp;

    (void)state;
    ct_buf_init(&ans, 1u << 16);
    ct_buf_adds(&ans, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\","
                      "\"columns\":[\"time\",\"pm25\"],\"values\":[");
    for (int h = 0; h < 24; h++) {
        ct_buf_printf(&ans, "[%lld,41],", (long long)(last - h * H + 600000));
    }
    ct_buf_printf(&ans, "[%lld,400]]}]},{\"statement_id\":1}]}", (long long)(last + 1200000));
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, ans.p, ans.len, &lp), 0);
    printf("%.*s", (int)lp.len, lp.p);
    assert_non_null(strstr(lp.p, "air_aqi_daily,device=hn-air-0001,district=Hoàn\\ Kiếm,"
                                 "ward=Hàng\\ Bông aqi_vn=82i,aqi_vn_level=2i,"
                                 "aqi_vn_category=\"Trung bình\",aqi_vn_color=\"#FFFF00\","
                                 "dominant=\"pm25\",validated=true 1795453200000\n"));
    ct_buf_free(&lp);
    ct_buf_free(&ans);
}

/* The raw points of 'answer' with two decisions: 09:21 marked invalid and withdrawn (revoked =
 * true, POST revoke), 09:20 marked invalid (its row without the revoked column's value, as
 * every decision before a withdrawal). */
static const char answer_revoked[] =
    "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\",\"columns\":[\"time\","
    "\"device\",\"pm10\",\"pm25\",\"qc\"],\"values\":["
    "[1795417800000,\"hn-air-0001\",null,41,null],"
    "[1795421400000,\"hn-air-0001\",null,41,null],"
    "[1795425000000,\"hn-air-0001\",null,41,null],"
    "[1795425600000,\"hn-air-0001\",50,400,\"pm25:spike\"],"
    "[1795425660000,\"hn-air-0001\",null,400,null]]}]},"
    "{\"statement_id\":1,\"series\":[{\"name\":\"console_decision\",\"columns\":[\"time\","
    "\"action\",\"by\",\"from\",\"param\",\"revoked\",\"revoked_by\",\"station\",\"to\"],"
    "\"values\":["
    "[1795427000000,\"invalid\",\"oanh\",1795425660000,\"pm25\",true,\"an\",\"hn-air-0001\","
    "1795425660000],"
    "[1795427100000,\"invalid\",\"oanh\",1795425600000,\"pm25\",null,null,\"hn-air-0001\","
    "1795425600000]]}]}]}";

/* A withdrawn decision's range counts as valid again: the row with revoked = true is ignored,
 * and so is the row of the decision a revoke job withdraws (withdrawn_ms), which the store may
 * not yet show as revoked; the job itself adds no range (nranges 0). */
static void test_console_recompute_revoked(void **state)
{
    struct ct_device d = dev();
    struct col_console_recompute_in in = {
        .dev = &d, .instance = "col-a", .first_ms = T09, .last_ms = T09};
    struct ct_buf lp;

    (void)state;
    /* 09:21 withdrawn, 09:20 still marked: 41 and the spike of 09:21. */
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, answer_revoked, sizeof(answer_revoked) - 1, &lp),
                     0);
    assert_non_null(strstr(lp.p, "Bông pm25_min=41,pm25_max=400,pm25_sum=441,pm25_count=2i,"));
    ct_buf_free(&lp);
    /* The 09:20 decision withdrawn too (by the job, before the store has its revoke): every
     * value counts, the hour is derive's again. */
    in.withdrawn_ms = 1795427100000LL;
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, answer_revoked, sizeof(answer_revoked) - 1, &lp),
                     0);
    assert_non_null(strstr(lp.p, "Bông pm25_min=41,pm25_max=400,pm25_sum=841,pm25_count=3i,"));
    assert_non_null(strstr(lp.p, "dominant=\"pm25\""));
    assert_null(strstr(lp.p, "aqi_vn=82i"));
    ct_buf_free(&lp);
}

static void test_console_recompute_query(void **state)
{
    struct ct_device d = dev();
    struct col_console_recompute_in in = {
        .dev = &d, .instance = "col-a", .first_ms = T09, .last_ms = T09 + H};
    struct ct_buf ql, lp;

    (void)state;
    ct_buf_init(&ql, 8192);
    assert_int_equal(col_console_recompute_ql(&in, &ql), 0);
    assert_string_equal(ql.p, "SELECT * FROM \"air\" WHERE device='hn-air-0001' AND time >= "
                              "1795316400000ms AND time < 1795431600000ms; SELECT * FROM "
                              "console_decision WHERE \"action\"='invalid' AND "
                              "station='hn-air-0001'");
    ct_buf_free(&ql);
    /* Bad input: an hour not on the hour, a reversed window, not the store's answer. */
    ct_buf_init(&lp, 4096);
    in.first_ms = T09 + 1;
    assert_int_equal(col_console_recompute_lp(&in, answer, sizeof(answer) - 1, &lp), CT_E_INVAL);
    in.first_ms = T09 + 2 * H;
    assert_int_equal(col_console_recompute_lp(&in, answer, sizeof(answer) - 1, &lp), CT_E_INVAL);
    in.first_ms = T09;
    assert_int_equal(col_console_recompute_lp(&in, "nope", 4, &lp), CT_E_PARSE);
    assert_int_equal(lp.len, 0);
    ct_buf_free(&lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_recompute_points),
        cmocka_unit_test(test_console_recompute_no_index),
        cmocka_unit_test(test_console_recompute_water),
        cmocka_unit_test(test_console_recompute_daily),
        cmocka_unit_test(test_console_recompute_revoked),
        cmocka_unit_test(test_console_recompute_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_console_recompute: the points the console writes again from the validated data after a
 * range is marked invalid (console_recompute.c): the hour's aggregate and air index without the
 * values inside the ranges (the caller's and the store's decisions), same series and time as
 * derive's, with validated=true; validated=false alone when only the invalid values made an
 * index; the windows of aggregate.window_s likewise; the late parts and the other collector
 * instances' series of a window emptied; the hourly index 20 hours after a range and the next
 * day's daily index; a job's horizon; and the statements it asks the store. */
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
#include "col_indices_aqi_hour.h"
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
                              "station='hn-air-0001'; SELECT /_count$/ FROM \"air_agg_1h\" "
                              "WHERE device='hn-air-0001' AND time >= 1795424400000ms AND "
                              "time < 1795431600000ms GROUP BY *");
    /* With derive's window of 45 minutes, which does not divide the hour, from 10:00: its
     * measurement too, from the start of the window holding first_ms (09:45). */
    in.window_s = 2700;
    in.first_ms = T09 + H;
    ct_buf_reset(&ql);
    assert_int_equal(col_console_recompute_ql(&in, &ql), 0);
    assert_non_null(strstr(ql.p, "; SELECT /_count$/ FROM \"air_agg_1h\",\"air_agg_45m\" "
                                 "WHERE device='hn-air-0001' AND time >= 1795427100000ms AND "
                                 "time < 1795431600000ms GROUP BY *"));
    in.window_s = 7; /* does not divide a day */
    assert_int_equal(col_console_recompute_ql(&in, &ql), CT_E_INVAL);
    in.window_s = 0;
    in.first_ms = T09;
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

/* The line of 'lp' that begins with 'prefix' (into 'out', 'cap' bytes), or "" when none. */
static const char *line_of(const struct ct_buf *lp, const char *prefix, char *out, size_t cap)
{
    const char *p = lp->p;

    out[0] = '\0';
    while (p != NULL && p < lp->p + lp->len) {
        const char *nl = memchr(p, '\n', (size_t)(lp->p + lp->len - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(lp->p + lp->len - p);
        if (strncmp(p, prefix, strlen(prefix)) == 0 && n < cap) {
            memcpy(out, p, n);
            out[n] = '\0';
            return out;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    return out;
}

static size_t lines_of(const struct ct_buf *lp)
{
    size_t lines = 0;

    for (size_t i = 0; i < lp->len; i++) {
        lines += lp->p[i] == '\n';
    }
    return lines;
}

/* derive's one-minute windows (air_agg_1m) of the 09:00 hour written again like the hour's:
 * 09:10 keeps its PM2.5 41; the 09:20 window (the caller's range) keeps the reading's PM10 and
 * counts no PM2.5; the 09:21 window (the store's decision) counts nothing; same series key as
 * derive's (collector, device, district, ward), time = the window's start; the windows of the
 * hours before first_ms are read, not written. */
static void test_console_recompute_windows(void **state)
{
    struct ct_device d = dev();
    struct col_console_range r = {"pm25", 1795425600000LL, 1795425600000LL};
    struct col_console_recompute_in in = {.dev = &d,
                                          .instance = "col-a",
                                          .window_s = 60,
                                          .first_ms = T09,
                                          .last_ms = T09,
                                          .ranges = &r,
                                          .nranges = 1};
    struct ct_buf lp;

    (void)state;
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, answer, strlen(answer), &lp), 0);
    printf("%.*s", (int)lp.len, lp.p);
    assert_non_null(strstr(lp.p, "air_agg_1m,collector=col-a,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,ward=Hàng\\ Bông pm25_min=41,pm25_max=41,"
                                 "pm25_sum=41,pm25_count=1i,interval_s=60i,validated=true "
                                 "1795425000000\n"));
    assert_non_null(strstr(lp.p, "air_agg_1m,collector=col-a,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,ward=Hàng\\ Bông pm25_sum=0,pm25_count=0i,"
                                 "pm10_min=50,pm10_max=50,pm10_sum=50,pm10_count=1i,"
                                 "interval_s=60i,validated=true 1795425600000\n"));
    assert_non_null(strstr(lp.p, "air_agg_1m,collector=col-a,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,ward=Hàng\\ Bông pm25_sum=0,pm25_count=0i,"
                                 "interval_s=60i,validated=true 1795425660000\n"));
    /* The hour's aggregate and index as before, the three windows, nothing else. */
    assert_non_null(strstr(lp.p, "air_agg_1h,collector=col-a,"));
    assert_non_null(strstr(lp.p, "air_aqi,device=hn-air-0001,"));
    assert_int_equal(lines_of(&lp), 5);
    ct_buf_free(&lp);

    /* With derive's window of an hour, the hour's aggregate is the only one. */
    in.window_s = 3600;
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, answer, strlen(answer), &lp), 0);
    assert_null(strstr(lp.p, "air_agg_1m"));
    assert_int_equal(lines_of(&lp), 2);
    ct_buf_free(&lp);
}

/* The store's answer above with the station's aggregate series of statement 2: this instance's
 * on-time series of the hour (rewritten whole anyway); its late part 1 of 08:00 (an hour not
 * written) and of 09:00; another instance (col-b) and an older district of this one in 09:00;
 * the late part of the 09:20 window; col-b's 09:21 window and its 09:30 window, which has no
 * readings in the store. */
static const char series[] =
    ",{\"statement_id\":2,\"series\":["
    "{\"name\":\"air_agg_1h\",\"tags\":{\"collector\":\"col-a\",\"device\":\"hn-air-0001\","
    "\"district\":\"Hoàn Kiếm\",\"part\":\"\",\"ward\":\"Hàng Bông\"},\"columns\":[\"time\","
    "\"pm10_count\",\"pm25_count\"],\"values\":[[1795424400000,1,4]]},"
    "{\"name\":\"air_agg_1h\",\"tags\":{\"collector\":\"col-a\",\"device\":\"hn-air-0001\","
    "\"district\":\"Hoàn Kiếm\",\"part\":\"1\",\"ward\":\"Hàng Bông\"},\"columns\":[\"time\","
    "\"pm10_count\",\"pm25_count\"],\"values\":[[1795420800000,null,1],[1795424400000,null,2]]},"
    "{\"name\":\"air_agg_1h\",\"tags\":{\"collector\":\"col-b\",\"device\":\"hn-air-0001\","
    "\"district\":\"Hoàn Kiếm\",\"part\":\"\",\"ward\":\"Hàng Bông\"},\"columns\":[\"time\","
    "\"pm10_count\",\"pm25_count\"],\"values\":[[1795424400000,1,1]]},"
    "{\"name\":\"air_agg_1h\",\"tags\":{\"collector\":\"col-a\",\"device\":\"hn-air-0001\","
    "\"district\":\"Ba Đình\",\"part\":\"\",\"ward\":\"Hàng Bông\"},\"columns\":[\"time\","
    "\"pm10_count\",\"pm25_count\"],\"values\":[[1795424400000,null,3]]},"
    "{\"name\":\"air_agg_1m\",\"tags\":{\"collector\":\"col-a\",\"device\":\"hn-air-0001\","
    "\"district\":\"Hoàn Kiếm\",\"part\":\"1\",\"ward\":\"Hàng Bông\"},\"columns\":[\"time\","
    "\"pm10_count\",\"pm25_count\"],\"values\":[[1795425600000,null,1]]},"
    "{\"name\":\"air_agg_1m\",\"tags\":{\"collector\":\"col-b\",\"device\":\"hn-air-0001\","
    "\"district\":\"Hoàn Kiếm\",\"part\":\"\",\"ward\":\"Hàng Bông\"},\"columns\":[\"time\","
    "\"pm10_count\",\"pm25_count\"],\"values\":[[1795425660000,null,1],[1795426200000,null,1]]}"
    "]}]}";

/* Late parts and other collector instances: this instance's on-time series gets the whole
 * window's valid totals (as above), every other series of a written window sum 0 and count 0
 * for each member it holds, under its own tags, so that the sum over series is the valid total
 * (pm25: 1 in the hour, 0 in the 09:20 and 09:21 windows). */
static void test_console_recompute_parts(void **state)
{
    struct ct_device d = dev();
    struct col_console_range r = {"pm25", 1795425600000LL, 1795425600000LL};
    struct col_console_recompute_in in = {.dev = &d,
                                          .instance = "col-a",
                                          .window_s = 60,
                                          .first_ms = T09,
                                          .last_ms = T09,
                                          .ranges = &r,
                                          .nranges = 1};
    struct ct_buf ans, lp;

    (void)state;
    ct_buf_init(&ans, 1u << 16);
    ct_buf_add(&ans, answer, strlen(answer) - 2); /* without the closing "]}" */
    ct_buf_adds(&ans, series);
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, ans.p, ans.len, &lp), 0);
    printf("%.*s", (int)lp.len, lp.p);
    /* The hour: the full valid totals in this instance's on-time series, as without parts. */
    assert_non_null(strstr(lp.p, "air_agg_1h,collector=col-a,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,ward=Hàng\\ Bông pm25_min=41,pm25_max=41,"
                                 "pm25_sum=41,pm25_count=1i,pm10_min=50,"));
    /* Its late part, the other instance's series and the older district's, emptied. */
    assert_non_null(strstr(lp.p, "air_agg_1h,collector=col-a,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,part=1,ward=Hàng\\ Bông pm25_sum=0,"
                                 "pm25_count=0i,validated=true 1795424400000\n"));
    assert_non_null(strstr(lp.p, "air_agg_1h,collector=col-b,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,ward=Hàng\\ Bông pm10_sum=0,pm10_count=0i,"
                                 "pm25_sum=0,pm25_count=0i,validated=true 1795424400000\n"));
    assert_non_null(strstr(lp.p, "air_agg_1h,collector=col-a,device=hn-air-0001,"
                                 "district=Ba\\ Đình,ward=Hàng\\ Bông pm25_sum=0,pm25_count=0i,"
                                 "validated=true 1795424400000\n"));
    /* The windows: the late part of 09:20 and col-b's 09:21 emptied. */
    assert_non_null(strstr(lp.p, "air_agg_1m,collector=col-a,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,part=1,ward=Hàng\\ Bông pm25_sum=0,"
                                 "pm25_count=0i,validated=true 1795425600000\n"));
    assert_non_null(strstr(lp.p, "air_agg_1m,collector=col-b,device=hn-air-0001,"
                                 "district=Hoàn\\ Kiếm,ward=Hàng\\ Bông pm25_sum=0,pm25_count=0i,"
                                 "validated=true 1795425660000\n"));
    /* Not the 08:00 part (an hour not written), nor the 09:30 window (no readings there). */
    assert_null(strstr(lp.p, " 1795420800000\n"));
    assert_null(strstr(lp.p, " 1795426200000\n"));
    /* The 5 points as without parts, and the 5 emptied. */
    assert_int_equal(lines_of(&lp), 10);
    ct_buf_free(&lp);
    ct_buf_free(&ans);
}

/* The hourly index 20 hours after a range: SO2 1000 ug/m3 in each of 24 hours (382 ppb: the US
 * AQI takes the 24-h mean) and a spike of 5000 in the range's hour, marked invalid; the air_aqi
 * of the hour 20 hours later is the US AQI of the valid 24-h mean, which the spike would raise. */
static void test_console_recompute_so2_day(void **state)
{
    const int64_t later = T09 + 20 * H;
    struct ct_device d = dev();
    struct col_console_range r = {"so2", T09 + 1200000, T09 + 1200000};
    struct col_console_recompute_in in = {.dev = &d,
                                          .instance = "col-a",
                                          .first_ms = later,
                                          .last_ms = later,
                                          .ranges = &r,
                                          .nranges = 1};
    struct col_aqi_hour_in valid, raw;
    struct col_aqi_hour_out vo, ro;
    char want[96], line[512];
    struct ct_buf ans, lp;

    (void)state;
    for (size_t k = 0; k < COL_AQI_HOUR_BACK; k++) {
        for (size_t p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
            valid.mean[k][p] = NAN;
        }
        valid.mean[k][COL_AQI_SO2] = 1000;
    }
    raw = valid;
    raw.mean[20][COL_AQI_SO2] = (1000 + 5000) / 2.0;
    assert_int_equal(col_aqi_hour_compute(&valid, &vo), 0);
    assert_int_equal(col_aqi_hour_compute(&raw, &ro), 0);
    assert_true(vo.us.aqi != COL_AQI_NONE && ro.us.aqi > vo.us.aqi);

    ct_buf_init(&ans, 1u << 16);
    ct_buf_adds(&ans, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\","
                      "\"columns\":[\"time\",\"so2\"],\"values\":[");
    for (int h = -3; h <= 20; h++) {
        ct_buf_printf(&ans, "[%lld,1000],", (long long)(T09 + h * H + 600000));
    }
    ct_buf_printf(&ans, "[%lld,5000]]}]},{\"statement_id\":1}]}", (long long)(T09 + 1200000));
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, ans.p, ans.len, &lp), 0);
    printf("%.*s", (int)lp.len, lp.p);
    line_of(&lp, "air_aqi,", line, sizeof(line));
    snprintf(want, sizeof(want), "Bông aqi_us=%di,", vo.us.aqi);
    assert_non_null(strstr(line, want));
    snprintf(want, sizeof(want), ",validated=true %lld", (long long)(later + H));
    assert_non_null(strstr(line, want));
    ct_buf_free(&lp);
    ct_buf_free(&ans);
}

/* The next day's daily index: O3 100 in every hour from 17:00 local of a day to the end of the
 * next and a spike of 1000 in the day's 17:00 hour, marked invalid; PM2.5 41 in each hour of the
 * next day. The next day's O3 8-h means read that hour: its daily VN_AQI is 82 (PM2.5) from the
 * valid data, where the spike would make O3 dominant. */
static void test_console_recompute_next_day(void **state)
{
    const int64_t day_end = 1795453200000LL; /* 17:00Z: 00:00 in Hanoi */
    const int64_t spike = day_end - 7 * H + 1200000;
    const int64_t next_last = day_end + 23 * H; /* the next day's last hour */
    struct ct_device d = dev();
    struct col_console_range r = {"o3", spike, spike};
    struct col_console_recompute_in in = {.dev = &d,
                                          .instance = "col-a",
                                          .first_ms = next_last,
                                          .last_ms = next_last,
                                          .ranges = &r,
                                          .nranges = 1};
    char want[96], line[512];
    struct ct_buf ans, lp;

    (void)state;
    ct_buf_init(&ans, 1u << 16);
    ct_buf_adds(&ans, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"air\","
                      "\"columns\":[\"time\",\"o3\",\"pm25\"],\"values\":[");
    for (int h = -7; h < 24; h++) {
        ct_buf_printf(&ans, "[%lld,100,%s],", (long long)(day_end + h * H + 600000),
                      h >= 0 ? "41" : "null");
    }
    ct_buf_printf(&ans, "[%lld,1000,null]]}]},{\"statement_id\":1}]}", (long long)spike);
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, ans.p, ans.len, &lp), 0);
    printf("%.*s", (int)lp.len, lp.p);
    snprintf(want, sizeof(want), "validated=true %lld\n", (long long)(day_end + 24 * H));
    assert_non_null(strstr(lp.p, "air_aqi_daily,device=hn-air-0001,district=Hoàn\\ Kiếm,"
                                 "ward=Hàng\\ Bông aqi_vn=82i,aqi_vn_level=2i,"
                                 "aqi_vn_category=\"Trung bình\",aqi_vn_color=\"#FFFF00\","
                                 "dominant=\"pm25\","));
    assert_non_null(strstr(lp.p, want));
    ct_buf_free(&lp);
    /* Without the range the spike counts: O3 dominant, a higher index. */
    in.nranges = 0;
    ct_buf_init(&lp, 1u << 20);
    assert_int_equal(col_console_recompute_lp(&in, ans.p, ans.len, &lp), 0);
    line_of(&lp, "air_aqi_daily,", line, sizeof(line));
    assert_non_null(strstr(line, "dominant=\"o3\""));
    assert_null(strstr(line, "aqi_vn=82i"));
    ct_buf_free(&lp);
    ct_buf_free(&ans);
}

/* A job's horizon: 24 hours after the range's last hour (the hourly index's SO2 24-h mean),
 * and the next day's last hour when the range ends at 17:00 local or later (that day's O3 8-h
 * means); the hours of one pass with short windows. */
static void test_console_recompute_horizon(void **state)
{
    const int64_t day_end = 1795453200000LL; /* 17:00Z: 00:00 in Hanoi */
    struct ct_device d = dev();
    struct col_console_recompute_in in = {
        .dev = &d, .instance = "col-a", .window_s = 10, .first_ms = T09};
    struct ct_buf lp;

    (void)state;
    assert_true(COL_CONSOLE_RECOMPUTE_AFTER_H >= COL_AQI_HOUR_BACK - 1);
    /* 09:21Z (16:21 in Hanoi): 24 hours on, past the day's end. */
    assert_true(col_console_recompute_until(T09 + 1260000) == T09 + 24 * H);
    /* 10:20Z (17:20 in Hanoi): the next day's last hour, 6 hours past the 24. */
    assert_true(col_console_recompute_until(day_end - 7 * H + 1200000) == day_end + 23 * H);
    /* 16:59Z (23:59 in Hanoi): both the same hour. */
    assert_true(col_console_recompute_until(day_end - 60000) == day_end + 23 * H);
    /* Hours of one pass: 744 (31 days), 124 with 10-s windows (the windows' bound). */
    assert_true(col_console_recompute_hours_max(0) == COL_CONSOLE_RECOMPUTE_HOURS_MAX);
    assert_true(col_console_recompute_hours_max(60) == COL_CONSOLE_RECOMPUTE_HOURS_MAX);
    assert_true(col_console_recompute_hours_max(3600) == COL_CONSOLE_RECOMPUTE_HOURS_MAX);
    assert_true(col_console_recompute_hours_max(10) == 124);
    ct_buf_init(&lp, 1u << 20);
    in.last_ms = T09 + 123 * H;
    assert_int_equal(col_console_recompute_lp(&in, answer, strlen(answer), &lp), 0);
    in.last_ms = T09 + 124 * H;
    assert_int_equal(col_console_recompute_lp(&in, answer, strlen(answer), &lp), CT_E_INVAL);
    in.last_ms = T09;
    in.window_s = 7; /* does not divide a day */
    assert_int_equal(col_console_recompute_lp(&in, answer, strlen(answer), &lp), CT_E_INVAL);
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
        cmocka_unit_test(test_console_recompute_windows),
        cmocka_unit_test(test_console_recompute_parts),
        cmocka_unit_test(test_console_recompute_so2_day),
        cmocka_unit_test(test_console_recompute_next_day),
        cmocka_unit_test(test_console_recompute_horizon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

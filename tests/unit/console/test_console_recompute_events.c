/* test_console_recompute_events: the per-reading points the console writes again from the
 * validated data (console_recompute_events.c): a rain gauge's sums without a burst of tips
 * marked invalid, a flood_level point marked validated=false at an invalid depth and the next
 * rise recomputed, a counter lot's parking_lot point validated=false; same series and time as
 * derive's; the amounts the live rain sums' correction takes out; the statements asked of the
 * store; and the alerts view's mark of an alert raised over
 * data later marked invalid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "col_console_recompute_events.h"
#include "ct/err.h"

#define H 3600000LL
#define M 60000LL
#define T07 1795417200000LL /* 2026-11-23T07:00Z */

static struct ct_device dev(enum ct_kind kind, const char *id)
{
    struct ct_device d;

    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "%s", id);
    d.kind = kind;
    d.district = (char *)"Hoàn Kiếm";
    d.ward = (char *)"Hàng Bông";
    d.interval_s = 300;
    d.mm_per_tip = 0.2;
    d.park_mode = kind == CT_KIND_PARKING ? CT_PARK_LOT : CT_PARK_NONE;
    return d;
}

/* The store's answer to col_console_events_ql: statement 0 the raw series 'meas' with the
 * columns "time" and 'col' and the rows 'n' values 'v' at 'ts'; statement 1 the decision rows
 * 'dec' (columns time, action, from, param, revoked, station, to; NULL: none). */
static char *answer_dec(const char *meas, const char *col, const int64_t *ts, const double *v,
                        size_t n, const char *dec)
{
    struct ct_buf b;

    ct_buf_init(&b, 1u << 20);
    ct_buf_printf(&b,
                  "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"%s\",\"columns\":["
                  "\"time\",\"%s\"],\"values\":[",
                  meas, col);
    for (size_t i = 0; i < n; i++) {
        ct_buf_printf(&b, "%s[%lld,%.17g]", i ? "," : "", (long long)ts[i], v[i]);
    }
    if (dec == NULL) {
        ct_buf_adds(&b, "]}]},{\"statement_id\":1}]}");
    } else {
        ct_buf_printf(&b,
                      "]}]},{\"statement_id\":1,\"series\":[{\"name\":\"console_decision\","
                      "\"columns\":[\"time\",\"action\",\"from\",\"param\",\"revoked\","
                      "\"station\",\"to\"],\"values\":[%s]}]}]}",
                      dec);
    }
    return b.p;
}

static char *answer(const char *meas, const char *col, const int64_t *ts, const double *v, size_t n)
{
    return answer_dec(meas, col, ts, v, n, NULL);
}

/* The points of 'd' for the hour T07 from 'ans', with 'r' (may be NULL) marked invalid. */
static void events_of(const struct ct_device *d, const char *ans, const struct col_console_range *r,
                      struct ct_buf *lp)
{
    struct col_console_recompute_in in = {.dev = d,
                                          .instance = "col-a",
                                          .first_ms = T07,
                                          .last_ms = T07,
                                          .ranges = r,
                                          .nranges = r != NULL ? 1 : 0};

    ct_buf_init(lp, 1u << 20);
    assert_int_equal(col_console_events_lp(&in, ans, strlen(ans), lp), 0);
    printf("%.*s", (int)lp->len, lp->p);
}

/* A gauge's tips every 5 minutes from 06:55: 10, 11, 12 at 07:05, then a burst of 500 tips at
 * 07:10 (a fault), 513 and 514. */
static const int64_t rain_ts[] = {T07 - 5 * M,  T07,          T07 + 5 * M,
                                  T07 + 10 * M, T07 + 15 * M, T07 + 20 * M};
static const double rain_tips[] = {10, 11, 12, 512, 513, 514};

static void test_console_recompute_events_rain(void **state)
{
    struct ct_device d = dev(CT_KIND_RAIN, "hn-rain-0001");
    struct col_console_range burst = {"tips", T07 + 10 * M, T07 + 10 * M};
    char *ans = answer("rain", "tips", rain_ts, rain_tips, 6);
    struct ct_buf lp;

    (void)state;
    /* Without the burst: 0.2 mm a tip, one tip at 07:00, 07:05, 07:15 and 07:20; the burst's
     * reading adds nothing and its 500 tips are not carried into 07:15's. Derive's series and
     * time (the reading's), plus validated=true. The reading at 06:55 is before the hour: not
     * written. */
    events_of(&d, ans, &burst, &lp);
    assert_null(strstr(lp.p, "1795416900000\n"));
    assert_non_null(strstr(lp.p, "rain_1h,device=hn-rain-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ "
                                 "Bông mm=0.4,intense=false,mm_24h=0.4,validated=true "
                                 "1795417800000\n"));
    assert_non_null(strstr(lp.p, "rain_1h,device=hn-rain-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ "
                                 "Bông mm=0.8,intense=false,mm_24h=0.8,validated=true "
                                 "1795418400000\n"));
    /* The reading at 07:05 is the first past 07:00: the 24 hours ending at 07:00 (one tip at
     * 07:00; 06:55's is the first reading, tips only, no amount), once. */
    assert_non_null(strstr(lp.p, "rain_24h,device=hn-rain-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ "
                                 "Bông mm=0.2,validated=true 1795417200000\n"));
    assert_null(strstr(strstr(lp.p, "rain_24h,") + 1, "rain_24h,"));
    ct_buf_free(&lp);
    /* The same readings with nothing marked invalid: the burst counts (100.8 mm in the hour,
     * intense), as derive wrote it. */
    events_of(&d, ans, NULL, &lp);
    assert_non_null(
        strstr(lp.p, "mm=100.8,intense=true,mm_24h=100.8,validated=true 1795418400000\n"));
    ct_buf_free(&lp);
    free(ans);
}

/* The amounts the live sums' correction takes out (col_console_rain_amounts): the burst's 500 tips
 * (100 mm) at 07:10 alone; none for a reading in a range already taken out, or before since_ms,
 * or for a range of another parameter; the cap is kept. */
static void test_console_rain_amounts(void **state)
{
    struct ct_device d = dev(CT_KIND_RAIN, "hn-rain-0001");
    struct col_console_range burst = {"tips", T07 + 5 * M, T07 + 10 * M};
    struct col_console_range other = {"mm", T07 + 10 * M, T07 + 10 * M};
    struct col_console_range depth = {"depth", T07, T07 + 20 * M};
    struct col_console_recompute_in in = {.dev = &d, .first_ms = T07, .last_ms = T07};
    char *ans = answer("rain", "tips", rain_ts, rain_tips, 6);
    int64_t ts[4];
    double mm[4];
    size_t n;

    (void)state;
    assert_int_equal(
        col_console_rain_amounts(&in, ans, strlen(ans), &burst, NULL, 0, T07, ts, mm, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ts[0], T07 + 5 * M);
    assert_true(mm[0] > 0.2 - 1e-9 && mm[0] < 0.2 + 1e-9);
    assert_int_equal(ts[1], T07 + 10 * M);
    assert_true(mm[1] > 100.0 - 1e-9 && mm[1] < 100.0 + 1e-9);
    /* The reading at 07:10 lies in a range taken out already; 07:05 is not after since_ms. */
    assert_int_equal(col_console_rain_amounts(&in, ans, strlen(ans), &burst, &other, 1, T07 + 5 * M,
                                              ts, mm, 4, &n),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(
        col_console_rain_amounts(&in, ans, strlen(ans), &depth, NULL, 0, T07, ts, mm, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        col_console_rain_amounts(&in, ans, strlen(ans), &burst, NULL, 0, T07, ts, mm, 1, &n),
        CT_E_FULL);
    assert_int_equal(n, 1);
    assert_int_equal(col_console_rain_amounts(&in, "{}", 2, &burst, NULL, 0, T07, ts, mm, 4, &n),
                     CT_E_PARSE);
    free(ans);
}

/* A flood sensor every minute from 07:00: 5, 5, a spike of 80 at 07:02, 5, 6; and 5 at 07:40. */
static const int64_t flood_ts[] = {T07,         T07 + M,     T07 + 2 * M,
                                   T07 + 3 * M, T07 + 4 * M, T07 + 40 * M};
static const double flood_depth[] = {5, 5, 80, 5, 6, 5};

static void test_console_recompute_events_flood(void **state)
{
    struct ct_device d = dev(CT_KIND_FLOOD, "hn-flood-0001");
    struct col_console_range spike = {"depth", T07 + 2 * M, T07 + 2 * M};
    char *ans = answer("flood", "depth", flood_ts, flood_depth, 6);
    struct ct_buf lp;

    (void)state;
    events_of(&d, ans, &spike, &lp);
    /* The spike's point: validated=false alone, so the public layer withholds it. */
    assert_non_null(strstr(lp.p, "flood_level,device=hn-flood-0001,district=Hoàn\\ Kiếm,ward="
                                 "Hàng\\ Bông validated=false 1795417320000\n"));
    /* The next points' rate of rise from the valid depths only: 5 -> 5 over 3 minutes is 0, then
     * 5 -> 6 over 4 minutes is 15 cm/h (not the spike's). */
    assert_non_null(strstr(lp.p, "rise_cm_h=0,validated=true 1795417380000\n"));
    assert_non_null(strstr(lp.p, "rise_cm_h=15,validated=true 1795417440000\n"));
    /* The valid points before the spike and past its rate window (07:40) stay as derive wrote
     * them. */
    assert_null(strstr(lp.p, " 1795417200000\n"));
    assert_null(strstr(lp.p, " 1795417260000\n"));
    assert_null(strstr(lp.p, " 1795419600000\n"));
    ct_buf_free(&lp);
    free(ans);
}

/* The flood spike's range withdrawn (the store's decision row revoked = true; the caller's job
 * has no range left): the spike's point is shown again (validated=true, its rise from every
 * depth), and so is a lot's count; a range still marked beside a withdrawn one keeps its point
 * withheld. */
static void test_console_recompute_events_withdrawn(void **state)
{
    struct ct_device d = dev(CT_KIND_FLOOD, "hn-flood-0001");
    static const char dec[] =
        "[1795428000000,\"invalid\",1795417320000,\"depth\",true,\"hn-flood-0001\","
        "1795417320000]";
    char *ans = answer_dec("flood", "depth", flood_ts, flood_depth, 6, dec);
    struct ct_buf lp;

    (void)state;
    events_of(&d, ans, NULL, &lp);
    /* 5 -> 80 over 2 minutes: 2250 cm/h, as derive wrote it. */
    assert_string_equal(lp.p, "flood_level,device=hn-flood-0001,district=Hoàn\\ Kiếm,ward=Hàng\\ "
                              "Bông rise_cm_h=2250,validated=true 1795417320000\n");
    ct_buf_free(&lp);
    free(ans);
    /* The same row not withdrawn: withheld (validated=false), the next rises from valid depths. */
    static const char active[] =
        "[1795428000000,\"invalid\",1795417320000,\"depth\",null,\"hn-flood-0001\","
        "1795417320000]";
    ans = answer_dec("flood", "depth", flood_ts, flood_depth, 6, active);
    events_of(&d, ans, NULL, &lp);
    assert_non_null(strstr(lp.p, "validated=false 1795417320000\n"));
    ct_buf_free(&lp);
    free(ans);
    /* A lot's count of a withdrawn range. */
    struct ct_device lot = dev(CT_KIND_PARKING, "hn-park-0001");
    static const int64_t ts[] = {T07, T07 + 5 * M};
    static const double occ[] = {40, 400};
    static const char lot_dec[] =
        "[1795428000000,\"invalid\",1795417500000,\"occupied\",true,\"hn-park-0001\","
        "1795417500000]";
    ans = answer_dec("parking", "occupied", ts, occ, 2, lot_dec);
    events_of(&lot, ans, NULL, &lp);
    assert_string_equal(lp.p, "parking_lot,district=Hoàn\\ Kiếm,lot=hn-park-0001,ward=Hàng\\ "
                              "Bông validated=true 1795417500000\n");
    ct_buf_free(&lp);
    free(ans);
}

static void test_console_recompute_events_lot(void **state)
{
    struct ct_device d = dev(CT_KIND_PARKING, "hn-park-0001");
    static const int64_t ts[] = {T07, T07 + 5 * M, T07 + 10 * M};
    static const double occ[] = {40, 400, 41};
    struct col_console_range r = {"occupied", T07 + 5 * M, T07 + 5 * M};
    char *ans = answer("parking", "occupied", ts, occ, 3);
    struct ct_buf lp;

    (void)state;
    events_of(&d, ans, &r, &lp);
    /* The lot's point (derive's tags district, lot, ward) at the invalid count only. */
    assert_string_equal(lp.p, "parking_lot,district=Hoàn\\ Kiếm,lot=hn-park-0001,ward=Hàng\\ "
                              "Bông validated=false 1795417500000\n");
    ct_buf_free(&lp);
    /* A bay sensor: its lot is not rewritten (docs/console.md). */
    d.park_mode = CT_PARK_BAY;
    events_of(&d, ans, &r, &lp);
    assert_int_equal(lp.len, 0);
    ct_buf_free(&lp);
    free(ans);
}

static void test_console_recompute_events_query(void **state)
{
    struct ct_device d = dev(CT_KIND_RAIN, "hn-rain-0001");
    struct col_console_recompute_in in = {
        .dev = &d, .instance = "col-a", .first_ms = T07, .last_ms = T07 + H};
    struct ct_buf ql;

    (void)state;
    ct_buf_init(&ql, 8192);
    /* Rain reads its 24-h ring and the reading before it: 25 hours before the first hour. */
    assert_int_equal(col_console_events_ql(&in, &ql), 0);
    assert_string_equal(ql.p, "SELECT * FROM \"rain\" WHERE device='hn-rain-0001' AND time >= "
                              "1795327200000ms AND time < 1795424400000ms; SELECT * FROM "
                              "console_decision WHERE \"action\"='invalid' AND "
                              "station='hn-rain-0001'");
    ct_buf_free(&ql);
    /* Air is not an events kind. */
    d.kind = CT_KIND_AIR;
    ct_buf_init(&ql, 8192);
    assert_int_equal(col_console_events_ql(&in, &ql), CT_E_INVAL);
    assert_int_equal(col_console_events_lp(&in, "{}", 2, &ql), CT_E_INVAL);
    d.kind = CT_KIND_RAIN;
    assert_int_equal(col_console_events_lp(&in, "nope", 4, &ql), CT_E_PARSE);
    ct_buf_free(&ql);
}

/* The alerts view: a flood alert at a depth marked invalid, a flood alert whose range was
 * withdrawn, an aqi alert of an hour recomputed lower (and one recomputed higher), an exceeding
 * alert after a range and a stale alert; marked (over_invalid) or not, none removed, the extra
 * statements left out. */
static void test_console_alerts_mark(void **state)
{
    static const char answer_text[] =
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"alert\",\"columns\":[\"time\","
        "\"device\",\"district\",\"label\",\"level\",\"type\",\"value\"],\"values\":["
        "[1795417320000,\"hn-flood-0001\",\"Đống Đa\",\"Nguy hiểm\",4,\"flood\",80],"
        "[1795417320000,\"hn-flood-0002\",\"Đống Đa\",\"Nguy hiểm\",4,\"flood\",70],"
        "[1795420800000,\"hn-air-0001\",\"Hoàn Kiếm\",\"Xấu\",4,\"aqi\",163],"
        "[1795420800000,\"hn-air-0002\",\"Ba Đình\",\"Xấu\",4,\"aqi\",170],"
        "[1795424400000,\"hn-water-0001\",\"Tây Hồ\",\"nh4\",1,\"exceeding\",0.5],"
        "[1795424400000,\"hn-rain-0001\",\"Tây Hồ\",\"Trạm mất tín hiệu\",1,\"stale\",null]]}]},"
        "{\"statement_id\":1},"
        "{\"statement_id\":2,\"series\":[{\"name\":\"console_decision\",\"columns\":[\"time\","
        "\"station\",\"param\",\"from\",\"to\",\"revoked\"],\"values\":["
        "[1795428000000,\"hn-flood-0001\",\"depth\",1795417200000,1795417400000,null],"
        "[1795428000000,\"hn-flood-0002\",\"depth\",1795417200000,1795417400000,true],"
        "[1795428000000,\"hn-water-0001\",\"nh4\",1795420000000,1795420060000,null],"
        "[1795428000000,\"hn-rain-0001\",\"tips\",1795420000000,1795424400000,null]]}]},"
        "{\"statement_id\":3,\"series\":[{\"name\":\"air_aqi\",\"columns\":[\"time\",\"device\","
        "\"aqi_vn\",\"validated\"],\"values\":[[1795420800000,\"hn-air-0001\",82,true],"
        "[1795420800000,\"hn-air-0002\",171,true]]}]}]}";
    static const bool want[6] = {true, false, true, false, true, false};
    char *out = NULL;

    (void)state;
    assert_int_equal(col_console_alerts_mark(answer_text, strlen(answer_text), &out), 0);
    cJSON *root = cJSON_Parse(out);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    assert_int_equal(cJSON_GetArraySize(res), 2);
    const cJSON *series = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(res, 0), "series"), 0);
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(series, "columns");
    assert_string_equal(cJSON_GetArrayItem(cols, 7)->valuestring, "over_invalid");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(series, "values");
    assert_int_equal(cJSON_GetArraySize(rows), 6);
    for (int i = 0; i < 6; i++) {
        const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, i), 7);
        assert_true(cJSON_IsBool(v));
        assert_int_equal(cJSON_IsTrue(v), want[i]);
    }
    cJSON_Delete(root);
    free(out);
    assert_int_equal(col_console_alerts_mark("nope", 4, &out), CT_E_PARSE);
    assert_null(out);
}

int main(void)

{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_recompute_events_rain),
        cmocka_unit_test(test_console_rain_amounts),
        cmocka_unit_test(test_console_recompute_events_flood),
        cmocka_unit_test(test_console_recompute_events_lot),
        cmocka_unit_test(test_console_recompute_events_withdrawn),
        cmocka_unit_test(test_console_recompute_events_query),
        cmocka_unit_test(test_console_alerts_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

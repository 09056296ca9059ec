/* test_layers_history_invalid: the 24-hour history of the map's popups leaves out the values
 * whose data meets a range staff marked invalid (the air index unless it was recomputed from the
 * validated data; a flood station's hour of raw depths; a rain gauge's hour unless its sums were
 * recomputed), and its statements read the ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ct/err.h"
#include "layers_fixture.h"

#define H 3600000LL

static cJSON *history(struct fx *fx, enum ct_kind kind, const char *resp)
{
    const char *r[1] = {resp};
    size_t rl[1] = {strlen(resp)};
    char *text = NULL;

    fx->src.resp = r;
    fx->src.resp_len = rl;
    fx->src.nresp = 1;
    assert_int_equal(col_layers_history(&fx->src, kind, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    fx->src.nresp = 0;
    return doc;
}

/* The times of station 'id''s values. */
static size_t times(const cJSON *doc, const char *id, int64_t *t, size_t cap)
{
    const cJSON *a =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "series"), id);
    const cJSON *p;
    size_t n = 0;

    cJSON_ArrayForEach(p, a)
    {
        if (n < cap) {
            t[n] = (int64_t)cJSON_GetNumberValue(cJSON_GetArrayItem(p, 0));
        }
        n++;
    }
    return n;
}

/* Air: indices at 08:00, 09:00, 10:00; a PM2.5 range at 08:30 is read by the 09:00 and 10:00
 * indices (NowCast, 12 hours); 09:00 was recomputed (validated), 10:00 not: dropped. The
 * other station (no range) keeps all. */
static void test_air(void)
{
    static const char resp[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0001\"},\"columns\":[\"time\","
        "\"v\",\"validated\"],\"values\":[[1795420800000,61,null],[1795424400000,82,true],"
        "[1795428000000,150,null]]},"
        "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0002\"},\"columns\":[\"time\","
        "\"v\",\"validated\"],\"values\":[[1795424400000,40,null],[1795428000000,41,null]]}]},"
        "{\"statement_id\":1,\"series\":[{\"name\":\"console_decision\",\"tags\":{\"param\":"
        "\"pm25\",\"station\":\"hn-air-0001\"},\"columns\":[\"time\",\"from\",\"to\"],"
        "\"values\":[[1795427000000,1795422600000,1795422660000]]}]}]}";
    struct fx fx;
    int64_t t[8];

    fx_setup(&fx, CT_KIND_AIR);
    cJSON *doc = history(&fx, CT_KIND_AIR, resp);
    assert_int_equal(times(doc, "hn-air-0001", t, 8), 2);
    assert_true(t[0] == 1795420800000LL && t[1] == 1795424400000LL);
    assert_int_equal(times(doc, "hn-air-0002", t, 8), 2);
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* Flood: the hourly max depth of 08:00 holds a depth range marked invalid (08:10 .. 08:20):
 * dropped; 07:00 and 09:00 stay. */
static void test_flood(void)
{
    static const char resp[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"flood\",\"tags\":{\"device\":\"hn-flood-0001\"},\"columns\":[\"time\","
        "\"v\"],\"values\":[[1795417200000,3],[1795420800000,90],[1795424400000,4]]}]},"
        "{\"statement_id\":1,\"series\":[{\"name\":\"console_decision\",\"tags\":{\"param\":"
        "\"depth\",\"station\":\"hn-flood-0001\"},\"columns\":[\"time\",\"from\",\"to\"],"
        "\"values\":[[1795427000000,1795421400000,1795422000000]]}]}]}";
    struct fx fx;
    int64_t t[8];

    fx_setup(&fx, CT_KIND_FLOOD);
    cJSON *doc = history(&fx, CT_KIND_FLOOD, resp);
    assert_int_equal(times(doc, "hn-flood-0001", t, 8), 2);
    assert_true(t[0] == 1795417200000LL && t[1] == 1795424400000LL);
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* Rain: the hourly 1-h sums of 07:00, 08:00 and 09:00 with a tips range at 08:10, read by the
 * 08:00 bucket (its points' hour reaches back to 07:00) and the 09:00 one; 08:00 was recomputed
 * (validated), 09:00 not: dropped. */
static void test_rain(void)
{
    static const char resp[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"rain_1h\",\"tags\":{\"device\":\"hn-rain-0001\"},\"columns\":[\"time\","
        "\"v\",\"validated\"],\"values\":[[1795417200000,0.4,null],[1795420800000,0.6,true],"
        "[1795424400000,100.6,null]]}]},"
        "{\"statement_id\":1,\"series\":[{\"name\":\"console_decision\",\"tags\":{\"param\":"
        "\"tips\",\"station\":\"hn-rain-0001\"},\"columns\":[\"time\",\"from\",\"to\"],"
        "\"values\":[[1795427000000,1795421400000,1795421400000]]}]}]}";
    struct fx fx;
    int64_t t[8];

    fx_setup(&fx, CT_KIND_RAIN);
    cJSON *doc = history(&fx, CT_KIND_RAIN, resp);
    assert_int_equal(times(doc, "hn-rain-0001", t, 8), 2);
    assert_true(t[0] == 1795417200000LL && t[1] == 1795420800000LL);
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* Flood again, the range withdrawn in the console (revoked = true): the hour of 08:00 is
 * shown again (test_layers_revoked). */
static void test_flood_revoked(void)
{
    static const char resp[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"flood\",\"tags\":{\"device\":\"hn-flood-0001\"},\"columns\":[\"time\","
        "\"v\"],\"values\":[[1795417200000,3],[1795420800000,90],[1795424400000,4]]}]},"
        "{\"statement_id\":1,\"series\":[{\"name\":\"console_decision\",\"tags\":{\"param\":"
        "\"depth\",\"station\":\"hn-flood-0001\"},\"columns\":[\"time\",\"from\",\"to\","
        "\"revoked\"],\"values\":[[1795427000000,1795421400000,1795422000000,true]]}]}]}";
    struct fx fx;
    int64_t t[8];

    fx_setup(&fx, CT_KIND_FLOOD);
    cJSON *doc = history(&fx, CT_KIND_FLOOD, resp);
    assert_int_equal(times(doc, "hn-flood-0001", t, 8), 3);
    assert_true(t[1] == 1795420800000LL);
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* The statements: the history's aggregate (air: and whether the hour was recomputed) and the
 * ranges marked invalid in the last 24 hours. */
static void test_sels(void)
{
    struct col_storeq_sel sel[COL_STOREQ_SEL_MAX];
    char q[1024];
    size_t n = 0;

    assert_int_equal(col_layers_history_sels(CT_KIND_AIR, sel, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(col_storeq_influxql(sel, n, q, sizeof(q)), 0);
    assert_string_equal(q, "SELECT max(\"aqi_vn\") AS \"v\", last(\"validated\") AS \"validated\" "
                           "FROM \"air_aqi\" WHERE time > now() - 24h GROUP BY time(1h), "
                           "\"device\" fill(none); SELECT \"from\", \"to\", \"revoked\" FROM "
                           "\"console_decision\" WHERE \"action\" = 'invalid' AND time > now() - "
                           "24h GROUP BY \"station\", \"param\"");
    assert_int_equal(col_layers_history_sels(CT_KIND_AIR, sel, NULL), CT_E_INVAL);
    assert_int_equal(col_layers_history_sels(CT_KIND_RAIN, sel, &n), 0);
    assert_int_equal(col_storeq_influxql(sel, 1, q, sizeof(q)), 0);
    assert_string_equal(q, "SELECT max(\"mm\") AS \"v\", last(\"validated\") AS \"validated\" "
                           "FROM \"rain_1h\" WHERE time > now() - 24h GROUP BY time(1h), "
                           "\"device\" fill(none)");
    assert_int_equal(col_layers_history_sels(CT_KIND_FLOOD, sel, &n), 0);
    assert_int_equal(col_storeq_influxql(sel, 1, q, sizeof(q)), 0);
    assert_string_equal(q, "SELECT max(\"depth\") AS \"v\" FROM \"flood\" WHERE time > now() - "
                           "24h GROUP BY time(1h), \"device\" fill(none)");
}

static void test_layers_history_invalid(void **state)
{
    (void)state;
    test_air();
    test_flood();
    test_rain();
    test_flood_revoked();
    test_sels();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_history_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

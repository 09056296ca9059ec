/* test_storeq.c - the selections as InfluxQL and as a VictoriaMetrics export, and export answers
 * reduced to the InfluxDB 1.x answer the callers parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "col_storeq.h"
#include "ct/err.h"

#define NOW ((int64_t)1796470000000) /* 2026-12-05T11:26:40Z */

static const struct col_storeq_sel newest[] = {
    {.meas = "air", .window_s = 7200, .window_unit = 's', .tags = {"device"}},
    {.meas = "air_aqi", .window_s = 7200, .window_unit = 's', .tags = {"device"}},
};
static const struct col_storeq_agg max_v[] = {{"max", "free", "v"}, {"count", "free", "n"}};
static const struct col_storeq_sel hourly = {.meas = "parking_lot",
                                             .aggs = max_v,
                                             .naggs = 2,
                                             .window_s = 24 * 3600,
                                             .window_unit = 'h',
                                             .hourly = true,
                                             .tags = {"device", "lot"}};

/* Reduces 'body' for 'sel' and returns the parsed answer (cmocka fails on error). */
static cJSON *reduce(const struct col_storeq_sel *sel, size_t n, const char *body)
{
    char *out = NULL;
    assert_int_equal(col_storeq_vm_answer(sel, n, NOW, body, strlen(body), &out), 0);
    cJSON *root = cJSON_Parse(out);
    assert_non_null(root);
    free(out);
    return root;
}

static const cJSON *series(const cJSON *root, int result, int i)
{
    const cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "results"), result);
    return cJSON_GetArrayItem(cJSON_GetObjectItem(res, "series"), i);
}

static void assert_json(const cJSON *item, const char *expected)
{
    char *s = cJSON_PrintUnformatted(item);
    assert_non_null(s);
    assert_string_equal(s, expected);
    free(s);
}

/* Asserts the parking_lot series of lot 'lot' with its rows 'values' (JSON). */
static void assert_lot(const cJSON *s, const char *lot, const char *values)
{
    char want[512];
    snprintf(want, sizeof(want),
             "{\"name\":\"parking_lot\",\"tags\":{\"device\":\"p1\",\"lot\":\"%s\"},"
             "\"columns\":[\"time\",\"v\",\"n\"],\"values\":%s}",
             lot, values);
    assert_json(s, want);
}

static void test_text(void **state)
{
    char q[1024];

    (void)state;
    assert_int_equal(col_storeq_influxql(&hourly, 1, q, sizeof(q)), 0);
    assert_string_equal(q, "SELECT max(\"free\") AS \"v\", count(\"free\") AS \"n\" FROM "
                           "\"parking_lot\" WHERE time > now() - 24h GROUP BY time(1h), "
                           "\"device\", \"lot\" fill(none)");
    /* Newest rows: one MetricsQL instant query (last value and its time of each series). */
    assert_int_equal(col_storeq_vm_request(newest, 2, NOW, q, sizeof(q)), 0);
    assert_true(strncmp(q,
                        "/api/v1/query?query=union%28label_set%28last_over_time%28%7B__name__"
                        "%3D~%22air_.%2B%22%7D%5B7200s%5D%29%20keep_metric_names%2C%20%22__q"
                        "%22%2C%20%22v%22%29%2C%20label_set%28tlast_over_time%28",
                        160) == 0);
    assert_non_null(strstr(q, "%22air_aqi_.%2B%22"));
    assert_non_null(strstr(q, "&time=1796470000.000"));
    /* Aggregates: the raw samples of their fields. */
    /* Hourly aggregates: one range query of rollups over [S, S + 1 h), S from the hour of
     * now - 24 h to the current hour. */
    assert_int_equal(col_storeq_vm_request(&hourly, 1, NOW, q, sizeof(q)), 0);
    assert_true(strncmp(q,
                        "/api/v1/query_range?query=union%28label_set%28max_over_time%28%7B"
                        "__name__%3D%22parking_lot_free%22%7D%5B1h%5D%20offset%201ms%29%20"
                        "keep_metric_names%2C%20%22__a%22%2C%20%220%22%29",
                        150) == 0);
    assert_non_null(strstr(q, "count_over_time"));
    assert_non_null(strstr(q, "&start=1796385600&end=1796472000&step=3600&nocache=1"));
    assert_int_equal(col_storeq_vm_request(&hourly, 1, NOW, q, 40), CT_E_TOOBIG);
    struct col_storeq_sel bad = hourly;
    bad.window_unit = 'x';
    assert_int_equal(col_storeq_influxql(&bad, 1, q, sizeof(q)), CT_E_INVAL);
    bad = hourly;
    bad.aggs = NULL;
    assert_int_equal(col_storeq_vm_request(&bad, 1, NOW, q, sizeof(q)), CT_E_INVAL);
}

/* SELECT * ... ORDER BY time DESC LIMIT 1 per device: the fields stamped with the newest time
 * (null for the others), the labels not grouped by as columns, never "db"; a metric of another
 * measurement sharing the prefix (air_agg_1h_..., air_aqi_... for "air") is not a field. */
static void test_newest_row(void **state)
{
    const char *body =
        "{\"metric\":{\"__name__\":\"air_pm25\",\"db\":\"citytel\",\"device\":\"a1\","
        "\"ward\":\"W\"},\"values\":[10,11,99],\"timestamps\":[1796465000000,1796466000000,"
        "1796460000000]}\n"
        "{\"metric\":{\"__name__\":\"air_t\",\"device\":\"a1\",\"ward\":\"W\"},\"values\":[29],"
        "\"timestamps\":[1796466000000]}\n"
        "{\"metric\":{\"__name__\":\"air_agg_1h_pm25_sum\",\"device\":\"a1\"},\"values\":[5],"
        "\"timestamps\":[1796469000000]}\n"
        "{\"metric\":{\"__name__\":\"air_aqi_aqi_vn\",\"device\":\"a1\"},\"values\":[80],"
        "\"timestamps\":[1796466000000]}\n"
        "{\"metric\":{\"__name__\":\"air_aqi_aqi_us\",\"device\":\"a1\"},\"values\":[70],"
        "\"timestamps\":[1796465000000]}\n"
        "not json\n"
        "{\"metric\":{\"__name__\":\"water_ph\",\"device\":\"w1\"},\"values\":[7],"
        "\"timestamps\":[1796466000000]}\n";
    cJSON *root = reduce(newest, 2, body);

    (void)state;
    assert_json(series(root, 0, 0), "{\"name\":\"air\",\"tags\":{\"device\":\"a1\"},\"columns\":["
                                    "\"time\",\"pm25\",\"t\",\"ward\"],\"values\":[["
                                    "1796466000000,11,29,\"W\"]]}");
    assert_null(series(root, 0, 1));
    assert_json(series(root, 1, 0), "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"a1\"},"
                                    "\"columns\":[\"time\",\"aqi_vn\",\"aqi_us\"],\"values\":[["
                                    "1796466000000,80,null]]}");
    cJSON_Delete(root);
    /* The same rows from the instant query's answer (pairs of "__q" v and t; a duplicate
     * series, as the air and air_aqi selectors both match air_aqi_*, is taken once). */
    const char *qa =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
        "{\"metric\":{\"__name__\":\"air_pm25\",\"__q\":\"t\",\"db\":\"citytel\",\"device\":"
        "\"a1\",\"ward\":\"W\"},\"value\":[1796470000,\"1796466000\"]},"
        "{\"metric\":{\"__name__\":\"air_pm25\",\"__q\":\"v\",\"db\":\"citytel\",\"device\":"
        "\"a1\",\"ward\":\"W\"},\"value\":[1796470000,\"11\"]},"
        "{\"metric\":{\"__name__\":\"air_t\",\"__q\":\"v\",\"device\":\"a1\",\"ward\":\"W\"},"
        "\"value\":[1796470000,\"29\"]},"
        "{\"metric\":{\"__name__\":\"air_t\",\"__q\":\"t\",\"device\":\"a1\",\"ward\":\"W\"},"
        "\"value\":[1796470000,\"1796466000.000\"]},"
        "{\"metric\":{\"__name__\":\"air_aqi_aqi_vn\",\"__q\":\"v\",\"device\":\"a1\"},"
        "\"value\":[1796470000,\"80\"]},"
        "{\"metric\":{\"__name__\":\"air_aqi_aqi_vn\",\"__q\":\"v\",\"device\":\"a1\"},"
        "\"value\":[1796470000,\"80\"]},"
        "{\"metric\":{\"__name__\":\"air_aqi_aqi_vn\",\"__q\":\"t\",\"device\":\"a1\"},"
        "\"value\":[1796470000,\"1796466000\"]},"
        "{\"metric\":{\"__name__\":\"air_aqi_aqi_us\",\"__q\":\"v\",\"device\":\"a1\"},"
        "\"value\":[1796470000,\"70\"]},"
        "{\"metric\":{\"__name__\":\"air_aqi_aqi_us\",\"__q\":\"t\",\"device\":\"a1\"},"
        "\"value\":[1796470000,\"1796465000\"]}]}}";
    root = reduce(newest, 2, qa);
    assert_json(series(root, 0, 0), "{\"name\":\"air\",\"tags\":{\"device\":\"a1\"},\"columns\":["
                                    "\"time\",\"pm25\",\"t\",\"ward\"],\"values\":[["
                                    "1796466000000,11,29,\"W\"]]}");
    assert_json(series(root, 1, 0), "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"a1\"},"
                                    "\"columns\":[\"time\",\"aqi_us\",\"aqi_vn\"],\"values\":[["
                                    "1796466000000,null,80]]}");
    cJSON_Delete(root);
    /* Nothing stored: one empty result per statement, as InfluxDB answers. */
    root = reduce(newest, 2, "");
    assert_json(root, "{\"results\":[{\"statement_id\":0},{\"statement_id\":1}]}");
    cJSON_Delete(root);
}

/* GROUP BY time(1h), "device", "lot" fill(none): one row per hour with samples, keyed by the
 * hour's start; samples outside (now - 24 h, now] left out. */
static void test_hourly(void **state)
{
    const char *body = "{\"metric\":{\"__name__\":\"parking_lot_free\",\"device\":\"p1\","
                       "\"lot\":\"L1\"},\"values\":[1,9,4,6,3,2],\"timestamps\":["
                       "1796380000000,1796461200000,1796463000000,1796464799999,"
                       "1796464800000,1796480000000]}\n"
                       "{\"metric\":{\"__name__\":\"parking_lot_free\",\"device\":\"p1\","
                       "\"lot\":\"L2\"},\"values\":[5],\"timestamps\":[1796469000000]}\n";
    cJSON *root = reduce(&hourly, 1, body);

    (void)state;
    assert_lot(series(root, 0, 0), "L1", "[[1796461200000,9,3],[1796464800000,3,1]]");
    assert_lot(series(root, 0, 1), "L2", "[[1796468400000,5,1]]");
    cJSON_Delete(root);
}

/* The range query's answer: each value at T is the hour [T - 1 h, T); two series of one group
 * (another label differs) add their counts and take the larger maximum. */
static void test_hourly_rollups(void **state)
{
    const char *body =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
        "{\"metric\":{\"__name__\":\"parking_lot_free\",\"__a\":\"0\",\"device\":\"p1\","
        "\"lot\":\"L1\",\"ward\":\"A\"},\"values\":[[1796464800,\"9\"],[1796468400,\"3\"]]},"
        "{\"metric\":{\"__name__\":\"parking_lot_free\",\"__a\":\"1\",\"device\":\"p1\","
        "\"lot\":\"L1\",\"ward\":\"A\"},\"values\":[[1796464800,\"3\"],[1796468400,\"1\"]]},"
        "{\"metric\":{\"__name__\":\"parking_lot_free\",\"__a\":\"0\",\"device\":\"p1\","
        "\"lot\":\"L1\",\"ward\":\"B\"},\"values\":[[1796468400,\"7\"]]},"
        "{\"metric\":{\"__name__\":\"parking_lot_free\",\"__a\":\"1\",\"device\":\"p1\","
        "\"lot\":\"L1\",\"ward\":\"B\"},\"values\":[[1796468400,\"2\"]]},"
        "{\"metric\":{\"__name__\":\"parking_lot_free\",\"__a\":\"9\",\"device\":\"p1\"},"
        "\"values\":[[1796468400,\"2\"]]}]}}";
    cJSON *root = reduce(&hourly, 1, body);

    (void)state;
    assert_lot(series(root, 0, 0), "L1", "[[1796461200000,9,3],[1796464800000,7,3]]");
    assert_null(series(root, 0, 1));
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_newest_row),
        cmocka_unit_test(test_hourly),
        cmocka_unit_test(test_hourly_rollups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_layers_validated: the public air layer shows an index whose data holds a range staff
 * marked invalid only from the point the console recomputed from the validated data
 * (air_aqi validated=true), says so ("validated": true), and withholds it otherwise; the same
 * for the rain sums, flood levels and lot counts (console_recompute_events.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "layers_fixture.h"

/* FX_NOW_MS is 10:00Z. hn-air-0001: a raw reading at 09:55, its hourly index at 09:00 recomputed
 * (validated true), a PM2.5 range marked invalid at 08:36 (inside the index's 12 hours).
 * hn-air-0002: its index at 07:00 not recomputed yet, a range at 05:00. hn-air-0004: recomputed
 * and found without an index (validated false), a range at 04:00. */
static const char resp[] =
    "{\"results\":[{\"statement_id\":0,\"series\":["
    "{\"name\":\"air\",\"tags\":{\"device\":\"hn-air-0001\"},\"columns\":[\"time\",\"pm10\","
    "\"pm25\"],\"values\":[[1795427700000,61.7,41.2]]},"
    "{\"name\":\"air\",\"tags\":{\"device\":\"hn-air-0002\"},\"columns\":[\"time\",\"pm25\"],"
    "\"values\":[[1795417200000,18.0]]},"
    "{\"name\":\"air\",\"tags\":{\"device\":\"hn-air-0004\"},\"columns\":[\"time\",\"pm25\"],"
    "\"values\":[[1795417200000,18.0]]}"
    "]},{\"statement_id\":1,\"series\":["
    "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0001\"},"
    "\"columns\":[\"time\",\"aqi_vn\",\"dominant\",\"validated\"],"
    "\"values\":[[1795424400000,82,\"pm25\",true]]},"
    "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0002\"},"
    "\"columns\":[\"time\",\"aqi_vn\",\"dominant\",\"validated\"],"
    "\"values\":[[1795417200000,163,\"pm25\",null]]},"
    "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0004\"},"
    "\"columns\":[\"time\",\"aqi_vn\",\"validated\"],"
    "\"values\":[[1795417200000,170,false]]}"
    "]},{\"statement_id\":2,\"series\":["
    "{\"name\":\"console_decision\",\"tags\":{\"param\":\"pm25\",\"station\":\"hn-air-0001\"},"
    "\"columns\":[\"time\",\"from\",\"to\"],"
    "\"values\":[[1795427000000,1795422960000,1795423020000]]},"
    "{\"name\":\"console_decision\",\"tags\":{\"param\":\"pm25\",\"station\":\"hn-air-0002\"},"
    "\"columns\":[\"time\",\"from\",\"to\"],"
    "\"values\":[[1795427000000,1795410000000,1795410060000]]},"
    "{\"name\":\"console_decision\",\"tags\":{\"param\":\"pm10\",\"station\":\"hn-air-0004\"},"
    "\"columns\":[\"time\",\"from\",\"to\"],"
    "\"values\":[[1795427000000,1795406400000,1795406460000]]}"
    "]}]}";

static bool withheld(const cJSON *f, const char *what)
{
    const cJSON *w;

    cJSON_ArrayForEach(w, fx_prop(f, "withheld"))
    {
        if (cJSON_IsString(w) && strcmp(w->valuestring, what) == 0) {
            return true;
        }
    }
    return false;
}

static void test_layers_validated(void **state)
{
    struct fx fx;
    char *text = NULL;

    (void)state;
    fx_setup(&fx, CT_KIND_AIR);
    const char *r[1] = {resp};
    size_t rl[1] = {sizeof(resp) - 1};
    fx.src.resp = r;
    fx.src.resp_len = rl;
    fx.src.nresp = 1;
    assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_AIR, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    /* Recomputed: shown, with its category, and said to be from validated data. */
    const cJSON *f = fx_feature(doc, "hn-air-0001");
    assert_true(cJSON_GetNumberValue(fx_prop(f, "aqi_vn")) == 82);
    assert_true(cJSON_GetNumberValue(fx_prop(f, "aqi_vn_level")) == 2);
    assert_true(cJSON_IsTrue(fx_prop(f, "validated")));
    assert_string_equal(cJSON_GetStringValue(fx_prop(f, "dominant")), "pm25");
    assert_null(fx_prop(f, "withheld"));
    assert_true(cJSON_GetNumberValue(fx_prop(f, "pm25")) == 41.2);
    /* Not recomputed yet: withheld, and said so. */
    const cJSON *g = fx_feature(doc, "hn-air-0002");
    assert_null(fx_prop(g, "aqi_vn"));
    assert_null(fx_prop(g, "aqi_vn_level"));
    assert_null(fx_prop(g, "validated"));
    assert_true(withheld(g, "aqi_vn"));
    assert_true(withheld(g, "dominant"));
    /* Recomputed without an index (validated false): withheld too. */
    const cJSON *h = fx_feature(doc, "hn-air-0004");
    assert_null(fx_prop(h, "aqi_vn"));
    assert_null(fx_prop(h, "validated"));
    assert_true(withheld(h, "aqi_vn"));
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* Water: the hourly VN_WQI of 09:00 reads the hour 08:00-09:00, which holds an NH4 range
 * marked invalid: shown once recomputed (validated true), withheld before. */
static void test_layers_validated_water(void **state)
{
    static const char *const fmt =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"water\",\"tags\":{\"device\":\"hn-water-0001\"},\"columns\":[\"time\","
        "\"ph\"],\"values\":[[1795427700000,7.4]]}]},{\"statement_id\":1,\"series\":["
        "{\"name\":\"water_wqi\",\"tags\":{\"device\":\"hn-water-0001\"},"
        "\"columns\":[\"time\",\"wqi\",\"validated\"],\"values\":[[1795424400000,70,%s]]}]},"
        "{\"statement_id\":2,\"series\":[{\"name\":\"console_decision\",\"tags\":{\"param\":"
        "\"nh4\",\"station\":\"hn-water-0001\"},\"columns\":[\"time\",\"from\",\"to\"],"
        "\"values\":[[1795427000000,1795422600000,1795422660000]]}]}]}";
    static const char *const validated[2] = {"true", "null"};
    struct fx fx;

    (void)state;
    fx_setup(&fx, CT_KIND_WATER);
    for (int i = 0; i < 2; i++) {
        char body[2048];
        char *text = NULL;
        snprintf(body, sizeof(body), fmt, validated[i]);
        const char *r[1] = {body};
        size_t rl[1] = {strlen(body)};
        fx.src.resp = r;
        fx.src.resp_len = rl;
        fx.src.nresp = 1;
        assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_WATER, &text), 0);
        cJSON *doc = cJSON_Parse(text);
        free(text);
        const cJSON *f = fx_feature(doc, "hn-water-0001");
        if (i == 0) {
            assert_true(cJSON_GetNumberValue(fx_prop(f, "wqi_vn")) == 70);
            assert_true(cJSON_IsTrue(fx_prop(f, "validated")));
            assert_null(fx_prop(f, "withheld"));
        } else {
            assert_null(fx_prop(f, "wqi_vn"));
            assert_null(fx_prop(f, "validated"));
            assert_true(withheld(f, "wqi_vn"));
        }
        cJSON_Delete(doc);
    }
    fx.src.nresp = 0;
    fx_teardown(&fx);
}

/* The feature 'id' of layer 'kind' built from the one answer 'body'; the caller deletes it. */
static cJSON *layer_of(struct fx *fx, enum ct_kind kind, const char *body)
{
    const char *r[1] = {body};
    size_t rl[1] = {strlen(body)};
    char *text = NULL;

    fx->src.resp = r;
    fx->src.resp_len = rl;
    fx->src.nresp = 1;
    assert_int_equal(col_layers_geojson(&fx->src, kind, &text), 0);
    fx->src.nresp = 0;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    return doc;
}

/* Rain: the newest rain_1h at 09:50 (its 1 h and 24 h sums) and a burst of tips marked
 * invalid at 'range' (%lld, twice): withheld while not recomputed, shown with "validated": true
 * from the console's recomputed points (validated %s), the 1-h sum shown when its hour does not
 * meet the range. */
static void test_layers_validated_rain(void **state)
{
    static const char *const fmt =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"rain\",\"tags\":{\"device\":\"hn-rain-0001\"},\"columns\":[\"time\","
        "\"tips\"],\"values\":[[1795427400000,612]]}]},"
        "{\"statement_id\":1,\"series\":[{\"name\":\"rain_1h\",\"tags\":{\"device\":"
        "\"hn-rain-0001\"},\"columns\":[\"time\",\"intense\",\"mm\",\"mm_24h\",\"validated\"],"
        "\"values\":[[1795427400000,false,0.8,4.2,%s]]}]},"
        "{\"statement_id\":2,\"series\":[{\"name\":\"console_decision\",\"tags\":{\"param\":"
        "\"tips\",\"station\":\"hn-rain-0001\"},\"columns\":[\"time\",\"from\",\"to\"],"
        "\"values\":[[1795427000000,%lld,%lld]]}]}]}";
    const int64_t at_0920 = 1795425600000LL, at_0200 = 1795399200000LL;
    struct fx fx;
    char body[4096];

    (void)state;
    fx_setup(&fx, CT_KIND_RAIN);
    /* Not recomputed (derive's points, no validated field): both sums withheld, no term. */
    snprintf(body, sizeof(body), fmt, "null", (long long)at_0920, (long long)at_0920);
    cJSON *doc = layer_of(&fx, CT_KIND_RAIN, body);
    const cJSON *f = fx_feature(doc, "hn-rain-0001");
    assert_null(fx_prop(f, "mm_1h"));
    assert_null(fx_prop(f, "mm_24h"));
    assert_null(fx_prop(f, "rain_term_en"));
    assert_null(fx_prop(f, "validated"));
    assert_true(withheld(f, "mm_1h"));
    assert_true(withheld(f, "mm_24h"));
    cJSON_Delete(doc);
    /* Recomputed: shown, said to be from validated data. */
    snprintf(body, sizeof(body), fmt, "true", (long long)at_0920, (long long)at_0920);
    doc = layer_of(&fx, CT_KIND_RAIN, body);
    f = fx_feature(doc, "hn-rain-0001");
    assert_true(cJSON_GetNumberValue(fx_prop(f, "mm_1h")) == 0.8);
    assert_true(cJSON_GetNumberValue(fx_prop(f, "mm_24h")) == 4.2);
    assert_string_equal(cJSON_GetStringValue(fx_prop(f, "rain_term_en")), "Light rain");
    assert_true(cJSON_IsTrue(fx_prop(f, "validated")));
    assert_null(fx_prop(f, "withheld"));
    cJSON_Delete(doc);
    /* A range at 02:00: outside the 1-h sum's hour (shown), inside the 24-h sum's (withheld). */
    snprintf(body, sizeof(body), fmt, "null", (long long)at_0200, (long long)at_0200);
    doc = layer_of(&fx, CT_KIND_RAIN, body);
    f = fx_feature(doc, "hn-rain-0001");
    assert_true(cJSON_GetNumberValue(fx_prop(f, "mm_1h")) == 0.8);
    assert_null(fx_prop(f, "mm_24h"));
    assert_false(withheld(f, "mm_1h"));
    assert_true(withheld(f, "mm_24h"));
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* Flood: a spike of 80 cm at 09:58 marked invalid; its flood_level point (band 4) carries
 * validated %s and the decision is %s the answer. */
static void test_layers_validated_flood(void **state)
{
    static const char *const fmt =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"flood\",\"tags\":{\"device\":\"hn-flood-0001\"},\"columns\":[\"time\","
        "\"depth\"],\"values\":[[1795427880000,%s]]}]},"
        "{\"statement_id\":1,\"series\":[{\"name\":\"flood_level\",\"tags\":{\"device\":"
        "\"hn-flood-0001\"},\"columns\":[\"time\",\"band\",\"band_vi\",\"band_en\",\"color\","
        "\"depth_cm\",\"rise_cm_h\",\"validated\"],\"values\":[[1795427880000,%s,\"Nguy hiểm\","
        "\"Dangerous\",\"#8F3F97\",%s,12,%s]]}]}%s]}";
    static const char decision[] =
        ",{\"statement_id\":2,\"series\":[{\"name\":\"console_decision\",\"tags\":{\"param\":"
        "\"depth\",\"station\":\"hn-flood-0001\"},\"columns\":[\"time\",\"from\",\"to\"],"
        "\"values\":[[1795427990000,1795427880000,1795427880000]]}]}";
    struct fx fx;
    char body[4096];

    (void)state;
    fx_setup(&fx, CT_KIND_FLOOD);
    /* The spike's point marked validated=false by the recompute, even without the decision in
     * the answer (decided before the layer's lookback): depth and band withheld. */
    snprintf(body, sizeof(body), fmt, "80", "4", "80", "false", "");
    cJSON *doc = layer_of(&fx, CT_KIND_FLOOD, body);
    const cJSON *f = fx_feature(doc, "hn-flood-0001");
    assert_null(fx_prop(f, "depth_cm"));
    assert_null(fx_prop(f, "flood_band"));
    assert_null(fx_prop(f, "flood_band_vi"));
    assert_null(fx_prop(f, "flood_color"));
    assert_true(withheld(f, "flood_band"));
    assert_true(withheld(f, "depth_cm"));
    cJSON_Delete(doc);
    /* Before the recompute lands (no validated field) with the decision: withheld too. */
    snprintf(body, sizeof(body), fmt, "80", "4", "80", "null", decision);
    doc = layer_of(&fx, CT_KIND_FLOOD, body);
    f = fx_feature(doc, "hn-flood-0001");
    assert_null(fx_prop(f, "depth_cm"));
    assert_null(fx_prop(f, "flood_band"));
    assert_true(withheld(f, "flood_band"));
    cJSON_Delete(doc);
    /* A valid reading whose rise was recomputed (validated=true): shown, and said so. */
    snprintf(body, sizeof(body), fmt, "45.5", "3", "45.5", "true", "");
    doc = layer_of(&fx, CT_KIND_FLOOD, body);
    f = fx_feature(doc, "hn-flood-0001");
    assert_true(cJSON_GetNumberValue(fx_prop(f, "depth_cm")) == 45.5);
    assert_true(cJSON_GetNumberValue(fx_prop(f, "flood_band")) == 3);
    assert_true(cJSON_IsTrue(fx_prop(f, "validated")));
    assert_null(fx_prop(f, "withheld"));
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* Parking: the lot's counter point marked validated=false: its counts withheld. */
static void test_layers_validated_lot(void **state)
{
    static const char body[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"parking_lot\",\"tags\":{\"device\":\"\",\"lot\":\"hn-park-0001\"},"
        "\"columns\":[\"time\",\"capacity\",\"free\",\"occupied\",\"ratio\",\"validated\"],"
        "\"values\":[[1795427820000,120,0,400,1,false]]}]}]}";
    struct fx fx;

    (void)state;
    fx_setup(&fx, CT_KIND_PARKING);
    cJSON *doc = layer_of(&fx, CT_KIND_PARKING, body);
    const cJSON *f = fx_feature(doc, "hn-park-0001");
    assert_null(fx_prop(f, "occupied"));
    assert_null(fx_prop(f, "free"));
    assert_null(fx_prop(f, "ratio"));
    assert_true(withheld(f, "occupied"));
    assert_true(withheld(f, "free"));
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* A range withdrawn in the console (revoked = true, POST revoke) withholds nothing: the raw
 * PM2.5 inside it and the index over it are shown again; with the same row not withdrawn
 * (revoked null, as before a withdrawal) both are withheld. */
static void test_layers_revoked(void **state)
{
    static const char *const fmt =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"air\",\"tags\":{\"device\":\"hn-air-0002\"},\"columns\":[\"time\","
        "\"pm25\"],\"values\":[[1795427700000,18.0]]}]},{\"statement_id\":1,\"series\":["
        "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0002\"},"
        "\"columns\":[\"time\",\"aqi_vn\",\"dominant\",\"validated\"],"
        "\"values\":[[1795428000000,163,\"pm25\",null]]}]},"
        "{\"statement_id\":2,\"series\":[{\"name\":\"console_decision\",\"tags\":{\"param\":"
        "\"pm25\",\"station\":\"hn-air-0002\"},\"columns\":[\"time\",\"from\",\"to\","
        "\"revoked\"],\"values\":[[1795427800000,1795427600000,1795427800000,%s]]}]}]}";
    static const char *const revoked[2] = {"true", "null"};
    struct fx fx;

    (void)state;
    fx_setup(&fx, CT_KIND_AIR);
    for (int i = 0; i < 2; i++) {
        char body[2048];
        char *text = NULL;
        snprintf(body, sizeof(body), fmt, revoked[i]);
        const char *r[1] = {body};
        size_t rl[1] = {strlen(body)};
        fx.src.resp = r;
        fx.src.resp_len = rl;
        fx.src.nresp = 1;
        assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_AIR, &text), 0);
        cJSON *doc = cJSON_Parse(text);
        free(text);
        const cJSON *f = fx_feature(doc, "hn-air-0002");
        if (i == 0) {
            assert_true(cJSON_GetNumberValue(fx_prop(f, "pm25")) == 18.0);
            assert_true(cJSON_GetNumberValue(fx_prop(f, "aqi_vn")) == 163);
            assert_null(fx_prop(f, "withheld"));
        } else {
            assert_null(fx_prop(f, "pm25"));
            assert_null(fx_prop(f, "aqi_vn"));
            assert_true(withheld(f, "pm25"));
            assert_true(withheld(f, "aqi_vn"));
        }
        cJSON_Delete(doc);
    }
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_validated),      cmocka_unit_test(test_layers_validated_water),
        cmocka_unit_test(test_layers_validated_rain), cmocka_unit_test(test_layers_validated_flood),
        cmocka_unit_test(test_layers_validated_lot),  cmocka_unit_test(test_layers_revoked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_layers_validated: the public air layer shows an index whose data holds a range staff
 * marked invalid only from the point the console recomputed from the validated data
 * (air_aqi validated=true), says so ("validated": true), and withholds it otherwise. */
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
        cmocka_unit_test(test_layers_validated),
        cmocka_unit_test(test_layers_validated_water),
        cmocka_unit_test(test_layers_revoked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

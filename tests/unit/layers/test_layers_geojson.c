/* test_layers_geojson.c - /layers/<layer>.geojson from a registry and canned /query answers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ct/err.h"
#include "layers_fixture.h"

/* Builds a layer and parses it; the test owns the returned tree. */
static cJSON *build(enum ct_kind kind, char **text_out)
{
    struct fx fx;
    fx_setup(&fx, kind);
    char *text = NULL;
    assert_int_equal(col_layers_geojson(&fx.src, kind, &text), 0);
    assert_non_null(text);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    char why[128] = "";
    if (!fx_valid_rfc7946(doc, why, sizeof(why))) {
        fail_msg("not RFC 7946: %s", why);
    }
    if (text_out) {
        *text_out = text;
    } else {
        free(text);
    }
    fx_teardown(&fx);
    return doc;
}

static void expect_str(const cJSON *f, const char *name, const char *want)
{
    const cJSON *v = fx_prop(f, name);
    assert_true(cJSON_IsString(v));
    assert_string_equal(v->valuestring, want);
}

static void expect_num(const cJSON *f, const char *name, double want)
{
    const cJSON *v = fx_prop(f, name);
    assert_true(cJSON_IsNumber(v));
    assert_true(fabs(v->valuedouble - want) < 1e-9);
}

static void test_layers_validator_rejects_bad_documents(void **state)
{
    static const char *const bad[] = {
        "{\"type\":\"Feature\",\"features\":[]}",
        "{\"type\":\"FeatureCollection\",\"features\":{}}",
        "{\"type\":\"FeatureCollection\",\"crs\":{},\"features\":[]}",
        /* [lat, lon] swapped: latitude 105.85 is out of range */
        "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":"
        "{\"type\":\"Point\",\"coordinates\":[21.02,105.85]},\"properties\":{}}]}",
        "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":"
        "{\"type\":\"Point\",\"coordinates\":[105.85]},\"properties\":{}}]}",
        "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":"
        "{\"type\":\"LineString\",\"coordinates\":[105.85,21.02]},\"properties\":{}}]}",
        "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":"
        "{\"type\":\"Point\",\"coordinates\":[105.85,21.02]},\"properties\":null}]}",
    };
    const char *good = "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
                       "\"geometry\":{\"type\":\"Point\",\"coordinates\":[105.85,21.02]},"
                       "\"properties\":{}}]}";
    char why[128];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *d = cJSON_Parse(bad[i]);
        assert_non_null(d);
        assert_false(fx_valid_rfc7946(d, why, sizeof(why)));
        cJSON_Delete(d);
    }
    cJSON *d = cJSON_Parse(good);
    assert_true(fx_valid_rfc7946(d, why, sizeof(why)));
    cJSON_Delete(d);
}

static void test_layers_air_features(void **state)
{
    char *text = NULL;
    cJSON *doc = build(CT_KIND_AIR, &text);
    /* Public air stations only: 0001, 0002, 0004 (0003 is not public), in registry order. */
    const cJSON *feats = cJSON_GetObjectItemCaseSensitive(doc, "features");
    assert_int_equal(cJSON_GetArraySize(feats), 3);
    assert_null(fx_feature(doc, "hn-air-0003"));
    assert_null(fx_feature(doc, "hn-air-9999"));
    assert_null(strstr(text, "hn-air-0003"));
    assert_null(strstr(text, "999"));
    /* No keys, addresses or foreign columns. */
    assert_null(strstr(text, "10.9.8.7"));
    assert_null(strstr(text, "10.1.1.1"));
    assert_null(strstr(text, "c2VjcmV0LWtleQ"));
    assert_null(strstr(text, "<script>"));
    assert_null(strstr(text, "rssi"));
    assert_null(strstr(text, "-67"));

    const cJSON *f = fx_feature(doc, "hn-air-0001");
    assert_non_null(f);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(f, "geometry"), "coordinates");
    assert_true(fabs(cJSON_GetArrayItem(c, 0)->valuedouble - 105.8524) < 1e-9); /* lon first */
    assert_true(fabs(cJSON_GetArrayItem(c, 1)->valuedouble - 21.0287) < 1e-9);
    /* Vietnamese text intact (UTF-8 bytes as given). */
    expect_str(f, "name", "Trạm Hồ Gươm – Đinh Tiên Hoàng");
    expect_str(f, "district", "Hoàn Kiếm");
    expect_str(f, "ward", "Hàng Trống");
    expect_str(f, "kind", "air");
    /* The newest row wins (10:55, not 10:50). */
    expect_str(f, "time", "2026-11-23T09:55:00Z");
    expect_num(f, "pm25", 41.2);
    expect_num(f, "pm10", 61.7);
    expect_num(f, "co", 812.5);
    expect_num(f, "t", 24.5);
    const cJSON *units = fx_prop(f, "units");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(units, "pm25")->valuestring, "ug/m3");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(units, "t")->valuestring, "degC");
    expect_num(f, "aqi_vn", 82);
    expect_num(f, "aqi_vn_level", 2);
    expect_str(f, "aqi_vn_category_vi", "Trung bình");
    expect_str(f, "aqi_vn_category_en", "Moderate");
    expect_str(f, "aqi_vn_color", "#FFFF00");
    expect_str(f, "dominant", "pm25");
    expect_num(f, "aqi_us", 115);
    assert_true(cJSON_IsFalse(fx_prop(f, "stale")));
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "id")));

    /* 3 h old with a 2 h threshold: stale; last_ prefixed columns still read. */
    const cJSON *g = fx_feature(doc, "hn-air-0002");
    assert_true(cJSON_IsTrue(fx_prop(g, "stale")));
    expect_str(g, "time", "2026-11-23T07:00:00Z");
    expect_num(g, "aqi_vn", 163);
    expect_str(g, "aqi_vn_category_vi", "Xấu");
    expect_str(g, "aqi_vn_color", "#FF0000");
    assert_null(fx_prop(g, "dominant"));
    /* No data at all: stale, time null, no values. */
    const cJSON *h = fx_feature(doc, "hn-air-0004");
    assert_true(cJSON_IsTrue(fx_prop(h, "stale")));
    assert_true(cJSON_IsNull(fx_prop(h, "time")));
    assert_null(fx_prop(h, "pm25"));
    expect_str(h, "name", "Trạm Long Biên");
    free(text);
    cJSON_Delete(doc);
}

static void test_layers_stale_threshold(void **state)
{
    struct fx fx;
    fx_setup(&fx, CT_KIND_AIR);
    fx.src.stale_ms = 4 * 3600 * 1000LL; /* now the 3 h old station is fresh */
    char *text = NULL;
    assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_AIR, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    assert_true(cJSON_IsFalse(fx_prop(fx_feature(doc, "hn-air-0002"), "stale")));
    cJSON_Delete(doc);
    free(text);
    fx.src.stale_ms = 4 * FX_MIN; /* and the 5 min old one is stale */
    assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_AIR, &text), 0);
    doc = cJSON_Parse(text);
    assert_true(cJSON_IsTrue(fx_prop(fx_feature(doc, "hn-air-0001"), "stale")));
    cJSON_Delete(doc);
    free(text);
    fx_teardown(&fx);
}

static void test_layers_water_rain_flood_parking(void **state)
{
    cJSON *w = build(CT_KIND_WATER, NULL);
    const cJSON *f = fx_feature(w, "hn-water-0001");
    expect_str(f, "name", "Hồ Tây – Quảng An");
    expect_num(f, "ph", 7.4);
    expect_num(f, "do", 6.2);
    expect_num(f, "wqi_vn", 72);
    expect_str(f, "time", "2026-11-23T09:45:00Z");
    cJSON_Delete(w);

    char *text = NULL;
    cJSON *r = build(CT_KIND_RAIN, &text);
    f = fx_feature(r, "hn-rain-0001");
    expect_num(f, "mm_1h", 12.6);
    expect_num(f, "mm_24h", 38.2);
    expect_str(f, "rain_term_vi", "Mưa vừa");
    expect_str(f, "rain_term_en", "Moderate rain");
    expect_str(f, "time", "2026-11-23T09:59:00Z");
    assert_null(fx_prop(f, "tips"));
    assert_null(strstr(text, "tips"));
    free(text);
    cJSON_Delete(r);

    cJSON *fl = build(CT_KIND_FLOOD, NULL);
    f = fx_feature(fl, "hn-flood-0001");
    expect_num(f, "depth_cm", 45.5);
    /* The collector's confirmed band from flood_level wins over a recomputation; it is named
     * from the station's own table (bands_cm 10, 30, 50: four bands, "Mức i"), not from the
     * text fields an older point still carries ("Ngập sâu"). */
    expect_num(f, "flood_band", 3);
    expect_str(f, "flood_band_vi", "Mức 3");
    expect_str(f, "flood_band_en", "Level 3");
    expect_str(f, "flood_color", "#FF0000");
    /* Only a raw depth: the collector's default bands (0/10/20/40/60 cm), RFC 3339 time. */
    f = fx_feature(fl, "hn-flood-0002");
    expect_num(f, "depth_cm", 62);
    expect_num(f, "flood_band", 4);
    expect_str(f, "flood_band_vi", "Nguy hiểm");
    expect_str(f, "flood_band_en", "Dangerous");
    expect_str(f, "time", "2026-11-23T09:58:00Z");
    assert_true(cJSON_IsFalse(fx_prop(f, "stale")));
    cJSON_Delete(fl);

    cJSON *p = build(CT_KIND_PARKING, NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "features")), 1);
    assert_null(fx_feature(p, "hn-park-b001")); /* bays are not features */
    f = fx_feature(p, "hn-park-0001");
    expect_num(f, "capacity", 120);
    expect_num(f, "occupied", 87);
    expect_num(f, "free", 33);
    expect_num(f, "ratio", 0.725);
    expect_str(f, "name", "Bãi đỗ xe Nguyễn Công Trứ");
    cJSON_Delete(p);
}

static void test_layers_parking_from_registry_capacity(void **state)
{
    struct fx fx;
    fx_setup(&fx, CT_KIND_PARKING);
    static const char raw[] = "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"parking\","
                              "\"tags\":{\"device\":\"hn-park-0001\"},\"columns\":[\"time\","
                              "\"occupied\"],\"values\":[[1795427820000,100]]}]}]}";
    fx.resp[0] = raw;
    fx.resp_len[0] = sizeof(raw) - 1;
    char *text = NULL;
    assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_PARKING, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    const cJSON *f = fx_feature(doc, "hn-park-0001");
    expect_num(f, "capacity", 120);
    expect_num(f, "occupied", 100);
    expect_num(f, "free", 20);
    cJSON_Delete(doc);
    free(text);
    fx_teardown(&fx);
}

static void test_layers_bad_input(void **state)
{
    struct fx fx;
    fx_setup(&fx, CT_KIND_AIR);
    char *text = (char *)"x";
    fx.resp[0] = "{\"results\":[";
    fx.resp_len[0] = strlen(fx.resp[0]);
    assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_AIR, &text), CT_E_PARSE);
    assert_null(text);
    fx.resp_len[0] = COL_LAYERS_RESPONSE_MAX + 1u;
    assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_AIR, &text), CT_E_TOOBIG);
    assert_int_equal(col_layers_geojson(&fx.src, CT_KIND__COUNT, &text), CT_E_INVAL);
    assert_int_equal(col_layers_geojson(NULL, CT_KIND_AIR, &text), CT_E_INVAL);
    /* No devices, no responses: an empty but valid collection. */
    struct col_layers_src empty = {0};
    assert_int_equal(col_layers_geojson(&empty, CT_KIND_RAIN, &text), 0);
    static const char empty_head[] =
        "{\"type\":\"FeatureCollection\",\"features\":[],\"updated\":null,\"legend\":";
    assert_true(strncmp(text, empty_head, sizeof(empty_head) - 1) == 0);
    free(text);
    fx_teardown(&fx);
}

static void test_layers_aqi_categories(void **state)
{
    static const struct {
        int aqi;
        int level;
        const char *vi;
        const char *color;
    } cases[] = {
        {0, 1, "Tốt", "#00E400"},         {50, 1, "Tốt", "#00E400"},
        {51, 2, "Trung bình", "#FFFF00"}, {100, 2, "Trung bình", "#FFFF00"},
        {101, 3, "Kém", "#FF7E00"},       {150, 3, "Kém", "#FF7E00"},
        {151, 4, "Xấu", "#FF0000"},       {200, 4, "Xấu", "#FF0000"},
        {201, 5, "Rất xấu", "#8F3F97"},   {300, 5, "Rất xấu", "#8F3F97"},
        {301, 6, "Nguy hại", "#7E0023"},  {500, 6, "Nguy hại", "#7E0023"},
        {740, 6, "Nguy hại", "#7E0023"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct col_layers_aqi_cat *c = col_layers_aqi_category(cases[i].aqi);
        assert_non_null(c);
        assert_int_equal(c->level, cases[i].level);
        assert_string_equal(c->vi, cases[i].vi);
        assert_string_equal(c->color, cases[i].color);
    }
    assert_null(col_layers_aqi_category(-1));
    size_t n = 0;
    assert_non_null(col_layers_aqi_categories(&n));
    assert_int_equal(n, 6);
}

/* Validated data: a raw value staff marked invalid (console_decision) is withheld, and so is the
 * index whose hours hold the range (not recomputed: no validated field), and the feature says
 * so; a range elsewhere in time withholds nothing. */
static void test_layers_withheld(void **state)
{
    static const char decisions[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"console_decision\",\"tags\":{\"param\":\"pm25\",\"station\":\"hn-air-0001\"},"
        "\"columns\":[\"time\",\"from\",\"to\"],"
        "\"values\":[[1795428000000,1795425000000,1795427700000]]},"
        "{\"name\":\"console_decision\",\"tags\":{\"param\":\"no2\",\"station\":\"hn-air-0002\"},"
        "\"columns\":[\"time\",\"from\",\"to\"],\"values\":[[1600000000000,1,2]]}]}]}";
    struct fx fx;
    char *text = NULL;

    (void)state;
    fx_setup(&fx, CT_KIND_AIR);
    const char *resp[2] = {fx.resp[0], decisions};
    size_t len[2] = {fx.resp_len[0], strlen(decisions)};
    fx.src.resp = resp;
    fx.src.resp_len = len;
    fx.src.nresp = 2;
    assert_int_equal(col_layers_geojson(&fx.src, CT_KIND_AIR, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    const cJSON *f = fx_feature(doc, "hn-air-0001");
    assert_null(fx_prop(f, "pm25"));
    assert_null(cJSON_GetObjectItemCaseSensitive(fx_prop(f, "units"), "pm25"));
    assert_null(fx_prop(f, "aqi_vn"));
    assert_null(fx_prop(f, "aqi_vn_level"));
    expect_num(f, "pm10", 61.7);
    const cJSON *w = fx_prop(f, "withheld");
    assert_true(cJSON_IsArray(w));
    assert_string_equal(cJSON_GetArrayItem(w, 0)->valuestring, "pm25");
    assert_string_equal(cJSON_GetArrayItem(w, 1)->valuestring, "aqi_vn");
    const cJSON *g = fx_feature(doc, "hn-air-0002");
    expect_num(g, "aqi_vn", 163);
    assert_null(fx_prop(g, "withheld"));
    assert_null(strstr(text, "console_decision"));
    free(text);
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

static void test_layers_influxql(void **state)
{
    char q[1024];
    assert_int_equal(col_layers_influxql(CT_KIND_AIR, 7200, q, sizeof(q)), 0);
    assert_string_equal(q, "SELECT * FROM \"air\" WHERE time > now() - 7200s GROUP BY \"device\" "
                           "ORDER BY time DESC LIMIT 1; SELECT * FROM \"air_aqi\" WHERE time > "
                           "now() - 7200s GROUP BY \"device\" ORDER BY time DESC LIMIT 1; "
                           "SELECT \"from\", \"to\", \"revoked\" FROM \"console_decision\" WHERE "
                           "\"action\" = 'invalid' AND time > now() - 7200s GROUP BY "
                           "\"station\", \"param\"");
    assert_int_equal(col_layers_influxql(CT_KIND_PARKING, 60, q, sizeof(q)), 0);
    assert_non_null(strstr(q, "FROM \"parking_lot\" WHERE time > now() - 60s GROUP BY "
                              "\"device\", \"lot\""));
    assert_int_equal(col_layers_influxql(CT_KIND_RAIN, 86400, q, sizeof(q)), 0);
    assert_non_null(strstr(q, "\"rain_1h\""));
    assert_null(strstr(q, "\"rain_24h\""));
    assert_int_equal(col_layers_influxql(CT_KIND_FLOOD, 60, q, 40), CT_E_TOOBIG);
    assert_int_equal(col_layers_influxql(CT_KIND_FLOOD, 0, q, sizeof(q)), CT_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_validator_rejects_bad_documents),
        cmocka_unit_test(test_layers_air_features),
        cmocka_unit_test(test_layers_stale_threshold),
        cmocka_unit_test(test_layers_water_rain_flood_parking),
        cmocka_unit_test(test_layers_parking_from_registry_capacity),
        cmocka_unit_test(test_layers_bad_input),
        cmocka_unit_test(test_layers_aqi_categories),
        cmocka_unit_test(test_layers_influxql),
        cmocka_unit_test(test_layers_withheld),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_layers_legend.c - the one band table of each layer: every feature carries its band, and
 * the collection's "legend" is that table (flood = docs/indices.md's bands, a grey "not enough
 * data yet" band last, badge text readable at WCAG AA); staleness per station from its interval
 * times liveness.stale_intervals; "updated" is the newest value's time; the 24-hour history. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "col_indices_flood.h"
#include "ct/err.h"
#include "layers_fixture.h"

static cJSON *build(struct fx *fx, enum ct_kind kind)
{
    char *text = NULL;
    assert_int_equal(col_layers_geojson(&fx->src, kind, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    return doc;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double lum(const char *hex)
{
    unsigned v = (unsigned)strtoul(hex + 1, NULL, 16);
    double c[3] = {(v >> 16) & 255, (v >> 8) & 255, v & 255};
    for (int i = 0; i < 3; i++) {
        double s = c[i] / 255.0;
        c[i] = s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

static double contrast(const char *a, const char *b)
{
    double x = lum(a), y = lum(b);
    return x > y ? (x + 0.05) / (y + 0.05) : (y + 0.05) / (x + 0.05);
}

static void test_every_feature_carries_a_legend_band(void **state)
{
    (void)state;
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        struct fx fx;
        fx_setup(&fx, (enum ct_kind)k);
        cJSON *doc = build(&fx, (enum ct_kind)k);
        const cJSON *bands = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(doc, "legend"), "bands");
        assert_int_equal(cJSON_GetArraySize(bands), (int)col_layers_band_count((enum ct_kind)k));
        /* The last band is the grey "not enough data yet" one, and only it. */
        const cJSON *last = cJSON_GetArrayItem(bands, cJSON_GetArraySize(bands) - 1);
        assert_string_equal(str(last, "vi"), "Chưa đủ số liệu");
        assert_string_equal(str(last, "en"), "Not enough data yet");
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(last, "nodata")));
        const cJSON *b;
        cJSON_ArrayForEach(b, bands)
        {
            /* Badge text is readable on every band colour (WCAG AA, 4.5:1). */
            assert_true(contrast(str(b, "text_color"), str(b, "color")) >= 4.5);
        }
        const cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "features"))
        {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "properties");
            int i = cJSON_GetObjectItemCaseSensitive(p, "band")->valueint;
            const cJSON *lb = cJSON_GetArrayItem(bands, i);
            assert_non_null(lb);
            assert_string_equal(str(p, "band_vi"), str(lb, "vi"));
            assert_string_equal(str(p, "band_en"), str(lb, "en"));
            assert_string_equal(str(p, "color"), str(lb, "color"));
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "radius")->valueint,
                             cJSON_GetObjectItemCaseSensitive(lb, "radius")->valueint);
        }
        cJSON_Delete(doc);
        fx_teardown(&fx);
    }
}

static void test_bands_per_layer(void **state)
{
    (void)state;
    struct fx fx;
    /* Flood: exactly docs/indices.md's bands (col_flood_default_cfg), with ranges. */
    fx_setup(&fx, CT_KIND_FLOOD);
    cJSON *doc = build(&fx, CT_KIND_FLOOD);
    const cJSON *bands =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "legend"), "bands");
    const struct col_flood_cfg *fc = col_flood_default_cfg();
    assert_int_equal(cJSON_GetArraySize(bands), (int)fc->n_bands + 1);
    for (size_t i = 0; i < fc->n_bands; i++) {
        const cJSON *b = cJSON_GetArrayItem(bands, (int)i);
        assert_string_equal(str(b, "vi"), fc->bands[i].vi);
        assert_string_equal(str(b, "color"), fc->bands[i].color);
    }
    assert_string_equal(str(cJSON_GetArrayItem(bands, 1), "range"), "10–20 cm");
    assert_string_equal(str(cJSON_GetArrayItem(bands, 4), "range"), "≥ 60 cm");
    /* The two deepest bands are emphasised, the others not. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(bands, i),
                                                                       "emphasis")),
                         i >= 3);
    }
    /* 62 cm with no confirmed band yet: the default bands say Nguy hiểm, emphasised. */
    const cJSON *p = fx_prop(fx_feature(doc, "hn-flood-0002"), "band_vi");
    assert_string_equal(p->valuestring, "Nguy hiểm");
    assert_true(cJSON_IsTrue(fx_prop(fx_feature(doc, "hn-flood-0002"), "emphasis")));
    cJSON_Delete(doc);
    fx_teardown(&fx);
    /* Air: a station without an hourly index yet is in the grey band. */
    fx_setup(&fx, CT_KIND_AIR);
    fx.src.stale_ms = 48 * 3600 * 1000LL;
    doc = build(&fx, CT_KIND_AIR);
    assert_string_equal(fx_prop(fx_feature(doc, "hn-air-0001"), "band_vi")->valuestring,
                        "Trung bình");
    assert_string_equal(fx_prop(fx_feature(doc, "hn-air-0004"), "color")->valuestring, "#9E9E9E");
    cJSON_Delete(doc);
    fx_teardown(&fx);
    /* Rain: 12.6 mm in the last hour is "Mưa to", larger than the light-rain marker. */
    fx_setup(&fx, CT_KIND_RAIN);
    doc = build(&fx, CT_KIND_RAIN);
    assert_string_equal(fx_prop(fx_feature(doc, "hn-rain-0001"), "band_vi")->valuestring, "Mưa to");
    assert_int_equal(fx_prop(fx_feature(doc, "hn-rain-0001"), "radius")->valueint, 15);
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

static void test_stale_per_station_interval(void **state)
{
    (void)state;
    struct fx fx;
    fx_setup(&fx, CT_KIND_AIR);
    fx.src.stale_ms = 48 * 3600 * 1000LL; /* the fixed threshold would call it fresh */
    fx.src.stale_intervals = 3;           /* air reports each 60 s: 3 min, and 5 min passed */
    cJSON *doc = build(&fx, CT_KIND_AIR);
    assert_true(cJSON_IsTrue(fx_prop(fx_feature(doc, "hn-air-0001"), "stale")));
    /* The newest value of any station: 09:55. */
    assert_string_equal(str(doc, "updated"), "2026-11-23T09:55:00Z");
    cJSON_Delete(doc);
    fx.src.stale_intervals = 6; /* 6 min */
    doc = build(&fx, CT_KIND_AIR);
    assert_true(cJSON_IsFalse(fx_prop(fx_feature(doc, "hn-air-0001"), "stale")));
    assert_true(cJSON_IsTrue(fx_prop(fx_feature(doc, "hn-air-0002"), "stale")));
    cJSON_Delete(doc);
    fx_teardown(&fx);
}

/* The 24-hour history: hourly values of public stations only, the statement as documented. */
static void test_history(void **state)
{
    (void)state;
    struct fx fx;
    fx_setup(&fx, CT_KIND_AIR);
    static const char resp[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0001\"},\"columns\":[\"time\","
        "\"v\"],\"values\":[[1795420800000,61],[1795424400000,82]]},"
        "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0003\"},\"columns\":[\"time\","
        "\"v\"],\"values\":[[1795424400000,99]]},"
        "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-9999\"},\"columns\":[\"time\","
        "\"v\"],\"values\":[[1795424400000,5]]}]}]}";
    const char *r[1] = {resp};
    size_t rl[1] = {sizeof(resp) - 1};
    fx.src.resp = r;
    fx.src.resp_len = rl;
    fx.src.nresp = 1;
    char *text = NULL;
    assert_int_equal(col_layers_history(&fx.src, CT_KIND_AIR, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(doc, "series");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(series, "hn-air-0001");
    assert_int_equal(cJSON_GetArraySize(a), 2);
    assert_true(cJSON_GetArrayItem(cJSON_GetArrayItem(a, 1), 1)->valuedouble == 82);
    /* Not public, not in the registry: absent. */
    assert_null(cJSON_GetObjectItemCaseSensitive(series, "hn-air-0003"));
    assert_null(cJSON_GetObjectItemCaseSensitive(series, "hn-air-9999"));
    cJSON_Delete(doc);
    char q[512];
    assert_int_equal(col_layers_history_influxql(CT_KIND_AIR, q, sizeof(q)), 0);
    assert_string_equal(q, "SELECT max(\"aqi_vn\") AS \"v\", last(\"validated\") AS \"validated\" "
                           "FROM \"air_aqi\" WHERE time > now() - 24h GROUP BY time(1h), "
                           "\"device\" fill(none)");
    assert_int_equal(col_layers_history_influxql(CT_KIND_AIR, q, 10), CT_E_TOOBIG);
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_feature_carries_a_legend_band),
        cmocka_unit_test(test_bands_per_layer),
        cmocka_unit_test(test_stale_per_station_interval),
        cmocka_unit_test(test_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

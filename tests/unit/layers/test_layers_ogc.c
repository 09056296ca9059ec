/* test_layers_ogc.c - OGC API - Features documents, the items query string and NGSI-LD. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ct/err.h"
#include "layers_fixture.h"

#define BASE "https://map.example.vn"

static int parse_q(const char *qs, struct col_layers_query *q, char *err, size_t cap)
{
    return col_layers_query_parse(qs, strlen(qs), q, err, cap);
}

static void expect_400(const char *qs, const char *words)
{
    struct col_layers_query q;
    char err[256] = "";
    assert_int_equal(parse_q(qs, &q, err, sizeof(err)), CT_E_PARSE);
    if (!strstr(err, words)) {
        fail_msg("query \"%s\": message \"%s\" lacks \"%s\"", qs, err, words);
    }
}

static void test_layers_query_parse(void **state)
{
    struct col_layers_query q;
    char err[256];
    assert_int_equal(parse_q("", &q, err, sizeof(err)), 0);
    assert_int_equal(q.limit, COL_LAYERS_LIMIT_DEFAULT);
    assert_false(q.has_bbox);
    assert_false(q.has_datetime);

    assert_int_equal(
        parse_q("limit=5&offset=2&bbox=105.7%2C20.9,105.9,21.1&f=json", &q, err, sizeof(err)), 0);
    assert_int_equal(q.limit, 5);
    assert_int_equal(q.offset, 2);
    assert_true(q.has_bbox);
    assert_true(fabs(q.bbox[0] - 105.7) < 1e-12 && fabs(q.bbox[3] - 21.1) < 1e-12);

    assert_int_equal(parse_q("limit=99999999999999999999", &q, err, sizeof(err)), 0);
    assert_int_equal(q.limit, COL_LAYERS_LIMIT_MAX); /* clamped, per OGC API - Features */

    assert_int_equal(parse_q("datetime=2026-11-23T09%3A00%3A00Z", &q, err, sizeof(err)), 0);
    assert_true(q.has_datetime && q.has_start && q.has_end);
    assert_int_equal(q.start_ms, FX_NOW_MS - 60 * FX_MIN);
    assert_int_equal(q.end_ms, q.start_ms);
    assert_string_equal(q.datetime, "2026-11-23T09:00:00Z");

    assert_int_equal(parse_q("datetime=../2026-11-23T17:00:00%2B07:00", &q, err, sizeof(err)), 0);
    assert_false(q.has_start);
    assert_true(q.has_end);
    assert_int_equal(q.end_ms, FX_NOW_MS);
    assert_int_equal(parse_q("datetime=2026-11-23T09:30:00.5Z/", &q, err, sizeof(err)), 0);
    assert_true(q.has_start && !q.has_end);
    assert_int_equal(q.start_ms, FX_NOW_MS - 30 * FX_MIN + 500);

    expect_400("limit=0", "limit");
    expect_400("limit=-3", "limit");
    expect_400("limit=12abc", "limit");
    expect_400("offset=x", "offset");
    expect_400("bbox=1,2,3", "4 numbers");
    expect_400("bbox=1,2,3,4,5,6", "3D");
    expect_400("bbox=a,b,c,d", "numbers");
    expect_400("bbox=105,91,106,92", "latitudes");
    expect_400("bbox=106,20,105,21", "antimeridian");
    expect_400("bbox=105,22,106,21", "minLat");
    expect_400("datetime=yesterday", "RFC 3339");
    expect_400("datetime=2026-02-30T00:00:00Z", "RFC 3339");
    expect_400("datetime=../..", "closed end");
    expect_400("datetime=2026-11-23T10:00:00Z/2026-11-23T09:00:00Z", "after its end");
    expect_400("sortby=name", "unknown query parameter \"sortby\"");
    expect_400("limit=1&limit=2", "twice");
    expect_400("limit", "no value");
    expect_400("bbox=%zz", "escape");
    expect_400("f=html", "f:");
}

static cJSON *items(struct fx *fx, const char *qs)
{
    struct col_layers_query q;
    char err[256];
    assert_int_equal(parse_q(qs, &q, err, sizeof(err)), 0);
    char *text = NULL;
    assert_int_equal(col_layers_ogc_items(BASE, &fx->src, CT_KIND_AIR, &q, &text), 0);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    char why[128];
    if (!fx_valid_rfc7946(doc, why, sizeof(why))) {
        fail_msg("items not RFC 7946: %s", why);
    }
    return doc;
}

static int count_of(const cJSON *doc, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
    assert_true(cJSON_IsNumber(v));
    return v->valueint;
}

static const char *link_href(const cJSON *doc, const char *rel)
{
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(doc, "links"))
    {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(l, "rel");
        if (cJSON_IsString(r) && strcmp(r->valuestring, rel) == 0) {
            return cJSON_GetObjectItemCaseSensitive(l, "href")->valuestring;
        }
    }
    return NULL;
}

static void test_layers_ogc_items(void **state)
{
    struct fx fx;
    fx_setup(&fx, CT_KIND_AIR);
    cJSON *d = items(&fx, "");
    assert_int_equal(count_of(d, "numberMatched"), 3);
    assert_int_equal(count_of(d, "numberReturned"), 3);
    assert_null(link_href(d, "next"));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "timeStamp")->valuestring,
                        "2026-11-23T10:00:00Z");
    assert_string_equal(link_href(d, "self"), BASE "/collections/air/items?limit=100&offset=0");
    cJSON_Delete(d);

    /* limit: truncated with a next link that continues where this page ended. */
    d = items(&fx, "limit=2");
    assert_int_equal(count_of(d, "numberMatched"), 3);
    assert_int_equal(count_of(d, "numberReturned"), 2);
    assert_string_equal(link_href(d, "next"), BASE "/collections/air/items?limit=2&offset=2");
    cJSON_Delete(d);
    d = items(&fx, "limit=2&offset=2");
    assert_int_equal(count_of(d, "numberReturned"), 1);
    assert_non_null(fx_feature(d, "hn-air-0004"));
    assert_null(link_href(d, "next"));
    cJSON_Delete(d);

    /* bbox around Cau Giay only. */
    d = items(&fx, "bbox=105.78,21.03,105.80,21.04&limit=7");
    assert_int_equal(count_of(d, "numberMatched"), 1);
    assert_string_equal(link_href(d, "self"), BASE
                        "/collections/air/items?limit=7&offset=0&bbox=105.78,21.03,105.8,21.04");
    assert_non_null(fx_feature(d, "hn-air-0002"));
    cJSON_Delete(d);
    /* bbox around the non-public station: nothing. */
    d = items(&fx, "bbox=105.79,21.0,105.81,21.02");
    assert_int_equal(count_of(d, "numberMatched"), 0);
    cJSON_Delete(d);

    /* datetime: open interval from 09:00 -> only the fresh station (0004 has no time). */
    d = items(&fx, "datetime=2026-11-23T09:00:00Z/..");
    assert_int_equal(count_of(d, "numberMatched"), 1);
    assert_non_null(fx_feature(d, "hn-air-0001"));
    assert_string_equal(link_href(d, "self"), BASE "/collections/air/items?limit=100&offset=0"
                                                   "&datetime=2026-11-23T09:00:00Z/..");
    cJSON_Delete(d);
    d = items(&fx, "datetime=../2026-11-23T08:00:00Z");
    assert_int_equal(count_of(d, "numberMatched"), 1);
    assert_non_null(fx_feature(d, "hn-air-0002"));
    cJSON_Delete(d);
    d = items(&fx, "datetime=2026-11-23T07:00:00Z"); /* instant: equal times only */
    assert_int_equal(count_of(d, "numberMatched"), 1);
    assert_non_null(fx_feature(d, "hn-air-0002"));
    cJSON_Delete(d);
    fx_teardown(&fx);
}

static void test_layers_ogc_documents(void **state)
{
    struct fx fx;
    fx_setup(&fx, CT_KIND_AIR);
    char *text = NULL;
    assert_int_equal(col_layers_ogc_landing(BASE, &text), 0);
    cJSON *d = cJSON_Parse(text);
    free(text);
    assert_string_equal(link_href(d, "self"), BASE);
    assert_string_equal(link_href(d, "service-desc"), BASE "/api");
    assert_string_equal(link_href(d, "service-doc"), BASE "/api.html");
    assert_string_equal(link_href(d, "conformance"), BASE "/conformance");
    assert_string_equal(link_href(d, "data"), BASE "/collections");
    cJSON_Delete(d);

    assert_int_equal(col_layers_ogc_conformance(&text), 0);
    assert_non_null(
        strstr(text, "\"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core\""));
    assert_non_null(strstr(text, "/conf/geojson\""));
    assert_non_null(strstr(text, "/conf/oas30\""));
    assert_null(strstr(text, "/conf/html\"")); /* no HTML encoding is offered */
    free(text);

    assert_int_equal(col_layers_ogc_collections(BASE, fx.devs, fx.ndevs, &text), 0);
    d = cJSON_Parse(text);
    free(text);
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(d, "collections");
    assert_int_equal(cJSON_GetArraySize(cols), 5);
    const char *ids[] = {"air", "water", "rain", "flood", "parking"};
    for (int i = 0; i < 5; i++) {
        const cJSON *c = cJSON_GetArrayItem(cols, i);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(c, "id")->valuestring, ids[i]);
    }
    const cJSON *air = cJSON_GetArrayItem(cols, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(air, "title")->valuestring,
                        "Không khí / Air quality");
    /* Extent of the public air stations only (0003 at 105.80,21.01 is excluded). */
    const cJSON *bbox =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(
                                   cJSON_GetObjectItemCaseSensitive(air, "extent"), "spatial"),
                               "bbox"),
                           0);
    const double want[4] = {105.7906, 21.0287, 105.8892, 21.0455};
    for (int i = 0; i < 4; i++) {
        assert_true(fabs(cJSON_GetArrayItem(bbox, i)->valuedouble - want[i]) < 1e-9);
    }
    assert_string_equal(link_href(air, "items"), BASE "/collections/air/items");
    cJSON_Delete(d);

    assert_int_equal(col_layers_ogc_collection("", CT_KIND_PARKING, fx.devs, fx.ndevs, &text), 0);
    d = cJSON_Parse(text);
    free(text);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "title")->valuestring,
                        "Bãi đỗ xe / Parking");
    assert_string_equal(link_href(d, "self"), "/collections/parking");
    cJSON_Delete(d);
    assert_int_equal(col_layers_ogc_collection("", CT_KIND__COUNT, fx.devs, fx.ndevs, &text),
                     CT_E_INVAL);
    fx_teardown(&fx);
}

static const cJSON *entity_by_id(const cJSON *arr, const char *id)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring, id) == 0) {
            return e;
        }
    }
    return NULL;
}

static double prop_value(const cJSON *e, const char *attr)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, attr);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "type")->valuestring, "Property");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "value");
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_layers_ngsi_ld(void **state)
{
    static const struct {
        enum ct_kind kind;
        const char *id;
        const char *type;
        const char *attr;
        double value;
    } cases[] = {
        {CT_KIND_AIR, "urn:ngsi-ld:AirQualityObserved:hn-air-0001", "AirQualityObserved", "pm25",
         41.2},
        {CT_KIND_WATER, "urn:ngsi-ld:WaterQualityObserved:hn-water-0001", "WaterQualityObserved",
         "pH", 7.4},
        {CT_KIND_RAIN, "urn:ngsi-ld:WeatherObserved:hn-rain-0001", "WeatherObserved",
         "precipitation", 12.6},
        {CT_KIND_FLOOD, "urn:ngsi-ld:FloodMonitoring:hn-flood-0001", "FloodMonitoring",
         "currentLevel", 45.5},
        {CT_KIND_PARKING, "urn:ngsi-ld:OffStreetParking:hn-park-0001", "OffStreetParking",
         "availableSpotNumber", 33},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx fx;
        fx_setup(&fx, cases[i].kind);
        char *text = NULL;
        assert_int_equal(col_layers_ngsi_ld(&fx.src, cases[i].kind, &text), 0);
        cJSON *arr = cJSON_Parse(text);
        assert_true(cJSON_IsArray(arr));
        assert_null(strstr(text, "10.9.8.7"));
        free(text);
        const cJSON *e = entity_by_id(arr, cases[i].id);
        assert_non_null(e);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "type")->valuestring,
                            cases[i].type);
        assert_true(fabs(prop_value(e, cases[i].attr) - cases[i].value) < 1e-9);
        const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(e, "@context");
        assert_int_equal(cJSON_GetArraySize(ctx), 2);
        assert_string_equal(cJSON_GetArrayItem(ctx, 1)->valuestring,
                            "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld");
        const cJSON *loc = cJSON_GetObjectItemCaseSensitive(e, "location");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(loc, "type")->valuestring,
                            "GeoProperty");
        const cJSON *dob = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(e, "dateObserved"), "value");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(dob, "@type")->valuestring,
                            "DateTime");
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(dob, "@value")));
        if (cases[i].kind == CT_KIND_AIR) {
            /* Three public air stations; the one that never reported is left out, since
             * AirQualityObserved requires dateObserved. */
            assert_int_equal(cJSON_GetArraySize(arr), 2);
            assert_null(entity_by_id(arr, "urn:ngsi-ld:AirQualityObserved:hn-air-0003"));
            assert_true(fabs(prop_value(e, "airQualityIndex") - 82) < 1e-9);
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(name, "value")->valuestring,
                                "Trạm Hồ Gươm – Đinh Tiên Hoàng");
            const cJSON *pm = cJSON_GetObjectItemCaseSensitive(e, "pm25");
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(pm, "unitCode")->valuestring,
                                "GQ");
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(pm, "observedAt")->valuestring,
                                "2026-11-23T09:55:00Z");
        }
        if (cases[i].kind == CT_KIND_PARKING) {
            assert_true(fabs(prop_value(e, "totalSpotNumber") - 120) < 1e-9);
        }
        cJSON_Delete(arr);
        fx_teardown(&fx);
    }
}

/* crs and bbox-crs: CRS84 passes, any other CRS is refused (not ignored). */
static void test_layers_query_crs(void **state)
{
    (void)state;
    struct col_layers_query q;
    char err[256];
    assert_int_equal(parse_q("crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FOGC%2F1.3%2FCRS84", &q,
                             err, sizeof(err)),
                     0);
    assert_int_equal(parse_q("bbox-crs=%5BOGC%3ACRS84%5D&bbox=105,21,106,22", &q, err, sizeof(err)),
                     0);
    expect_400("crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FEPSG%2F0%2F4326", "crs: only");
    expect_400("bbox-crs=EPSG%3A4326", "bbox-crs: only");
}

/* /items/{featureId}: a public station, and 404 for a non-public or unknown one. */
static void test_layers_ogc_feature(void **state)
{
    (void)state;
    struct fx fx;
    fx_setup(&fx, CT_KIND_AIR);
    char *text = NULL;
    assert_int_equal(
        col_layers_ogc_feature(BASE "/ogc", &fx.src, CT_KIND_AIR, "hn-air-0001", &text), 0);
    cJSON *d = cJSON_Parse(text);
    free(text);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "id")->valuestring, "hn-air-0001");
    assert_string_equal(link_href(d, "self"), BASE "/ogc/collections/air/items/hn-air-0001");
    cJSON_Delete(d);
    assert_int_equal(col_layers_ogc_feature(BASE, &fx.src, CT_KIND_AIR, "hn-air-0003", &text),
                     CT_E_NOTFOUND); /* not public */
    assert_null(text);
    assert_int_equal(col_layers_ogc_feature(BASE, &fx.src, CT_KIND_AIR, "nope", &text),
                     CT_E_NOTFOUND);
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_query_parse),   cmocka_unit_test(test_layers_query_crs),
        cmocka_unit_test(test_layers_ogc_feature),   cmocka_unit_test(test_layers_ogc_items),
        cmocka_unit_test(test_layers_ogc_documents), cmocka_unit_test(test_layers_ngsi_ld),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

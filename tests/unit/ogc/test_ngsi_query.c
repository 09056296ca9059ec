/* test_ngsi_query.c - the NGSI-LD query parameters (type, id, q, georel, limit, offset), the
 * matching of entities, ProblemDetails and the OGC base URL. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "col_ogc.h"
#include "ct/err.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse(const char *const *names, const char *const *values, size_t n,
                 struct col_ngsi_query *q, struct col_ngsi_problem *pb)
{
    return col_ngsi_query_parse(names, values, n, q, pb);
}

/* An AirQualityObserved entity as col_layers makes it (normalized NGSI-LD). */
static cJSON *air_entity(const char *id, double pm25, const char *name, double lon, double lat)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"id\":\"%s\",\"type\":\"AirQualityObserved\","
             "\"name\":{\"type\":\"Property\",\"value\":\"%s\"},"
             "\"pm25\":{\"type\":\"Property\",\"value\":%g},"
             "\"address\":{\"type\":\"Property\",\"value\":{\"addressLocality\":\"Ba Đình\"}},"
             "\"dateObserved\":{\"type\":\"Property\",\"value\":{\"@type\":\"DateTime\","
             "\"@value\":\"2026-12-05T07:00:00Z\"}},"
             "\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
             "\"coordinates\":[%.6f,%.6f]}}}",
             id, name, pm25, lon, lat);
    cJSON *e = cJSON_Parse(text);
    assert_non_null(e);
    return e;
}

static void test_ngsi_defaults_and_types(void **state)
{
    (void)state;
    struct col_ngsi_query q;
    struct col_ngsi_problem pb;
    assert_int_equal(parse(NULL, NULL, 0, &q, &pb), 0);
    assert_int_equal(q.limit, COL_NGSI_LIMIT_DEFAULT);
    assert_int_equal(q.kinds, (1u << CT_KIND__COUNT) - 1);

    const char *n1[] = {"type", "limit", "offset"};
    const char *v1[] = {"AirQualityObserved,OffStreetParking", "5", "10"};
    assert_int_equal(parse(n1, v1, N(n1), &q, &pb), 0);
    assert_int_equal(q.kinds, (1u << CT_KIND_AIR) | (1u << CT_KIND_PARKING));
    assert_int_equal(q.limit, 5);
    assert_int_equal(q.offset, 10);

    const char *v2[] = {"Unknown", "1", "0"};
    assert_int_equal(parse(n1, v2, N(n1), &q, &pb), 0);
    assert_int_equal(q.kinds, 0); /* an unknown type matches nothing */

    const char *n3[] = {"limit"};
    const char *v3[] = {"1001"};
    assert_int_equal(parse(n3, v3, 1, &q, &pb), CT_E_PARSE);
    assert_string_equal(pb.type, "BadRequestData");

    const char *n4[] = {"attrs"};
    const char *v4[] = {"pm25"};
    assert_int_equal(parse(n4, v4, 1, &q, &pb), CT_E_PARSE);
    assert_non_null(strstr(pb.detail, "attrs"));

    const char *n5[] = {"id"};
    const char *v5[] = {"urn:ngsi-ld:FloodMonitoring:hn-flood-0001,urn:x"};
    assert_int_equal(parse(n5, v5, 1, &q, &pb), 0);
    assert_int_equal(q.nids, 2);
    assert_int_equal(q.kinds, 1u << CT_KIND_FLOOD);
}

static void test_ngsi_q(void **state)
{
    (void)state;
    struct col_ngsi_query q;
    struct col_ngsi_problem pb;
    cJSON *a =
        air_entity("urn:ngsi-ld:AirQualityObserved:a", 41.5, "Trạm Kim Mã", 105.822, 21.0317);
    cJSON *b = air_entity("urn:ngsi-ld:AirQualityObserved:b", 80, "Trạm Kim Liên", 105.833, 21.007);
    static const struct {
        const char *q;
        bool a, b;
    } cases[] = {
        {"pm25>50", false, true},
        {"pm25>=41.5;pm25<=41.5", true, false},
        {"pm25!=80", true, false},
        {"pm25<1e3", true, true},
        {"name==\"Trạm Kim Mã\"", true, false},
        {"name==\"a;b\"", false, false}, /* ';' inside quotes is part of the value */
        {"address[addressLocality]==\"Ba Đình\"", true, true},
        {"dateObserved>=2026-12-05T00:00:00Z", true, true},
        {"dateObserved<2026-12-05T00:00:00Z", false, false},
        {"co>1", false, false},           /* absent attribute */
        {"pm25==\"41.5\"", false, false}, /* a string never equals a number */
    };
    for (size_t i = 0; i < N(cases); i++) {
        const char *names[] = {"q"};
        const char *values[] = {cases[i].q};
        assert_int_equal(parse(names, values, 1, &q, &pb), 0);
        if (col_ngsi_match(&q, a) != cases[i].a || col_ngsi_match(&q, b) != cases[i].b) {
            fail_msg("q=%s: expected a %d b %d", cases[i].q, cases[i].a, cases[i].b);
        }
        col_ngsi_query_free(&q);
    }
    static const struct {
        const char *q;
        const char *type;
    } bad[] = {
        {"pm25>>", "InvalidRequest"},
        {"pm25", "BadRequestData"},
        {"pm25==1|pm25==2", "BadRequestData"},
        {"pm25==1..5", "BadRequestData"},
        {"==5", "InvalidRequest"},
        {"pm25==<script>", "InvalidRequest"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        const char *names[] = {"q"};
        const char *values[] = {bad[i].q};
        assert_int_equal(parse(names, values, 1, &q, &pb), CT_E_PARSE);
        if (strcmp(pb.type, bad[i].type) != 0) {
            fail_msg("q=%s: %s, wanted %s (%s)", bad[i].q, pb.type, bad[i].type, pb.detail);
        }
        col_ngsi_query_free(&q);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_ngsi_near(void **state)
{
    (void)state;
    struct col_ngsi_query q;
    struct col_ngsi_problem pb;
    /* Kim Mã and Kim Liên are about 3.1 km apart. */
    cJSON *a = air_entity("urn:a", 1, "a", 105.822, 21.0317);
    cJSON *b = air_entity("urn:b", 1, "b", 105.833, 21.007);
    const char *names[] = {"georel", "geometry", "coordinates"};
    const char *v1[] = {"near;maxDistance==1000", "Point", "[105.822,21.0317]"};
    assert_int_equal(parse(names, v1, 3, &q, &pb), 0);
    assert_true(col_ngsi_match(&q, a));
    assert_false(col_ngsi_match(&q, b));
    const char *v2[] = {"near;maxDistance==3500", "Point", "[105.822,21.0317]"};
    assert_int_equal(parse(names, v2, 3, &q, &pb), 0);
    assert_true(col_ngsi_match(&q, b));
    const char *v3[] = {"near;minDistance==1000", "Point", "[105.822,21.0317]"};
    assert_int_equal(parse(names, v3, 3, &q, &pb), 0);
    assert_false(col_ngsi_match(&q, a));
    assert_true(col_ngsi_match(&q, b));
    const char *v4[] = {"within", "Point", "[105.822,21.0317]"};
    assert_int_equal(parse(names, v4, 3, &q, &pb), CT_E_PARSE);
    const char *v5[] = {"near;maxDistance==10", "Point", "[200,0]"};
    assert_int_equal(parse(names, v5, 3, &q, &pb), CT_E_PARSE);
    assert_string_equal(pb.type, "InvalidRequest");
    assert_int_equal(parse(names, v1, 1, &q, &pb), CT_E_PARSE); /* georel alone */
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_ngsi_ids_and_docs(void **state)
{
    (void)state;
    enum ct_kind k;
    assert_int_equal(col_ngsi_id_kind("urn:ngsi-ld:OffStreetParking:hn-park-0001", &k), 0);
    assert_int_equal(k, CT_KIND_PARKING);
    assert_int_equal(col_ngsi_id_kind("urn:ngsi-ld:OffStreetParking:", &k), CT_E_NOTFOUND);
    assert_int_equal(col_ngsi_id_kind("urn:ngsi-ld:Vehicle:x", &k), CT_E_NOTFOUND);

    char *doc = NULL;
    assert_int_equal(col_ngsi_problem_doc("BadRequestData", "Bad Request", "a \"q\"", &doc), 0);
    cJSON *d = cJSON_Parse(doc);
    free(doc);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "type")->valuestring,
                        "https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "detail")->valuestring, "a \"q\"");
    cJSON_Delete(d);

    char base[256];
    struct col_ogc_origin o = {.host = "map.example.vn:8080"};
    col_ogc_base(&o, "/ogc", base, sizeof(base));
    assert_string_equal(base, "http://map.example.vn:8080/ogc");
    o.host = "evil.example/<x>";
    col_ogc_base(&o, "/ogc", base, sizeof(base));
    assert_string_equal(base, "/ogc");
    o.host = NULL;
    col_ogc_base(&o, "/ogc", base, sizeof(base));
    assert_string_equal(base, "/ogc");
}

/* Links behind a reverse proxy: ogc.base_url verbatim, else Forwarded, else X-Forwarded-*,
 * else Host; a bad forwarded value falls back to Host. */
static void test_ogc_base(void **state)
{
    (void)state;
    char base[256];
    struct col_ogc_origin o = {
        .host = "127.0.0.1:8080", .fwd_proto = "https", .fwd_host = "data.hanoi.gov.vn"};
    col_ogc_base(&o, "/ogc", base, sizeof(base));
    assert_string_equal(base, "https://data.hanoi.gov.vn/ogc");
    o.fwd_proto = "https, http"; /* proxies append: the first is the client's */
    o.fwd_host = "a.example:8443, b.internal";
    col_ogc_base(&o, "/ogc", base, sizeof(base));
    assert_string_equal(base, "https://a.example:8443/ogc");
    o.forwarded = "for=192.0.2.60;proto=https;host=\"gis.example.vn\", for=10.0.0.1";
    col_ogc_base(&o, "/ogc", base, sizeof(base));
    assert_string_equal(base, "https://gis.example.vn/ogc");
    /* Bad values: ignored, never copied. */
    struct col_ogc_origin bad = {.host = "127.0.0.1:8080",
                                 .fwd_proto = "javascript",
                                 .fwd_host = "evil.example\r\nSet-Cookie: x=1"};
    col_ogc_base(&bad, "/ogc", base, sizeof(base));
    assert_string_equal(base, "http://127.0.0.1:8080/ogc");
    bad.forwarded = "host=\"a b\";proto=ftp";
    bad.fwd_host = "x.example/<script>";
    col_ogc_base(&bad, "/ogc", base, sizeof(base));
    assert_string_equal(base, "http://127.0.0.1:8080/ogc");
    /* ogc.base_url wins over every header. */
    o.base_url = "https://data.hanoi.gov.vn/citytel";
    col_ogc_base(&o, "/ogc", base, sizeof(base));
    assert_string_equal(base, "https://data.hanoi.gov.vn/citytel/ogc");
    assert_true(col_ogc_base_url_ok("https://data.hanoi.gov.vn/citytel"));
    assert_true(col_ogc_base_url_ok("http://[::1]:8080"));
    assert_false(col_ogc_base_url_ok("https://data.hanoi.gov.vn/"));
    assert_false(col_ogc_base_url_ok("ftp://data.hanoi.gov.vn"));
    assert_false(col_ogc_base_url_ok("https://a.example/x y"));
    assert_false(col_ogc_base_url_ok("https://a.example/\"><"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ngsi_defaults_and_types),
        cmocka_unit_test(test_ngsi_q),
        cmocka_unit_test(test_ngsi_near),
        cmocka_unit_test(test_ngsi_ids_and_docs),
        cmocka_unit_test(test_ogc_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

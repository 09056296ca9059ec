/* layers_fixture.c - see layers_fixture.h. */
#include "layers_fixture.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

static const char registry_text[] =
    "# citytel test registry\n"
    "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"Trạm Hồ Gươm – Đinh Tiên Hoàng\","
    "\"lat\":21.0287,\"lon\":105.8524,\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Trống\"}\n"
    "{\"id\":\"hn-air-0002\",\"kind\":\"air\",\"name\":\"Trạm Cầu Giấy\",\"lat\":21.0362,"
    "\"lon\":105.7906,\"district\":\"Cầu Giấy\",\"ward\":\"Dịch Vọng\"}\n"
    "{\"id\":\"hn-air-0003\",\"kind\":\"air\",\"name\":\"Trạm nội bộ\",\"lat\":21.01,"
    "\"lon\":105.80,\"district\":\"Đống Đa\",\"ward\":\"Láng Hạ\",\"public\":false}\n"
    "{\"id\":\"hn-air-0004\",\"kind\":\"air\",\"name\":\"Trạm Long Biên\",\"lat\":21.0455,"
    "\"lon\":105.8892,\"district\":\"Long Biên\",\"ward\":\"Ngọc Lâm\"}\n"
    "{\"id\":\"hn-water-0001\",\"kind\":\"water\",\"name\":\"Hồ Tây – Quảng An\",\"lat\":21.0580,"
    "\"lon\":105.8195,\"district\":\"Tây Hồ\",\"ward\":\"Quảng An\"}\n"
    "{\"id\":\"hn-rain-0001\",\"kind\":\"rain\",\"name\":\"Trạm đo mưa Láng\",\"lat\":21.0150,"
    "\"lon\":105.8030,\"district\":\"Đống Đa\",\"ward\":\"Láng Thượng\"}\n"
    "{\"id\":\"hn-flood-0001\",\"kind\":\"flood\",\"name\":\"Ngã tư Nguyễn Chí Thanh – Láng\","
    "\"lat\":21.0185,\"lon\":105.8070,\"district\":\"Đống Đa\",\"ward\":\"Láng Thượng\","
    "\"bands_cm\":[10,30,50]}\n"
    "{\"id\":\"hn-flood-0002\",\"kind\":\"flood\",\"name\":\"Phố Thái Hà\",\"lat\":21.0128,"
    "\"lon\":105.8201,\"district\":\"Đống Đa\",\"ward\":\"Trung Liệt\"}\n"
    "{\"id\":\"hn-park-0001\",\"kind\":\"parking\",\"name\":\"Bãi đỗ xe Nguyễn Công Trứ\","
    "\"lat\":21.0142,\"lon\":105.8545,\"district\":\"Hai Bà Trưng\",\"ward\":\"Phạm Đình Hổ\","
    "\"mode\":\"lot\",\"capacity\":120}\n"
    "{\"id\":\"hn-park-b001\",\"kind\":\"parking\",\"name\":\"Ô đỗ 1\",\"lat\":21.0143,"
    "\"lon\":105.8546,\"district\":\"Hai Bà Trưng\",\"ward\":\"Phạm Đình Hổ\",\"mode\":\"bay\","
    "\"lot\":\"hn-park-0001\"}\n";

/* Times: T5 = now - 5 min, T30 = now - 30 min, T3H = now - 3 h. A non-public station and
 * columns that must never reach the public layer ("sig", "collector", "addr",
 * "rssi") are present. */
static const char air_resp[] =
    "{\"results\":[{\"statement_id\":0,\"series\":["
    "{\"name\":\"air\",\"tags\":{\"device\":\"hn-air-0001\"},"
    "\"columns\":[\"time\",\"addr\",\"co\",\"district\",\"no2\",\"pm10\",\"pm25\",\"rh\",\"rssi\","
    "\"sig\",\"t\"],\"values\":["
    "[1795427700000,\"10.9.8.7:1883\",812.5,\"Hoàn Kiếm\",38.1,61.7,41.2,78,-67,"
    "\"c2VjcmV0LWtleQ\",24.5],"
    "[1795427400000,\"10.9.8.7:1883\",800,\"Hoàn Kiếm\",30,50,11.1,70,-70,\"x\",20]]},"
    "{\"name\":\"air\",\"tags\":{\"device\":\"hn-air-0002\"},"
    "\"columns\":[\"time\",\"pm25\",\"pm10\"],\"values\":[[1795417200000,18.0,30.5]]},"
    "{\"name\":\"air\",\"tags\":{\"device\":\"hn-air-0003\"},"
    "\"columns\":[\"time\",\"pm25\"],\"values\":[[1795427700000,999.0]]},"
    "{\"name\":\"air\",\"tags\":{\"device\":\"hn-air-9999\"},"
    "\"columns\":[\"time\",\"pm25\"],\"values\":[[1795427700000,5.0]]}"
    "]},{\"statement_id\":1,\"series\":["
    "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0001\"},"
    "\"columns\":[\"time\",\"aqi_us\",\"aqi_vn\",\"collector\",\"dominant\"],"
    "\"values\":[[1795426200000,115,82,\"collector-a@10.1.1.1\",\"pm25\"]]},"
    "{\"name\":\"air_aqi\",\"tags\":{\"device\":\"hn-air-0002\"},"
    "\"columns\":[\"time\",\"last_aqi_vn\",\"last_dominant\"],"
    "\"values\":[[1795417200000,163,\"<script>\"]]}"
    "]}]}";

static const char water_resp[] =
    "{\"results\":[{\"statement_id\":0,\"series\":["
    "{\"name\":\"water\",\"tags\":{\"device\":\"hn-water-0001\"},"
    "\"columns\":[\"time\",\"do\",\"ec\",\"ph\",\"t\",\"turb\"],"
    "\"values\":[[1795427100000,6.2,410,7.4,22.1,15.5]]}]},"
    "{\"statement_id\":1,\"series\":[{\"name\":\"water_wqi\",\"tags\":{\"device\":"
    "\"hn-water-0001\"},\"columns\":[\"time\",\"wqi_vn\"],\"values\":[[1795424400000,72]]}]}]}";

static const char rain_resp[] =
    "{\"results\":[{\"statement_id\":0,\"series\":["
    "{\"name\":\"rain\",\"tags\":{\"device\":\"hn-rain-0001\"},\"columns\":[\"time\",\"mm\","
    "\"tips\"],\"values\":[[1795427940000,0.4,2]]}]},"
    "{\"statement_id\":1,\"series\":[{\"name\":\"rain_1h\",\"tags\":{\"device\":"
    "\"hn-rain-0001\"},\"columns\":[\"time\",\"mm\",\"mm_24h\"],\"values\":"
    "[[1795426200000,12.6,38.2]]}]}]}";

static const char flood_resp[] =
    "{\"results\":[{\"statement_id\":0,\"series\":["
    "{\"name\":\"flood\",\"tags\":{\"device\":\"hn-flood-0001\"},\"columns\":[\"time\","
    "\"depth\"],\"values\":[[1795427880000,45.5]]},"
    "{\"name\":\"flood\",\"tags\":{\"device\":\"hn-flood-0002\"},\"columns\":[\"time\","
    "\"depth\"],\"values\":[[\"2026-11-23T09:58:00Z\",62]]}]},"
    "{\"statement_id\":1,\"series\":[{\"name\":\"flood_level\",\"tags\":{\"device\":"
    "\"hn-flood-0001\"},\"columns\":[\"time\",\"band\",\"band_vi\",\"band_en\",\"color\","
    "\"depth_cm\"],\"values\":[[1795427880000,3,\"Ngập sâu\",\"Deep\",\"#FF0000\",45.5]]}]},"
    "{\"statement_id\":2,\"error\":\"measurement not found\"}]}";

static const char parking_resp[] =
    "{\"results\":[{\"statement_id\":0,\"series\":["
    "{\"name\":\"parking_lot\",\"tags\":{\"device\":\"\",\"lot\":\"hn-park-0001\"},"
    "\"columns\":[\"time\",\"capacity\",\"free\",\"occupied\",\"ratio\"],"
    "\"values\":[[1795427820000,120,33,87,0.725]]}]},"
    "{\"statement_id\":1,\"series\":[{\"name\":\"parking\",\"tags\":{\"device\":"
    "\"hn-park-b001\"},\"columns\":[\"time\",\"occupied\"],\"values\":[[1795427820000,1]]}]}]}";

int fx_setup(struct fx *fx, enum ct_kind kind)
{
    char err[256];
    memset(fx, 0, sizeof(*fx));
    int rc = ct_registry_parse(registry_text, sizeof(registry_text) - 1, "fixture", &fx->reg, err,
                               sizeof(err));
    if (rc) {
        print_error("registry: %s\n", err);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(col_layers_devices(fx->reg, &fx->devs, &fx->ndevs), 0);
    assert_int_equal(fx->ndevs, 10);
    static const char *const texts[CT_KIND__COUNT] = {air_resp, water_resp, rain_resp, flood_resp,
                                                      parking_resp};
    fx->resp[0] = texts[kind];
    fx->resp_len[0] = strlen(texts[kind]);
    fx->src.devs = fx->devs;
    fx->src.ndevs = fx->ndevs;
    fx->src.resp = fx->resp;
    fx->src.resp_len = fx->resp_len;
    fx->src.nresp = 1;
    fx->src.now_ms = FX_NOW_MS;
    fx->src.stale_ms = col_layers_default_stale_ms(kind);
    return 0;
}

void fx_teardown(struct fx *fx)
{
    free(fx->devs);
    ct_registry_free(fx->reg);
    memset(fx, 0, sizeof(*fx));
}

static bool why_fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

bool fx_valid_rfc7946(const cJSON *doc, char *why, size_t cap)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    if (!cJSON_IsObject(doc) || !cJSON_IsString(type) ||
        strcmp(type->valuestring, "FeatureCollection") != 0) {
        return why_fail(why, cap, "not a FeatureCollection");
    }
    if (cJSON_GetObjectItemCaseSensitive(doc, "crs")) {
        return why_fail(why, cap, "collection has a crs member");
    }
    const cJSON *feats = cJSON_GetObjectItemCaseSensitive(doc, "features");
    if (!cJSON_IsArray(feats)) {
        return why_fail(why, cap, "features is not an array");
    }
    int i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, feats)
    {
        const cJSON *ft = cJSON_GetObjectItemCaseSensitive(f, "type");
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(f, "geometry");
        const cJSON *gt = cJSON_GetObjectItemCaseSensitive(g, "type");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(g, "coordinates");
        if (!cJSON_IsString(ft) || strcmp(ft->valuestring, "Feature") != 0) {
            return why_fail(why, cap, "feature %d: type is not Feature", i);
        }
        if (cJSON_GetObjectItemCaseSensitive(f, "crs") ||
            cJSON_GetObjectItemCaseSensitive(g, "crs")) {
            return why_fail(why, cap, "feature %d: has a crs member", i);
        }
        if (!cJSON_IsString(gt) || strcmp(gt->valuestring, "Point") != 0) {
            return why_fail(why, cap, "feature %d: geometry is not a Point", i);
        }
        if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) != 2) {
            return why_fail(why, cap, "feature %d: coordinates are not 2 numbers", i);
        }
        const cJSON *lon = cJSON_GetArrayItem(c, 0);
        const cJSON *lat = cJSON_GetArrayItem(c, 1);
        if (!cJSON_IsNumber(lon) || !cJSON_IsNumber(lat) || !isfinite(lon->valuedouble) ||
            !isfinite(lat->valuedouble)) {
            return why_fail(why, cap, "feature %d: coordinates are not numbers", i);
        }
        if (lon->valuedouble < -180 || lon->valuedouble > 180 || lat->valuedouble < -90 ||
            lat->valuedouble > 90) {
            return why_fail(why, cap, "feature %d: [lon, lat] out of range", i);
        }
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(f, "properties"))) {
            return why_fail(why, cap, "feature %d: properties is not an object", i);
        }
        i++;
    }
    return true;
}

const cJSON *fx_feature(const cJSON *fc, const char *id)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(fc, "features"))
    {
        const cJSON *v = fx_prop(f, "id");
        if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0) {
            return f;
        }
    }
    return NULL;
}

const cJSON *fx_prop(const cJSON *feature, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(feature, "properties"),
                                            name);
}

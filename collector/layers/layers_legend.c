/* layers_legend.c - the one table of bands per layer: every feature of a layer carries its band
 * (index, Vietnamese and English label, fill colour, badge text colour, marker radius), and the
 * FeatureCollection carries the whole table as "legend", so the map draws markers and legend from
 * the same numbers (tests/e2e/map/map.test.mjs checks every marker against the legend). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_indices_flood.h"
#include "col_indices_wqi.h"
#include "ct/err.h"
#include "layers_priv.h"

#define NODATA_COLOR "#9E9E9E"
#define NODATA_VI "Chưa đủ số liệu"
#define NODATA_EN "Not enough data yet"

/* Hourly rain intensity bands (mm in the last hour): the project's own choice, after the WMO
 * intensity classes (light < 2.5 mm/h, moderate < 10, heavy) with an "intense" class from
 * 30 mm/h, the rate at which Hanoi streets start to flood (domain.md section 4). */
static const struct {
    double min_mm;
    const char *vi, *en, *range, *color;
    int radius;
} rain_bands[] = {
    {0.0, "Không mưa", "No rain", "0 mm", "#E3F2FD", 5},
    {0.05, "Mưa nhỏ", "Light rain", "< 2,5 mm", "#90CAF9", 8},
    {2.5, "Mưa vừa", "Moderate rain", "2,5–10 mm", "#42A5F5", 11},
    {10.0, "Mưa to", "Heavy rain", "10–30 mm", "#1565C0", 15},
    {30.0, "Mưa rất to, nguy cơ ngập", "Intense rain, flooding likely", "≥ 30 mm", "#0D1B5E", 19},
};
#define N_RAIN (sizeof(rain_bands) / sizeof(rain_bands[0]))

/* Parking occupancy bands (the project's choice, as the parking app colours lots). */
static const struct {
    double min_ratio;
    const char *vi, *en, *range, *color;
} park_bands[] = {
    {0.0, "Còn nhiều chỗ", "Spaces available", "< 80%", "#2E7D32"},
    {0.8, "Sắp đầy", "Filling up", "80–95%", "#EF6C00"},
    {0.95, "Gần hết / hết chỗ", "Full or nearly", "≥ 95%", "#C62828"},
};
#define N_PARK (sizeof(park_bands) / sizeof(park_bands[0]))

static const char *const wqi_ranges[] = {"91–100", "76–90", "51–75", "26–50", "10–25", "< 10"};
static const int wqi_mids[] = {95, 80, 60, 40, 15, 5};

/* WCAG 2.x relative luminance of one sRGB channel (0..255). */
static double lin(unsigned c)
{
    double s = c / 255.0;
    return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4);
}

const char *col_layers_text_color(const char *hex)
{
    unsigned r = 0, g = 0, b = 0;
    if (!hex || sscanf(hex, "#%2x%2x%2x", &r, &g, &b) != 3) {
        return "#000000";
    }
    double l = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    /* Contrast with black (l + 0.05) / 0.05 against white 1.05 / (l + 0.05): the larger wins. */
    return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000000" : "#FFFFFF";
}

size_t col_layers_band_count(enum ct_kind kind)
{
    switch (kind) {
    case CT_KIND_AIR:
    case CT_KIND_WATER:
        return 7;
    case CT_KIND_RAIN:
        return N_RAIN + 1;
    case CT_KIND_FLOOD:
        return col_flood_default_cfg()->n_bands + 1;
    case CT_KIND_PARKING:
        return N_PARK + 1;
    default:
        return 0;
    }
}

int col_layers_band(enum ct_kind kind, size_t i, struct col_layers_band *out, char *range,
                    size_t range_cap)
{
    size_t n = col_layers_band_count(kind);
    if (!out || !range || range_cap < 32 || i >= n) {
        return CT_E_INVAL;
    }
    memset(out, 0, sizeof(*out));
    out->index = (int)i;
    out->shape = kind == CT_KIND_PARKING ? "square" : "circle";
    out->range = range;
    range[0] = '\0';
    static const int base_radius[CT_KIND__COUNT] = {
        [CT_KIND_AIR] = 11, [CT_KIND_WATER] = 10, [CT_KIND_RAIN] = 5, [CT_KIND_FLOOD] = 7};
    out->radius = base_radius[kind];
    if (i == n - 1) {
        out->vi = NODATA_VI;
        out->en = NODATA_EN;
        out->color = NODATA_COLOR;
        out->nodata = true;
    } else if (kind == CT_KIND_AIR) {
        size_t nc;
        const struct col_layers_aqi_cat *c = &col_layers_aqi_categories(&nc)[i];
        out->vi = c->vi;
        out->en = c->en;
        out->color = c->color;
        snprintf(range, range_cap, "%d–%d", c->lo, c->hi);
    } else if (kind == CT_KIND_WATER) {
        out->vi = col_wqi_category_name(wqi_mids[i], true);
        out->en = col_wqi_category_name(wqi_mids[i], false);
        out->color = col_wqi_color(wqi_mids[i]);
        snprintf(range, range_cap, "%s", wqi_ranges[i]);
    } else if (kind == CT_KIND_RAIN) {
        out->vi = rain_bands[i].vi;
        out->en = rain_bands[i].en;
        out->color = rain_bands[i].color;
        out->radius = rain_bands[i].radius;
        out->emphasis = i == N_RAIN - 1;
        snprintf(range, range_cap, "%s", rain_bands[i].range);
    } else if (kind == CT_KIND_FLOOD) {
        const struct col_flood_cfg *fc = col_flood_default_cfg();
        out->vi = fc->bands[i].vi;
        out->en = fc->bands[i].en;
        out->color = fc->bands[i].color;
        out->radius = 7 + 4 * (int)i;
        out->emphasis = i + 2 >= fc->n_bands; /* the two deepest bands */
        if (i + 1 < fc->n_bands) {
            snprintf(range, range_cap, "%g–%g cm", fc->bands[i].min_cm, fc->bands[i + 1].min_cm);
        } else {
            snprintf(range, range_cap, "≥ %g cm", fc->bands[i].min_cm);
        }
    } else {
        out->vi = park_bands[i].vi;
        out->en = park_bands[i].en;
        out->color = park_bands[i].color;
        snprintf(range, range_cap, "%s", park_bands[i].range);
    }
    out->text_color = col_layers_text_color(out->color);
    return 0;
}

/* The band index of a finished feature's properties; the last index means no value. */
static size_t classify(enum ct_kind kind, const cJSON *p)
{
    size_t n = col_layers_band_count(kind);
    const cJSON *v;
    switch (kind) {
    case CT_KIND_AIR:
        v = cJSON_GetObjectItemCaseSensitive(p, "aqi_vn_level");
        return cJSON_IsNumber(v) && v->valueint >= 1 && v->valueint <= 6 ? (size_t)v->valueint - 1
                                                                         : n - 1;
    case CT_KIND_WATER: {
        v = cJSON_GetObjectItemCaseSensitive(p, "wqi_vn");
        int c = cJSON_IsNumber(v) ? col_wqi_category((int)lround(v->valuedouble)) : -1;
        return c >= 0 ? (size_t)c : n - 1;
    }
    case CT_KIND_RAIN:
        v = cJSON_GetObjectItemCaseSensitive(p, "mm_1h");
        if (!cJSON_IsNumber(v)) {
            return n - 1;
        }
        for (size_t i = N_RAIN; i-- > 0;) {
            if (v->valuedouble >= rain_bands[i].min_mm) {
                return i;
            }
        }
        return 0;
    case CT_KIND_FLOOD:
        v = cJSON_GetObjectItemCaseSensitive(p, "flood_band");
        return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < (double)(n - 1)
                   ? (size_t)v->valuedouble
                   : n - 1;
    case CT_KIND_PARKING: {
        v = cJSON_GetObjectItemCaseSensitive(p, "free");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "ratio");
        if (!cJSON_IsNumber(v)) {
            return n - 1;
        }
        double ratio = cJSON_IsNumber(r) ? r->valuedouble : 0.0;
        if (v->valuedouble <= 0) {
            return N_PARK - 1;
        }
        for (size_t i = N_PARK; i-- > 0;) {
            if (ratio >= park_bands[i].min_ratio) {
                return i;
            }
        }
        return 0;
    }
    default:
        return n - 1;
    }
}

static bool put_band(cJSON *obj, const struct col_layers_band *b, bool with_range)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "band");
    return cJSON_AddNumberToObject(obj, "band", b->index) &&
           cJSON_AddStringToObject(obj, with_range ? "vi" : "band_vi", b->vi) &&
           cJSON_AddStringToObject(obj, with_range ? "en" : "band_en", b->en) &&
           (!with_range || cJSON_AddStringToObject(obj, "range", b->range)) &&
           cJSON_AddStringToObject(obj, "color", b->color) &&
           cJSON_AddStringToObject(obj, "text_color", b->text_color) &&
           cJSON_AddNumberToObject(obj, "radius", b->radius) &&
           cJSON_AddStringToObject(obj, "shape", b->shape) &&
           cJSON_AddBoolToObject(obj, "emphasis", b->emphasis) &&
           cJSON_AddBoolToObject(obj, "nodata", b->nodata);
}

int col_layers_band_apply(enum ct_kind kind, cJSON *props)
{
    struct col_layers_band b;
    char range[64];
    int rc = col_layers_band(kind, classify(kind, props), &b, range, sizeof(range));
    if (rc) {
        return rc;
    }
    return put_band(props, &b, false) ? 0 : CT_E_NOMEM;
}

/* Titles, notes, method and data source of each layer (QĐ 1459 asks an AQI publication to name
 * its method and source). */
static const struct {
    const char *title_vi, *title_en, *note_vi, *note_en, *method_vi, *method_en;
} texts[CT_KIND__COUNT] = {
    [CT_KIND_AIR] = {"Chỉ số VN_AQI giờ", "Hourly air quality index (VN_AQI)",
                     "Bảng 1, QĐ 1459/QĐ-TCMT. Chỉ số giờ cần số liệu của ít nhất 2 trong 3 giờ "
                     "gần nhất.",
                     "Decision 1459/QĐ-TCMT, table 1. The hourly index needs data from 2 of the "
                     "last 3 hours.",
                     "VN_AQI giờ (NowCast cho PM2.5, PM10), QĐ 1459/QĐ-TCMT",
                     "Hourly VN_AQI (NowCast for PM2.5, PM10), Decision 1459/QĐ-TCMT"},
    [CT_KIND_WATER] = {"Chỉ số VN_WQI", "Water quality index (VN_WQI)",
                       "QĐ 1460/QĐ-TCMT. \"Sơ bộ\": chỉ tính từ các đầu đo tự động.",
                       "Decision 1460/QĐ-TCMT. \"Preliminary\": from the automatic probes only.",
                       "VN_WQI giờ, QĐ 1460/QĐ-TCMT", "Hourly VN_WQI, Decision 1460/QĐ-TCMT"},
    [CT_KIND_RAIN] = {"Lượng mưa 1 giờ", "Rain in the last hour",
                      "Ngưỡng của dự án (theo cấp cường độ mưa WMO).",
                      "The project's bands (after the WMO rain intensity classes).",
                      "Tổng lượng mưa 1 giờ từ vũ kế", "Rain gauge total over the last hour"},
    [CT_KIND_FLOOD] = {"Độ sâu ngập", "Street flooding depth",
                       "Ngưỡng của dự án (docs/indices.md), không có bảng chính thức.",
                       "The project's bands (docs/indices.md); no official table exists.",
                       "Cảm biến mực nước; cấp ngập đã xác nhận",
                       "Water level sensor; confirmed band"},
    [CT_KIND_PARKING] = {"Chỗ trống", "Free spaces", "", "", "Bộ đếm xe tại bãi",
                         "Vehicle counter at the lot"},
};

int col_layers_legend_add(enum ct_kind kind, cJSON *fc)
{
    size_t n = col_layers_band_count(kind);
    if (n == 0) {
        return CT_E_INVAL;
    }
    cJSON *lg = cJSON_AddObjectToObject(fc, "legend");
    bool ok = lg && cJSON_AddStringToObject(lg, "layer", ct_kind_name(kind)) &&
              cJSON_AddStringToObject(lg, "title_vi", texts[kind].title_vi) &&
              cJSON_AddStringToObject(lg, "title_en", texts[kind].title_en) &&
              cJSON_AddStringToObject(lg, "note_vi", texts[kind].note_vi) &&
              cJSON_AddStringToObject(lg, "note_en", texts[kind].note_en) &&
              cJSON_AddStringToObject(lg, "method_vi", texts[kind].method_vi) &&
              cJSON_AddStringToObject(lg, "method_en", texts[kind].method_en) &&
              cJSON_AddStringToObject(lg, "source_vi", "Mạng trạm quan trắc tự động citytel") &&
              cJSON_AddStringToObject(lg, "source_en", "citytel automatic monitoring network") &&
              cJSON_AddStringToObject(lg, "stale_vi", "Số liệu cũ (trạm im lặng)") &&
              cJSON_AddStringToObject(lg, "stale_en", "Stale (station silent)");
    cJSON *arr = ok ? cJSON_AddArrayToObject(lg, "bands") : NULL;
    if (!arr) {
        return CT_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct col_layers_band b;
        char range[64];
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            return CT_E_NOMEM;
        }
        cJSON_AddItemToArray(arr, o);
        if (col_layers_band(kind, i, &b, range, sizeof(range)) != 0 || !put_band(o, &b, true)) {
            return CT_E_NOMEM;
        }
    }
    return 0;
}

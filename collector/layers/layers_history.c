/* layers_history.c - the last 24 hours of each public station's main value, hourly, for the
 * chart in the map's popups (/layers/<layer>.history.json). Pure: no I/O. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "layers_priv.h"

/* Per layer: measurement and chart title (the hour's aggregate: hist_aggs). */
static const struct {
    const char *meas, *title_vi, *title_en, *unit;
} hist[CT_KIND__COUNT] = {
    [CT_KIND_AIR] = {"air_aqi", "VN_AQI theo giờ, 24 giờ qua", "Hourly VN_AQI, last 24 h", ""},
    [CT_KIND_WATER] = {"water_wqi", "VN_WQI theo giờ, 24 giờ qua", "Hourly VN_WQI, last 24 h", ""},
    [CT_KIND_RAIN] = {"rain_1h", "Mưa mỗi giờ, 24 giờ qua", "Rain per hour, last 24 h", "mm"},
    [CT_KIND_FLOOD] = {"flood", "Độ sâu lớn nhất mỗi giờ", "Deepest water each hour", "cm"},
    [CT_KIND_PARKING] = {"parking_lot", "Chỗ trống ít nhất mỗi giờ", "Fewest free spaces each hour",
                         "chỗ"},
};

/* The aggregate of each layer (its fn, column, as "v"), for the selections below. */
static const struct col_storeq_agg hist_aggs[CT_KIND__COUNT] = {
    [CT_KIND_AIR] = {"max", "aqi_vn", "v"},   [CT_KIND_WATER] = {"max", "wqi", "v"},
    [CT_KIND_RAIN] = {"max", "mm", "v"},      [CT_KIND_FLOOD] = {"max", "depth", "v"},
    [CT_KIND_PARKING] = {"min", "free", "v"},
};

int col_layers_history_sel(enum ct_kind kind, struct col_storeq_sel *sel)
{
    if (!sel || (int)kind < 0 || kind >= CT_KIND__COUNT) {
        return CT_E_INVAL;
    }
    *sel = (struct col_storeq_sel){.meas = hist[kind].meas,
                                   .aggs = &hist_aggs[kind],
                                   .naggs = 1,
                                   .window_s = COL_LAYERS_HISTORY_H * 3600,
                                   .window_unit = 'h',
                                   .hourly = true,
                                   .tags = {"device", kind == CT_KIND_PARKING ? "lot" : NULL}};
    return 0;
}

int col_layers_history_influxql(enum ct_kind kind, char *buf, size_t cap)
{
    struct col_storeq_sel sel;
    int rc = col_layers_history_sel(kind, &sel);

    if (!buf || cap == 0) {
        return CT_E_INVAL;
    }
    return rc ? rc : col_storeq_influxql(&sel, 1, buf, cap);
}

/* Adds the [ms, value] pairs of one series to the station's array in 'series'. */
static int add_series(const struct col_layers_src *src, enum ct_kind kind, const cJSON *s,
                      cJSON *series)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(s, "tags");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(tags, "device");
    if (!cJSON_IsString(dev) || dev->valuestring[0] == '\0') {
        dev = cJSON_GetObjectItemCaseSensitive(tags, "lot");
    }
    if (!cJSON_IsString(dev)) {
        return 0;
    }
    /* Only public stations of the layer, by the registry (never an id from the store alone). */
    const struct ct_device *d = NULL;
    for (size_t i = 0; i < src->ndevs && !d; i++) {
        if (strcmp(src->devs[i]->id, dev->valuestring) == 0 &&
            col_layers_dev_public(src->devs[i], kind)) {
            d = src->devs[i];
        }
    }
    if (!d) {
        return 0;
    }
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(series, d->id);
    if (!arr && !(arr = cJSON_AddArrayToObject(series, d->id))) {
        return CT_E_NOMEM;
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(s, "values"))
    {
        const cJSON *t = cJSON_GetArrayItem(row, 0);
        const cJSON *v = cJSON_GetArrayItem(row, 1);
        if (!cJSON_IsNumber(t) || !cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            continue;
        }
        cJSON *pair = cJSON_CreateDoubleArray((const double[]){t->valuedouble, v->valuedouble}, 2);
        if (!pair) {
            return CT_E_NOMEM;
        }
        cJSON_AddItemToArray(arr, pair);
    }
    return 0;
}

int col_layers_history(const struct col_layers_src *src, enum ct_kind kind, char **out)
{
    if (!out) {
        return CT_E_INVAL;
    }
    *out = NULL;
    if (!src || (int)kind < 0 || kind >= CT_KIND__COUNT || (src->ndevs && !src->devs) ||
        (src->nresp && (!src->resp || !src->resp_len))) {
        return CT_E_INVAL;
    }
    int rc = 0;
    cJSON *doc = cJSON_CreateObject();
    cJSON *series = NULL;
    if (!doc || !cJSON_AddStringToObject(doc, "layer", ct_kind_name(kind)) ||
        !cJSON_AddNumberToObject(doc, "hours", COL_LAYERS_HISTORY_H) ||
        !cJSON_AddStringToObject(doc, "title_vi", hist[kind].title_vi) ||
        !cJSON_AddStringToObject(doc, "title_en", hist[kind].title_en) ||
        !cJSON_AddStringToObject(doc, "unit", hist[kind].unit) ||
        !(series = cJSON_AddObjectToObject(doc, "series"))) {
        rc = CT_E_NOMEM;
        goto out_free;
    }
    for (size_t i = 0; i < src->nresp && rc == 0; i++) {
        if (src->resp_len[i] > COL_LAYERS_RESPONSE_MAX) {
            rc = CT_E_TOOBIG;
            break;
        }
        cJSON *root = cJSON_ParseWithLength(src->resp[i], src->resp_len[i]);
        if (!root) {
            rc = CT_E_PARSE;
            break;
        }
        const cJSON *res;
        cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(root, "results"))
        {
            const cJSON *s;
            cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(res, "series"))
            {
                rc = rc ? rc : add_series(src, kind, s, series);
            }
        }
        cJSON_Delete(root);
    }
    rc = rc ? rc : col_layers_print(doc, out);
out_free:
    cJSON_Delete(doc);
    return rc;
}

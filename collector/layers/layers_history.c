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

/* The aggregate of each layer (its fn, column, as "v"), for the selections below; air, water and
 * rain also whether the hour's index or sums were recomputed from validated data
 * (console_recompute.c, console_recompute_events.c: a run rewrites whole hours). */
static const struct col_storeq_agg hist_aggs[CT_KIND__COUNT][2] = {
    [CT_KIND_AIR] = {{"max", "aqi_vn", "v"}, {"last", "validated", "validated"}},
    [CT_KIND_WATER] = {{"max", "wqi", "v"}, {"last", "validated", "validated"}},
    [CT_KIND_RAIN] = {{"max", "mm", "v"}, {"last", "validated", "validated"}},
    [CT_KIND_FLOOD] = {{"max", "depth", "v"}},
    [CT_KIND_PARKING] = {{"min", "free", "v"}},
};

int col_layers_history_sel(enum ct_kind kind, struct col_storeq_sel *sel)
{
    if (!sel || (int)kind < 0 || kind >= CT_KIND__COUNT) {
        return CT_E_INVAL;
    }
    *sel = (struct col_storeq_sel){
        .meas = hist[kind].meas,
        .aggs = hist_aggs[kind],
        .naggs = kind == CT_KIND_AIR || kind == CT_KIND_WATER || kind == CT_KIND_RAIN ? 2 : 1,
        .window_s = COL_LAYERS_HISTORY_H * 3600,
        .window_unit = 'h',
        .hourly = true,
        .tags = {"device", kind == CT_KIND_PARKING ? "lot" : NULL}};
    return 0;
}

int col_layers_history_sels(enum ct_kind kind, struct col_storeq_sel *sel, size_t *n)
{
    int rc = n != NULL ? col_layers_history_sel(kind, sel) : CT_E_INVAL;

    if (rc == 0) {
        col_layers_decisions_sel(COL_LAYERS_HISTORY_H * 3600, 'h', &sel[1]);
        *n = 2;
    }
    return rc;
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

/* The ranges staff marked invalid, from the decisions' series (borrowed from the answers). */
struct inval {
    const char *station;
    int64_t from_ms, to_ms;
};

struct invals {
    struct inval *v; /* owned */
    size_t n, cap;
};

static int add_decisions(const cJSON *s, struct invals *iv)
{
    const cJSON *st =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "tags"), "station");
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(s, "columns");
    struct col_layers_deccols dc;
    const cJSON *row;
    int64_t from_ms, to_ms;

    if (!cJSON_IsString(st)) {
        return 0;
    }
    col_layers_decision_cols(cols, &dc);
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(s, "values"))
    {
        if (!col_layers_decision_range(&dc, row, &from_ms, &to_ms)) {
            continue; /* no range, or withdrawn */
        }
        if (iv->n == iv->cap) {
            size_t cap = iv->cap ? iv->cap * 2 : 16;
            struct inval *v = realloc(iv->v, cap * sizeof(*v));
            if (!v) {
                return CT_E_NOMEM;
            }
            iv->v = v;
            iv->cap = cap;
        }
        iv->v[iv->n++] = (struct inval){st->valuestring, from_ms, to_ms};
    }
    return 0;
}

/* True when a range marked invalid of station 'id' meets [from, to]. */
static bool meets(const struct invals *iv, const char *id, int64_t from, int64_t to)
{
    for (size_t i = 0; i < iv->n; i++) {
        if (strcmp(iv->v[i].station, id) == 0 && iv->v[i].from_ms <= to && iv->v[i].to_ms >= from) {
            return true;
        }
    }
    return false;
}

/* Adds the [ms, value] pairs of one series to the station's array in 'series', without the
 * hours whose data holds a range staff marked invalid, unless the hour's index (air, water) or
 * sums (rain) were recomputed from the validated data (test_layers_history_invalid). */
static int add_series(const struct col_layers_src *src, enum ct_kind kind, const cJSON *s,
                      const struct invals *iv, cJSON *series)
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
    int vcol = -1, i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "columns"))
    {
        vcol = cJSON_IsString(c) && strcmp(c->valuestring, "validated") == 0 ? i : vcol;
        i++;
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(s, "values"))
    {
        const cJSON *t = cJSON_GetArrayItem(row, 0);
        const cJSON *v = cJSON_GetArrayItem(row, 1);
        const cJSON *ok = vcol >= 0 ? cJSON_GetArrayItem(row, vcol) : NULL;
        int64_t from, to;
        if (!cJSON_IsNumber(t) || !cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            continue;
        }
        col_layers_index_window(kind, true, (int64_t)t->valuedouble, &from, &to);
        if (meets(iv, d->id, from, to) &&
            !(cJSON_IsTrue(ok) || (cJSON_IsNumber(ok) && ok->valuedouble != 0))) {
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

/* Calls add_decisions (decisions) or add_series (the rest) on every series of 'roots'. */
static int each_series(const struct col_layers_src *src, enum ct_kind kind, cJSON *const *roots,
                       bool decisions, struct invals *iv, cJSON *series)
{
    int rc = 0;

    for (size_t i = 0; i < src->nresp && rc == 0; i++) {
        const cJSON *res, *s;
        cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(roots[i], "results"))
        {
            cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(res, "series"))
            {
                const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
                bool dec =
                    cJSON_IsString(name) && strcmp(name->valuestring, "console_decision") == 0;
                if (rc == 0 && dec && decisions) {
                    rc = add_decisions(s, iv);
                } else if (rc == 0 && !dec && !decisions) {
                    rc = add_series(src, kind, s, iv, series);
                }
            }
        }
    }
    return rc;
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
    cJSON **roots = NULL;
    struct invals iv = {0};
    if (!doc || !cJSON_AddStringToObject(doc, "layer", ct_kind_name(kind)) ||
        !cJSON_AddNumberToObject(doc, "hours", COL_LAYERS_HISTORY_H) ||
        !cJSON_AddStringToObject(doc, "title_vi", hist[kind].title_vi) ||
        !cJSON_AddStringToObject(doc, "title_en", hist[kind].title_en) ||
        !cJSON_AddStringToObject(doc, "unit", hist[kind].unit) ||
        !(series = cJSON_AddObjectToObject(doc, "series"))) {
        rc = CT_E_NOMEM;
        goto out_free;
    }
    roots = calloc(src->nresp ? src->nresp : 1, sizeof(*roots));
    if (!roots) {
        rc = CT_E_NOMEM;
        goto out_free;
    }
    for (size_t i = 0; i < src->nresp && rc == 0; i++) {
        if (src->resp_len[i] > COL_LAYERS_RESPONSE_MAX) {
            rc = CT_E_TOOBIG;
            break;
        }
        roots[i] = cJSON_ParseWithLength(src->resp[i], src->resp_len[i]);
        rc = roots[i] ? 0 : CT_E_PARSE;
    }
    rc = rc ? rc : each_series(src, kind, roots, true, &iv, series);
    rc = rc ? rc : each_series(src, kind, roots, false, &iv, series);
    rc = rc ? rc : col_layers_print(doc, out);
out_free:
    for (size_t i = 0; roots && i < src->nresp; i++) {
        cJSON_Delete(roots[i]);
    }
    free(roots);
    free(iv.v);
    cJSON_Delete(doc);
    return rc;
}

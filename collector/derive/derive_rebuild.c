/* derive_rebuild.c - state that must outlive a restart, rebuilt from the store at start:
 * hourly means (NowCast, 8-h means, daily AQI), 24 h of rain and the last flood band. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "derive_int.h"

static const char *const queries[COL_DERIVE_RB__COUNT] = {
    [COL_DERIVE_RB_AIR] =
        "SELECT sum(\"pm25\") AS \"pm25_sum\", count(\"pm25\") AS \"pm25_count\", "
        "sum(\"pm10\") AS \"pm10_sum\", count(\"pm10\") AS \"pm10_count\", "
        "sum(\"o3\") AS \"o3_sum\", count(\"o3\") AS \"o3_count\", "
        "sum(\"co\") AS \"co_sum\", count(\"co\") AS \"co_count\", "
        "sum(\"so2\") AS \"so2_sum\", count(\"so2\") AS \"so2_count\", "
        "sum(\"no2\") AS \"no2_sum\", count(\"no2\") AS \"no2_count\" "
        "FROM \"air\" WHERE time >= now() - 32h GROUP BY time(1h), \"device\" fill(none)",
    [COL_DERIVE_RB_WATER] =
        "SELECT sum(\"ph\") AS \"ph_sum\", count(\"ph\") AS \"ph_count\", "
        "sum(\"do\") AS \"do_sum\", count(\"do\") AS \"do_count\", "
        "sum(\"t\") AS \"t_sum\", count(\"t\") AS \"t_count\", "
        "sum(\"cod\") AS \"cod_sum\", count(\"cod\") AS \"cod_count\", "
        "sum(\"nh4\") AS \"nh4_sum\", count(\"nh4\") AS \"nh4_count\" "
        "FROM \"water\" WHERE time >= now() - 2h GROUP BY time(1h), \"device\" fill(none)",
    [COL_DERIVE_RB_RAIN] = "SELECT sum(\"mm\") AS \"mm\" FROM \"rain\" WHERE time > now() - 25h "
                           "GROUP BY time(1h), \"device\" fill(none)",
    [COL_DERIVE_RB_FLOOD] = "SELECT last(\"band\") AS \"band\" FROM \"flood_level\" "
                            "WHERE time > now() - 7d GROUP BY \"device\"",
};

#define SUM_COUNT(f)                                                                               \
    {"sum", f, f "_sum"},                                                                          \
    {                                                                                              \
        "count", f, f "_count"                                                                     \
    }
static const struct col_storeq_agg air_aggs[] = {SUM_COUNT("pm25"), SUM_COUNT("pm10"),
                                                 SUM_COUNT("o3"),   SUM_COUNT("co"),
                                                 SUM_COUNT("so2"),  SUM_COUNT("no2")};
static const struct col_storeq_agg water_aggs[] = {SUM_COUNT("ph"), SUM_COUNT("do"), SUM_COUNT("t"),
                                                   SUM_COUNT("cod"), SUM_COUNT("nh4")};
static const struct col_storeq_agg rain_aggs[] = {{"sum", "mm", "mm"}};
static const struct col_storeq_agg flood_aggs[] = {{"last", "band", "band"}};
#define AGGS(a) a, sizeof(a) / sizeof(a[0])

/* The same statements as 'queries' (test_derive_air checks that both spell the same InfluxQL). */
static const struct col_storeq_sel sels[COL_DERIVE_RB__COUNT] = {
    [COL_DERIVE_RB_AIR] = {"air", AGGS(air_aggs), 32 * 3600, 'h', true, true, {"device"}},
    [COL_DERIVE_RB_WATER] = {"water", AGGS(water_aggs), 2 * 3600, 'h', true, true, {"device"}},
    [COL_DERIVE_RB_RAIN] = {"rain", AGGS(rain_aggs), 25 * 3600, 'h', false, true, {"device"}},
    [COL_DERIVE_RB_FLOOD] =
        {"flood_level", AGGS(flood_aggs), 7 * 86400, 'd', false, false, {"device"}},
};

const struct col_storeq_sel *col_derive_rebuild_sel(enum col_derive_rebuild what)
{
    if ((int)what < 0 || what >= COL_DERIVE_RB__COUNT) {
        return NULL;
    }
    return &sels[what];
}

const char *col_derive_rebuild_query(enum col_derive_rebuild what)
{
    if ((int)what < 0 || what >= COL_DERIVE_RB__COUNT) {
        return NULL;
    }
    return queries[what];
}

static int column(const cJSON *cols, const char *name)
{
    int i = 0;
    const cJSON *c;

    cJSON_ArrayForEach(c, cols)
    {
        if (cJSON_IsString(c) && strcmp(c->valuestring, name) == 0) {
            return i;
        }
        i++;
    }
    return -1;
}

static bool cell(const cJSON *row, int i, double *x)
{
    const cJSON *c = i >= 0 ? cJSON_GetArrayItem(row, i) : NULL;

    if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble)) {
        return false;
    }
    *x = c->valuedouble;
    return true;
}

static void apply_hours(struct col_derive *d, struct dv *v, const cJSON *cols, const cJSON *vals)
{
    const char *const *names;
    static const char *const air[] = {"pm25", "pm10", "o3", "co", "so2", "no2", NULL};
    static const char *const water[] = {"ph", "do", "t", "cod", "nh4", NULL};
    int tcol = column(cols, "time");
    const cJSON *row;

    names = v->kind == CT_KIND_AIR ? air : water;
    cJSON_ArrayForEach(row, vals)
    {
        double t;
        if (!cell(row, tcol, &t)) {
            continue;
        }
        for (size_t i = 0; names[i] != NULL; i++) {
            char key[CT_MEMBER_NAME_MAX + 8];
            double sum;
            double cnt;
            snprintf(key, sizeof(key), "%s_sum", names[i]);
            if (!cell(row, column(cols, key), &sum)) {
                continue;
            }
            snprintf(key, sizeof(key), "%s_count", names[i]);
            if (!cell(row, column(cols, key), &cnt) || cnt < 1) {
                continue;
            }
            col_derive_hist_put(&v->air->h, (int64_t)t, col_derive_hist_member(v->kind, names[i]),
                                sum, (int64_t)cnt);
        }
        d->st.rebuild_rows++;
    }
}

static int apply_rain(struct col_derive *d, struct dv *v, const cJSON *cols, const cJSON *vals)
{
    int n = cJSON_GetArraySize(vals);
    int tcol = column(cols, "time");
    int mcol = column(cols, "mm");
    int64_t *ends;
    double *mm;
    size_t k = 0;
    const cJSON *row;

    if (n <= 0) {
        return 0;
    }
    ends = calloc((size_t)n, sizeof(*ends));
    mm = calloc((size_t)n, sizeof(*mm));
    if (ends == NULL || mm == NULL) {
        free(ends);
        free(mm);
        return CT_E_NOMEM;
    }
    cJSON_ArrayForEach(row, vals)
    {
        double t;
        double x;
        if (cell(row, tcol, &t) && cell(row, mcol, &x) && x >= 0 && t >= 0) {
            /* The store groups [start, start + 1 h); the ring keys an hour by its end. */
            ends[k] = col_derive_floor_div((int64_t)t, 1000) + 3600;
            mm[k] = x;
            k++;
        }
    }
    col_rain_rebuild(&v->rain->g.ring, ends, mm, k);
    for (size_t i = 0; i < k; i++) {
        v->rain->rebuilt_s = ends[i] > v->rain->rebuilt_s ? ends[i] : v->rain->rebuilt_s;
    }
    d->st.rebuild_rows += k;
    free(ends);
    free(mm);
    return 0;
}

static void apply_flood(struct col_derive *d, struct dv *v, const cJSON *cols, const cJSON *vals)
{
    int tcol = column(cols, "time");
    int bcol = column(cols, "band");
    const cJSON *row;

    cJSON_ArrayForEach(row, vals)
    {
        double t;
        double b;
        if (!cell(row, tcol, &t) || !cell(row, bcol, &b) || b < 0) {
            continue;
        }
        v->flood->st.has_band = true;
        v->flood->st.band =
            (size_t)b < v->flood->bands.cfg.n_bands ? (size_t)b : v->flood->bands.cfg.n_bands - 1;
        v->flood->st.last_ts = col_derive_floor_div((int64_t)t, 1000);
        d->st.rebuild_rows++;
    }
}

static int apply_series(struct col_derive *d, const cJSON *s)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(s, "tags");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(tags, "device");
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(s, "columns");
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(s, "values");
    enum ct_kind kind;
    struct dv *v;

    if (!cJSON_IsString(name) || !cJSON_IsArray(cols)) {
        return CT_E_PARSE;
    }
    if (!cJSON_IsString(dev) || !cJSON_IsArray(vals) ||
        !ct_device_id_valid(dev->valuestring, strlen(dev->valuestring))) {
        return 0; /* nothing to restore for this series */
    }
    if (strcmp(name->valuestring, "air") == 0) {
        kind = CT_KIND_AIR;
    } else if (strcmp(name->valuestring, "water") == 0) {
        kind = CT_KIND_WATER;
    } else if (strcmp(name->valuestring, "rain") == 0) {
        kind = CT_KIND_RAIN;
    } else if (strcmp(name->valuestring, "flood_level") == 0) {
        kind = CT_KIND_FLOOD;
    } else {
        return 0;
    }
    v = col_derive_dv_get(d, dev->valuestring, kind);
    if (v == NULL || v->kind != kind) {
        return 0;
    }
    switch (kind) {
    case CT_KIND_AIR:
    case CT_KIND_WATER:
        apply_hours(d, v, cols, vals);
        return 0;
    case CT_KIND_RAIN:
        return apply_rain(d, v, cols, vals);
    default:
        apply_flood(d, v, cols, vals);
        return 0;
    }
}

int col_derive_rebuild_apply(struct col_derive *d, const char *json, size_t len)
{
    cJSON *root;
    const cJSON *results;
    const cJSON *res;
    int rc = 0;

    if (d == NULL || json == NULL) {
        return CT_E_INVAL;
    }
    root = cJSON_ParseWithLength(json, len);
    if (root == NULL) {
        return CT_E_PARSE;
    }
    results = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (!cJSON_IsArray(results)) {
        rc = CT_E_PARSE;
        goto out_free;
    }
    cJSON_ArrayForEach(res, results)
    {
        const cJSON *series = cJSON_GetObjectItemCaseSensitive(res, "series");
        const cJSON *s;
        if (cJSON_GetObjectItemCaseSensitive(res, "error") != NULL) {
            rc = CT_E_PARSE;
            goto out_free;
        }
        cJSON_ArrayForEach(s, series)
        {
            rc = apply_series(d, s);
            if (rc != 0) {
                goto out_free;
            }
        }
    }
out_free:
    cJSON_Delete(root);
    return rc;
}

/* console_recompute.c - a station's window aggregates and indices recomputed from the validated
 * data after staff mark a range invalid (col_console_recompute.h; docs/console.md).
 * Pure part: the query and the points (test_console_recompute). Loop part: the waiting ranges,
 * run from the console's tick one query at a time, written through the console's journalled
 * write path (records of COL_CONSOLE_TOPIC), so a store outage or a restart loses no point. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_console_recompute.h"
#include "col_console_recompute_events.h"
#include "col_indices_aqi_hour.h"
#include "col_indices_wqi_hour.h"
#include "col_obs.h"
#include "console_int.h"
#include "ct/err.h"
#include "ct/lp.h"

#define BACK (COL_AQI_DAY_BACK - 1) /* hours read before the first hour written */
#define DAY_MS (24 * COL_CONSOLE_HOUR_MS)
#define LOCAL_OFFSET_MS (7 * COL_CONSOLE_HOUR_MS) /* Asia/Ho_Chi_Minh: a day ends at 17:00Z */
#define RETRY_MS 30000                            /* a failed recompute runs again after this */

/* Per hour bucket and member: the valid values' min, max, sum, count, and every value's. */
struct cell {
    double min, max, sum, all_sum;
    uint32_t n, all_n;
};

/* 'ms' rounded down to a multiple of 'unit' (> 0). */
static int64_t floor_to(int64_t ms, int64_t unit)
{
    int64_t q = ms / unit;

    return (ms < 0 && q * unit != ms ? q - 1 : q) * unit;
}

static int64_t hour_floor(int64_t ms)
{
    return floor_to(ms, COL_CONSOLE_HOUR_MS);
}

/* True when derive writes a window of 'window_s' besides the hour's (0: none). */
static bool other_window(uint32_t window_s)
{
    return window_s != 0 && window_s != 3600;
}

/* derive's measurement of the aggregate of 'window_s' seconds ("air_agg_1m"; derive.c). */
static void agg_meas(enum ct_kind kind, uint32_t window_s, char *out, size_t cap)
{
    if (window_s % 3600 == 0) {
        snprintf(out, cap, "%s_agg_%uh", ct_kind_name(kind), window_s / 3600);
    } else if (window_s % 60 == 0) {
        snprintf(out, cap, "%s_agg_%um", ct_kind_name(kind), window_s / 60);
    } else {
        snprintf(out, cap, "%s_agg_%us", ct_kind_name(kind), window_s);
    }
}

int64_t col_console_recompute_hours_max(uint32_t window_s)
{
    int64_t h = COL_CONSOLE_RECOMPUTE_HOURS_MAX;

    if (other_window(window_s) && window_s < 60) {
        h = (int64_t)COL_CONSOLE_RECOMPUTE_WINDOWS_MAX * window_s / 3600;
    }
    return h > 0 ? h : 1;
}

/* The start of the first window of 'window_s' written: the one holding first_ms. */
static int64_t first_window(const struct col_console_recompute_in *in)
{
    return other_window(in->window_s) ? floor_to(in->first_ms, (int64_t)in->window_s * 1000)
                                      : in->first_ms;
}

int col_console_recompute_ql(const struct col_console_recompute_in *in, struct ct_buf *ql)
{
    char meas[48];

    if (in == NULL || in->dev == NULL || ql == NULL || in->last_ms < in->first_ms ||
        (in->window_s != 0 && 86400 % in->window_s != 0)) {
        return CT_E_INVAL;
    }
    ct_buf_printf(ql, "SELECT * FROM \"%s\" WHERE device='", ct_kind_name(in->dev->kind));
    col_console_ql_str(ql, in->dev->id);
    ct_buf_printf(ql, "' AND time >= %lldms AND time < %lldms; ",
                  (long long)(in->first_ms - BACK * COL_CONSOLE_HOUR_MS),
                  (long long)(in->last_ms + COL_CONSOLE_HOUR_MS));
    ct_buf_adds(ql, "SELECT * FROM console_decision WHERE \"action\"='invalid' AND station='");
    col_console_ql_str(ql, in->dev->id);
    /* Every series of the windows written (each collector instance, each late part), with the
     * members each holds. */
    ct_buf_printf(ql, "'; SELECT /_count$/ FROM \"%s_agg_1h\"", ct_kind_name(in->dev->kind));
    if (other_window(in->window_s)) {
        agg_meas(in->dev->kind, in->window_s, meas, sizeof(meas));
        ct_buf_printf(ql, ",\"%s\"", meas);
    }
    ct_buf_adds(ql, " WHERE device='");
    col_console_ql_str(ql, in->dev->id);
    return ct_buf_printf(ql, "' AND time >= %lldms AND time < %lldms GROUP BY *",
                         (long long)first_window(in),
                         (long long)(in->last_ms + COL_CONSOLE_HOUR_MS));
}

/* True when 'param' at 'ts' is inside one of the caller's ranges or the answer's decisions
 * (those withdrawn left out). */
static bool invalid(const struct col_console_recompute_in *in, const cJSON *dec, const char *param,
                    int64_t ts)
{
    return col_console_range_invalid(in, dec, param, ts);
}

/* The time of a row of an InfluxDB answer (its first column), or INT64_MIN. */
static int64_t row_time(const cJSON *row)
{
    const cJSON *t = cJSON_GetArrayItem(row, 0);

    /* Within +-2^62 ms, so that the (int64_t) conversion and the differences below are defined. */
    return cJSON_IsNumber(t) && fabs(t->valuedouble) < 4.6e18 ? (int64_t)t->valuedouble : INT64_MIN;
}

/* Adds the values of one raw row ('cols' its columns, 'ts' its time) to 'cells', one per
 * member. */
static void add_row(const struct col_console_recompute_in *in, const cJSON *cols, const cJSON *row,
                    int64_t ts, const cJSON *dec, struct cell *cells)
{
    size_t nm = 0;
    const struct ct_member *ms = ct_schema_members(in->dev->kind, &nm);
    const cJSON *col = cols != NULL ? cols->child : NULL;
    const cJSON *v = row != NULL ? row->child : NULL;

    for (; col != NULL && v != NULL; col = col->next, v = v->next) {
        const struct ct_member *m;
        struct cell *c;
        if (!cJSON_IsString(col) || !cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            continue;
        }
        m = ct_schema_find(in->dev->kind, col->valuestring, strlen(col->valuestring));
        if (m == NULL) {
            continue;
        }
        c = &cells[m - ms];
        c->all_sum += v->valuedouble;
        c->all_n++;
        if (invalid(in, dec, m->name, ts)) {
            continue;
        }
        c->min = c->n == 0 ? v->valuedouble : fmin(c->min, v->valuedouble);
        c->max = c->n == 0 ? v->valuedouble : fmax(c->max, v->valuedouble);
        c->sum += v->valuedouble;
        c->n++;
    }
}

/* Adds the raw series' values to the cells (nb buckets from 'base', nm members). */
static void fill(const struct col_console_recompute_in *in, const cJSON *raw, const cJSON *dec,
                 int64_t base, size_t nb, struct cell *cells, size_t nm)
{
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(raw, "columns");
    const cJSON *row;

    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(raw, "values"))
    {
        int64_t ts = row_time(row);
        int64_t b = ts < base ? -1 : (ts - base) / COL_CONSOLE_HOUR_MS;

        if (b < 0 || (size_t)b >= nb) {
            continue;
        }
        add_row(in, cols, row, ts, dec, &cells[(size_t)b * nm]);
    }
}

/* The aggregate point 'meas' of one window (start 'start') from its nm cells 'row'. */
static int agg_point(const struct col_console_recompute_in *in, const struct cell *row, size_t nm,
                     const char *meas, int64_t start, struct ct_buf *lp)
{
    const struct ct_member *ms = ct_schema_members(in->dev->kind, &nm);
    char keys[64][CT_MEMBER_NAME_MAX + 8];
    struct ct_lp_field f[64];
    size_t nf = 0;
    uint32_t iv =
        in->dev->interval_s ? in->dev->interval_s : ct_kind_default_interval_s(in->dev->kind);

    for (size_t j = 0; j < nm && nf + 6 <= 64; j++) {
        const struct cell *c = &row[j];
        static const char *const sfx[4] = {"min", "max", "sum", "count"};
        for (size_t s = 0; s < 4 && c->all_n > 0; s++) {
            if (c->n == 0 && s < 2) {
                continue; /* every value invalid: sum 0, count 0 */
            }
            snprintf(keys[nf], sizeof(keys[0]), "%s_%s", ms[j].name, sfx[s]);
            f[nf] = (struct ct_lp_field){.key = keys[nf],
                                         .type = s == 3 ? CT_LP_INT : CT_LP_FLOAT,
                                         .f = s == 0   ? c->min
                                              : s == 1 ? c->max
                                                       : c->sum,
                                         .i = c->n};
            nf++;
        }
    }
    if (nf == 0) {
        return 0;
    }
    f[nf++] = (struct ct_lp_field){.key = "interval_s", .type = CT_LP_INT, .i = iv};
    f[nf++] = (struct ct_lp_field){.key = "validated", .type = CT_LP_BOOL, .b = true};
    struct ct_lp_tag tags[4] = {{"collector", in->instance},
                                {"device", in->dev->id},
                                {"district", in->dev->district},
                                {"ward", in->dev->ward}};
    return ct_lp_point(lp, meas, tags, 4, f, nf, start);
}

/* True when the window of the nm cells 'row' has readings: derive writes a window's aggregate
 * and an hour's index only then. */
static bool has_data(const struct cell *row, size_t nm)
{
    for (size_t j = 0; j < nm; j++) {
        if (row[j].all_n > 0) {
            return true;
        }
    }
    return false;
}

static bool hour_has_data(const struct cell *cells, size_t nm, size_t b)
{
    return has_data(&cells[b * nm], nm);
}

/* ---- the other series of a window: late parts, other collector instances ---- */

/* An aggregate series of the store's answer (statement 2) other than the one agg_point writes. */
struct agg_series {
    const char *meas;
    const cJSON *tags, *cols;
    const cJSON *row; /* the first row not yet passed (an answer's rows are in time order) */
};

/* True when tag 'v' (a string or absent) has the value 'want' (NULL: none). */
static bool tag_is(const cJSON *v, const char *want)
{
    return strcmp(cJSON_IsString(v) ? v->valuestring : "", want != NULL ? want : "") == 0;
}

/* True when 'tags' (GROUP BY *) are those of agg_point's series: this instance's on-time part. */
static bool series_main(const struct col_console_recompute_in *in, const cJSON *tags)
{
    const cJSON *t;

    cJSON_ArrayForEach(t, tags)
    {
        const char *k = t->string != NULL ? t->string : "";
        const char *want = strcmp(k, "collector") == 0  ? in->instance
                           : strcmp(k, "device") == 0   ? in->dev->id
                           : strcmp(k, "district") == 0 ? in->dev->district
                           : strcmp(k, "ward") == 0     ? in->dev->ward
                                                        : NULL; /* part and any other: none */
        if (!tag_is(t, want)) {
            return false;
        }
    }
    return true;
}

/* The series of statement 'stmt' other than agg_point's, into *out (*n of them; NULL when none).
 * Returns 0 or CT_E_NOMEM. */
static int series_of(const struct col_console_recompute_in *in, const cJSON *stmt,
                     struct agg_series **out, size_t *n)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(stmt, "series"), *s;
    int cap = cJSON_GetArraySize(list);

    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(list) || cap <= 0) {
        return 0;
    }
    *out = calloc((size_t)cap, sizeof(**out));
    if (*out == NULL) {
        return CT_E_NOMEM;
    }
    cJSON_ArrayForEach(s, list)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(s, "tags");
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(s, "values");
        if (!cJSON_IsString(name) || !cJSON_IsObject(tags) || !cJSON_IsArray(vals) ||
            series_main(in, tags)) {
            continue;
        }
        (*out)[(*n)++] = (struct agg_series){.meas = name->valuestring,
                                             .tags = tags,
                                             .cols = cJSON_GetObjectItemCaseSensitive(s, "columns"),
                                             .row = vals->child};
    }
    return 0;
}

/* The point that empties series 's' at 'start' (its row 'row'): sum 0 and count 0 for each
 * member it holds, validated=true, under its own tags. */
static int zero_point(const struct col_console_recompute_in *in, const struct agg_series *s,
                      const cJSON *row, int64_t start, struct ct_buf *lp)
{
    char keys[64][CT_MEMBER_NAME_MAX + 8];
    struct ct_lp_field f[65];
    struct ct_lp_tag tags[CT_LP_MAX_TAGS];
    size_t nf = 0, nt = 0;
    const cJSON *col = s->cols != NULL ? s->cols->child : NULL, *v = row->child, *t;

    for (; col != NULL && v != NULL; col = col->next, v = v->next) {
        static const char sfx[] = "_count";
        size_t len = cJSON_IsString(col) ? strlen(col->valuestring) : 0;
        const struct ct_member *m;
        if (!cJSON_IsNumber(v) || len <= sizeof(sfx) - 1 ||
            strcmp(col->valuestring + len - (sizeof(sfx) - 1), sfx) != 0 || nf + 2 > 64) {
            continue;
        }
        m = ct_schema_find(in->dev->kind, col->valuestring, len - (sizeof(sfx) - 1));
        if (m == NULL) {
            continue; /* not a member: left alone */
        }
        snprintf(keys[nf], sizeof(keys[0]), "%s_sum", m->name);
        f[nf] = (struct ct_lp_field){.key = keys[nf], .type = CT_LP_FLOAT, .f = 0};
        nf++;
        snprintf(keys[nf], sizeof(keys[0]), "%s_count", m->name);
        f[nf] = (struct ct_lp_field){.key = keys[nf], .type = CT_LP_INT, .i = 0};
        nf++;
    }
    if (nf == 0) {
        return 0;
    }
    f[nf++] = (struct ct_lp_field){.key = "validated", .type = CT_LP_BOOL, .b = true};
    cJSON_ArrayForEach(t, s->tags)
    {
        if (t->string != NULL && cJSON_IsString(t) && t->valuestring[0] != '\0' &&
            nt < CT_LP_MAX_TAGS) {
            tags[nt++] = (struct ct_lp_tag){t->string, t->valuestring};
        }
    }
    return ct_lp_point(lp, s->meas, tags, nt, f, nf, start);
}

/* Empties every other series of the window 'meas' at 'start' (windows are visited in time
 * order per measurement). */
static int zero_others(const struct col_console_recompute_in *in, struct agg_series *ser, size_t ns,
                       const char *meas, int64_t start, struct ct_buf *lp)
{
    int rc = 0;

    for (size_t i = 0; i < ns && rc == 0; i++) {
        struct agg_series *s = &ser[i];
        if (strcmp(s->meas, meas) != 0) {
            continue;
        }
        while (s->row != NULL && row_time(s->row) < start) {
            s->row = s->row->next;
        }
        if (s->row != NULL && row_time(s->row) == start) {
            rc = zero_point(in, s, s->row, start, lp);
        }
    }
    return rc;
}

/* ---- the windows of aggregate.window_s ---- */

struct raw_row {
    int64_t ts;
    const cJSON *row;
};

static int raw_row_cmp(const void *a, const void *b)
{
    const struct raw_row *x = a, *y = b;

    return (x->ts > y->ts) - (x->ts < y->ts);
}

/* Every window of in->window_s ending after first_ms and by the end of the last hour: its
 * aggregate from the valid values of the raw rows, and the other series emptied. */
static int windows(const struct col_console_recompute_in *in, const cJSON *raw, const cJSON *dec,
                   struct agg_series *ser, size_t ns, size_t nm, struct ct_buf *lp)
{
    const int64_t w = (int64_t)in->window_s * 1000;
    const int64_t end = in->last_ms + COL_CONSOLE_HOUR_MS;
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(raw, "values");
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(raw, "columns");
    const cJSON *row;
    int64_t s = first_window(in);
    int cap = cJSON_GetArraySize(vals);
    struct raw_row *rows = malloc((size_t)(cap > 0 ? cap : 1) * sizeof(*rows));
    struct cell *cells = calloc(nm, sizeof(*cells));
    size_t n = 0, i = 0;
    char meas[48];
    int rc = 0;

    if (rows == NULL || cells == NULL) {
        free(rows);
        free(cells);
        return CT_E_NOMEM;
    }
    agg_meas(in->dev->kind, in->window_s, meas, sizeof(meas));
    cJSON_ArrayForEach(row, vals)
    {
        int64_t ts = row_time(row);
        if (ts >= s && ts < end && n < (size_t)cap) {
            rows[n++] = (struct raw_row){ts, row};
        }
    }
    qsort(rows, n, sizeof(*rows), raw_row_cmp);
    for (; s + w <= end && rc == 0; s += w) {
        memset(cells, 0, nm * sizeof(*cells));
        for (; i < n && rows[i].ts < s + w; i++) {
            add_row(in, cols, rows[i].row, rows[i].ts, dec, cells);
        }
        if (has_data(cells, nm)) {
            rc = agg_point(in, cells, nm, meas, s, lp);
            rc = rc ? rc : zero_others(in, ser, ns, meas, s, lp);
        }
    }
    free(rows);
    free(cells);
    return rc;
}

/* The index point 'meas' of an hour: its nf fields from the valid data (room for one more in
 * f) and validated=true; or, when only the raw data ('raw_has') had an index, validated=false
 * alone, so that the public layer withholds the raw index. */
static int index_point(const struct col_console_recompute_in *in, const char *meas,
                       struct ct_lp_field *f, size_t nf, bool raw_has, int64_t ts,
                       struct ct_buf *lp)
{
    bool has = nf > 0;

    if (!has && !raw_has) {
        return 0;
    }
    f[nf++] = (struct ct_lp_field){.key = "validated", .type = CT_LP_BOOL, .b = has};
    struct ct_lp_tag tags[3] = {
        {"device", in->dev->id}, {"district", in->dev->district}, {"ward", in->dev->ward}};
    return ct_lp_point(lp, meas, tags, 3, f, nf, ts);
}

/* The hourly means of the pollutants over the n hours ending with bucket b, newest first:
 * valid[k][p] from the valid values, all[k][p] from every value; NAN when absent. */
static void pollutant_means(const struct col_console_recompute_in *in, const struct cell *cells,
                            size_t b, size_t n, double (*valid)[COL_AQI_N_POLLUTANTS],
                            double (*all)[COL_AQI_N_POLLUTANTS])
{
    size_t nm = 0;
    const struct ct_member *ms = ct_schema_members(in->dev->kind, &nm);

    for (size_t k = 0; k < n; k++) {
        for (size_t p = 0; p < COL_AQI_N_POLLUTANTS; p++) {
            valid[k][p] = NAN;
            all[k][p] = NAN;
        }
        for (size_t j = 0; j < nm && k <= b; j++) {
            const struct cell *c = &cells[(b - k) * nm + j];
            enum col_aqi_pollutant p;
            if (col_aqi_pollutant_parse(ms[j].name, &p) == 0) {
                valid[k][p] = c->n > 0 ? c->sum / c->n : NAN;
                all[k][p] = c->all_n > 0 ? c->all_sum / c->all_n : NAN;
            }
        }
    }
}

/* The air_aqi point of the hour in bucket b (col_aqi_hour_compute over the 24 hours' means). */
static int aqi_point(const struct col_console_recompute_in *in, const struct cell *cells, size_t b,
                     int64_t start, struct ct_buf *lp)
{
    struct col_aqi_hour_in valid, all;
    struct col_aqi_hour_out vo, ao;
    struct ct_lp_field f[COL_AQI_HOUR_FIELDS + 1];

    pollutant_means(in, cells, b, COL_AQI_HOUR_BACK, valid.mean, all.mean);
    if (col_aqi_hour_compute(&valid, &vo) != 0 || col_aqi_hour_compute(&all, &ao) != 0) {
        return CT_E_INVAL;
    }
    size_t nf = col_aqi_hour_fields(&vo, f);
    bool raw_has = ao.vn.aqi != COL_AQI_NONE || ao.us.aqi != COL_AQI_NONE;
    return index_point(in, "air_aqi", f, nf, raw_has, start + COL_CONSOLE_HOUR_MS, lp);
}

/* The air_aqi_daily point of the day whose last hour is bucket b (col_aqi_day_compute over the
 * day's hours and the 7 before). */
static int day_point(const struct col_console_recompute_in *in, const struct cell *cells, size_t b,
                     int64_t day_end, struct ct_buf *lp)
{
    struct col_aqi_day_in valid, all;
    struct col_aqi_result vr, ar;
    struct ct_lp_field f[COL_AQI_DAY_FIELDS + 1];

    pollutant_means(in, cells, b, COL_AQI_DAY_BACK, valid.mean, all.mean);
    if (col_aqi_day_compute(&valid, &vr) != 0 || col_aqi_day_compute(&all, &ar) != 0) {
        return CT_E_INVAL;
    }
    size_t nf = col_aqi_day_fields(&vr, f);
    return index_point(in, "air_aqi_daily", f, nf, ar.aqi != COL_AQI_NONE, day_end, lp);
}

/* The water_wqi point of the hour in bucket b (the hour's means of the probe members). */
static int wqi_point(const struct col_console_recompute_in *in, const struct cell *cells, size_t nm,
                     size_t b, int64_t start, struct ct_buf *lp)
{
    const struct ct_member *ms = ct_schema_members(in->dev->kind, &nm);
    struct col_wqi_in valid, all;
    struct col_wqi_result vr, ar;
    struct ct_lp_field f[COL_WQI_HOUR_FIELDS + 1];

    col_wqi_hour_clear(&valid);
    col_wqi_hour_clear(&all);
    for (size_t j = 0; j < nm; j++) {
        const struct cell *c = &cells[b * nm + j];
        col_wqi_hour_set(&valid, ms[j].name, c->n > 0 ? c->sum / c->n : NAN);
        col_wqi_hour_set(&all, ms[j].name, c->all_n > 0 ? c->all_sum / c->all_n : NAN);
    }
    if (col_wqi_compute(&valid, &vr) != 0 || col_wqi_compute(&all, &ar) != 0) {
        return CT_E_INVAL;
    }
    size_t nf = col_wqi_hour_fields(&vr, f);
    return index_point(in, "water_wqi", f, nf, ar.wqi != COL_WQI_NONE, start + COL_CONSOLE_HOUR_MS,
                       lp);
}

int col_console_recompute_lp(const struct col_console_recompute_in *in, const char *answer,
                             size_t len, struct ct_buf *lp)
{
    size_t nm = 0, nh, nb, ns = 0;
    struct agg_series *ser = NULL;
    struct cell *cells;
    cJSON *root;
    char meas_1h[48];
    int rc = 0;

    if (in == NULL || in->dev == NULL || in->instance == NULL || answer == NULL || lp == NULL ||
        in->last_ms < in->first_ms || hour_floor(in->first_ms) != in->first_ms ||
        hour_floor(in->last_ms) != in->last_ms ||
        (in->window_s != 0 && 86400 % in->window_s != 0) ||
        (in->last_ms - in->first_ms) / COL_CONSOLE_HOUR_MS >=
            col_console_recompute_hours_max(in->window_s) ||
        ct_schema_members(in->dev->kind, &nm) == NULL || nm == 0) {
        return CT_E_INVAL;
    }
    root = cJSON_ParseWithLength(answer, len);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (!cJSON_IsArray(res)) {
        cJSON_Delete(root);
        return CT_E_PARSE;
    }
    const cJSON *raw = col_console_stmt_series(res, 0);
    const cJSON *dec = col_console_stmt_series(res, 1);
    nh = (size_t)((in->last_ms - in->first_ms) / COL_CONSOLE_HOUR_MS) + 1;
    nb = nh + BACK;
    cells = calloc(nb * nm, sizeof(*cells));
    if (cells == NULL || series_of(in, cJSON_GetArrayItem(res, 2), &ser, &ns) != 0) {
        free(cells);
        cJSON_Delete(root);
        return CT_E_NOMEM;
    }
    snprintf(meas_1h, sizeof(meas_1h), "%s_agg_1h", ct_kind_name(in->dev->kind));
    fill(in, raw, dec, in->first_ms - BACK * COL_CONSOLE_HOUR_MS, nb, cells, nm);
    for (size_t h = 0; h < nh && rc == 0; h++) {
        int64_t start = in->first_ms + (int64_t)h * COL_CONSOLE_HOUR_MS;
        rc = agg_point(in, &cells[(h + BACK) * nm], nm, meas_1h, start, lp);
        if (rc == 0 && hour_has_data(cells, nm, h + BACK)) {
            rc = zero_others(in, ser, ns, meas_1h, start, lp); /* late parts, other instances */
        }
        if (rc == 0 && hour_has_data(cells, nm, h + BACK) && in->dev->kind == CT_KIND_AIR) {
            rc = aqi_point(in, cells, h + BACK, start, lp);
            /* The day's index at its end (00:00 local), as derive writes it then. */
            int64_t end = start + COL_CONSOLE_HOUR_MS;
            if (rc == 0 && (end + LOCAL_OFFSET_MS) % DAY_MS == 0) {
                rc = day_point(in, cells, h + BACK, end, lp);
            }
        } else if (rc == 0 && hour_has_data(cells, nm, h + BACK) &&
                   in->dev->kind == CT_KIND_WATER) {
            rc = wqi_point(in, cells, nm, h + BACK, start, lp);
        }
    }
    if (rc == 0 && other_window(in->window_s)) {
        rc = windows(in, raw, dec, ser, ns, nm, lp);
    }
    free(ser);
    free(cells);
    cJSON_Delete(root);
    return rc;
}

/* ---- the loop part ---- */

struct rc_run {
    struct col_console *c;
    struct col_console_rc_job job; /* a copy: the table may change while the query runs */
    int64_t first_ms, last_ms;
};

static struct col_console_rc_job *job_find(struct col_console_rc *rc, const char *id,
                                           const struct col_console_range *r)
{
    for (size_t i = 0; i < rc->n; i++) {
        struct col_console_rc_job *j = &rc->jobs[i];
        if (strcmp(j->id, id) == 0 && strcmp(j->r.param, r->param) == 0 &&
            j->r.from_ms == r->from_ms && j->r.to_ms == r->to_ms) {
            return j;
        }
    }
    return NULL;
}

static void job_remove(struct col_console_rc *rc, struct col_console_rc_job *j)
{
    size_t i = (size_t)(j - rc->jobs);

    memmove(&rc->jobs[i], &rc->jobs[i + 1], (rc->n - i - 1) * sizeof(*j));
    rc->n--;
}

/* ---- the kept jobs (<spool.dir>/console-recompute) ---- */

int col_console_recompute_text(const struct col_console_rc *rc, struct ct_buf *out)
{
    for (size_t i = 0; i < rc->n; i++) {
        const struct col_console_rc_job *j = &rc->jobs[i];
        char done[24] = "-";
        if (j->done_ms != INT64_MIN) {
            snprintf(done, sizeof(done), "%lld", (long long)j->done_ms);
        }
        if (ct_buf_printf(out, "%s %s %lld %lld %lld %s %lld", j->id, j->r.param,
                          (long long)j->r.from_ms, (long long)j->r.to_ms, (long long)j->due_ms,
                          done, (long long)j->until_ms) != 0 ||
            (j->revoked_ms > 0 && ct_buf_printf(out, " %lld", (long long)j->revoked_ms) != 0) ||
            ct_buf_adds(out, "\n") != 0) {
            return CT_E_NOMEM;
        }
    }
    return 0;
}

/* The decimal integer 'f' (the whole field) into *v; false when it is not one. */
static bool field_int(const char *f, int64_t *v)
{
    char *end;
    long long x;

    if (*f == '\0' || (*f != '-' && (*f < '0' || *f > '9'))) {
        return false;
    }
    errno = 0;
    x = strtoll(f, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *v = x;
    return true;
}

/* Parses one line into *j; NULL, or the reason it is refused. */
static const char *job_parse(char *line, struct col_console_rc_job *j)
{
    char *f[9] = {NULL};
    size_t nf = 0;
    int64_t v[6] = {0};

    for (const char *p = line; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            return "a control character";
        }
    }
    for (char *p = line; nf < 9;) {
        f[nf++] = p;
        p = strchr(p, ' ');
        if (p == NULL) {
            break;
        }
        *p++ = '\0';
    }
    if (nf != 7 && nf != 8) {
        return "not 7 or 8 fields separated by one space";
    }
    if (f[0][0] == '\0' || strlen(f[0]) > CT_ID_MAX) {
        return "a bad station id";
    }
    if (f[1][0] == '\0' || strlen(f[1]) > CT_MEMBER_NAME_MAX) {
        return "a bad parameter name";
    }
    if (!field_int(f[2], &v[0]) || !field_int(f[3], &v[1]) || !field_int(f[4], &v[2]) ||
        !field_int(f[6], &v[4])) {
        return "a time that is not an integer (ms)";
    }
    if (nf == 8 && (!field_int(f[7], &v[5]) || v[5] <= 0)) {
        return "revoked_ms not a positive integer (ms)";
    }
    if (strcmp(f[5], "-") == 0) {
        v[3] = INT64_MIN;
    } else if (!field_int(f[5], &v[3]) || hour_floor(v[3]) != v[3]) {
        return "done_ms neither - nor an hour's start";
    }
    if (v[0] > v[1]) {
        return "from_ms after to_ms";
    }
    if (hour_floor(v[4]) != v[4] || v[4] < hour_floor(v[1])) {
        return "until_ms not an hour's start at or after the range's last hour";
    }
    if (v[3] != INT64_MIN && v[3] >= v[4]) {
        return "done_ms at or after until_ms (the job had ended)";
    }
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", f[0]);
    snprintf(j->r.param, sizeof(j->r.param), "%s", f[1]);
    j->r.from_ms = v[0];
    j->r.to_ms = v[1];
    j->due_ms = v[2];
    j->done_ms = v[3];
    j->until_ms = v[4];
    j->revoked_ms = v[5];
    return NULL;
}

size_t col_console_recompute_restore(struct col_console_rc *rc, const char *text, size_t len,
                                     const char *file)
{
    char line[CT_ID_MAX + CT_MEMBER_NAME_MAX + 6 * 24 + 8];
    size_t added = 0, lineno = 0;

    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        struct col_console_rc_job j;
        const char *why = NULL;

        pos += n + 1;
        lineno++;
        if (n == 0) {
            why = "an empty line";
        } else if (n >= sizeof(line)) {
            why = "too long";
        } else {
            memcpy(line, text + pos - n - 1, n);
            line[n] = '\0';
            if (memchr(line, '\0', n) != NULL) {
                why = "a NUL byte";
            } else {
                why = job_parse(line, &j);
            }
        }
        if (why == NULL && job_find(rc, j.id, &j.r) != NULL) {
            why = "the range already waits";
        }
        if (why == NULL && rc->n == COL_CONSOLE_RECOMPUTE_JOBS) {
            why = "the table is full";
        }
        if (why != NULL) {
            col_log(COL_LOG_WARN, "console", "%s:%zu: recompute job skipped: %s", file, lineno,
                    why);
            continue;
        }
        rc->jobs[rc->n++] = j;
        added++;
    }
    return added;
}

int64_t col_console_recompute_until(int64_t to_ms)
{
    int64_t until = hour_floor(to_ms) + COL_CONSOLE_RECOMPUTE_AFTER_H * COL_CONSOLE_HOUR_MS;
    /* The local day whose daily index reads to_ms: a day's index reads its 24 hours and the 7
     * before (the O3 8-h means), so to_ms's own day, or the next one from 17:00 local on. */
    int64_t read_by = to_ms + (COL_AQI_DAY_BACK - 24) * COL_CONSOLE_HOUR_MS;
    int64_t day_last = floor_to(read_by + LOCAL_OFFSET_MS, DAY_MS) + DAY_MS - LOCAL_OFFSET_MS -
                       COL_CONSOLE_HOUR_MS;

    return day_last > until ? day_last : until;
}

/* Sets when job 'j' (its range set) runs first, and its last hour, after a decision at now_ms. */
static void schedule(const struct col_console_rc *rc, struct col_console_rc_job *j, int64_t now_ms)
{
    j->due_ms = now_ms + rc->after_ms;
    j->done_ms = INT64_MIN;
    j->until_ms = col_console_recompute_until(j->r.to_ms);
}

void col_console_recompute_add(struct col_console *c, const char *id, const char *param,
                               int64_t from_ms, int64_t to_ms, int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);
    struct col_console_rc_job *j;

    if (rc->n == COL_CONSOLE_RECOMPUTE_JOBS) {
        col_log(COL_LOG_WARN, "console",
                "recompute: %zu ranges already wait; the oldest (%s %s) is dropped", rc->n,
                rc->jobs[0].id, rc->jobs[0].r.param);
        job_remove(rc, &rc->jobs[0]);
        rc->dropped++;
    }
    j = &rc->jobs[rc->n++];
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->r.param, sizeof(j->r.param), "%s", param);
    j->r.from_ms = from_ms;
    j->r.to_ms = to_ms;
    schedule(rc, j, now_ms);
    col_console_recompute_kept(c);
}

void col_console_recompute_revoked(struct col_console *c, const char *id, const char *param,
                                   int64_t from_ms, int64_t to_ms, int64_t decided_ms,
                                   int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);
    struct col_console_range r = {.from_ms = from_ms, .to_ms = to_ms};
    struct col_console_rc_job *j;

    snprintf(r.param, sizeof(r.param), "%s", param);
    j = job_find(rc, id, &r);
    if (j == NULL) {
        col_console_recompute_add(c, id, param, from_ms, to_ms, now_ms);
        j = job_find(rc, id, &r);
    }
    if (j != NULL) {
        /* A job of the range still waiting would leave it out again: it now writes it back. */
        j->revoked_ms = decided_ms;
        schedule(rc, j, now_ms);
        col_console_recompute_kept(c);
    }
}

/* The next run of 'j' after one that wrote through 'last': the next hour close, or at once when
 * a long range has hours left that have closed. */
/* The last hour whose live points are written by now: closed recompute_after_ms ago. */
static int64_t last_closed(const struct col_console_rc *rc, int64_t now_ms)
{
    return hour_floor(now_ms - rc->after_ms) - COL_CONSOLE_HOUR_MS;
}

static void job_next(struct col_console_rc *rc, struct col_console_rc_job *j, int64_t last,
                     int64_t now_ms)
{
    int64_t closed = last_closed(rc, now_ms);

    j->done_ms = last;
    if (last >= j->until_ms) {
        job_remove(rc, j);
    } else if (last < closed) {
        j->due_ms = now_ms;
    } else {
        j->due_ms = last_closed(rc, now_ms) + 2 * COL_CONSOLE_HOUR_MS + rc->after_ms;
    }
}

/* A range of a rain gauge's tips or mm: the live rain_1h points derive writes count the range's
 * invalid amounts in their 24-h sums until this process's derive is told to take them out. Once
 * per job and process (j->adjusted, not kept: derive rebuilds its ring from the raw points, the
 * invalid ones included, at each start), after a run's answer: a range marked invalid takes the
 * amounts of its readings of the last 24 h out (sign -1), a withdrawn range puts back what this
 * process took out (sign +1); readings in another range already taken out are left to that one.
 * A range marked invalid is taken out at the first run whose hours hold all of it (its first run,
 * unless the range reaches into the hour still open).
 * The readings of the 24 h after the range then carry validated=true. Left for the job's next run
 * when derive is not ready (CT_E_AGAIN) or memory or the answer fails. */
static void rain_live(struct col_console *c, struct col_console_rc_job *j,
                      const struct col_console_recompute_in *in, const char *body, size_t len,
                      int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);
    int sign = j->revoked_ms == 0 && !j->adjusted ? -1 : j->revoked_ms > 0 && j->adjusted ? 1 : 0;
    struct col_console_range *skip;
    int64_t *ts;
    double *mm;
    size_t nskip = 0, n = 0;
    int e;

    if (sign == 0 || in->dev->kind != CT_KIND_RAIN ||
        (strcmp(j->r.param, "tips") != 0 && strcmp(j->r.param, "mm") != 0)) {
        return;
    }
    /* A range that reaches past the hours this answer read (into the open hour, or later): its
     * later readings are not in the answer yet, and the next points would claim validated sums
     * that still count them. Taken out at the first run that read the whole range. */
    if (sign < 0 && j->r.to_ms >= in->last_ms + COL_CONSOLE_HOUR_MS) {
        return;
    }
    skip = calloc(COL_CONSOLE_RECOMPUTE_JOBS, sizeof(*skip));
    ts = calloc(COL_CONSOLE_RAIN_ADJUST_MAX, sizeof(*ts));
    mm = calloc(COL_CONSOLE_RAIN_ADJUST_MAX, sizeof(*mm));
    if (skip == NULL || ts == NULL || mm == NULL) {
        goto out_free;
    }
    for (size_t i = 0; i < rc->n; i++) {
        const struct col_console_rc_job *o = &rc->jobs[i];
        if (o != j && o->adjusted && o->revoked_ms == 0 && strcmp(o->id, j->id) == 0) {
            skip[nskip++] = o->r;
        }
    }
    e = col_console_rain_amounts(in, body, len, &j->r, skip, nskip, now_ms - DAY_MS, ts, mm,
                                 COL_CONSOLE_RAIN_ADJUST_MAX, &n);
    if (e == CT_E_FULL) {
        col_log(
            COL_LOG_WARN, "console",
            "recompute: %s %s: more than %d readings; the live sums are corrected for the first %d",
            j->id, j->r.param, COL_CONSOLE_RAIN_ADJUST_MAX, COL_CONSOLE_RAIN_ADJUST_MAX);
    } else if (e != 0) {
        goto out_free;
    }
    e = col_console_rain_adjust(c, j->id, ts, mm, n, sign, j->r.to_ms + DAY_MS);
    if (e == CT_E_AGAIN) {
        goto out_free;
    }
    if (e != 0) {
        col_log(COL_LOG_WARN, "console",
                "recompute: %s %s: the live rain sums are not corrected (%s)", j->id, j->r.param,
                ct_strerror(e));
    } else {
        col_log(COL_LOG_INFO, "console",
                "recompute: %s %s: %zu invalid amount(s) %s the live 24-h rain sums", j->id,
                j->r.param, n, sign < 0 ? "taken out of" : "put back into");
    }
    j->adjusted = sign < 0;

out_free:
    free(skip);
    free(ts);
    free(mm);
}

static void on_answer(void *arg, int status, const char *body, size_t len)
{
    struct rc_run *run = arg;
    struct col_console *c = run->c;
    struct col_console_rc *rc = col_console_rc_of(c);
    const struct col_console_station *st =
        col_console_station_find(col_console_states_of(c), run->job.id);
    struct col_console_rc_job *j = job_find(rc, run->job.id, &run->job.r);
    /* The range's decision withdrawn while this run (which left the range out) was in flight: the
     * job now writes the range back from its own schedule, untouched by this answer. */
    if (j != NULL && j->revoked_ms != run->job.revoked_ms) {
        j = NULL;
    }
    struct col_console_recompute_in in = {.dev = st != NULL ? st->dev : NULL,
                                          .instance = col_console_instance(c),
                                          .window_s = rc->window_s,
                                          .first_ms = run->first_ms,
                                          .last_ms = run->last_ms,
                                          .ranges = &run->job.r,
                                          .nranges = run->job.revoked_ms > 0 ? 0 : 1,
                                          .withdrawn_ms = run->job.revoked_ms};
    struct ct_buf lp;
    int e = status == 200 && in.dev != NULL ? 0 : CT_E_IO;
    int64_t now = col_console_now_ms();

    rc->busy = false;
    ct_buf_init(&lp, 64u << 20);
    e = e ? e : col_console_recompute_lp(&in, body, len, &lp);
    /* Rain, flood and parking: their per-reading points, answered by the last two statements. */
    if (e == 0 && col_console_events_kind(in.dev->kind)) {
        e = col_console_events_lp(&in, body, len, &lp);
    }
    e = e || lp.len == 0 ? e : col_console_write(c, lp.p, lp.len);
    if (e == 0) {
        rc->written++;
        col_log(COL_LOG_INFO, "console",
                "recompute: %s %s hours %lld..%lld from the validated data (%zu bytes)",
                run->job.id, run->job.r.param, (long long)run->first_ms, (long long)run->last_ms,
                lp.len);
        if (j != NULL) {
            rain_live(c, j, &in, body, len, now);
            job_next(rc, j, run->last_ms, now);
            col_console_recompute_kept(c); /* advanced or ended */
        }
    } else {
        rc->failed++;
        col_log(COL_LOG_WARN, "console", "recompute: %s %s failed (status %d, %s); again in %d s",
                run->job.id, run->job.r.param, status, ct_strerror(e), RETRY_MS / 1000);
        if (j != NULL) {
            j->due_ms = now + RETRY_MS;
        }
    }
    ct_buf_free(&lp);
    free(run);
    col_console_maybe_closed(c);
}

/* Starts the recompute of 'j': the hours from its range's first (or from two before the last
 * written, so that a live hourly point written after ours is replaced) to the last one closed
 * recompute_after_ms ago (so that derive has written its own points of the hour first). */
static void run_job(struct col_console *c, struct col_console_rc_job *j, int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);
    const struct col_console_station *st =
        col_console_station_find(col_console_states_of(c), j->id);
    int64_t first = hour_floor(j->r.from_ms);
    int64_t last = last_closed(rc, now_ms);
    struct rc_run *run;
    struct ct_buf ql;

    if (st == NULL) {
        job_remove(rc, j); /* the station left the registry */
        col_console_recompute_kept(c);
        return;
    }
    if (j->done_ms != INT64_MIN && j->done_ms - 2 * COL_CONSOLE_HOUR_MS > first) {
        first = j->done_ms - 2 * COL_CONSOLE_HOUR_MS;
    }
    last = last < j->until_ms ? last : j->until_ms;
    int64_t max_h = col_console_recompute_hours_max(rc->window_s);
    if (last - first >= (max_h - 1) * COL_CONSOLE_HOUR_MS) {
        last = first + (max_h - 1) * COL_CONSOLE_HOUR_MS;
    }
    if (last < first) {
        j->due_ms =
            last_closed(rc, now_ms) + 2 * COL_CONSOLE_HOUR_MS + rc->after_ms; /* none closed */
        col_console_recompute_kept(c);
        return;
    }
    run = calloc(1, sizeof(*run));
    if (run == NULL) {
        j->due_ms = now_ms + RETRY_MS;
        return;
    }
    *run = (struct rc_run){.c = c, .job = *j, .first_ms = first, .last_ms = last};
    struct col_console_recompute_in in = {.dev = st->dev,
                                          .instance = "",
                                          .window_s = rc->window_s,
                                          .first_ms = first,
                                          .last_ms = last};
    ct_buf_init(&ql, 8192);
    if (col_console_store(c) == NULL || col_console_recompute_ql(&in, &ql) != 0 ||
        (col_console_events_kind(st->dev->kind) &&
         (ct_buf_adds(&ql, "; ") != 0 || col_console_events_ql(&in, &ql) != 0)) ||
        col_store_query(col_console_store(c), ql.p, on_answer, run) != 0) {
        j->due_ms = now_ms + RETRY_MS;
        rc->failed++;
        free(run);
    } else {
        rc->busy = true;
    }
    ct_buf_free(&ql);
}

void col_console_recompute_tick(struct col_console *c, int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);

    for (size_t i = 0; i < rc->n && !rc->busy; i++) {
        if (rc->jobs[i].due_ms <= now_ms) {
            run_job(c, &rc->jobs[i], now_ms);
            return; /* one a tick: the table may have changed */
        }
    }
}

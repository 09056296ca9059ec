/* console_recompute.c - a station's window aggregates and indices recomputed from the validated
 * data after staff mark a range invalid (col_console_recompute.h; docs/console.md).
 * The pure part: the query and the points (test_console_recompute). The loop part (the waiting
 * ranges, kept and run) is console_recompute_jobs.c. */
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
#define DAY_MS COL_CONSOLE_DAY_MS
#define LOCAL_OFFSET_MS COL_CONSOLE_LOCAL_OFFSET_MS

/* Per hour bucket and member: the valid values' min, max, sum, count, and every value's. */
struct cell {
    double min, max, sum, all_sum;
    uint32_t n, all_n;
};

int64_t col_console_floor_to(int64_t ms, int64_t unit)
{
    int64_t q = ms / unit;

    return (ms < 0 && q * unit != ms ? q - 1 : q) * unit;
}

static int64_t hour_floor(int64_t ms)
{
    return col_console_floor_to(ms, COL_CONSOLE_HOUR_MS);
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
    return other_window(in->window_s)
               ? col_console_floor_to(in->first_ms, (int64_t)in->window_s * 1000)
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

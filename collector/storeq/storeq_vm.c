/* storeq_vm.c - a VictoriaMetrics export answer reduced to the InfluxDB 1.x answer of the same
 * selections (see col_storeq.h). Pure. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "col_storeq.h"
#include "ct/err.h"

#define HOUR_MS 3600000LL

/* One sample for one output column of one group. */
struct rec {
    size_t group;
    int64_t ts;
    double v;
    size_t col; /* aggregate index, or index in the group's field names for a newest row */
};

/* One output series: a selection and its GROUP BY tag values. */
struct group {
    size_t sel;
    char *tagv[COL_STOREQ_TAGS_MAX];
    cJSON *labels; /* newest row: the other labels of the first series seen (owned) */
    char **fields; /* newest row: field names seen (owned) */
    size_t nfields;
};

struct red {
    const struct col_storeq_sel *sel;
    size_t n;
    int64_t now_ms;
    struct rec *recs;
    size_t nrecs, caprecs;
    struct group *groups;
    size_t ngroups, capgroups;
    bool pre; /* records are hourly rollups from VM (one value per hour and aggregate) */
};

/* Measurements the collector writes whose names extend another's (docs/protocol.md), and the
 * aggregates "<kind>_agg_<window>": "air_aqi_aqi_vn" belongs to air_aqi, never to air's newest
 * row, when a request asks for air alone. */
static const char *const compound[] = {"air_aqi", "air_aqi_daily", "water_wqi",
                                       "rain_1h", "flood_level",   "parking_lot"};

static bool shadowed(const char *meas, const char *name)
{
    size_t ml = strlen(meas);
    if (strncmp(name + ml + 1, "agg_", 4) == 0) {
        return true;
    }
    for (size_t c = 0; c < sizeof(compound) / sizeof(compound[0]); c++) {
        size_t cl = strlen(compound[c]);
        if (cl > ml && strncmp(name, compound[c], cl) == 0 && name[cl] == '_') {
            return true;
        }
    }
    return false;
}

/* The selection a metric name feeds (the longest measurement prefix) and its field name. */
static bool match_sel(const struct red *r, const char *name, size_t *sel, const char **field)
{
    size_t best = 0;
    bool found = false;

    for (size_t i = 0; i < r->n; i++) {
        if (r->sel[i].rows) {
            continue; /* InfluxDB only (col_storeq.h): no series on VictoriaMetrics */
        }
        size_t ml = strlen(r->sel[i].meas);
        if (strncmp(name, r->sel[i].meas, ml) == 0 && name[ml] == '_' && name[ml + 1] != '\0' &&
            (!found || ml > strlen(r->sel[best].meas))) {
            best = i;
            found = true;
        }
    }
    if (!found) {
        return false;
    }
    *sel = best;
    *field = name + strlen(r->sel[best].meas) + 1;
    return r->sel[best].aggs != NULL || !shadowed(r->sel[best].meas, name);
}

/* Makes room for one more element in *arr (n used of *cap, each 'size' bytes), doubling it. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return 0;
    }
    size_t c = *cap ? *cap * 2 : 64;
    void *na = realloc(*arr, c * size);
    if (na == NULL) {
        return CT_E_NOMEM;
    }
    *arr = na;
    *cap = c;
    return 0;
}

static const char *label(const cJSON *metric, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(metric, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The group of (sel, tag values of 'metric'); made on first sight. SIZE_MAX when out of memory. */
static size_t group_of(struct red *r, size_t sel, const cJSON *metric)
{
    const struct col_storeq_sel *s = &r->sel[sel];

    for (size_t g = 0; g < r->ngroups; g++) {
        bool same = r->groups[g].sel == sel;
        for (size_t t = 0; same && t < COL_STOREQ_TAGS_MAX && s->tags[t]; t++) {
            same = strcmp(r->groups[g].tagv[t], label(metric, s->tags[t])) == 0;
        }
        if (same) {
            return g;
        }
    }
    if (grow((void **)&r->groups, &r->capgroups, r->ngroups, sizeof(*r->groups)) != 0) {
        return SIZE_MAX;
    }
    struct group *g = &r->groups[r->ngroups];
    memset(g, 0, sizeof(*g));
    g->sel = sel;
    r->ngroups++;
    for (size_t t = 0; t < COL_STOREQ_TAGS_MAX && s->tags[t]; t++) {
        g->tagv[t] = strdup(label(metric, s->tags[t]));
        if (g->tagv[t] == NULL) {
            return SIZE_MAX;
        }
    }
    if (s->aggs == NULL) {
        /* SELECT * shows the tags it does not group by as columns. */
        g->labels = cJSON_CreateObject();
        if (g->labels == NULL) {
            return SIZE_MAX;
        }
        const cJSON *l;
        cJSON_ArrayForEach(l, metric)
        {
            bool grouped = strcmp(l->string, "__name__") == 0 || strcmp(l->string, "db") == 0;
            for (size_t t = 0; !grouped && t < COL_STOREQ_TAGS_MAX && s->tags[t]; t++) {
                grouped = strcmp(l->string, s->tags[t]) == 0;
            }
            if (!grouped && cJSON_IsString(l) &&
                !cJSON_AddStringToObject(g->labels, l->string, l->valuestring)) {
                return SIZE_MAX;
            }
        }
    }
    return r->ngroups - 1;
}

/* The index of 'field' among the group's fields; added on first sight. SIZE_MAX: no memory. */
static size_t field_of(struct group *g, const char *field)
{
    for (size_t i = 0; i < g->nfields; i++) {
        if (strcmp(g->fields[i], field) == 0) {
            return i;
        }
    }
    char **nf = realloc(g->fields, (g->nfields + 1) * sizeof(*nf));
    if (nf == NULL) {
        return SIZE_MAX;
    }
    g->fields = nf;
    g->fields[g->nfields] = strdup(field);
    return g->fields[g->nfields] ? g->nfields++ : SIZE_MAX;
}

static int add_rec(struct red *r, size_t group, int64_t ts, double v, size_t col)
{
    if (grow((void **)&r->recs, &r->caprecs, r->nrecs, sizeof(*r->recs)) != 0) {
        return CT_E_NOMEM;
    }
    r->recs[r->nrecs++] = (struct rec){group, ts, v, col};
    return 0;
}

static bool in_window(const struct red *r, const struct col_storeq_sel *s, int64_t ts)
{
    int64_t from = r->now_ms - (int64_t)s->window_s * 1000;
    if (s->hourly && ts > r->now_ms) {
        return false; /* InfluxDB ends a GROUP BY time() range at now() */
    }
    return s->window_incl ? ts >= from : ts > from;
}

/* Takes the samples of one export line. */
static int take_line(struct red *r, const cJSON *line)
{
    const cJSON *metric = cJSON_GetObjectItemCaseSensitive(line, "metric");
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(line, "values");
    const cJSON *tss = cJSON_GetObjectItemCaseSensitive(line, "timestamps");
    const char *field;
    size_t sel;

    if (!cJSON_IsObject(metric) || !cJSON_IsArray(vals) || !cJSON_IsArray(tss) ||
        !match_sel(r, label(metric, "__name__"), &sel, &field)) {
        return 0;
    }
    const struct col_storeq_sel *s = &r->sel[sel];
    size_t g = group_of(r, sel, metric);
    size_t fcol = 0;
    if (g == SIZE_MAX) {
        return CT_E_NOMEM;
    }
    if (s->aggs == NULL && (fcol = field_of(&r->groups[g], field)) == SIZE_MAX) {
        return CT_E_NOMEM;
    }
    const cJSON *v = vals->child;
    const cJSON *t = tss->child;
    for (; v != NULL && t != NULL; v = v->next, t = t->next) {
        if (!cJSON_IsNumber(v) || !cJSON_IsNumber(t) || !isfinite(v->valuedouble) ||
            !in_window(r, s, (int64_t)t->valuedouble)) {
            continue;
        }
        int64_t ts = (int64_t)t->valuedouble;
        for (size_t a = 0; a < s->naggs; a++) {
            if (strcmp(s->aggs[a].field, field) == 0 && add_rec(r, g, ts, v->valuedouble, a)) {
                return CT_E_NOMEM;
            }
        }
        if (s->aggs == NULL && add_rec(r, g, ts, v->valuedouble, fcol) != 0) {
            return CT_E_NOMEM;
        }
    }
    return 0;
}

static int rec_cmp(const void *pa, const void *pb)
{
    const struct rec *a = pa;
    const struct rec *b = pb;
    if (a->group != b->group) {
        return a->group < b->group ? -1 : 1;
    }
    return a->ts < b->ts ? -1 : a->ts > b->ts;
}

static int64_t floor_hour(int64_t ts)
{
    int64_t q = ts / HOUR_MS;
    return (ts % HOUR_MS < 0 ? q - 1 : q) * HOUR_MS;
}

/* One aggregate of the samples recs[0..n) for column a. */
struct acc {
    double sum, min, max, last;
    int64_t cnt, last_ts, sel_ts;
};

static cJSON *agg_value(const struct col_storeq_agg *agg, const struct acc *c, bool pre)
{
    if (strcmp(agg->fn, "count") == 0) {
        /* VM's rollups are counts already: several series of a group add up. */
        return cJSON_CreateNumber(pre ? c->sum : (double)c->cnt);
    }
    if (c->cnt == 0) {
        return cJSON_CreateNull();
    }
    double v = strcmp(agg->fn, "sum") == 0   ? c->sum
               : strcmp(agg->fn, "max") == 0 ? c->max
               : strcmp(agg->fn, "min") == 0 ? c->min
                                             : c->last;
    return cJSON_CreateNumber(v);
}

/* Appends the rows of one aggregate group: one per hour with samples, or one in all. */
static int agg_rows(const struct red *r, const struct col_storeq_sel *s, const struct rec *recs,
                    size_t n, cJSON *values)
{
    size_t i = 0;
    while (i < n) {
        int64_t bucket = s->hourly ? floor_hour(recs[i].ts) : 0;
        struct acc acc[COL_STOREQ_AGGS_MAX];
        size_t na = s->naggs;
        memset(acc, 0, sizeof(acc));
        for (; i < n && (!s->hourly || floor_hour(recs[i].ts) == bucket); i++) {
            struct acc *c = &acc[recs[i].col];
            double v = recs[i].v;
            if (c->cnt == 0 || v < c->min) {
                c->min = v;
            }
            if (c->cnt == 0 || v > c->max) {
                c->max = v;
            }
            c->sum += v;
            c->cnt++;
            c->last = v;
            c->last_ts = recs[i].ts;
        }
        /* A selector alone (last, max, min) carries the time of its point, as in InfluxDB. */
        int64_t t = s->hourly ? bucket : r->now_ms - (int64_t)s->window_s * 1000;
        if (!s->hourly && na == 1 && strcmp(s->aggs[0].fn, "last") == 0) {
            t = acc[0].last_ts;
        }
        cJSON *row = cJSON_CreateArray();
        if (row == NULL || !cJSON_AddItemToArray(values, row) ||
            !cJSON_AddItemToArray(row, cJSON_CreateNumber((double)t))) {
            return CT_E_NOMEM;
        }
        for (size_t a = 0; a < na; a++) {
            if (!cJSON_AddItemToArray(row, agg_value(&s->aggs[a], &acc[a], r->pre))) {
                return CT_E_NOMEM;
            }
        }
    }
    return 0;
}

/* Appends the newest row of a group: the fields stamped with its newest time, then the labels. */
static int newest_row(const struct group *g, const struct rec *recs, size_t n, cJSON *cols,
                      cJSON *values)
{
    int64_t ts = recs[n - 1].ts;
    cJSON *row = cJSON_CreateArray();
    const cJSON *l;

    if (row == NULL || !cJSON_AddItemToArray(values, row) ||
        !cJSON_AddItemToArray(row, cJSON_CreateNumber((double)ts))) {
        return CT_E_NOMEM;
    }
    for (size_t f = 0; f < g->nfields; f++) {
        cJSON *v = NULL;
        for (size_t i = n; i-- > 0 && recs[i].ts == ts;) {
            if (recs[i].col == f) {
                v = cJSON_CreateNumber(recs[i].v);
                break;
            }
        }
        if (!cJSON_AddItemToArray(cols, cJSON_CreateString(g->fields[f])) ||
            !cJSON_AddItemToArray(row, v ? v : cJSON_CreateNull())) {
            return CT_E_NOMEM;
        }
    }
    cJSON_ArrayForEach(l, g->labels)
    {
        if (!cJSON_AddItemToArray(cols, cJSON_CreateString(l->string)) ||
            !cJSON_AddItemToArray(row, cJSON_CreateString(l->valuestring))) {
            return CT_E_NOMEM;
        }
    }
    return 0;
}

/* Appends the series of group g (records recs[0..n), sorted by time) to 'series'. */
static int emit_group(const struct red *r, const struct group *g, const struct rec *recs, size_t n,
                      cJSON *series)
{
    const struct col_storeq_sel *s = &r->sel[g->sel];
    cJSON *o = cJSON_CreateObject();
    cJSON *tags;
    cJSON *cols;
    cJSON *values;

    if (o == NULL || !cJSON_AddItemToArray(series, o) ||
        !cJSON_AddStringToObject(o, "name", s->meas) ||
        (tags = cJSON_AddObjectToObject(o, "tags")) == NULL ||
        (cols = cJSON_AddArrayToObject(o, "columns")) == NULL ||
        (values = cJSON_AddArrayToObject(o, "values")) == NULL ||
        !cJSON_AddItemToArray(cols, cJSON_CreateString("time"))) {
        return CT_E_NOMEM;
    }
    for (size_t t = 0; t < COL_STOREQ_TAGS_MAX && s->tags[t]; t++) {
        if (!cJSON_AddStringToObject(tags, s->tags[t], g->tagv[t])) {
            return CT_E_NOMEM;
        }
    }
    if (s->aggs == NULL) {
        return newest_row(g, recs, n, cols, values);
    }
    for (size_t a = 0; a < s->naggs; a++) {
        if (!cJSON_AddItemToArray(cols, cJSON_CreateString(s->aggs[a].as))) {
            return CT_E_NOMEM;
        }
    }
    return agg_rows(r, s, recs, n, values);
}

static int build(struct red *r, char **out)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *results = root ? cJSON_AddArrayToObject(root, "results") : NULL;
    int rc = results ? 0 : CT_E_NOMEM;

    if (r->nrecs > 0) { /* qsort's array may not be NULL, even for none */
        qsort(r->recs, r->nrecs, sizeof(*r->recs), rec_cmp);
    }
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        cJSON *res = cJSON_CreateObject();
        cJSON *series;
        if (res == NULL || !cJSON_AddItemToArray(results, res) ||
            !cJSON_AddNumberToObject(res, "statement_id", (double)i)) {
            rc = CT_E_NOMEM;
            break;
        }
        series = NULL;
        for (size_t k = 0; rc == 0 && k < r->nrecs;) {
            size_t e = k;
            while (e < r->nrecs && r->recs[e].group == r->recs[k].group) {
                e++;
            }
            const struct group *g = &r->groups[r->recs[k].group];
            if (g->sel == i) {
                if (series == NULL && (series = cJSON_AddArrayToObject(res, "series")) == NULL) {
                    rc = CT_E_NOMEM;
                    break;
                }
                rc = emit_group(r, g, &r->recs[k], e - k, series);
            }
            k = e;
        }
    }
    if (rc == 0) {
        *out = cJSON_PrintUnformatted(root);
        rc = *out ? 0 : CT_E_NOMEM;
    }
    cJSON_Delete(root);
    return rc;
}

/* One result of the instant query: its labels without "__q" as a sort key. */
struct qres {
    char *key;
    bool is_t;
    double x;
    const cJSON *metric;
};

static int qres_cmp(const void *pa, const void *pb)
{
    const struct qres *a = pa;
    const struct qres *b = pb;
    int c = strcmp(a->key, b->key);
    return c ? c : (int)a->is_t - (int)b->is_t;
}

/* Pairs each series' last value with its time and takes them as one-sample export lines. */
static int take_pairs(struct red *r, struct qres *q, size_t n)
{
    int rc = 0;

    if (n > 0) {
        qsort(q, n, sizeof(*q), qres_cmp);
    }
    for (size_t i = 0; rc == 0 && i < n;) {
        size_t e = i;
        const struct qres *v = NULL;
        const struct qres *t = NULL;
        for (; e < n && strcmp(q[e].key, q[i].key) == 0; e++) {
            v = !q[e].is_t && v == NULL ? &q[e] : v;
            t = q[e].is_t && t == NULL ? &q[e] : t;
        }
        if (v != NULL && t != NULL) {
            cJSON *line = cJSON_CreateObject();
            cJSON *metric = cJSON_Duplicate(v->metric, true);
            cJSON *vals = cJSON_CreateArray();
            cJSON *tss = cJSON_CreateArray();
            if (metric) {
                cJSON_DeleteItemFromObjectCaseSensitive(metric, "__q");
            }
            if (line == NULL || !cJSON_AddItemToObject(line, "metric", metric) ||
                !cJSON_AddItemToObject(line, "values", vals) ||
                !cJSON_AddItemToObject(line, "timestamps", tss) ||
                !cJSON_AddItemToArray(vals, cJSON_CreateNumber(v->x)) ||
                !cJSON_AddItemToArray(tss, cJSON_CreateNumber(round(t->x * 1000)))) {
                rc = CT_E_NOMEM;
            } else {
                rc = take_line(r, line);
            }
            cJSON_Delete(line);
        }
        i = e;
    }
    return rc;
}

/* Takes a range query's hourly rollups (vm_hourly): each value at T is the aggregate "__a" of
 * the hour [T - 1 h, T). */
static int take_matrix(struct red *r, const cJSON *res)
{
    const cJSON *it;

    r->pre = true;
    cJSON_ArrayForEach(it, res)
    {
        const cJSON *metric = cJSON_GetObjectItemCaseSensitive(it, "metric");
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(it, "values");
        const char *idx = label(metric, "__a");
        char *end;
        unsigned long a = strtoul(idx, &end, 10);
        const cJSON *p;
        if (!cJSON_IsObject(metric) || idx[0] == '\0' || *end != '\0' || a >= r->sel[0].naggs) {
            continue;
        }
        size_t g = group_of(r, 0, metric);
        if (g == SIZE_MAX) {
            return CT_E_NOMEM;
        }
        cJSON_ArrayForEach(p, vals)
        {
            const cJSON *t = cJSON_GetArrayItem(p, 0);
            const cJSON *v = cJSON_GetArrayItem(p, 1);
            double x = cJSON_IsString(v) ? strtod(v->valuestring, &end) : NAN;
            if (cJSON_IsNumber(t) && isfinite(x) &&
                add_rec(r, g, (int64_t)llround(t->valuedouble * 1000) - HOUR_MS, x, a) != 0) {
                return CT_E_NOMEM;
            }
        }
    }
    return 0;
}

/* Takes the results of an instant query answer ({"status":"success","data":{"result":[...]}}). */
static int take_query(struct red *r, const cJSON *root)
{
    const cJSON *res =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "data"), "result");
    int n = cJSON_GetArraySize(res);
    struct qres *q = n > 0 ? calloc((size_t)n, sizeof(*q)) : NULL;
    size_t k = 0;
    int rc = 0;
    const cJSON *it;

    const cJSON *type = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "data"), "resultType");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "matrix") == 0) {
        free(q);
        return r->n == 1 && r->sel[0].hourly ? take_matrix(r, res) : 0;
    }
    if (n > 0 && q == NULL) {
        return CT_E_NOMEM;
    }
    cJSON_ArrayForEach(it, res)
    {
        const cJSON *metric = cJSON_GetObjectItemCaseSensitive(it, "metric");
        const cJSON *val = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it, "value"), 1);
        const char *which = label(metric, "__q");
        char *end;
        if (!cJSON_IsObject(metric) || !cJSON_IsString(val) || which[0] == '\0') {
            continue;
        }
        double x = strtod(val->valuestring, &end);
        if (end == val->valuestring || *end != '\0' || !isfinite(x)) {
            continue;
        }
        cJSON *copy = cJSON_Duplicate(metric, true);
        if (copy == NULL) {
            rc = CT_E_NOMEM;
            break;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "__q");
        q[k].key = cJSON_PrintUnformatted(copy);
        cJSON_Delete(copy);
        if (q[k].key == NULL) {
            rc = CT_E_NOMEM;
            break;
        }
        q[k].is_t = strcmp(which, "t") == 0;
        q[k].x = x;
        q[k].metric = metric;
        k++;
    }
    if (rc == 0) {
        rc = take_pairs(r, q, k);
    }
    for (size_t i = 0; i < k; i++) {
        free(q[i].key);
    }
    free(q);
    return rc;
}

int col_storeq_vm_answer(const struct col_storeq_sel *sel, size_t n, int64_t now_ms,
                         const char *body, size_t len, char **out)
{
    struct red r = {.sel = sel, .n = n, .now_ms = now_ms};
    size_t i = 0;
    int rc = 0;

    if (sel == NULL || n == 0 || (body == NULL && len > 0) || out == NULL) {
        return CT_E_INVAL;
    }
    cJSON *whole = len > 0 && body[0] == '{' ? cJSON_ParseWithLength(body, len) : NULL;
    if (whole != NULL && cJSON_GetObjectItemCaseSensitive(whole, "status") != NULL) {
        rc = take_query(&r, whole);
        i = len;
    }
    cJSON_Delete(whole);
    while (rc == 0 && i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - body) : len;
        cJSON *line = e > i ? cJSON_ParseWithLength(body + i, e - i) : NULL;
        if (line != NULL) {
            rc = take_line(&r, line);
            cJSON_Delete(line);
        }
        i = e + 1;
    }
    if (rc == 0) {
        rc = build(&r, out);
    }
    for (size_t g = 0; g < r.ngroups; g++) {
        for (size_t t = 0; t < COL_STOREQ_TAGS_MAX; t++) {
            free(r.groups[g].tagv[t]);
        }
        for (size_t f = 0; f < r.groups[g].nfields; f++) {
            free(r.groups[g].fields[f]);
        }
        free(r.groups[g].fields);
        cJSON_Delete(r.groups[g].labels);
    }
    free(r.groups);
    free(r.recs);
    return rc;
}

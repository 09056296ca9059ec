/* console_recompute_events.c - rain sums, flood levels and lot counts recomputed from the
 * validated data (col_console_recompute_events.h; docs/console.md). Pure. */
#include <math.h>
#include <string.h>

#include "col_console_recompute_events.h"
#include "col_indices_flood.h"
#include "col_indices_rain_gauge.h"
#include "console_int.h"
#include "ct/err.h"
#include "ct/lp.h"

#define HOUR_MS COL_CONSOLE_HOUR_MS

bool col_console_events_kind(enum ct_kind kind)
{
    return kind == CT_KIND_RAIN || kind == CT_KIND_FLOOD || kind == CT_KIND_PARKING;
}

bool col_console_range_invalid(const struct col_console_recompute_in *in, const cJSON *dec,
                               const char *param, int64_t ts)
{
    for (size_t i = 0; i < in->nranges; i++) {
        const struct col_console_range *r = &in->ranges[i];
        if (strcmp(r->param, param) == 0 && ts >= r->from_ms && ts <= r->to_ms) {
            return true;
        }
    }
    return dec != NULL &&
           col_console_invalid_at(cJSON_GetObjectItemCaseSensitive(dec, "columns"),
                                  cJSON_GetObjectItemCaseSensitive(dec, "values"), param, ts,
                                  in->withdrawn_ms > 0 ? in->withdrawn_ms : INT64_MIN);
}

/* True when 'param' at 'ts' lies in a range staff marked invalid and then withdrew (a decision
 * row of 'dec' with revoked = true, or the one of in->withdrawn_ms, whose revoke the store may not
 * hold yet) and in no range still marked: the points there are restored (validated = true). */
static bool withdrawn(const struct col_console_recompute_in *in, const cJSON *dec,
                      const char *param, int64_t ts)
{
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(dec, "columns");
    int it = col_console_column(cols, "time"), ia = col_console_column(cols, "action");
    int ip = col_console_column(cols, "param"), ifr = col_console_column(cols, "from");
    int ito = col_console_column(cols, "to");
    const cJSON *row;

    if (dec == NULL || col_console_range_invalid(in, dec, param, ts)) {
        return false;
    }
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(dec, "values"))
    {
        const cJSON *t = cJSON_GetArrayItem(row, it), *a = cJSON_GetArrayItem(row, ia);
        const cJSON *p = cJSON_GetArrayItem(row, ip), *f = cJSON_GetArrayItem(row, ifr);
        const cJSON *e = cJSON_GetArrayItem(row, ito);
        bool gone = col_console_decision_revoked(cols, row) ||
                    (in->withdrawn_ms > 0 && cJSON_IsNumber(t) &&
                     (int64_t)t->valuedouble == in->withdrawn_ms);
        if (gone && cJSON_IsString(a) && strcmp(a->valuestring, "invalid") == 0 &&
            cJSON_IsString(p) && strcmp(p->valuestring, param) == 0 && cJSON_IsNumber(f) &&
            cJSON_IsNumber(e) && ts >= (int64_t)f->valuedouble && ts <= (int64_t)e->valuedouble) {
            return true;
        }
    }
    return false;
}

/* Hours of readings before first_ms that the first points read: rain's 24-h ring (and the
 * reading before it, for its tips), flood's rate window. */
static int64_t back_ms(enum ct_kind kind)
{
    return kind == CT_KIND_RAIN ? 25 * HOUR_MS : kind == CT_KIND_FLOOD ? HOUR_MS : 0;
}

int col_console_events_ql(const struct col_console_recompute_in *in, struct ct_buf *ql)
{
    if (in == NULL || in->dev == NULL || ql == NULL || in->last_ms < in->first_ms ||
        !col_console_events_kind(in->dev->kind)) {
        return CT_E_INVAL;
    }
    ct_buf_printf(ql, "SELECT * FROM \"%s\" WHERE device='", ct_kind_name(in->dev->kind));
    col_console_ql_str(ql, in->dev->id);
    ct_buf_printf(ql, "' AND time >= %lldms AND time < %lldms; ",
                  (long long)(in->first_ms - back_ms(in->dev->kind)),
                  (long long)(in->last_ms + HOUR_MS));
    ct_buf_adds(ql, "SELECT * FROM console_decision WHERE \"action\"='invalid' AND station='");
    col_console_ql_str(ql, in->dev->id);
    return ct_buf_adds(ql, "'");
}

/* One row of the raw series: its time and the numbers of up to two columns. */
struct row {
    int64_t ts;
    bool has[2];
    double v[2];
};

/* The column indexes of 'a' and 'b' in the series' columns (-1 when absent). */
static void columns(const cJSON *raw, const char *a, const char *b, int idx[2])
{
    const cJSON *c;
    int i = 0;

    idx[0] = idx[1] = -1;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(raw, "columns"))
    {
        if (cJSON_IsString(c) && strcmp(c->valuestring, a) == 0) {
            idx[0] = i;
        } else if (cJSON_IsString(c) && b != NULL && strcmp(c->valuestring, b) == 0) {
            idx[1] = i;
        }
        i++;
    }
}

static bool row_get(const cJSON *r, const int idx[2], struct row *out)
{
    const cJSON *t = cJSON_GetArrayItem(r, 0);

    if (!cJSON_IsNumber(t)) {
        return false;
    }
    out->ts = (int64_t)t->valuedouble;
    for (int k = 0; k < 2; k++) {
        const cJSON *v = idx[k] >= 0 ? cJSON_GetArrayItem(r, idx[k]) : NULL;
        out->has[k] = cJSON_IsNumber(v) && isfinite(v->valuedouble);
        out->v[k] = out->has[k] ? v->valuedouble : NAN;
    }
    return true;
}

static bool written(const struct col_console_recompute_in *in, int64_t ts)
{
    return ts >= in->first_ms && ts < in->last_ms + HOUR_MS;
}

/* One point of the station (tags device, district, ward) with 'nf' fields and validated. */
static int station_point(const struct col_console_recompute_in *in, const char *meas,
                         struct ct_lp_field *f, size_t nf, bool validated, int64_t ts,
                         struct ct_buf *lp)
{
    struct ct_lp_tag tags[3] = {
        {"device", in->dev->id}, {"district", in->dev->district}, {"ward", in->dev->ward}};

    f[nf++] = (struct ct_lp_field){.key = "validated", .type = CT_LP_BOOL, .b = validated};
    return ct_lp_point(lp, meas, tags, 3, f, nf, ts);
}

/* Calls fn for each reading of a rain gauge's raw series, in time order, with its interval
 * amount (col_rain_gauge_amount over the gauge 'g'; NAN for the first with tips only) until fn
 * returns non-zero; returns that. */
static int rain_each(const struct col_console_recompute_in *in, const cJSON *raw,
                     struct col_rain_gauge *g, int (*fn)(void *arg, const struct row *x, double mm),
                     void *arg)
{
    double mpt = in->dev->mm_per_tip > 0 ? in->dev->mm_per_tip : 0.2;
    const cJSON *r;
    int idx[2];
    int rc = 0;

    col_rain_gauge_init(g);
    columns(raw, "tips", "mm", idx);
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(raw, "values"))
    {
        struct row x;
        unsigned flags = 0;
        if (rc != 0 || !row_get(r, idx, &x)) {
            continue;
        }
        /* The store keeps no boot counter: a reboot shows as tips that went back. */
        double mm = col_rain_gauge_amount(g, 0, x.has[0] ? &x.v[0] : NULL,
                                          x.has[1] ? &x.v[1] : NULL, mpt, &flags);
        rc = fn(arg, &x, mm);
    }
    return rc;
}

struct rain_walk {
    const struct col_console_recompute_in *in;
    const cJSON *dec;
    struct col_rain_gauge g;
    struct ct_buf *lp;
};

static int rain_point(void *arg, const struct row *x, double mm)
{
    struct rain_walk *w = arg;
    struct ct_lp_field f[COL_RAIN_FIELDS + 1];
    unsigned flags = 0;
    double mm1, mm24, hour_mm;
    int64_t hour_ms;
    int rc = 0;

    if (col_console_range_invalid(w->in, w->dec, "tips", x->ts) ||
        col_console_range_invalid(w->in, w->dec, "mm", x->ts)) {
        mm = NAN; /* the counter moves on; the reading's amount is left out */
    }
    /* The hourly rain_24h the reading completes, as derive writes it. */
    if (col_rain_gauge_hour(&w->g, x->ts, &hour_ms, &hour_mm) && written(w->in, hour_ms)) {
        f[0] = (struct ct_lp_field){.key = "mm", .type = CT_LP_FLOAT, .f = hour_mm};
        rc = station_point(w->in, "rain_24h", f, 1, true, hour_ms, w->lp);
    }
    if (rc != 0 || col_rain_gauge_step(&w->g, x->ts, mm, &mm1, &mm24, &flags) != 0 ||
        !written(w->in, x->ts)) {
        return rc;
    }
    return station_point(w->in, "rain_1h", f, col_rain_fields(mm1, mm24, f), true, x->ts, w->lp);
}

/* rain_1h (both sums) at every reading written, from the valid readings' amounts. */
static int rain_points(const struct col_console_recompute_in *in, const cJSON *raw,
                       const cJSON *dec, struct ct_buf *lp)
{
    struct rain_walk w = {.in = in, .dec = dec, .lp = lp};

    return rain_each(in, raw, &w.g, rain_point, &w);
}

static bool rain_param(const char *param)
{
    return strcmp(param, "tips") == 0 || strcmp(param, "mm") == 0;
}

struct amount_walk {
    const struct col_console_range *take, *skip;
    size_t nskip, cap, n;
    int64_t since_ms;
    int64_t *ts_ms;
    double *mm;
};

static int rain_amount(void *arg, const struct row *x, double mm)
{
    struct amount_walk *w = arg;

    if (x->ts <= w->since_ms || x->ts < w->take->from_ms || x->ts > w->take->to_ms || !(mm > 0)) {
        return 0;
    }
    for (size_t i = 0; i < w->nskip; i++) {
        const struct col_console_range *s = &w->skip[i];
        if (rain_param(s->param) && x->ts >= s->from_ms && x->ts <= s->to_ms) {
            return 0;
        }
    }
    if (w->n == w->cap) {
        return CT_E_FULL;
    }
    w->ts_ms[w->n] = x->ts;
    w->mm[w->n++] = mm;
    return 0;
}

/* flood_level: validated=false at an invalid depth; rise_cm_h again after one. */
static int flood_points(const struct col_console_recompute_in *in, const cJSON *raw,
                        const cJSON *dec, struct ct_buf *lp)
{
    const struct col_flood_cfg *cfg = col_flood_default_cfg();
    struct col_flood_state st;
    struct ct_lp_field f[2];
    int64_t last_bad = INT64_MIN;
    const cJSON *r;
    int idx[2];
    int rc = 0;

    col_flood_init(&st);
    columns(raw, "depth", NULL, idx);
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(raw, "values"))
    {
        struct row x;
        struct col_flood_event ev;
        size_t nf = 0;
        if (rc != 0 || !row_get(r, idx, &x) || !x.has[0]) {
            continue;
        }
        if (col_console_range_invalid(in, dec, "depth", x.ts)) {
            last_bad = x.ts;
            rc = written(in, x.ts) ? station_point(in, "flood_level", f, 0, false, x.ts, lp) : 0;
            continue;
        }
        /* The rate of rise reads the samples of rate_window_s before the newest: only the
         * points whose window held an invalid depth change, and those of a withdrawn range come
         * back. */
        if (col_flood_update(cfg, &st, x.ts / 1000, x.v[0], &ev) != 0 || !written(in, x.ts) ||
            ((last_bad == INT64_MIN || last_bad < x.ts - cfg->rate_window_s * 1000) &&
             !withdrawn(in, dec, "depth", x.ts))) {
            continue;
        }
        double rise = col_flood_rate_cm_h(cfg, &st);
        if (!isnan(rise)) {
            f[nf++] = (struct ct_lp_field){.key = "rise_cm_h", .type = CT_LP_FLOAT, .f = rise};
        }
        rc = station_point(in, "flood_level", f, nf, true, x.ts, lp);
    }
    return rc;
}

/* parking_lot of a counter lot: validated=false at a reading marked invalid. */
static int lot_points(const struct col_console_recompute_in *in, const cJSON *raw, const cJSON *dec,
                      struct ct_buf *lp)
{
    struct ct_lp_tag tags[3] = {
        {"district", in->dev->district}, {"lot", in->dev->id}, {"ward", in->dev->ward}};
    struct ct_lp_field f = {.key = "validated", .type = CT_LP_BOOL};
    const cJSON *r;
    int idx[2];
    int rc = 0;

    if (in->dev->park_mode == CT_PARK_BAY) {
        return 0;
    }
    columns(raw, "occupied", "capacity", idx);
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(raw, "values"))
    {
        struct row x;
        if (rc != 0 || !row_get(r, idx, &x) || !x.has[0] || !written(in, x.ts)) {
            continue;
        }
        bool bad = col_console_range_invalid(in, dec, "occupied", x.ts) ||
                   col_console_range_invalid(in, dec, "capacity", x.ts);
        if (bad || withdrawn(in, dec, "occupied", x.ts) || withdrawn(in, dec, "capacity", x.ts)) {
            f.b = !bad; /* false: withheld; true: a withdrawn range's point shown again */
            rc = ct_lp_point(lp, "parking_lot", tags, 3, &f, 1, x.ts);
        }
    }
    return rc;
}

/* Parses the answer into *root (the caller deletes it) and finds the series of
 * col_console_events_ql's two statements, which come last: the raw points and the decisions
 * (either NULL when the store had none). Returns 0 or CT_E_PARSE (*root NULL then). */
static int events_series(const char *answer, size_t len, cJSON **root, const cJSON **raw,
                         const cJSON **dec)
{
    *root = cJSON_ParseWithLength(answer, len);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(*root, "results");
    int first = cJSON_GetArraySize(res) - 2;

    if (!cJSON_IsArray(res) || first < 0) {
        cJSON_Delete(*root);
        *root = NULL;
        return CT_E_PARSE;
    }
    *raw = col_console_stmt_series(res, first);
    *dec = col_console_stmt_series(res, first + 1);
    return 0;
}

int col_console_rain_amounts(const struct col_console_recompute_in *in, const char *answer,
                             size_t len, const struct col_console_range *take,
                             const struct col_console_range *skip, size_t nskip, int64_t since_ms,
                             int64_t *ts_ms, double *mm, size_t cap, size_t *n)
{
    struct amount_walk w = {.take = take,
                            .skip = skip,
                            .nskip = nskip,
                            .cap = cap,
                            .since_ms = since_ms,
                            .ts_ms = ts_ms,
                            .mm = mm};
    struct col_rain_gauge g;
    const cJSON *raw, *dec;
    cJSON *root;
    int rc;

    if (n != NULL) {
        *n = 0;
    }
    if (in == NULL || in->dev == NULL || in->dev->kind != CT_KIND_RAIN || answer == NULL ||
        take == NULL || (nskip > 0 && skip == NULL) || (cap > 0 && (ts_ms == NULL || mm == NULL)) ||
        n == NULL) {
        return CT_E_INVAL;
    }
    if (!rain_param(take->param)) {
        return 0;
    }
    rc = events_series(answer, len, &root, &raw, &dec);
    rc = rc ? rc : rain_each(in, raw, &g, rain_amount, &w);
    cJSON_Delete(root);
    *n = w.n;
    return rc;
}

int col_console_events_lp(const struct col_console_recompute_in *in, const char *answer, size_t len,
                          struct ct_buf *lp)
{
    const cJSON *raw, *dec;
    cJSON *root;
    int rc;

    if (in == NULL || in->dev == NULL || answer == NULL || lp == NULL ||
        in->last_ms < in->first_ms || !col_console_events_kind(in->dev->kind)) {
        return CT_E_INVAL;
    }
    rc = events_series(answer, len, &root, &raw, &dec);
    if (rc != 0) {
        return rc;
    }
    rc = in->dev->kind == CT_KIND_RAIN    ? rain_points(in, raw, dec, lp)
         : in->dev->kind == CT_KIND_FLOOD ? flood_points(in, raw, dec, lp)
                                          : lot_points(in, raw, dec, lp);
    cJSON_Delete(root);
    return rc;
}

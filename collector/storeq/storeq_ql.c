/* storeq_ql.c - the InfluxQL text of a selection and the VictoriaMetrics export request. Pure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "col_storeq.h"
#include "ct/err.h"

struct out {
    char *buf;
    size_t cap, used;
    bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends to o; a truncation marks o full (the text is then cut, never overrun). */
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->used, o->cap - o->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->used) {
        o->full = true;
        return;
    }
    o->used += (size_t)n;
}

static uint32_t unit_s(char unit)
{
    return unit == 'd' ? 86400 : unit == 'h' ? 3600 : 1;
}

static bool sel_ok(const struct col_storeq_sel *s)
{
    char u = s->window_unit;
    if (s->meas == NULL || s->meas[0] == '\0' || s->window_s == 0 || s->tags[0] == NULL ||
        (u != 's' && u != 'h' && u != 'd') || s->window_s % unit_s(u) != 0 ||
        (s->aggs == NULL) != (s->naggs == 0) || s->naggs > COL_STOREQ_AGGS_MAX ||
        (s->hourly && s->aggs == NULL) ||
        (s->rows && (s->aggs != NULL || s->hourly || s->cols[0] == NULL)) ||
        ((s->where_tag == NULL) != (s->where_value == NULL))) {
        return false;
    }
    for (size_t c = 0; c < COL_STOREQ_COLS_MAX && s->cols[c]; c++) {
        if (strchr(s->cols[c], '"') != NULL) {
            return false;
        }
    }
    if (s->where_value != NULL &&
        (strchr(s->where_value, '\'') != NULL || strchr(s->where_value, '\\') != NULL ||
         strchr(s->where_tag, '"') != NULL)) {
        return false;
    }
    for (size_t i = 0; i < s->naggs; i++) {
        if (s->aggs[i].fn == NULL || s->aggs[i].field == NULL || s->aggs[i].as == NULL) {
            return false;
        }
    }
    return true;
}

static void put_tags(struct out *o, const struct col_storeq_sel *s)
{
    for (size_t t = 0; t < COL_STOREQ_TAGS_MAX && s->tags[t]; t++) {
        put(o, "%s\"%s\"", t ? ", " : "", s->tags[t]);
    }
}

int col_storeq_influxql(const struct col_storeq_sel *sel, size_t n, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0, false};

    if (sel == NULL || n == 0 || buf == NULL || cap == 0) {
        return CT_E_INVAL;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct col_storeq_sel *s = &sel[i];
        if (!sel_ok(s)) {
            return CT_E_INVAL;
        }
        put(&o, "%sSELECT ", i ? "; " : "");
        if (s->rows) {
            for (size_t c = 0; c < COL_STOREQ_COLS_MAX && s->cols[c]; c++) {
                put(&o, "%s\"%s\"", c ? ", " : "", s->cols[c]);
            }
        } else if (s->aggs == NULL) {
            put(&o, "*");
        }
        for (size_t a = 0; a < s->naggs; a++) {
            put(&o, "%s%s(\"%s\") AS \"%s\"", a ? ", " : "", s->aggs[a].fn, s->aggs[a].field,
                s->aggs[a].as);
        }
        put(&o, " FROM \"%s\" WHERE ", s->meas);
        if (s->where_tag != NULL) {
            put(&o, "\"%s\" = '%s' AND ", s->where_tag, s->where_value);
        }
        put(&o, "time %s now() - %u%c GROUP BY ", s->window_incl ? ">=" : ">",
            s->window_s / unit_s(s->window_unit), s->window_unit);
        if (s->hourly) {
            put(&o, "time(1h), ");
        }
        put_tags(&o, s);
        if (s->hourly) {
            put(&o, " fill(none)");
        } else if (s->aggs == NULL && !s->rows) {
            put(&o, " ORDER BY time DESC LIMIT 1");
        }
    }
    return o.full ? CT_E_TOOBIG : 0;
}

/* Appends 'text' percent-encoded for a query string. */
static void put_escaped(struct out *o, const char *text)
{
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            put(o, "%c", c);
        } else {
            put(o, "%%%02X", c);
        }
    }
}

/* The metric names of a selection as a regular expression: "<meas>_.+" for a newest row, the
 * aggregated fields "<meas>_(f1|f2)" otherwise. */
static void put_fields(struct out *o, const struct col_storeq_sel *s)
{
    put(o, "%s_", s->meas);
    if (s->aggs == NULL) {
        put(o, ".+");
        return;
    }
    put(o, "(");
    for (size_t a = 0; a < s->naggs; a++) {
        put(o, "%s%s", a ? "|" : "", s->aggs[a].field);
    }
    put(o, ")");
}

/* One hourly selection: a MetricsQL range query, one step per hour, each aggregate a rollup of
 * its field over [S, S + 1 h) (the window (T - 1 h, T] moved back 1 ms), evaluated at T = S + 1 h
 * and labelled "__a" with its index. The oldest hour is whole (InfluxDB keeps only its points
 * inside the window). */
static int vm_hourly(const struct col_storeq_sel *s, int64_t now_ms, struct out *o)
{
    char m[4096];
    struct out mo = {m, sizeof(m), 0, false};
    int64_t now_s = now_ms / 1000;
    int64_t first = (now_s - (int64_t)s->window_s) / 3600 * 3600 + 3600;
    int64_t last = now_s / 3600 * 3600 + 3600;

    put(&mo, "union(");
    for (size_t a = 0; a < s->naggs; a++) {
        put(&mo,
            "%slabel_set(%s_over_time({__name__=\"%s_%s\"}[1h] offset 1ms) keep_metric_names, "
            "\"__a\", \"%zu\")",
            a ? ", " : "", s->aggs[a].fn, s->meas, s->aggs[a].field, a);
    }
    put(&mo, ")");
    if (mo.full) {
        return CT_E_TOOBIG;
    }
    put(o, "/api/v1/query_range?query=");
    put_escaped(o, m);
    put(o, "&start=%lld&end=%lld&step=3600&nocache=1", (long long)first, (long long)last);
    return o->full ? CT_E_TOOBIG : 0;
}

/* Newest rows only: one MetricsQL instant query, the last value and its time of every series of
 * every selection ("__q" tells them apart), so that VM reads its newest samples rather than
 * exporting the whole window. */
static int vm_newest(const struct col_storeq_sel *sel, size_t n, int64_t now_ms, struct out *o)
{
    char m[4096];
    struct out mo = {m, sizeof(m), 0, false};

    bool first = true;

    put(&mo, "union(");
    for (size_t i = 0; i < n; i++) {
        if (sel[i].rows) {
            continue; /* InfluxDB only (col_storeq.h) */
        }
        for (int t = 0; t < 2; t++) {
            put(&mo, "%slabel_set(%s_over_time({__name__=~\"", first ? "" : ", ",
                t ? "tlast" : "last");
            first = false;
            put_fields(&mo, &sel[i]);
            put(&mo, "\"}[%us]) keep_metric_names, \"__q\", \"%c\")", sel[i].window_s,
                t ? 't' : 'v');
        }
    }
    put(&mo, ")");
    if (mo.full) {
        return CT_E_TOOBIG;
    }
    put(o, "/api/v1/query?query=");
    put_escaped(o, m);
    put(o, "&time=%lld.%03lld", (long long)(now_ms / 1000), (long long)(now_ms % 1000));
    return o->full ? CT_E_TOOBIG : 0;
}

/* A selection of last() values alone over its whole window (the rebuild's flood band). */
static bool only_last(const struct col_storeq_sel *s)
{
    if (s->hourly) {
        return false;
    }
    for (size_t a = 0; a < s->naggs; a++) {
        if (strcmp(s->aggs[a].fn, "last") != 0) {
            return false;
        }
    }
    return true;
}

int col_storeq_vm_request(const struct col_storeq_sel *sel, size_t n, int64_t now_ms, char *buf,
                          size_t cap)
{
    struct out o = {buf, cap, 0, false};
    uint32_t window_s = 0;

    if (sel == NULL || n == 0 || buf == NULL || cap == 0 || now_ms < 0) {
        return CT_E_INVAL;
    }
    buf[0] = '\0';
    bool all_newest = true;
    for (size_t i = 0; i < n; i++) {
        if (!sel_ok(&sel[i])) {
            return CT_E_INVAL;
        }
        all_newest = all_newest && (sel[i].rows || sel[i].aggs == NULL || only_last(&sel[i]));
    }
    if (all_newest) {
        return vm_newest(sel, n, now_ms, &o);
    }
    if (n == 1 && sel[0].hourly) {
        return vm_hourly(&sel[0], now_ms, &o);
    }
    put(&o, "/api/v1/export?");
    for (size_t i = 0; i < n; i++) {
        const struct col_storeq_sel *s = &sel[i];
        char m[512];
        struct out mo = {m, sizeof(m), 0, false};
        if (!sel_ok(s)) {
            return CT_E_INVAL;
        }
        if (s->rows) {
            continue; /* InfluxDB only (col_storeq.h) */
        }
        window_s = s->window_s > window_s ? s->window_s : window_s;
        /* Aggregates name their fields (an exact match); a newest row takes every field. */
        put(&mo, "{__name__=~\"%s_", s->meas);
        if (s->aggs == NULL) {
            put(&mo, ".+");
        } else {
            put(&mo, "(");
            for (size_t a = 0; a < s->naggs; a++) {
                put(&mo, "%s%s", a ? "|" : "", s->aggs[a].field);
            }
            put(&mo, ")");
        }
        put(&mo, "\"}");
        if (mo.full) {
            return CT_E_TOOBIG;
        }
        put(&o, "match%%5B%%5D=");
        put_escaped(&o, m);
        put(&o, "&");
    }
    int64_t start = now_ms - (int64_t)window_s * 1000;
    start = start < 0 ? 0 : start;
    put(&o, "start=%lld.%03lld", (long long)(start / 1000), (long long)(start % 1000));
    return o.full ? CT_E_TOOBIG : 0;
}

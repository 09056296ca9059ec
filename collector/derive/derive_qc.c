/* derive_qc.c - quality control that flags instead of dropping: stuck values, spikes against
 * the recent values (robust z-score with the median absolute deviation, above a per-member
 * minimum jump) and sensor sentinel values. The rules are in docs/derived.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive_int.h"

#define QC_STUCK 1u
#define QC_SPIKE 2u
#define QC_SENTINEL 4u
/* A flood sensor reading exactly 0 this soon after a depth of at least this much: sentinel. */
#define QC_FLOOD_ZERO_MS ((int64_t)600000)
#define QC_FLOOD_ZERO_CM 10.0

struct jump {
    const char *name;
    double min_jump; /* a spike must differ from the median by at least this */
};

static const struct jump jumps[] = {{"pm25", 35}, {"pm10", 50}, {"no2", 100},  {"so2", 100},
                                    {"o3", 100},  {"co", 2000}, {"t", 5},      {"rh", 25},
                                    {"ph", 1},    {"do", 3},    {"turb", 100}, {"ec", 500},
                                    {"nh4", 2},   {"cod", 20},  {"tss", 50},   {"depth", 15}};

static double min_jump(const char *name)
{
    for (size_t i = 0; i < sizeof(jumps) / sizeof(jumps[0]); i++) {
        if (strcmp(jumps[i].name, name) == 0) {
            return jumps[i].min_jump;
        }
    }
    return NAN; /* no spike test for other members */
}

/* Sorts in place and returns the median. An insertion sort: the window holds at most
 * COL_DERIVE_QC_WINDOW_MAX finite values, where it beats qsort's indirect comparisons (it ran for
 * every value of every message: about 10% of the collector's CPU under qsort, docs/benchmarks.md).
 * The values are finite (col_derive_qc_run skips the others), so the order is total. */
static double median(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static bool is_spike(const struct col_derive *d, const struct qc_member *m, double x)
{
    double v[COL_DERIVE_QC_WINDOW_MAX];
    double jump = min_jump(m->name) * d->cfg.qc_jump_scale;
    double med;
    double mad;
    double dev;

    if (isnan(jump) || m->n < d->cfg.qc_min_values) {
        return false;
    }
    memcpy(v, m->ring, m->n * sizeof(v[0]));
    med = median(v, m->n);
    for (size_t i = 0; i < m->n; i++) {
        v[i] = fabs(m->ring[i] - med);
    }
    mad = median(v, m->n);
    dev = fabs(x - med);
    return dev >= jump && (mad == 0 || 0.6745 * dev / mad > d->cfg.qc_spike_z);
}

struct qc_state *col_derive_qc_new(enum ct_kind kind, size_t window)
{
    size_t cap = 0;
    struct qc_state *q;
    double *rings;

    (void)ct_schema_members(kind, &cap);
    if (cap == 0 || cap > DV_MEMBERS) {
        cap = DV_MEMBERS;
    }
    q = calloc(1, sizeof(*q) + cap * sizeof(q->m[0]) + cap * window * sizeof(double));
    if (q == NULL) {
        return NULL;
    }
    q->cap = cap;
    rings = (double *)(void *)((char *)q + sizeof(*q) + cap * sizeof(q->m[0]));
    for (size_t i = 0; i < cap; i++) {
        q->m[i].ring = rings + i * window;
    }
    return q;
}

static struct qc_member *member(struct qc_state *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->m[i].name, name) == 0) {
            return &q->m[i];
        }
    }
    if (q->n == q->cap) {
        return NULL;
    }
    struct qc_member *m = &q->m[q->n++];
    col_derive_copy_str(m->name, sizeof(m->name), name);
    return m;
}

static bool sentinel(const struct dv *v, const struct ct_reading *r, const struct qc_member *m,
                     double x)
{
    if (x == -999 || x == -9999 || x == 65535 || x == 6553.5) {
        return true;
    }
    if (v->kind == CT_KIND_AIR && (strcmp(m->name, "pm25") == 0 || strcmp(m->name, "pm10") == 0)) {
        /* PMS5003-class optical counters report 0 for both PM sizes when the chamber is
         * saturated with water (fog, 100 % humidity). */
        const struct ct_value *a = ct_reading_get(r, "pm25");
        const struct ct_value *b = ct_reading_get(r, "pm10");
        const struct ct_value *h = ct_reading_get(r, "rh");
        return a != NULL && b != NULL && h != NULL && a->num == 0 && b->num == 0 && h->num >= 100;
    }
    if (v->kind == CT_KIND_WATER && strcmp(m->name, "ph") == 0) {
        return x == 0 || x == 14; /* a pH probe at a rail: disconnected or broken */
    }
    if (v->kind == CT_KIND_FLOOD && strcmp(m->name, "depth") == 0) {
        /* An ultrasonic sensor that loses its echo reports exactly 0. */
        return x == 0 && m->has_last && m->last >= QC_FLOOD_ZERO_CM &&
               r->ts_ms - m->last_ts <= QC_FLOOD_ZERO_MS;
    }
    return false;
}

static void append(struct col_derive_qc *out, const char *name, const char *flag)
{
    size_t len = strlen(out->text);
    int n =
        snprintf(out->text + len, sizeof(out->text) - len, "%s%s:%s", len ? "," : "", name, flag);

    if (n < 0 || (size_t)n >= sizeof(out->text) - len) {
        out->text[len] = '\0'; /* no room: the flag is counted but not listed */
    }
    out->nflags++;
}

void col_derive_qc_run(struct col_derive *d, struct dv *v, const struct ct_reading *r,
                       struct col_derive_qc *out)
{
    int64_t stuck_ms = v->kind == CT_KIND_AIR     ? d->cfg.qc_stuck_air_ms
                       : v->kind == CT_KIND_WATER ? d->cfg.qc_stuck_water_ms
                                                  : -1;

    for (size_t i = 0; i < r->n; i++) {
        const struct ct_value *val = &r->values[i];
        struct qc_member *m;
        unsigned flags = 0;
        double x = val->num;

        if (val->type == CT_VT_BOOL || !isfinite(x)) {
            continue;
        }
        m = member(v->qc, val->name);
        if (m == NULL) {
            continue;
        }
        if (sentinel(v, r, m, x)) {
            flags |= QC_SENTINEL;
        }
        if (m->has_last && x == m->last && r->ts_ms >= m->since_ts) {
            if (stuck_ms > 0 && r->ts_ms - m->since_ts >= stuck_ms) {
                flags |= QC_STUCK;
            }
        } else {
            m->since_ts = r->ts_ms;
        }
        if (!(flags & QC_SENTINEL) && is_spike(d, m, x)) {
            flags |= QC_SPIKE;
        }
        if (!(flags & QC_SENTINEL)) {
            m->ring[m->next] = x;
            m->next = (m->next + 1) % d->cfg.qc_window;
            if (m->n < d->cfg.qc_window) {
                m->n++;
            }
        }
        m->has_last = true;
        m->last = x;
        m->last_ts = r->ts_ms;
        if (flags & QC_STUCK) {
            append(out, m->name, "stuck");
            d->st.qc_stuck++;
        }
        if (flags & QC_SPIKE) {
            append(out, m->name, "spike");
            d->st.qc_spike++;
        }
        if (flags & QC_SENTINEL) {
            append(out, m->name, "sentinel");
            d->st.qc_sentinel++;
        }
    }
}

/* derive_agg.c - tumbling window aggregates (protocol.md section 4): min, max, sum and count per
 * member, one point per device, window and collector, with late parts and the low-water mark. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "derive_int.h"

void col_derive_agg_init(struct agg *a, int64_t win_ms)
{
    memset(a, 0, sizeof(*a));
    a->win_ms = win_ms;
    for (size_t i = 0; i < AGG_DONE; i++) {
        a->done_start[i] = INT64_MIN;
    }
}

static int done_find(const struct agg *a, int64_t start)
{
    for (size_t i = 0; i < AGG_DONE; i++) {
        if (a->done_start[i] == start) {
            return (int)i;
        }
    }
    return -1;
}

static void done_record(struct agg *a, int64_t start, unsigned part)
{
    int i = done_find(a, start);

    if (i >= 0) {
        if (part > a->done_part[i]) {
            a->done_part[i] = part;
        }
        return;
    }
    a->done_start[a->done_next] = start;
    a->done_part[a->done_next] = part;
    a->done_next = (a->done_next + 1) % AGG_DONE;
}

/* Appends the aggregate point of 'w' and forgets the window. */
static void emit_window(struct col_derive *d, struct dv *v, size_t ai, struct agg_win *w)
{
    char meas[48];
    char part[24];
    char keys[DV_MEMBERS * 4][CT_MEMBER_NAME_MAX + 8];
    struct ct_lp_field f[DV_MEMBERS * 4 + 1];
    size_t nf = 0;
    const char *suffix = v->agg[ai].win_ms == HOUR_MS ? "1h" : d->meas;
    struct agg *a = &v->agg[ai];

    uint64_t saved_mark = d->cur_mark;

    /* The window's points (and the hour's indices built from it) come from its records: they
     * carry the lowest mark of those. */
    d->cur_mark = w->low_mark;
    /* "<kind>_agg_<window>": a name of its own, so that no measurement holds two schemas (the
     * derived rain_1h is another series; test_schema_doc). */
    snprintf(meas, sizeof(meas), "%s_agg_%s", ct_kind_name(v->kind), suffix);
    snprintf(part, sizeof(part), "%u", w->part);
    for (size_t i = 0; i < w->n; i++) {
        const struct agg_metric *m = &w->m[i];
        snprintf(keys[nf], sizeof(keys[0]), "%s_min", m->name);
        col_derive_fld_f(&f[nf], keys[nf], m->min);
        nf++;
        snprintf(keys[nf], sizeof(keys[0]), "%s_max", m->name);
        col_derive_fld_f(&f[nf], keys[nf], m->max);
        nf++;
        snprintf(keys[nf], sizeof(keys[0]), "%s_sum", m->name);
        col_derive_fld_f(&f[nf], keys[nf], m->sum);
        nf++;
        snprintf(keys[nf], sizeof(keys[0]), "%s_count", m->name);
        col_derive_fld_int(&f[nf], keys[nf], m->count);
        nf++;
    }
    if (nf > 0) {
        /* The station's own interval (the registry's interval_s), so that a completeness query
         * divides each station's count by its own expected count: sum(<m>_count) x
         * max(interval_s) / 36 is the hour's percentage (dashboards/README.md). */
        col_derive_fld_int(&f[nf++], "interval_s", v->interval_ms / 1000);
        struct ct_lp_tag tags[5] = {{"collector", d->instance},
                                    {"device", v->id},
                                    {"district", v->district},
                                    {"part", w->part > 0 ? part : NULL},
                                    {"ward", v->ward}};
        col_derive_emit_point(d, meas, tags, 5, f, nf, w->start_ms);
        if (w->part == 0) {
            d->st.windows_emitted++;
        } else {
            d->st.late_parts++;
        }
    }
    done_record(a, w->start_ms, w->part);
    if (a->win_ms == HOUR_MS && v->air != NULL) {
        if (w->part == 0) {
            col_derive_hour_closed(d, v, w);
        } else {
            col_derive_hist_set(&v->air->h, v->kind, w->start_ms, w, true);
        }
    }
    w->used = false;
    free(w->m);
    w->m = NULL;
    d->cur_mark = saved_mark;
}

void col_derive_agg_release(struct agg *a)
{
    for (size_t i = 0; i < AGG_PENDING; i++) {
        free(a->pend[i].m);
        a->pend[i].m = NULL;
        a->pend[i].used = false;
    }
}

static struct agg_win *oldest(struct agg *a)
{
    struct agg_win *o = NULL;

    for (size_t i = 0; i < AGG_PENDING; i++) {
        struct agg_win *w = &a->pend[i];
        if (w->used && (o == NULL || w->start_ms < o->start_ms ||
                        (w->start_ms == o->start_ms && w->part < o->part))) {
            o = w;
        }
    }
    return o;
}

static void add_value(struct agg_win *w, const char *name, double x)
{
    struct agg_metric *m = NULL;

    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->m[i].name, name) == 0) {
            m = &w->m[i];
            break;
        }
    }
    if (m == NULL) {
        if (w->n == w->cap) {
            return;
        }
        m = &w->m[w->n++];
        col_derive_copy_str(m->name, sizeof(m->name), name);
        m->min = x;
        m->max = x;
        m->sum = 0;
        m->count = 0;
    }
    m->min = fmin(m->min, x);
    m->max = fmax(m->max, x);
    m->sum += x;
    m->count++;
}

void col_derive_agg_add(struct col_derive *d, struct dv *v, size_t ai, const struct ct_reading *r,
                        uint64_t mark, int64_t now_ms)
{
    struct agg *a = &v->agg[ai];
    int64_t start = col_derive_floor_div(r->ts_ms, a->win_ms) * a->win_ms;
    struct agg_win *w = NULL;
    int di;

    for (size_t i = 0; i < AGG_PENDING; i++) {
        if (a->pend[i].used && a->pend[i].start_ms == start) {
            w = &a->pend[i];
            break;
        }
    }
    if (w == NULL) {
        for (size_t i = 0; i < AGG_PENDING && w == NULL; i++) {
            if (!a->pend[i].used) {
                w = &a->pend[i];
            }
        }
        if (w == NULL) {
            /* Policy when full: the oldest open window is emitted now (a later reading of it
             * becomes a late part). */
            w = oldest(a);
            emit_window(d, v, ai, w);
            d->st.windows_forced++;
        }
        size_t cap = 0;
        (void)ct_schema_members(v->kind, &cap);
        if (cap == 0 || cap > DV_MEMBERS) {
            cap = DV_MEMBERS;
        }
        memset(w, 0, sizeof(*w));
        w->m = calloc(cap, sizeof(*w->m));
        if (w->m == NULL) {
            /* Without memory the window's point cannot be written: counted as an emit error
             * (citytel_derive_emit_errors_total); the reading itself is still stored. */
            d->st.emit_errors++;
            return;
        }
        w->cap = cap;
        w->used = true;
        w->start_ms = start;
        w->low_mark = mark;
        w->opened_ms = now_ms;
        di = done_find(a, start);
        w->part = di >= 0 ? a->done_part[di] + 1 : 0;
    }
    if (mark < w->low_mark) {
        w->low_mark = mark;
    }
    w->added_ms = now_ms;
    for (size_t i = 0; i < r->n; i++) {
        const struct ct_value *val = &r->values[i];
        add_value(w, val->name, val->type == CT_VT_BOOL ? (val->b ? 1.0 : 0.0) : val->num);
    }
}

/* A window is written once it is past its close (end + grace; a late part at once) and its
 * readings have paused for AGG_SETTLE_MS, or, while they keep coming (a backlog drained, a
 * journal replayed), once per cfg.update_ms: one point per window and pause instead of one per
 * tick, so a backlog does not become a late part (a new `part` series in the store) every
 * second (test_backlog_one_point_per_window). Live windows close at end + grace as before. */
static bool window_due(const struct col_derive *d, const struct agg *a, const struct agg_win *w,
                       int64_t now_ms)
{
    if (!w->used || (w->part == 0 && now_ms <= w->start_ms + a->win_ms + d->cfg.grace_ms)) {
        return false;
    }
    return now_ms - w->added_ms >= AGG_SETTLE_MS || now_ms - w->opened_ms >= d->cfg.update_ms;
}

void col_derive_agg_tick(struct col_derive *d, struct dv *v, int64_t now_ms)
{
    for (size_t ai = 0; ai < v->nagg; ai++) {
        struct agg *a = &v->agg[ai];
        for (;;) {
            struct agg_win *next = NULL;
            for (size_t i = 0; i < AGG_PENDING; i++) {
                struct agg_win *w = &a->pend[i];
                if (window_due(d, a, w, now_ms) && (next == NULL || w->start_ms < next->start_ms)) {
                    next = w;
                }
            }
            if (next == NULL) {
                break;
            }
            emit_window(d, v, ai, next);
        }
    }
}

/* Only the configured window (agg[0]) holds the journal at its lowest mark: its length plus
 * grace bounds how much the spool must keep (rate x (window + grace)). The extra one-hour
 * aggregate does not: holding the journal for an hour would tie the spool's size to an hour of
 * traffic, and a small spool full during an outage could then never free room
 * (tests/e2e/test_dur_spool_full.py). After a crash the hourly means behind the AQI are rebuilt
 * exactly from the store (col_derive_rebuild_*), but the `<kind>_agg_1h` aggregate point of the
 * hour in progress is rebuilt only from the replayed records (docs/derived.md section 4). */
uint64_t col_derive_agg_low(const struct dv *v)
{
    uint64_t low = UINT64_MAX;

    for (size_t ai = 0; ai < v->nagg && ai < 1; ai++) {
        for (size_t i = 0; i < AGG_PENDING; i++) {
            const struct agg_win *w = &v->agg[ai].pend[i];
            if (w->used && w->low_mark < low) {
                low = w->low_mark;
            }
        }
    }
    return low;
}

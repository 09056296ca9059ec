/* derive.c - the device table, emission helpers and the public entry points of col_derive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "derive_int.h"
#include "ct/bytes.h"

int64_t col_derive_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

/* Copies at most cap - 1 bytes, cutting before an incomplete UTF-8 sequence. */
void col_derive_copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;

    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

void col_derive_fld_int(struct ct_lp_field *f, const char *k, int64_t v)
{
    memset(f, 0, sizeof(*f));
    f->key = k;
    f->type = CT_LP_INT;
    f->i = v;
}

void col_derive_fld_f(struct ct_lp_field *f, const char *k, double v)
{
    memset(f, 0, sizeof(*f));
    f->key = k;
    f->type = CT_LP_FLOAT;
    f->f = v;
}

void col_derive_fld_b(struct ct_lp_field *f, const char *k, bool v)
{
    memset(f, 0, sizeof(*f));
    f->key = k;
    f->type = CT_LP_BOOL;
    f->b = v;
}

void col_derive_fld_s(struct ct_lp_field *f, const char *k, const char *v)
{
    memset(f, 0, sizeof(*f));
    f->key = k;
    f->type = CT_LP_STRING;
    f->s = v;
}

void col_derive_emit_point(struct col_derive *d, const char *meas, const struct ct_lp_tag *tags,
                           size_t ntags, const struct ct_lp_field *f, size_t nf, int64_t ts)
{
    if (ct_lp_point(&d->out, meas, tags, ntags, f, nf, ts) != 0) {
        d->st.emit_errors++;
        return;
    }
    if (d->cur_mark < d->out_mark) {
        d->out_mark = d->cur_mark;
    }
}

void col_derive_emit_flush(struct col_derive *d)
{
    if (d->out.len == 0) {
        return;
    }
    /* The LOWEST mark of the records behind these points: the journal keeps all of them until
     * the sink has delivered the points (test_derived_mark_is_lowest_input). */
    uint64_t mark = d->out_mark != UINT64_MAX ? d->out_mark : d->last_mark;
    d->out_mark = UINT64_MAX;
    if (d->emit.on_points(d->emit.arg, d->out.p, d->out.len, mark) != 0) {
        d->st.emit_errors++;
    }
    ct_buf_reset(&d->out);
}

struct dv *col_derive_dv_find(struct col_derive *d, const char *id)
{
    size_t i = (size_t)ct_fnv1a64_str(id) & (d->index_cap - 1);

    while (d->index[i] != 0) {
        struct dv *v = &d->dv[d->index[i] - 1];
        if (strcmp(v->id, id) == 0) {
            return v;
        }
        i = (i + 1) & (d->index_cap - 1);
    }
    return NULL;
}

static int dv_alloc_kind(const struct col_derive *d, struct dv *v)
{
    if (v->kind == CT_KIND_AIR || v->kind == CT_KIND_WATER || v->kind == CT_KIND_FLOOD) {
        v->qc = col_derive_qc_new(v->kind, d->cfg.qc_window);
        if (v->qc == NULL) {
            return CT_E_NOMEM;
        }
    }
    if (v->kind == CT_KIND_AIR || v->kind == CT_KIND_WATER) {
        v->air = calloc(1, sizeof(*v->air));
        if (v->air == NULL) {
            return CT_E_NOMEM;
        }
        for (size_t i = 0; i < HIST_HOURS; i++) {
            v->air->h.start[i] = INT64_MIN;
        }
    } else if (v->kind == CT_KIND_RAIN) {
        v->rain = calloc(1, sizeof(*v->rain));
        if (v->rain == NULL) {
            return CT_E_NOMEM;
        }
        col_rain_gauge_init(&v->rain->g);
        v->rain->validated_until_ms = INT64_MIN;
        v->rain->rebuilt_s = INT64_MIN;
    } else if (v->kind == CT_KIND_FLOOD) {
        v->flood = calloc(1, sizeof(*v->flood));
        if (v->flood == NULL) {
            return CT_E_NOMEM;
        }
        col_derive_flood_setup(v->flood, NULL);
    }
    return 0;
}

static void dv_release(struct dv *v)
{
    for (size_t i = 0; i < v->nagg; i++) {
        col_derive_agg_release(&v->agg[i]);
    }
    free(v->qc);
    free(v->air);
    free(v->rain);
    free(v->flood);
}

/* Finds or creates the device. NULL at the bound (counted) or without memory. */
struct dv *col_derive_dv_get(struct col_derive *d, const char *id, enum ct_kind kind)
{
    struct dv *v = col_derive_dv_find(d, id);
    size_t i;

    if (v != NULL) {
        return v;
    }
    if (d->ndv == d->cfg.max_devices) {
        d->st.devices_refused++;
        return NULL;
    }
    v = &d->dv[d->ndv];
    memset(v, 0, sizeof(*v));
    col_derive_copy_str(v->id, sizeof(v->id), id);
    v->kind = kind;
    v->online = -1;
    v->bay = -1;
    v->interval_ms = (int64_t)ct_kind_default_interval_s(kind) * 1000;
    col_derive_agg_init(&v->agg[0], (int64_t)d->cfg.window_s * 1000);
    v->nagg = 1;
    if (d->cfg.window_s != 3600) {
        col_derive_agg_init(&v->agg[1], HOUR_MS);
        v->nagg = 2;
    }
    if (dv_alloc_kind(d, v) != 0) {
        dv_release(v);
        memset(v, 0, sizeof(*v));
        return NULL;
    }
    v->used = true;
    i = (size_t)ct_fnv1a64_str(id) & (d->index_cap - 1);
    while (d->index[i] != 0) {
        i = (i + 1) & (d->index_cap - 1);
    }
    d->index[i] = ++d->ndv;
    d->st.devices_tracked = d->ndv;
    return v;
}

void col_derive_dv_copy_names(struct dv *v, const struct ct_device *dev)
{
    col_derive_copy_str(v->name, sizeof(v->name), dev->name);
    col_derive_copy_str(v->district, sizeof(v->district), dev->district);
    col_derive_copy_str(v->ward, sizeof(v->ward), dev->ward);
    v->is_public = dev->is_public;
    v->interval_ms =
        (int64_t)(dev->interval_s > 0 ? dev->interval_s : ct_kind_default_interval_s(dev->kind)) *
        1000;
}

int col_derive_create(const struct col_derive_cfg *cfg, const struct col_derive_emit *emit,
                      struct col_derive **out)
{
    struct col_derive *d;

    if (cfg == NULL || emit == NULL || out == NULL || emit->on_points == NULL ||
        cfg->instance == NULL || cfg->instance[0] == '\0' ||
        strlen(cfg->instance) >= sizeof(d->instance) || cfg->qc_window > COL_DERIVE_QC_WINDOW_MAX) {
        return CT_E_INVAL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return CT_E_NOMEM;
    }
    d->cfg = *cfg;
    col_derive_copy_str(d->instance, sizeof(d->instance), cfg->instance);
    d->cfg.instance = d->instance;
    d->emit = *emit;
    d->cur_mark = UINT64_MAX; /* no record yet: such points take last_mark at flush */
    d->out_mark = UINT64_MAX;
    if (d->cfg.window_s == 0) {
        d->cfg.window_s = 60;
    }
    if (86400 % d->cfg.window_s != 0) {
        free(d);
        return CT_E_INVAL;
    }
    if (d->cfg.grace_ms == 0) {
        d->cfg.grace_ms = 2 * (int64_t)d->cfg.window_s * 1000;
    } else if (d->cfg.grace_ms < 0) {
        d->cfg.grace_ms = 0;
    }
    d->cfg.update_ms = d->cfg.update_ms > 0 ? d->cfg.update_ms : 10000;
    d->cfg.stale_intervals = d->cfg.stale_intervals ? d->cfg.stale_intervals : 3;
    d->cfg.max_devices = d->cfg.max_devices ? d->cfg.max_devices : 10000;
    d->cfg.qc_stuck_air_ms = d->cfg.qc_stuck_air_ms ? d->cfg.qc_stuck_air_ms : 6 * HOUR_MS;
    d->cfg.qc_stuck_water_ms = d->cfg.qc_stuck_water_ms ? d->cfg.qc_stuck_water_ms : 2 * HOUR_MS;
    d->cfg.qc_window = d->cfg.qc_window ? d->cfg.qc_window : 12;
    d->cfg.qc_min_values = d->cfg.qc_min_values ? d->cfg.qc_min_values : 6;
    d->cfg.qc_spike_z = d->cfg.qc_spike_z > 0 ? d->cfg.qc_spike_z : 3.5;
    d->cfg.qc_jump_scale = d->cfg.qc_jump_scale > 0 ? d->cfg.qc_jump_scale : 1.0;
    if (d->cfg.qc_min_values > d->cfg.qc_window) {
        d->cfg.qc_min_values = d->cfg.qc_window;
    }
    d->index_cap = 16;
    while (d->index_cap < 2 * d->cfg.max_devices) {
        d->index_cap *= 2;
    }
    d->dv = calloc(d->cfg.max_devices, sizeof(*d->dv));
    d->index = calloc(d->index_cap, sizeof(*d->index));
    d->lots = calloc(d->cfg.max_devices, sizeof(*d->lots));
    if (d->dv == NULL || d->index == NULL || d->lots == NULL) {
        col_derive_free(d);
        return CT_E_NOMEM;
    }
    ct_buf_init(&d->out, OUT_LIMIT);
    if (d->cfg.window_s % 3600 == 0) {
        snprintf(d->meas, sizeof(d->meas), "%uh", d->cfg.window_s / 3600);
    } else if (d->cfg.window_s % 60 == 0) {
        snprintf(d->meas, sizeof(d->meas), "%um", d->cfg.window_s / 60);
    } else {
        snprintf(d->meas, sizeof(d->meas), "%us", d->cfg.window_s);
    }
    *out = d;
    return 0;
}

static struct lot *lot_get(struct col_derive *d, const char *id)
{
    for (size_t i = 0; i < d->nlots; i++) {
        if (strcmp(d->lots[i].id, id) == 0) {
            return &d->lots[i];
        }
    }
    if (d->nlots == d->cfg.max_devices) {
        return NULL;
    }
    struct lot *l = &d->lots[d->nlots++];
    memset(l, 0, sizeof(*l));
    l->used = true;
    col_derive_copy_str(l->id, sizeof(l->id), id);
    l->capacity = -1;
    return l;
}

struct lot *col_derive_lot(struct col_derive *d, const char *id)
{
    return lot_get(d, id);
}

int col_derive_registry(struct col_derive *d, const struct ct_registry *reg)
{
    size_t n;

    if (d == NULL || reg == NULL) {
        return CT_E_INVAL;
    }
    for (size_t i = 0; i < d->nlots; i++) {
        d->lots[i].nbays = 0;
        d->lots[i].capacity = -1;
    }
    n = ct_registry_count(reg);
    for (size_t i = 0; i < n; i++) {
        const struct ct_device *dev = ct_registry_at(reg, i);
        struct lot *l;
        if (dev->kind != CT_KIND_PARKING) {
            continue;
        }
        l = lot_get(d, dev->park_mode == CT_PARK_BAY ? dev->lot : dev->id);
        if (l == NULL) {
            continue;
        }
        if (dev->park_mode == CT_PARK_BAY) {
            l->nbays++;
            if (l->district[0] == '\0') {
                col_derive_copy_str(l->district, sizeof(l->district), dev->district);
                col_derive_copy_str(l->ward, sizeof(l->ward), dev->ward);
            }
        } else {
            l->capacity = dev->capacity;
            col_derive_copy_str(l->district, sizeof(l->district), dev->district);
            col_derive_copy_str(l->ward, sizeof(l->ward), dev->ward);
        }
    }
    return 0;
}

int col_derive_qc(struct col_derive *d, const struct ct_device *dev, const struct ct_reading *r,
                  struct col_derive_qc *out)
{
    struct dv *v;

    if (out == NULL) {
        return CT_E_INVAL;
    }
    out->nflags = 0;
    out->text[0] = '\0';
    if (d == NULL || dev == NULL || r == NULL || r->kind != dev->kind) {
        return CT_E_INVAL;
    }
    v = col_derive_dv_get(d, dev->id, dev->kind);
    if (v == NULL) {
        return CT_E_FULL;
    }
    if (v->qc != NULL) {
        col_derive_qc_run(d, v, r, out);
    }
    return 0;
}

int col_derive_qc_lp(const struct col_derive_qc *qc, struct ct_buf *line, size_t start)
{
    struct ct_buf field;
    size_t end;
    size_t sp;
    char *tail;
    size_t tail_len;
    int rc;

    if (qc == NULL || line == NULL || start >= line->len) {
        return CT_E_INVAL;
    }
    if (qc->nflags == 0) {
        return 0;
    }
    end = line->len;
    if (line->p[end - 1] == '\n') {
        end--;
    }
    sp = end;
    while (sp > start && line->p[sp - 1] != ' ') {
        sp--;
    }
    if (sp <= start + 1) {
        return CT_E_INVAL;
    }
    sp--; /* the space before the timestamp */
    ct_buf_init(&field, COL_DERIVE_QC_TEXT + 16);
    rc = ct_buf_adds(&field, ",qc=\"");
    for (const char *c = qc->text; rc == 0 && *c != '\0'; c++) {
        if (*c == '"' || *c == '\\') {
            rc = ct_buf_add(&field, "\\", 1);
        }
        if (rc == 0) {
            rc = ct_buf_add(&field, c, 1);
        }
    }
    if (rc == 0) {
        rc = ct_buf_adds(&field, "\"");
    }
    if (rc != 0) {
        ct_buf_free(&field);
        return rc;
    }
    tail_len = line->len - sp;
    tail = malloc(tail_len);
    if (tail == NULL) {
        ct_buf_free(&field);
        return CT_E_NOMEM;
    }
    memcpy(tail, line->p + sp, tail_len);
    ct_buf_truncate(line, sp);
    rc = ct_buf_add(line, field.p, field.len);
    if (rc == 0) {
        rc = ct_buf_add(line, tail, tail_len);
        if (rc != 0) {
            ct_buf_truncate(line, sp);
        }
    }
    if (rc != 0) {
        ct_buf_add(line, tail, tail_len); /* restores the line: it fitted before */
    }
    free(tail);
    ct_buf_free(&field);
    return rc;
}

int col_derive_add(struct col_derive *d, const struct ct_device *dev, const struct ct_reading *r,
                   uint64_t mark, int64_t now_ms)
{
    struct dv *v;

    if (d == NULL || dev == NULL || r == NULL || r->kind != dev->kind ||
        strcmp(dev->id, r->id) != 0) {
        return CT_E_INVAL;
    }
    v = col_derive_dv_get(d, dev->id, dev->kind);
    if (v == NULL) {
        return CT_E_FULL;
    }
    col_derive_dv_copy_names(v, dev);
    if (mark > d->last_mark) {
        d->last_mark = mark;
    }
    d->cur_mark = mark; /* what this reading triggers comes from this record */
    if (now_ms > v->last_seen_ms) {
        v->last_seen_ms = now_ms;
    }
    if (v->stale) {
        v->stale = false;
        col_derive_station_point(d, v, now_ms);
    }
    for (size_t i = 0; i < v->nagg; i++) {
        col_derive_agg_add(d, v, i, r, mark, now_ms);
    }
    switch (dev->kind) {
    case CT_KIND_RAIN:
        col_derive_rain_add(d, v, dev, r);
        break;
    case CT_KIND_FLOOD:
        col_derive_flood_add(d, v, dev, r);
        break;
    case CT_KIND_PARKING:
        col_derive_parking_add(d, v, dev, r);
        break;
    default:
        break;
    }
    col_derive_emit_flush(d);
    return 0;
}

int col_derive_status(struct col_derive *d, const struct ct_device *dev, bool online,
                      int64_t now_ms)
{
    struct dv *v;

    if (d == NULL || dev == NULL) {
        return CT_E_INVAL;
    }
    v = col_derive_dv_get(d, dev->id, dev->kind);
    if (v == NULL) {
        return CT_E_FULL;
    }
    col_derive_dv_copy_names(v, dev);
    d->cur_mark = UINT64_MAX; /* a status message is not a journal record the points come from */
    if (v->online != (online ? 1 : 0)) {
        v->online = online ? 1 : 0;
        col_derive_station_point(d, v, now_ms);
        col_derive_emit_flush(d);
    }
    return 0;
}

void col_derive_tick(struct col_derive *d, int64_t now_ms)
{
    if (d == NULL) {
        return;
    }
    d->cur_mark = UINT64_MAX; /* windows set their own; station points come from no record */
    for (size_t i = 0; i < d->ndv; i++) {
        struct dv *v = &d->dv[i];
        int64_t limit = v->interval_ms * (int64_t)d->cfg.stale_intervals;
        col_derive_agg_tick(d, v, now_ms);
        if (!v->stale && v->last_seen_ms > 0 && now_ms - v->last_seen_ms > limit) {
            v->stale = true;
            col_derive_station_point(d, v, now_ms);
            col_derive_alert(d, v, "stale", now_ms, 1, "Trạm mất tín hiệu", "Station silent",
                             (double)(now_ms - v->last_seen_ms) / 1000.0);
        }
        col_derive_emit_flush(d);
    }
}

uint64_t col_derive_low_water(const struct col_derive *d)
{
    uint64_t low = UINT64_MAX;

    if (d == NULL) {
        return low;
    }
    for (size_t i = 0; i < d->ndv; i++) {
        uint64_t m = col_derive_agg_low(&d->dv[i]);
        if (m < low) {
            low = m;
        }
    }
    return low;
}

size_t col_derive_stale_each(const struct col_derive *d,
                             bool (*fn)(void *arg, const char *id, int64_t last_seen_ms), void *arg)
{
    size_t n = 0;
    bool go = fn != NULL;

    if (d == NULL) {
        return 0;
    }
    for (size_t i = 0; i < d->ndv; i++) {
        if (!d->dv[i].stale) {
            continue;
        }
        n++;
        if (go) {
            go = fn(arg, d->dv[i].id, d->dv[i].last_seen_ms);
        }
    }
    return n;
}

void col_derive_stats(const struct col_derive *d, struct col_derive_stats *out)
{
    if (d == NULL || out == NULL) {
        return;
    }
    *out = d->st;
}

void col_derive_free(struct col_derive *d)
{
    if (d == NULL) {
        return;
    }
    if (d->dv != NULL) {
        for (size_t i = 0; i < d->ndv; i++) {
            dv_release(&d->dv[i]);
        }
    }
    free(d->dv);
    free(d->index);
    free(d->lots);
    ct_buf_free(&d->out);
    free(d);
}

void col_derive_set_stale_intervals(struct col_derive *d, uint32_t n)
{
    if (d != NULL) {
        d->cfg.stale_intervals = n ? n : 3;
    }
}

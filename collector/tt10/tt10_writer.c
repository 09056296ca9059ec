/* tt10_writer.c - interval means of validated readings, written as TT 10/2021 station files
 * (col_tt10_writer.h). One slot per device (open addressing on the device id), holding the open
 * interval's sums. */
#include "col_tt10_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_obs.h"
#include "ct/err.h"

#define MEMBERS_MAX 16

struct acc {
    char member[CT_MEMBER_NAME_MAX + 1];
    double sum_ok, sum_all;
    uint32_t n_ok, n_all;
};

struct slot {
    char id[CT_ID_MAX + 1]; /* "" = empty */
    enum ct_kind kind;
    char province[CT_TT10_CODE_MAX + 1], facility[CT_TT10_CODE_MAX + 1],
        station[CT_TT10_CODE_MAX + 1];
    int64_t start_ms;   /* the open interval's start; -1 when none */
    int64_t written_ms; /* the last interval written (its start); -1 when none */
    uint64_t mark;      /* the lowest journal record of the open interval; UINT64_MAX: none */
    size_t nacc;
    struct acc acc[MEMBERS_MAX];
};

struct col_tt10_writer {
    struct col_tt10_fmt fmt;
    struct col_tt10_map map;
    int64_t interval_ms, grace_ms;
    struct slot *slots;
    size_t nslots, used, max_devices;
    struct col_tt10_out *out;
    struct col_tt10_writer_stats st;
    struct ct_buf buf;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

int col_tt10_writer_create(uv_loop_t *loop, const struct col_tt10_writer_cfg *cfg,
                           struct col_tt10_writer **out, char *err, size_t errcap)
{
    if (cfg->interval_ms <= 0 || 86400000 % cfg->interval_ms != 0 || cfg->max_devices == 0) {
        snprintf(err, errcap, "tt10: the interval must divide a day");
        return CT_E_INVAL;
    }
    struct col_tt10_writer *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return CT_E_NOMEM;
    }
    w->fmt = cfg->fmt;
    w->map = *cfg->map;
    w->interval_ms = cfg->interval_ms;
    w->grace_ms = cfg->interval_ms / 4 > 10000 ? cfg->interval_ms / 4 : 10000;
    if (cfg->grace_ms > 0) {
        w->grace_ms = cfg->grace_ms;
    }
    w->max_devices = cfg->max_devices;
    w->nslots = 64;
    while (w->nslots < 2 * cfg->max_devices) {
        w->nslots *= 2;
    }
    w->slots = calloc(w->nslots, sizeof(*w->slots));
    ct_buf_init(&w->buf, COL_TT10_FILE_MAX);
    if (w->slots == NULL) {
        free(w);
        return CT_E_NOMEM;
    }
    int rc = col_tt10_out_create(loop, &cfg->out, &w->out, err, errcap);
    if (rc != 0) {
        free(w->slots);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

static struct slot *find(struct col_tt10_writer *w, const struct ct_device *dev)
{
    size_t mask = w->nslots - 1;
    for (size_t i = (size_t)hash(dev->id) & mask;; i = (i + 1) & mask) {
        struct slot *s = &w->slots[i];
        if (strcmp(s->id, dev->id) == 0) {
            return s;
        }
        if (s->id[0] == '\0') {
            if (w->used >= w->max_devices) {
                return NULL;
            }
            w->used++;
            memcpy(s->id, dev->id, sizeof(s->id));
            s->start_ms = -1;
            s->written_ms = -1;
            s->mark = UINT64_MAX;
            return s;
        }
    }
}

/* Writes the open interval of 's' and clears it. */
static void flush(struct col_tt10_writer *w, struct slot *s)
{
    if (s->start_ms < 0) {
        return;
    }
    struct col_tt10_value v[MEMBERS_MAX];
    size_t n = 0;
    for (size_t k = 0; k < s->nacc; k++) {
        const struct acc *a = &s->acc[k];
        const struct col_tt10_param *p = col_tt10_map_member(&w->map, s->kind, a->member);
        if (p == NULL || a->n_all == 0) {
            continue;
        }
        bool ok = a->n_ok > 0;
        v[n++] = (struct col_tt10_value){p->symbol, p->unit,
                                         ok ? a->sum_ok / a->n_ok : a->sum_all / a->n_all,
                                         ok ? COL_TT10_MEASURING : COL_TT10_FAULT};
    }
    int64_t t = s->start_ms + w->interval_ms;
    uint64_t mark = s->mark != UINT64_MAX ? s->mark : 0;
    s->written_ms = s->start_ms;
    s->start_ms = -1;
    s->nacc = 0;
    s->mark = UINT64_MAX;
    if (n == 0) {
        return;
    }
    struct ct_device dev;
    memset(&dev, 0, sizeof(dev));
    dev.has_tt10 = true;
    memcpy(dev.tt10_province, s->province, sizeof(dev.tt10_province));
    memcpy(dev.tt10_facility, s->facility, sizeof(dev.tt10_facility));
    memcpy(dev.tt10_station, s->station, sizeof(dev.tt10_station));
    char name[COL_TT10_NAME_MAX + 1];
    ct_buf_reset(&w->buf);
    int rc = col_tt10_file_name(&w->fmt, &dev, t, name, sizeof(name));
    if (rc == 0) {
        rc = col_tt10_format(&w->fmt, t, v, n, &w->buf);
    }
    if (rc == 0) {
        rc = col_tt10_out_put(w->out, name, w->buf.p, w->buf.len, mark);
    }
    if (rc != 0) {
        w->st.put_errors++;
        col_log(COL_LOG_WARN, "tt10", "station file of %s not written: %s", s->id, ct_strerror(rc));
        return;
    }
    w->st.files++;
}

/* True when member 'name' appears in the QC text "m:flag,m:flag". */
static bool flagged(const char *qc, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = qc; *p != '\0';) {
        if (strncmp(p, name, len) == 0 && p[len] == ':') {
            return true;
        }
        const char *c = strchr(p, ',');
        if (c == NULL) {
            break;
        }
        p = c + 1;
    }
    return false;
}

void col_tt10_writer_add(struct col_tt10_writer *w, const struct ct_device *dev,
                         const struct ct_reading *r, const char *qc, uint64_t mark)
{
    if (w == NULL || !dev->has_tt10) {
        return;
    }
    struct slot *s = find(w, dev);
    if (s == NULL) {
        w->st.untracked++;
        return;
    }
    int64_t start = r->ts_ms - ((r->ts_ms % w->interval_ms) + w->interval_ms) % w->interval_ms;
    if ((s->written_ms >= 0 && start <= s->written_ms) ||
        (s->start_ms >= 0 && start < s->start_ms)) {
        w->st.late++;
        return;
    }
    if (s->start_ms >= 0 && start > s->start_ms) {
        flush(w, s);
    }
    if (s->start_ms < 0) {
        s->start_ms = start;
        s->kind = dev->kind;
        memcpy(s->province, dev->tt10_province, sizeof(s->province));
        memcpy(s->facility, dev->tt10_facility, sizeof(s->facility));
        memcpy(s->station, dev->tt10_station, sizeof(s->station));
    }
    if (mark != 0 && mark < s->mark) {
        s->mark = mark;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct ct_value *val = &r->values[i];
        if (val->type == CT_VT_BOOL) {
            continue;
        }
        size_t k = 0;
        while (k < s->nacc && strcmp(s->acc[k].member, val->name) != 0) {
            k++;
        }
        if (k == s->nacc) {
            if (k == MEMBERS_MAX) {
                continue;
            }
            memset(&s->acc[k], 0, sizeof(s->acc[k]));
            memcpy(s->acc[k].member, val->name, sizeof(s->acc[k].member));
            s->nacc++;
        }
        struct acc *a = &s->acc[k];
        a->sum_all += val->num;
        a->n_all++;
        if (qc == NULL || !flagged(qc, val->name)) {
            a->sum_ok += val->num;
            a->n_ok++;
        }
    }
}

void col_tt10_writer_tick(struct col_tt10_writer *w, int64_t now_ms)
{
    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->nslots; i++) {
        struct slot *s = &w->slots[i];
        if (s->id[0] != '\0' && s->start_ms >= 0 &&
            s->start_ms + w->interval_ms + w->grace_ms <= now_ms) {
            flush(w, s);
        }
    }
}

uint64_t col_tt10_writer_low_water(const struct col_tt10_writer *w)
{
    uint64_t low = col_tt10_out_low_water(w->out);
    for (size_t i = 0; i < w->nslots; i++) {
        const struct slot *s = &w->slots[i];
        if (s->id[0] != '\0' && s->start_ms >= 0 && s->mark < low) {
            low = s->mark;
        }
    }
    return low;
}

void col_tt10_writer_stats(const struct col_tt10_writer *w, struct col_tt10_writer_stats *st)
{
    *st = w->st;
}

struct col_tt10_out *col_tt10_writer_outbox(struct col_tt10_writer *w)
{
    return w->out;
}

void col_tt10_writer_close(struct col_tt10_writer *w, void (*closed_cb)(void *arg), void *arg)
{
    if (w == NULL) {
        return;
    }
    struct col_tt10_out *o = w->out;
    free(w->slots);
    ct_buf_free(&w->buf);
    free(w);
    col_tt10_out_close(o, closed_cb, arg);
}

/* derive_events.c - what a single reading triggers at once: rain accumulations, flood bands,
 * parking occupancy; station points and alerts. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ct/err.h"
#include "ct/topic.h"
#include "derive_int.h"

static void tags3(const struct dv *v, struct ct_lp_tag t[3])
{
    t[0] = (struct ct_lp_tag){"device", v->id};
    t[1] = (struct ct_lp_tag){"district", v->district};
    t[2] = (struct ct_lp_tag){"ward", v->ward};
}

static bool num_of(const struct ct_reading *r, const char *name, double *x)
{
    const struct ct_value *val = ct_reading_get(r, name);

    if (val == NULL) {
        return false;
    }
    *x = val->type == CT_VT_BOOL ? (val->b ? 1.0 : 0.0) : val->num;
    return true;
}

/* ---- rain ------------------------------------------------------------------------------ */

void col_derive_rain_add(struct col_derive *d, struct dv *v, const struct ct_device *dev,
                         const struct ct_reading *r)
{
    double mpt = dev->mm_per_tip > 0 ? dev->mm_per_tip : 0.2;
    double tips, mm, mm1 = 0, mm24 = 0;
    bool has_tips = num_of(r, "tips", &tips);
    bool has_mm = num_of(r, "mm", &mm);
    unsigned flags = 0;
    struct ct_lp_field f[COL_RAIN_FIELDS + 1];
    struct ct_lp_tag t[3];
    int64_t hour_ms;
    double hour_mm;
    bool hour_due;
    size_t nf;
    int rc;

    /* The same steps as the console's recompute from validated data (col_indices_rain_gauge.h). */
    mm = col_rain_gauge_amount(&v->rain->g, r->boot, has_tips ? &tips : NULL, has_mm ? &mm : NULL,
                               mpt, &flags);
    hour_due = col_rain_gauge_hour(&v->rain->g, r->ts_ms, &hour_ms, &hour_mm);
    rc = col_rain_gauge_step(&v->rain->g, r->ts_ms, mm, &mm1, &mm24, &flags);
    d->st.rain_reboots += (flags & COL_RAIN_REBOOT) != 0;
    d->st.rain_mismatch += (flags & COL_RAIN_MISMATCH) != 0;
    d->st.rain_refused += (flags & COL_RAIN_REFUSED) != 0;
    if (rc != 0) {
        return;
    }
    tags3(v, t);
    /* The contract's 24-h accumulation, once an hour: the first reading past an hour boundary
     * writes the 24 hours ending there (rain_24h, mm). The rolling 24-h sum of every reading
     * rides on its rain_1h point (mm_24h): a second point per reading, with the term as text,
     * was a quarter of the store's derived lines in the store benchmark (docs/derived.md). */
    if (hour_due) {
        struct ct_lp_field h[2] = {{.key = "mm", .type = CT_LP_FLOAT, .f = hour_mm},
                                   {.key = "validated", .type = CT_LP_BOOL, .b = true}};
        col_derive_emit_point(d, "rain_24h", t, 3, h,
                              hour_ms <= v->rain->validated_until_ms ? 2 : 1, hour_ms);
    }
    nf = col_rain_fields(mm1, mm24, f);
    /* The console took the amounts staff marked invalid out of the ring (col_derive_rain_adjust):
     * the sums of the readings up to 24 h after the range are those of the valid data. */
    if (r->ts_ms <= v->rain->validated_until_ms) {
        f[nf++] = (struct ct_lp_field){.key = "validated", .type = CT_LP_BOOL, .b = true};
    }
    col_derive_emit_point(d, "rain_1h", t, 3, f, nf, r->ts_ms);
}

int col_derive_rain_adjust(struct col_derive *d, const char *id, const int64_t *ts_ms,
                           const double *mm, size_t n, int sign, int64_t validated_until_ms)
{
    struct dv *v;

    if (d == NULL || id == NULL || (n > 0 && (ts_ms == NULL || mm == NULL)) ||
        (sign != 1 && sign != -1)) {
        return CT_E_INVAL;
    }
    v = col_derive_dv_find(d, id);
    if (v == NULL || v->kind != CT_KIND_RAIN || v->rain == NULL) {
        d->st.rain_adjust_unknown++;
        return CT_E_NOTFOUND;
    }
    for (size_t i = 0; i < n; i++) {
        /* The reading's slot, as col_rain_gauge_step keys it (its time rounded up to the
         * second); an hour the rebuild restored holds its sum in the hour's last slot. */
        int64_t ts_s = col_derive_floor_div(ts_ms[i] + 999, 1000);
        double left = 0;

        if (ts_s <= v->rain->rebuilt_s) {
            ts_s = col_derive_floor_div(ts_s + 3599, 3600) * 3600;
        }
        if (isnan(mm[i]) || mm[i] <= 0 || ts_s < 0) {
            continue;
        }
        /* An amount older than the ring is refused by both: it counts in no sum any more. */
        if (sign < 0 && col_rain_take(&v->rain->g.ring, ts_s, mm[i], &left) == 0 && left > 0) {
            d->st.rain_adjust_missing++;
        } else if (sign > 0) {
            (void)col_rain_add(&v->rain->g.ring, ts_s, mm[i]);
        }
    }
    if (validated_until_ms > v->rain->validated_until_ms) {
        v->rain->validated_until_ms = validated_until_ms;
    }
    d->st.rain_adjusts++;
    return 0;
}

/* ---- flood ----------------------------------------------------------------------------- */

/* Sets up a station's bands (col_flood_station_setup: the registry's bands_cm or the default)
 * and a fresh state. Returns 0, or CT_E_INVAL when the registry's bands were unusable (the
 * default is used then). */
int col_derive_flood_setup(struct flood_st *f, const struct ct_device *dev)
{
    col_flood_init(&f->st);
    return col_flood_station_setup(&f->bands, dev ? dev->bands_cm : NULL, dev ? dev->nbands : 0);
}

void col_derive_flood_add(struct col_derive *d, struct dv *v, const struct ct_device *dev,
                          const struct ct_reading *r)
{
    struct flood_st *fs = v->flood;
    struct col_flood_event ev = {0};
    struct ct_lp_field f[3];
    struct ct_lp_tag t[3];
    const struct col_flood_band *b;
    double depth;
    double rise;
    size_t nf = 0;

    if (!num_of(r, "depth", &depth)) {
        return;
    }
    if (!col_flood_station_same(&fs->bands, dev->bands_cm, dev->nbands)) {
        /* Bands changed (first reading, reload): the confirmed band carries over (it may come
         * from the rebuild), the rest of the state starts again. */
        struct col_flood_state old = fs->st;
        col_derive_flood_setup(fs, dev);
        if (old.has_band) {
            fs->st.has_band = true;
            fs->st.band = old.band < fs->bands.cfg.n_bands ? old.band : fs->bands.cfg.n_bands - 1;
            fs->st.last_ts = old.last_ts;
        }
    }
    col_flood_update(&fs->bands.cfg, &fs->st, col_derive_floor_div(r->ts_ms, 1000), depth, &ev);
    if (!fs->st.has_band) {
        return;
    }
    b = &fs->bands.cfg.bands[fs->st.band];
    /* The band's name and colour are not written: readers name the band from the station's
     * table (col_flood_station_setup), as the public layer does. Three text fields per reading
     * were most of InfluxDB's work on flood points (docs/benchmarks.md). */
    col_derive_fld_f(&f[nf++], "depth_cm", depth);
    col_derive_fld_int(&f[nf++], "band", (int64_t)fs->st.band);
    rise = col_flood_rate_cm_h(&fs->bands.cfg, &fs->st);
    if (!isnan(rise)) {
        col_derive_fld_f(&f[nf++], "rise_cm_h", rise);
    }
    tags3(v, t);
    col_derive_emit_point(d, "flood_level", t, 3, f, nf, r->ts_ms);
    if (ev.changed && ev.to > 0 && (ev.from < 0 || ev.to > (size_t)ev.from)) {
        col_derive_alert(d, v, "flood", r->ts_ms, (int)ev.to, b->vi, b->en, depth);
    }
}

/* ---- parking --------------------------------------------------------------------------- */

static void lot_point(struct col_derive *d, const char *lot, const char *district, const char *ward,
                      int64_t capacity, int64_t occupied, int64_t ts)
{
    struct ct_lp_tag t[3] = {{"district", district}, {"lot", lot}, {"ward", ward}};
    struct ct_lp_field f[4];
    size_t nf = 3;
    double ratio;

    col_derive_fld_int(&f[0], "capacity", capacity < 0 ? 0 : capacity);
    col_derive_fld_int(&f[1], "occupied", col_parking_occupied(capacity, occupied));
    col_derive_fld_int(&f[2], "free", col_parking_free(capacity, occupied));
    if (col_parking_ratio(capacity, occupied, &ratio)) {
        col_derive_fld_f(&f[nf++], "ratio", ratio);
    }
    col_derive_emit_point(d, "parking_lot", t, 3, f, nf, ts);
}

void col_derive_parking_add(struct col_derive *d, struct dv *v, const struct ct_device *dev,
                            const struct ct_reading *r)
{
    struct lot *l;
    double occ;
    double cap;
    int now;
    int64_t capacity;

    if (!num_of(r, "occupied", &occ)) {
        return;
    }
    if (dev->park_mode != CT_PARK_BAY) {
        capacity = num_of(r, "capacity", &cap) ? (int64_t)cap : dev->capacity;
        l = col_derive_lot(d, v->id);
        if (l != NULL) {
            l->has_counter = true;
            l->capacity = capacity;
        }
        lot_point(d, v->id, v->district, v->ward, capacity, (int64_t)occ, r->ts_ms);
        return;
    }
    now = occ != 0 ? 1 : 0;
    if (strcmp(v->bay_lot, dev->lot) != 0) {
        l = v->bay_lot[0] != '\0' ? col_derive_lot(d, v->bay_lot) : NULL;
        if (l != NULL) {
            l->occupied -= v->bay == 1;
            l->seen--;
        }
        v->bay = -1;
        col_derive_copy_str(v->bay_lot, sizeof(v->bay_lot), dev->lot);
        l = col_derive_lot(d, v->bay_lot);
        if (l != NULL) {
            l->seen++;
        }
    }
    l = col_derive_lot(d, v->bay_lot);
    if (l == NULL) {
        return;
    }
    l->occupied += (now == 1) - (v->bay == 1);
    v->bay = now;
    capacity =
        l->has_counter && l->capacity >= 0 ? l->capacity : (l->nbays > 0 ? l->nbays : l->seen);
    lot_point(d, l->id, l->district[0] ? l->district : v->district,
              l->district[0] ? l->ward : v->ward, capacity, l->occupied, r->ts_ms);
}

/* ---- stations and alerts --------------------------------------------------------------- */

void col_derive_station_point(struct col_derive *d, struct dv *v, int64_t now_ms)
{
    struct ct_lp_field f[3];
    struct ct_lp_tag t[3];

    col_derive_fld_b(&f[0], "stale", v->stale);
    col_derive_fld_b(&f[1], "online", v->online != 0);
    col_derive_fld_int(&f[2], "last_seen_ms", v->last_seen_ms);
    tags3(v, t);
    col_derive_emit_point(d, "station", t, 3, f, 3, now_ms);
}

static int json_str(struct ct_buf *b, const char *key, const char *s)
{
    int rc = ct_buf_printf(b, ",\"%s\":", key);

    return rc != 0 ? rc : ct_buf_add_json_str(b, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

int col_derive_alert_format(const struct col_derive_alert_msg *a, char *topic, size_t cap,
                            struct ct_buf *js)
{
    char num[32];
    size_t tl;
    int rc;

    /* The district level of the topic is the name's ASCII slug ("Đống Đa" -> "dong-da"); the
     * payload keeps the Vietnamese name. */
    snprintf(topic, cap, "city/v1/alert/%s/", ct_kind_name(a->kind));
    tl = strlen(topic);
    if (ct_topic_slug(a->district, topic + tl, cap - tl) != 0) {
        snprintf(topic + tl, cap - tl, "unknown");
    }
    if (ct_fmt_double(a->value, num) != 0) {
        snprintf(num, sizeof(num), "null");
    }
    rc = ct_buf_printf(js, "{\"v\":1");
    rc = rc ? rc : json_str(js, "type", a->type);
    rc = rc ? rc : json_str(js, "device", a->id);
    rc = rc ? rc : json_str(js, "name", a->name);
    rc = rc ? rc : json_str(js, "district", a->district);
    rc = rc ? rc : ct_buf_printf(js, ",\"ts\":%lld,\"level\":%d", (long long)a->ts, a->level);
    rc = rc ? rc : json_str(js, "label_vi", a->label_vi);
    rc = rc ? rc : json_str(js, "label_en", a->label_en);
    return rc ? rc : ct_buf_printf(js, ",\"value\":%s}", num);
}

void col_derive_alert(struct col_derive *d, const struct dv *v, const char *type, int64_t ts,
                      int level, const char *label_vi, const char *label_en, double value)
{
    char topic[64 + DV_STR];
    struct ct_buf js;
    struct ct_lp_tag t[3] = {{"device", v->id}, {"district", v->district}, {"type", type}};
    struct ct_lp_field f[3];
    struct col_derive_alert_msg a = {v->kind, type,  v->id,    v->name,  v->district,
                                     ts,      level, label_vi, label_en, value};

    if (strcmp(type, "flood") == 0) {
        d->st.alerts_flood++;
    } else if (strcmp(type, "aqi") == 0) {
        d->st.alerts_aqi++;
    } else {
        d->st.alerts_stale++;
    }
    col_derive_fld_int(&f[0], "level", level);
    col_derive_fld_s(&f[1], "label", label_vi);
    col_derive_fld_f(&f[2], "value", value);
    col_derive_emit_point(d, "alert", t, 3, f, 3, ts);
    /* The alert topic is public (the map and city systems read it): a station the registry marks
     * `"public": false` raises its alert in the store only, for the staff
     * (test_derive_alerts: test_private_station_alert_stays_off_mqtt). */
    if (d->emit.on_alert == NULL || !v->is_public) {
        return;
    }
    ct_buf_init(&js, 4096);
    if (col_derive_alert_format(&a, topic, sizeof(topic), &js) == 0) {
        d->emit.on_alert(d->emit.arg, topic, js.p, js.len);
    } else {
        d->st.emit_errors++;
    }
    ct_buf_free(&js);
}

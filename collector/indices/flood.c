/* flood.c - flood depth bands with hysteresis and minimum duration; rate of rise. */
#include "col_indices_flood.h"

#include <math.h>
#include <stdio.h>

#include "ct/err.h"

#define SECONDS_PER_HOUR 3600.0

/* The project's own choice (no official table exists); colours follow the AQI ramp. */
static const struct col_flood_band default_bands[] = {
    {0.0, "Khô", "Dry", "#00E400"},
    {10.0, "Ngập nhẹ", "Minor", "#FFFF00"},
    {20.0, "Ngập", "Flooded (cars slow)", "#FF7E00"},
    {40.0, "Ngập sâu", "Deep", "#FF0000"},
    {60.0, "Nguy hiểm", "Dangerous", "#8F3F97"},
};

static const struct col_flood_cfg default_cfg = {
    default_bands, sizeof(default_bands) / sizeof(default_bands[0]), 2.0, 120, 1800};

const struct col_flood_cfg *col_flood_default_cfg(void)
{
    return &default_cfg;
}

int col_flood_cfg_check(const struct col_flood_cfg *cfg)
{
    size_t i;

    if (cfg == NULL || cfg->bands == NULL || cfg->n_bands < 1 ||
        cfg->n_bands > COL_FLOOD_MAX_BANDS || cfg->bands[0].min_cm != 0.0 ||
        !(cfg->hysteresis_cm >= 0.0) || cfg->min_duration_s < 0 || cfg->rate_window_s <= 0) {
        return CT_E_INVAL;
    }
    for (i = 0; i < cfg->n_bands; i++) {
        const struct col_flood_band *b = &cfg->bands[i];

        if (b->vi == NULL || b->en == NULL || b->color == NULL || !isfinite(b->min_cm)) {
            return CT_E_INVAL;
        }
        if (i > 0 && !(b->min_cm - cfg->bands[i - 1].min_cm > cfg->hysteresis_cm)) {
            return CT_E_INVAL;
        }
    }
    return 0;
}

/* Colours of a station's bands by index (the default's ramp, the darkest repeated). */
static const char *const palette[COL_FLOOD_MAX_BANDS] = {
    "#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#8F3F97", "#7E0023", "#7E0023", "#7E0023"};

int col_flood_station_setup(struct col_flood_station *s, const double *bands_cm, size_t n_cm)
{
    const struct col_flood_cfg *def = col_flood_default_cfg();
    size_t n = 0;

    s->cfg = *def;
    if (bands_cm == NULL || n_cm == 0) {
        return 0;
    }
    if (bands_cm[0] > 0) {
        s->bands[n++].min_cm = 0;
    }
    for (size_t i = 0; i < n_cm && n < COL_FLOOD_MAX_BANDS; i++) {
        s->bands[n++].min_cm = bands_cm[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (n == def->n_bands) {
            s->bands[i].vi = def->bands[i].vi;
            s->bands[i].en = def->bands[i].en;
        } else {
            snprintf(s->labels[i][0], sizeof(s->labels[i][0]), "Mức %u", (unsigned)(i % 100));
            snprintf(s->labels[i][1], sizeof(s->labels[i][1]), "Level %u", (unsigned)(i % 100));
            s->bands[i].vi = s->labels[i][0];
            s->bands[i].en = s->labels[i][1];
        }
        s->bands[i].color = palette[i];
    }
    s->cfg.bands = s->bands;
    s->cfg.n_bands = n;
    if (col_flood_cfg_check(&s->cfg) != 0) {
        s->cfg = *def;
        return CT_E_INVAL;
    }
    return 0;
}

bool col_flood_station_same(const struct col_flood_station *s, const double *bands_cm, size_t n)
{
    const struct col_flood_cfg *def = col_flood_default_cfg();
    size_t off;

    if (bands_cm == NULL || n == 0 || s->cfg.bands == def->bands) {
        return (bands_cm == NULL || n == 0) && s->cfg.bands == def->bands;
    }
    off = bands_cm[0] > 0 ? 1 : 0;
    if (s->cfg.n_bands != n + off) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->bands[i + off].min_cm != bands_cm[i]) {
            return false;
        }
    }
    return true;
}

size_t col_flood_band_of(const struct col_flood_cfg *cfg, double depth_cm)
{
    size_t band = 0;
    size_t i;

    for (i = 1; i < cfg->n_bands; i++) {
        if (depth_cm >= cfg->bands[i].min_cm) {
            band = i;
        }
    }
    return band;
}

void col_flood_init(struct col_flood_state *st)
{
    st->has_band = false;
    st->band = 0;
    st->pending = false;
    st->candidate = 0;
    st->candidate_since = 0;
    st->last_ts = INT64_MIN;
    st->n_samples = 0;
    st->next = 0;
}

/* The band the depth points to from the confirmed band, hysteresis applied downwards. */
static size_t target_band(const struct col_flood_cfg *cfg, size_t current, double depth)
{
    size_t raw = col_flood_band_of(cfg, depth);
    size_t down;

    if (raw >= current) {
        return raw;
    }
    down = col_flood_band_of(cfg, depth + cfg->hysteresis_cm);
    return down < current ? down : current;
}

static void push_sample(struct col_flood_state *st, int64_t ts, double depth)
{
    st->samples[st->next].ts = ts;
    st->samples[st->next].depth_cm = depth;
    st->next = (st->next + 1) % COL_FLOOD_SAMPLES;
    if (st->n_samples < COL_FLOOD_SAMPLES) {
        st->n_samples++;
    }
}

int col_flood_update(const struct col_flood_cfg *cfg, struct col_flood_state *st, int64_t ts,
                     double depth_cm, struct col_flood_event *ev)
{
    size_t target;

    if (cfg == NULL || st == NULL || ev == NULL || isnan(depth_cm)) {
        return CT_E_INVAL;
    }
    if (st->last_ts != INT64_MIN && ts < st->last_ts) {
        return CT_E_RANGE;
    }
    ev->changed = false;
    ev->from = -1;
    ev->to = st->band;
    depth_cm = depth_cm < 0.0 ? 0.0 : depth_cm;
    st->last_ts = ts;
    push_sample(st, ts, depth_cm);

    if (!st->has_band) {
        st->has_band = true;
        st->band = col_flood_band_of(cfg, depth_cm);
        st->pending = false;
        ev->changed = true;
        ev->to = st->band;
        return 0;
    }
    target = target_band(cfg, st->band, depth_cm);
    if (target == st->band) {
        st->pending = false;
        return 0;
    }
    if (!st->pending || (target > st->band) != (st->candidate > st->band)) {
        st->pending = true;
        st->candidate_since = ts;
    }
    st->candidate = target;
    if (ts - st->candidate_since >= cfg->min_duration_s) {
        ev->changed = true;
        ev->from = (int)st->band;
        ev->to = target;
        st->band = target;
        st->pending = false;
    }
    return 0;
}

double col_flood_rate_cm_h(const struct col_flood_cfg *cfg, const struct col_flood_state *st)
{
    const struct col_flood_sample *newest;
    const struct col_flood_sample *oldest = NULL;
    size_t k;

    if (cfg == NULL || st == NULL || st->n_samples < 2) {
        return NAN;
    }
    newest = &st->samples[(st->next + COL_FLOOD_SAMPLES - 1) % COL_FLOOD_SAMPLES];
    /* Walk from the oldest kept sample forwards; the first inside the window is the oldest. */
    for (k = st->n_samples; k >= 1; k--) {
        const struct col_flood_sample *s =
            &st->samples[(st->next + COL_FLOOD_SAMPLES - k) % COL_FLOOD_SAMPLES];

        if (newest->ts - s->ts <= cfg->rate_window_s) {
            oldest = s;
            break;
        }
    }
    if (oldest == NULL || oldest->ts == newest->ts) {
        return NAN;
    }
    return (newest->depth_cm - oldest->depth_cm) * SECONDS_PER_HOUR /
           (double)(newest->ts - oldest->ts);
}

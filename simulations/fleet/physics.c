/* physics.c - fleet-sim's city model: sensor values per kind (see sim_physics.h; the weather is in
 * weather.c). */
#include "sim_physics.h"

#include <math.h>
#include <string.h>

#include "ct/err.h"
#include "ct/bytes.h"

#define PI 3.14159265358979323846
#define NOISE_SLOT_MS (20.0 * 60000.0)
#define BAY_SLOT_MS (10.0 * 60000.0)
#define WATER_SLOT_MS (6.0 * 3600000.0)
#define STEP_MAX_MS (5LL * 60000) /* integration sub-step of rain, flood and runoff */
#define STEPS_MAX 2000            /* a longer gap is skipped, not integrated */
#define RUNOFF_TAU_H 12.0         /* water: the runoff index decays with this time constant */
#define FLOOD_MAX_CM 150.0        /* a low spot overflows into the neighbourhood above this */
#define CENTRE_LAT 21.0285        /* Hoàn Kiếm lake */
#define CENTRE_LON 105.8522

void sim_physics_init(struct sim_physics *p, uint64_t seed, double scale, int64_t start_sim,
                      int64_t start_mono)
{
    memset(p, 0, sizeof(*p));
    p->seed = seed;
    p->scale = scale >= 1.0 ? scale : 1.0;
    p->start_sim = start_sim;
    p->start_mono = start_mono;
    p->auto_storms = true;
    p->auto_haze = true;
}

int64_t sim_physics_time(const struct sim_physics *p, int64_t mono_ms)
{
    return p->start_sim + (int64_t)((double)(mono_ms - p->start_mono) * p->scale);
}

/* A device's hash key: its id (stable across runs and filters), or its index without an id. */
static uint64_t key_of(const struct sim_node *n)
{
    return n->dev->id[0] != '\0' ? ct_fnv1a64_str(n->dev->id) : n->index;
}

static double station(const struct sim_physics *p, const struct sim_node *n, uint64_t k, double lo,
                      double hi)
{
    return lo + (hi - lo) * sim_h01(p->seed, 100 + k, key_of(n), 0);
}

static double bump(double h, double centre, double width)
{
    double d = h - centre;
    return exp(-(d * d) / (2.0 * width * width));
}

/* Smooth 0..1..0 between hours a and b. */
static double plateau(double h, double a, double b)
{
    return 1.0 / (1.0 + exp(-(h - a) / 0.4)) / (1.0 + exp(-(b - h) / 0.4));
}

enum sim_lot_character sim_lot_character_of(const char *lot_id)
{
    return (enum sim_lot_character)(ct_fnv1a64_str(lot_id) % 3);
}

double sim_parking_ratio(enum sim_lot_character c, int64_t sim_ms)
{
    double h = sim_physics_hour(sim_ms);
    bool weekend = sim_physics_weekday(sim_ms) >= 5;
    double r;
    switch (c) {
    case SIM_LOT_OFFICE:
        r = weekend ? 0.12 + 0.25 * bump(h, 11.0, 3.0)
                    : 0.06 + 0.86 * plateau(h, 7.8, 17.6) + 0.06 * bump(h, 12.5, 0.8);
        break;
    case SIM_LOT_MARKET:
        r = 0.08 + 0.62 * bump(h, 7.0, 1.4) + 0.35 * bump(h, 11.0, 1.8) + 0.75 * bump(h, 17.8, 1.6);
        r *= weekend ? 1.1 : 1.0;
        break;
    default: /* residential: full at night, half empty while people are at work */
        r = 0.9 - (weekend ? 0.25 : 0.55) * plateau(h, 7.5, 17.5);
        break;
    }
    return r < 0.0 ? 0.0 : (r > 0.98 ? 0.98 : r);
}

static double month_temp(int month)
{
    static const double t[12] = {16.5, 17.5, 20.0, 24.0, 28.0, 29.5,
                                 29.8, 29.0, 28.0, 25.5, 22.0, 18.5};
    return t[(month - 1) % 12];
}

static int air(const struct sim_physics *p, const struct sim_node *n, const char *ch, int64_t t,
               double *out)
{
    double h = sim_physics_hour(t);
    double traffic = 0.3 + bump(h, 8.0, 1.2) + 0.9 * bump(h, 18.3, 1.4);
    double noise = sim_vnoise(p->seed, 3, key_of(n), (double)t / NOISE_SLOT_MS);
    double rain = sim_physics_rain_at(p, n->dev->lat, n->dev->lon, t);
    double haze = sim_physics_haze_factor(p, t);
    double winter = haze > 0.8 ? (haze - 0.8) / 1.3 : 0.0;
    winter = winter > 1.0 ? 1.0 : winter;
    double night = bump(h, 1.5, 3.5) + bump(h, 25.5, 3.5);
    double centre = sim_km(n->dev->lat, n->dev->lon, CENTRE_LAT, CENTRE_LON);
    double base = station(p, n, 1, 20.0, 32.0) * (0.7 + 0.5 * exp(-centre / 10.0));
    double diurnal = 0.72 + 0.3 * traffic + 0.45 * winter * night - 0.25 * bump(h, 14.0, 2.5);
    double pm25 = base * haze * diurnal * (0.85 + 0.3 * noise) / (1.0 + rain / 4.0);
    double temp = month_temp(sim_physics_month(t)) + 3.5 * sin(2.0 * PI * (h - 8.0) / 24.0) +
                  1.5 * (noise - 0.5) - 3.0 * (rain > 10.0 ? 1.0 : rain / 10.0);
    if (strcmp(ch, "pm25") == 0) {
        *out = pm25;
    } else if (strcmp(ch, "pm10") == 0) {
        *out = pm25 * station(p, n, 2, 1.4, 1.8);
    } else if (strcmp(ch, "no2") == 0) {
        *out = station(p, n, 3, 20, 45) * (0.5 + 0.6 * traffic) * sqrt(haze) * (0.9 + 0.2 * noise);
    } else if (strcmp(ch, "so2") == 0) {
        *out = station(p, n, 4, 6, 18) * sqrt(haze) * (0.9 + 0.2 * noise);
    } else if (strcmp(ch, "o3") == 0) {
        double sun = 1.0 / (1.0 + rain / 2.0);
        *out = 15.0 + (40.0 + 40.0 / haze) * bump(h, 13.5, 2.5) * sun * (0.8 + 0.4 * noise);
    } else if (strcmp(ch, "co") == 0) {
        *out = station(p, n, 5, 700, 1400) * (0.6 + 0.5 * traffic) * sqrt(haze);
    } else if (strcmp(ch, "t") == 0) {
        *out = temp;
    } else if (strcmp(ch, "rh") == 0) {
        double rh = 80.0 - 2.5 * (temp - month_temp(sim_physics_month(t))) + 8.0 * (noise - 0.5) +
                    (rain > 0.5 ? 15.0 : 0.0);
        *out = rh > 100.0 ? 100.0 : (rh < 30.0 ? 30.0 : rh);
    } else {
        return CT_E_NOTFOUND;
    }
    return 0;
}

/* One integration step of dt_h hours with rain intensity mmh over the device. */
static void step(const struct sim_physics *p, struct sim_node *n, double mmh, double dt_h)
{
    n->rain_mm += mmh * dt_h;
    n->wet = n->wet * exp(-dt_h / RUNOFF_TAU_H) + mmh * dt_h;
    /* A low spot collects its catchment's rain; the drains take a fixed rate (Hanoi's cope with
     * about 30-45 mm/h); the excess ponds, concentrated on the low spot's small area. */
    double catchment = station(p, n, 6, 1.5, 3.0);
    double drain = station(p, n, 7, 25.0, 45.0);
    double concentrate = station(p, n, 8, 3.0, 5.0);
    double net_mmh = mmh * catchment - drain;
    /* Ponded water also seeps and flows away over the surface: draining is twice as fast as the
     * drains alone, so a 30-40 cm pond clears in 1-3 h as Hanoi's warnings describe. */
    n->depth_cm += concentrate * net_mmh / 10.0 * dt_h * (net_mmh < 0 ? 2.0 : 1.0);
    n->depth_cm =
        n->depth_cm < 0.0 ? 0.0 : (n->depth_cm > FLOOD_MAX_CM ? FLOOD_MAX_CM : n->depth_cm);
}

/* Integrates rain, flood and runoff state from the previous step to t. */
static void integrate(const struct sim_physics *p, struct sim_node *n, int64_t t)
{
    if (n->last_sim_ms == 0 || t <= n->last_sim_ms) {
        n->last_sim_ms = n->last_sim_ms == 0 ? t : n->last_sim_ms;
        return;
    }
    int64_t from = n->last_sim_ms;
    if ((t - from) / STEP_MAX_MS > STEPS_MAX) {
        from = t - STEPS_MAX * STEP_MAX_MS;
    }
    while (from < t) {
        int64_t to = t - from > STEP_MAX_MS ? from + STEP_MAX_MS : t;
        double mmh = sim_physics_rain_at(p, n->dev->lat, n->dev->lon, from + (to - from) / 2);
        step(p, n, mmh, (double)(to - from) / (double)SIM_HOUR_MS);
        from = to;
    }
    n->last_sim_ms = t;
}

static int parking(const struct sim_physics *p, struct sim_node *n, const char *ch, int64_t t,
                   double *out)
{
    if (n->dev->park_mode == CT_PARK_BAY) {
        if (strcmp(ch, "occupied") != 0) {
            return CT_E_NOTFOUND;
        }
        double ratio = sim_parking_ratio(sim_lot_character_of(n->dev->lot), t);
        uint64_t slot = (uint64_t)((double)t / BAY_SLOT_MS);
        *out = sim_h01(p->seed, 9, key_of(n), slot) < ratio ? 1 : 0;
        return 0;
    }
    double cap = n->dev->capacity > 0 ? (double)n->dev->capacity : 100.0;
    if (strcmp(ch, "capacity") == 0) {
        *out = cap;
    } else if (strcmp(ch, "occupied") == 0) {
        double ratio =
            sim_parking_ratio(sim_lot_character_of(n->dev->id), t) * station(p, n, 10, 0.85, 1.05);
        double noise = sim_vnoise(p->seed, 10, key_of(n), (double)t / BAY_SLOT_MS) - 0.5;
        double occ = round(cap * (ratio + 0.06 * noise));
        *out = occ < 0 ? 0 : (occ > cap ? cap : occ);
    } else {
        return CT_E_NOTFOUND;
    }
    return 0;
}

static int water(const struct sim_physics *p, struct sim_node *n, const char *ch, int64_t t,
                 double *out)
{
    integrate(p, n, t);
    double slow = sim_vnoise(p->seed, 11, key_of(n), (double)t / WATER_SLOT_MS);
    double runoff = n->wet / 30.0 > 1.0 ? 1.0 : n->wet / 30.0;
    if (strcmp(ch, "ph") == 0) {
        *out = station(p, n, 12, 6.8, 7.8) + 0.4 * (slow - 0.5) - 0.2 * runoff;
    } else if (strcmp(ch, "do") == 0) {
        *out = station(p, n, 13, 2.0, 6.5) + 1.0 * (slow - 0.5) - 1.2 * runoff;
    } else if (strcmp(ch, "turb") == 0) {
        *out = station(p, n, 14, 15, 60) * (1.0 + 0.1 * slow + n->wet / 8.0);
    } else if (strcmp(ch, "ec") == 0) {
        *out = station(p, n, 15, 250, 700) * (1.0 + 0.1 * (slow - 0.5) - 0.3 * runoff);
    } else if (strcmp(ch, "t") == 0) {
        double h = sim_physics_hour(t);
        *out =
            month_temp(sim_physics_month(t)) - 1.0 + 1.2 * sin(2.0 * PI * (h - 10.0) / 24.0) + slow;
    } else {
        return CT_E_NOTFOUND;
    }
    return 0;
}

int sim_physics_read(void *arg, void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                     double *out)
{
    const struct sim_physics *p = arg;
    struct sim_node *n = node;
    int64_t t = sim_physics_time(p, now_ms);
    switch (kind) {
    case CT_KIND_AIR:
        return air(p, n, channel, t, out);
    case CT_KIND_RAIN:
        if (strcmp(channel, "tips") != 0) {
            return CT_E_NOTFOUND;
        }
        integrate(p, n, t);
        *out = floor(n->rain_mm / (n->dev->mm_per_tip > 0 ? n->dev->mm_per_tip : 0.2));
        return 0;
    case CT_KIND_FLOOD:
        if (strcmp(channel, "depth") != 0) {
            return CT_E_NOTFOUND;
        }
        integrate(p, n, t);
        *out = n->depth_cm;
        return 0;
    case CT_KIND_PARKING:
        return parking(p, n, channel, t, out);
    case CT_KIND_WATER:
        return water(p, n, channel, t, out);
    default:
        return CT_E_NOTFOUND;
    }
}

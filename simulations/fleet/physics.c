/* physics.c - fleet-sim's city model (see sim_physics.h). */
#include "sim_physics.h"

#include <math.h>
#include <string.h>

#include "ct/err.h"

#define HOUR_MS 3600000.0
#define HANOI_UTC_OFFSET_H 7.0
#define RAIN_SLOT_MS (30.0 * 60000.0)
#define BAY_SLOT_MS (10.0 * 60000.0)
#define WATER_SLOT_MS (6.0 * HOUR_MS)
#define PI 3.14159265358979323846

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

/* Uniform in [0, 1) from (seed, a, b, c). */
static double h01(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = mix(seed ^ mix(a + 0x9E3779B97F4A7C15ull) ^ mix(b * 31 + 7) ^ mix(c * 131 + 3));
    return (double)(x >> 11) / 9007199254740992.0;
}

/* Smooth value noise in [0, 1) over x (slots), keyed by (a, b). */
static double vnoise(uint64_t seed, uint64_t a, uint64_t b, double x)
{
    double fl = floor(x);
    double fr = x - fl;
    double s = fr * fr * (3.0 - 2.0 * fr);
    double v0 = h01(seed, a, b, (uint64_t)(int64_t)fl);
    double v1 = h01(seed, a, b, (uint64_t)(int64_t)fl + 1);
    return v0 + (v1 - v0) * s;
}

static double bump(double h, double centre, double width)
{
    double d = h - centre;
    return exp(-(d * d) / (2.0 * width * width));
}

void sim_physics_init(struct sim_physics *p, uint64_t seed, double scale, int64_t start_wall,
                      int64_t start_mono)
{
    memset(p, 0, sizeof(*p));
    p->seed = seed;
    p->scale = scale >= 1.0 ? scale : 1.0;
    p->start_wall = start_wall;
    p->start_mono = start_mono;
}

int64_t sim_physics_time(const struct sim_physics *p, int64_t mono_ms)
{
    return p->start_wall + (int64_t)((double)(mono_ms - p->start_mono) * p->scale);
}

static double hanoi_hour(int64_t sim_ms)
{
    double h = fmod((double)sim_ms / HOUR_MS + HANOI_UTC_OFFSET_H, 24.0);
    return h < 0 ? h + 24.0 : h;
}

double sim_physics_rain_mmh(const struct sim_physics *p, int64_t sim_ms)
{
    double slot = (double)sim_ms / RAIN_SLOT_MS;
    double wet = vnoise(p->seed, 1, 0, slot / 4.0); /* weather systems last a few hours */
    if (wet < 0.7) {
        return 0.0;
    }
    double strength = (wet - 0.7) / 0.3;          /* 0..1 */
    double cell = vnoise(p->seed, 2, 0, slot);    /* convective cells */
    return strength * (5.0 + 55.0 * cell * cell); /* up to 60 mm/h: a Hanoi downpour */
}

static double station_factor(const struct sim_physics *p, const struct sim_node *n, uint64_t k,
                             double lo, double hi)
{
    return lo + (hi - lo) * h01(p->seed, 100 + k, n->index, 0);
}

static int air(const struct sim_physics *p, const struct sim_node *n, const char *ch, int64_t t,
               double *out)
{
    double h = hanoi_hour(t);
    double traffic = 0.35 + bump(h, 8.0, 1.3) + 0.9 * bump(h, 18.5, 1.6);
    double noise = vnoise(p->seed, 3, n->index, (double)t / (20.0 * 60000.0));
    double base = station_factor(p, n, 1, 28.0, 60.0);
    /* Winter inversions and evening burning raise the night; the afternoon mixes it away. */
    double pm25 = base * (0.8 + 0.45 * traffic - 0.3 * bump(h, 14.0, 2.5)) * (0.85 + 0.3 * noise);
    double temp = 24.0 + 6.0 * sin(2.0 * PI * (h - 9.0) / 24.0) + 2.0 * (noise - 0.5);
    if (strcmp(ch, "pm25") == 0) {
        *out = pm25;
    } else if (strcmp(ch, "pm10") == 0) {
        *out = pm25 * station_factor(p, n, 2, 1.4, 1.8);
    } else if (strcmp(ch, "no2") == 0) {
        *out = station_factor(p, n, 3, 20, 45) * (0.5 + 0.6 * traffic) * (0.9 + 0.2 * noise);
    } else if (strcmp(ch, "so2") == 0) {
        *out = station_factor(p, n, 4, 6, 18) * (0.9 + 0.2 * noise);
    } else if (strcmp(ch, "o3") == 0) {
        *out = 15.0 + 70.0 * bump(h, 13.5, 2.5) * (0.8 + 0.4 * noise);
    } else if (strcmp(ch, "co") == 0) {
        *out = station_factor(p, n, 5, 700, 1400) * (0.6 + 0.5 * traffic);
    } else if (strcmp(ch, "t") == 0) {
        *out = temp;
    } else if (strcmp(ch, "rh") == 0) {
        double rh = 78.0 - 2.2 * (temp - 24.0) + 10.0 * (noise - 0.5);
        *out = rh > 100.0 ? 100.0 : (rh < 30.0 ? 30.0 : rh);
    } else {
        return CT_E_NOTFOUND;
    }
    return 0;
}

/* Integrates rain and flood state from the previous step to t. */
static void integrate(const struct sim_physics *p, struct sim_node *n, int64_t t)
{
    if (n->last_sim_ms == 0 || t <= n->last_sim_ms) {
        n->last_sim_ms = n->last_sim_ms == 0 ? t : n->last_sim_ms;
        return;
    }
    double dt_h = (double)(t - n->last_sim_ms) / HOUR_MS;
    double local = station_factor(p, n, 6, 0.7, 1.3);
    double mmh = sim_physics_rain_mmh(p, t) * local;
    n->rain_mm += mmh * dt_h;
    /* A street floods when rain beats its drains (Hanoi's drains cope with ~40-50 mm/h). */
    double drain = station_factor(p, n, 7, 15.0, 45.0);
    double rise = (mmh - drain * 0.5) * 0.8; /* cm/h */
    if (mmh <= 0.0) {
        rise = -drain * 0.6;
    }
    n->depth_cm += rise * dt_h;
    if (n->depth_cm < 0.0) {
        n->depth_cm = 0.0;
    }
    if (n->depth_cm > 80.0) {
        n->depth_cm = 80.0;
    }
    n->last_sim_ms = t;
}

static double parking_ratio(double h)
{
    double r = 0.12 + 0.55 * bump(h, 8.5, 1.2) + 0.6 * bump(h, 18.0, 1.5);
    if (h > 9.0 && h < 17.0) {
        r += 0.35;
    }
    return r > 0.97 ? 0.97 : r;
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
    case CT_KIND_PARKING: {
        double h = hanoi_hour(t);
        double ratio = parking_ratio(h) * station_factor(p, n, 8, 0.8, 1.05);
        if (n->dev->park_mode == CT_PARK_BAY) {
            if (strcmp(channel, "occupied") != 0) {
                return CT_E_NOTFOUND;
            }
            *out = h01(p->seed, 9, n->index, (uint64_t)((double)t / BAY_SLOT_MS)) < ratio ? 1 : 0;
            return 0;
        }
        double cap = n->dev->capacity > 0 ? (double)n->dev->capacity : 100.0;
        if (strcmp(channel, "capacity") == 0) {
            *out = cap;
        } else if (strcmp(channel, "occupied") == 0) {
            double noise = vnoise(p->seed, 10, n->index, (double)t / BAY_SLOT_MS) - 0.5;
            double occ = round(cap * (ratio + 0.08 * noise));
            *out = occ < 0 ? 0 : (occ > cap ? cap : occ);
        } else {
            return CT_E_NOTFOUND;
        }
        return 0;
    }
    case CT_KIND_WATER: {
        double slow = vnoise(p->seed, 11, n->index, (double)t / WATER_SLOT_MS);
        double rain = sim_physics_rain_mmh(p, t);
        if (strcmp(channel, "ph") == 0) {
            *out = station_factor(p, n, 12, 6.8, 7.8) + 0.4 * (slow - 0.5);
        } else if (strcmp(channel, "do") == 0) {
            *out = station_factor(p, n, 13, 1.5, 6.5) + 1.0 * (slow - 0.5);
        } else if (strcmp(channel, "turb") == 0) {
            *out = station_factor(p, n, 14, 15, 60) * (1.0 + rain / 10.0);
        } else if (strcmp(channel, "ec") == 0) {
            *out = station_factor(p, n, 15, 250, 700) * (1.0 + 0.1 * (slow - 0.5));
        } else if (strcmp(channel, "t") == 0) {
            *out = 24.0 + 4.0 * sin(2.0 * PI * (hanoi_hour(t) - 10.0) / 24.0) * 0.3 + 2 * slow;
        } else {
            return CT_E_NOTFOUND;
        }
        return 0;
    }
    default:
        return CT_E_NOTFOUND;
    }
}

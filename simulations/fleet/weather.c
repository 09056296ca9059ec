/* weather.c - storms, rain at a point, season and haze episodes for the city model
 * (see sim_physics.h). */
#include <math.h>
#include <time.h>

#include "ct/err.h"
#include "sim_physics.h"

#define PI 3.14159265358979323846
#define UTC_OFFSET_MS (7LL * SIM_HOUR_MS)
#define KM_PER_DEG_LAT 111.2
#define HANOI_LAT 21.03
#define STORM_CANDIDATES 2 /* per day: an afternoon and a night cell */
#define HAZE_SLOT_MS (4LL * SIM_DAY_MS)

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

double sim_h01(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = mix(seed ^ mix(a + 0x9E3779B97F4A7C15ull) ^ mix(b * 31 + 7) ^ mix(c * 131 + 3));
    return (double)(x >> 11) / 9007199254740992.0;
}

double sim_vnoise(uint64_t seed, uint64_t a, uint64_t b, double x)
{
    double fl = floor(x);
    double fr = x - fl;
    double s = fr * fr * (3.0 - 2.0 * fr);
    double v0 = sim_h01(seed, a, b, (uint64_t)(int64_t)fl);
    double v1 = sim_h01(seed, a, b, (uint64_t)(int64_t)fl + 1);
    return v0 + (v1 - v0) * s;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

double sim_physics_hour(int64_t sim_ms)
{
    int64_t local = sim_ms + UTC_OFFSET_MS;
    int64_t in_day = local - floor_div(local, SIM_DAY_MS) * SIM_DAY_MS;
    return (double)in_day / (double)SIM_HOUR_MS;
}

int sim_physics_weekday(int64_t sim_ms)
{
    int64_t day = floor_div(sim_ms + UTC_OFFSET_MS, SIM_DAY_MS);
    int64_t wd = (day + 3) % 7; /* 1970-01-01 was a Thursday */
    return (int)(wd < 0 ? wd + 7 : wd);
}

int sim_physics_month(int64_t sim_ms)
{
    time_t secs = (time_t)floor_div(sim_ms + UTC_OFFSET_MS, 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        return 1;
    }
    return tm.tm_mon + 1;
}

double sim_km(double lat1, double lon1, double lat2, double lon2)
{
    double dy = (lat2 - lat1) * KM_PER_DEG_LAT;
    double dx = (lon2 - lon1) * KM_PER_DEG_LAT * cos(HANOI_LAT * PI / 180.0);
    return sqrt(dx * dx + dy * dy);
}

int sim_physics_add_storm(struct sim_physics *p, const struct sim_storm *s)
{
    if (p->nstorms >= SIM_MAX_STORMS) {
        return CT_E_FULL;
    }
    p->storms[p->nstorms++] = *s;
    return 0;
}

int sim_physics_add_haze(struct sim_physics *p, const struct sim_haze *h)
{
    if (p->nhaze >= SIM_MAX_HAZE) {
        return CT_E_FULL;
    }
    p->haze[p->nhaze++] = *h;
    return 0;
}

/* Intensity of one cell at a point: life profile (linear rise over the first quarter, linear
 * decay to the end) times a Gaussian of the distance to the moving centre, cut at 2 radii. */
static double storm_rain(const struct sim_storm *s, double lat, double lon, int64_t t)
{
    double age_h = (double)(t - s->start_ms) / (double)SIM_HOUR_MS;
    if (age_h < 0 || age_h >= s->duration_h || s->duration_h <= 0 || s->radius_km <= 0) {
        return 0.0;
    }
    double x = age_h / s->duration_h;
    double life = x < 0.25 ? x / 0.25 : (1.0 - x) / 0.75;
    double dist = s->speed_kmh * age_h;
    double hd = s->heading_deg * PI / 180.0;
    double clat = s->lat + dist * cos(hd) / KM_PER_DEG_LAT;
    double clon = s->lon + dist * sin(hd) / (KM_PER_DEG_LAT * cos(HANOI_LAT * PI / 180.0));
    double d = sim_km(lat, lon, clat, clon);
    if (d > 2.0 * s->radius_km) {
        return 0.0;
    }
    double q = d / s->radius_km;
    return s->peak_mmh * life * exp(-q * q);
}

/* The seed's storm candidate k of local day 'day'; false when none forms. */
static bool auto_storm(const struct sim_physics *p, int64_t day, int k, struct sim_storm *s)
{
    int64_t midnight = day * SIM_DAY_MS - UTC_OFFSET_MS;
    int month = sim_physics_month(midnight + 12 * SIM_HOUR_MS);
    bool monsoon = month >= 5 && month <= 10;
    double prob = k == 0 ? (monsoon ? 0.5 : 0.06) : (monsoon ? 0.15 : 0.03);
    uint64_t d = (uint64_t)day;
    if (sim_h01(p->seed, 40 + (uint64_t)k, d, 0) >= prob) {
        return false;
    }
    double h1 = sim_h01(p->seed, 42, d, (uint64_t)k);
    double form_h = k == 0 ? 12.0 + 6.0 * h1 : 1.0 + 5.0 * h1;
    s->start_ms = midnight + (int64_t)(form_h * (double)SIM_HOUR_MS);
    /* Cells form west and south-west of the city and move east to north-east. */
    s->lat = 20.75 + 0.5 * sim_h01(p->seed, 43, d, (uint64_t)k);
    s->lon = 105.30 + 0.2 * sim_h01(p->seed, 44, d, (uint64_t)k);
    s->heading_deg = 50.0 + 60.0 * sim_h01(p->seed, 45, d, (uint64_t)k);
    s->speed_kmh = 15.0 + 20.0 * sim_h01(p->seed, 46, d, (uint64_t)k);
    s->radius_km = 5.0 + 9.0 * sim_h01(p->seed, 47, d, (uint64_t)k);
    double strong = sim_h01(p->seed, 48, d, (uint64_t)k);
    s->peak_mmh = (monsoon ? 25.0 + 65.0 * strong : 5.0 + 15.0 * strong);
    s->duration_h = 2.0 + 3.0 * sim_h01(p->seed, 49, d, (uint64_t)k);
    return true;
}

double sim_physics_rain_at(const struct sim_physics *p, double lat, double lon, int64_t sim_ms)
{
    double mmh = 0.0;
    for (size_t i = 0; i < p->nstorms; i++) {
        mmh += storm_rain(&p->storms[i], lat, lon, sim_ms);
    }
    if (p->auto_storms) {
        int64_t day = floor_div(sim_ms + UTC_OFFSET_MS, SIM_DAY_MS);
        for (int64_t d = day - 1; d <= day; d++) {
            for (int k = 0; k < STORM_CANDIDATES; k++) {
                struct sim_storm s;
                if (auto_storm(p, d, k, &s)) {
                    mmh += storm_rain(&s, lat, lon, sim_ms);
                }
            }
        }
    }
    return mmh > 200.0 ? 200.0 : mmh;
}

/* Monthly PM factor (Hanoi: winter means about three times the summer's), interpolated between
 * month centres. */
static double season(int64_t sim_ms)
{
    static const double f[12] = {2.1, 1.8, 1.5, 1.15, 0.85, 0.65, 0.6, 0.6, 0.8, 1.2, 1.7, 2.0};
    int m = sim_physics_month(sim_ms) - 1;
    time_t secs = (time_t)floor_div(sim_ms + UTC_OFFSET_MS, 1000);
    struct tm tm;
    double frac = 0.5;
    if (gmtime_r(&secs, &tm) != NULL) {
        frac = ((double)tm.tm_mday - 0.5) / 30.5;
    }
    int other = frac < 0.5 ? (m + 11) % 12 : (m + 1) % 12;
    double w = frac < 0.5 ? 0.5 - frac : frac - 0.5; /* weight of the neighbour month */
    return f[m] * (1.0 - w) + f[other] * w;
}

static double episode(const struct sim_haze *h, int64_t t)
{
    double age_h = (double)(t - h->start_ms) / (double)SIM_HOUR_MS;
    double len_h = h->days * 24.0;
    if (age_h < 0 || age_h >= len_h || h->factor <= 1.0) {
        return 0.0;
    }
    double ramp = len_h < 24.0 ? len_h / 2.0 : 12.0;
    double w = 1.0;
    if (age_h < ramp) {
        w = age_h / ramp;
    } else if (age_h > len_h - ramp) {
        w = (len_h - age_h) / ramp;
    }
    return (h->factor - 1.0) * w;
}

double sim_physics_haze_factor(const struct sim_physics *p, int64_t sim_ms)
{
    double extra = 0.0;
    for (size_t i = 0; i < p->nhaze; i++) {
        extra += episode(&p->haze[i], sim_ms);
    }
    if (p->auto_haze) {
        int64_t slot = floor_div(sim_ms, HAZE_SLOT_MS);
        for (int64_t s = slot - 2; s <= slot; s++) {
            int64_t start = s * HAZE_SLOT_MS;
            int month = sim_physics_month(start);
            bool winter = month >= 11 || month <= 3;
            if (!winter || sim_h01(p->seed, 50, (uint64_t)s, 0) >= 0.5) {
                continue;
            }
            struct sim_haze h = {
                .start_ms = start + (int64_t)(sim_h01(p->seed, 51, (uint64_t)s, 0) * 2.0 *
                                              (double)SIM_DAY_MS),
                .days = 3.0 + 3.0 * sim_h01(p->seed, 52, (uint64_t)s, 0),
                .factor = 1.5 + 0.9 * sim_h01(p->seed, 53, (uint64_t)s, 0),
            };
            extra += episode(&h, sim_ms);
        }
    }
    return season(sim_ms) * (1.0 + extra);
}

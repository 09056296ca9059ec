/* regen.c - the registry generator (see sim_regen.h). */
#include "sim_regen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/schema.h"
#include "sim_physics.h"
#include "ct/buf.h"

#define PI 3.14159265358979323846
#define NAME_MAX_LEN 256

enum slot { S_AIR = 0, S_WATER, S_RAIN, S_FLOOD, S_LOT, S_BAY, S__COUNT };

static const double share[S__COUNT] = {0.40, 0.10, 0.10, 0.15, 0.10, 0.15};

struct lot {
    char id[CT_ID_MAX + 1];
    char name[NAME_MAX_LEN];
    double lat, lon;
    int district;
    int ward;
    unsigned bays;
};

struct gen {
    FILE *f;
    uint64_t seed;
    double cum[SIM_NDISTRICTS]; /* cumulative district weights, normalised */
    struct lot *lots;
    size_t nlots;
};

void sim_regen_mix_of(size_t n, struct sim_regen_mix *mix)
{
    size_t c[S__COUNT] = {0};
    double rem[S__COUNT];
    size_t used = 0;
    for (int k = 0; k < S__COUNT; k++) {
        double exact = share[k] * (double)n;
        c[k] = (size_t)floor(exact);
        rem[k] = exact - (double)c[k];
        used += c[k];
    }
    while (used < n) { /* largest remainder */
        int best = 0;
        for (int k = 1; k < S__COUNT; k++) {
            best = rem[k] > rem[best] ? k : best;
        }
        c[best]++;
        rem[best] = -1.0;
        used++;
    }
    for (int k = 1; k < S__COUNT; k++) { /* every kind present once n allows it */
        if (c[k] == 0 && c[S_AIR] > 1 && (k != S_BAY || n >= S__COUNT)) {
            c[k]++;
            c[S_AIR]--;
        }
    }
    if (c[S_LOT] == 0 && c[S_BAY] > 0) {
        c[S_LOT] = c[S_BAY];
        c[S_BAY] = 0;
    }
    mix->air = c[S_AIR];
    mix->water = c[S_WATER];
    mix->rain = c[S_RAIN];
    mix->flood = c[S_FLOOD];
    mix->lots = c[S_LOT];
    mix->bays = c[S_BAY];
}

static size_t count_names(const char *const *names)
{
    size_t k = 0;
    while (k < SIM_DISTRICT_NAMES && names[k] != NULL) {
        k++;
    }
    return k;
}

static const char *pick(const char *const *names, double u)
{
    size_t k = count_names(names);
    return names[(size_t)(u * (double)k) % k];
}

/* A standard normal deviate from two uniforms (Box-Muller). */
static double gauss(double u1, double u2)
{
    return sqrt(-2.0 * log(u1 < 1e-12 ? 1e-12 : u1)) * cos(2.0 * PI * u2);
}

static void put_json_string(FILE *f, const char *s)
{
    struct ct_buf js;

    ct_buf_init(&js, strlen(s) * 6 + 3);
    if (ct_buf_add_json_str(&js, s, strlen(s)) == 0) {
        fwrite(js.p, 1, js.len, f);
    }
    ct_buf_free(&js);
}

/* The common members, without the closing brace. */
static void put_head(const struct gen *g, const char *id, const char *kind, const char *name,
                     double lat, double lon, int d, const char *ward)
{
    fprintf(g->f, "{\"id\":\"%s\",\"kind\":\"%s\",\"name\":", id, kind);
    put_json_string(g->f, name);
    fprintf(g->f, ",\"lat\":%.6f,\"lon\":%.6f,\"district\":", lat, lon);
    put_json_string(g->f, sim_districts[d].name);
    fputs(",\"ward\":", g->f);
    put_json_string(g->f, ward);
}

static int pick_district(const struct gen *g, double u)
{
    for (int d = 0; d < SIM_NDISTRICTS; d++) {
        if (u < g->cum[d]) {
            return d;
        }
    }
    return SIM_NDISTRICTS - 1;
}

static void emit(struct gen *g, enum slot s, size_t i, size_t serial)
{
    uint64_t seed = g->seed;
    char id[CT_ID_MAX + 1];
    char name[2 * NAME_MAX_LEN];
    if (s == S_BAY) {
        struct lot *lot = &g->lots[(size_t)(sim_h01(seed, 60, i, 0) * (double)g->nlots)];
        lot->bays++;
        snprintf(id, sizeof(id), "hn-bay-%05zu", serial);
        snprintf(name, sizeof(name), "Ô đỗ %u - %s", lot->bays, lot->name);
        double lat = lot->lat + 0.0004 * gauss(sim_h01(seed, 61, i, 0), sim_h01(seed, 62, i, 0));
        double lon = lot->lon + 0.0004 * gauss(sim_h01(seed, 63, i, 0), sim_h01(seed, 64, i, 0));
        put_head(g, id, "parking", name, lat, lon, lot->district,
                 sim_districts[lot->district].wards[lot->ward]);
        fprintf(g->f, ",\"mode\":\"bay\",\"lot\":\"%s\"}\n", lot->id);
        return;
    }
    int d = pick_district(g, sim_h01(seed, 65, i, 0));
    const struct sim_district *dis = &sim_districts[d];
    double spread_km = dis->urban ? 1.2 : 4.0;
    double lat =
        dis->lat + spread_km / 111.2 * gauss(sim_h01(seed, 66, i, 0), sim_h01(seed, 67, i, 0));
    double lon =
        dis->lon + spread_km / 103.8 * gauss(sim_h01(seed, 68, i, 0), sim_h01(seed, 69, i, 0));
    int ward = (int)((size_t)(sim_h01(seed, 70, i, 0) * 1e6) % count_names(dis->wards));
    const char *wname = dis->wards[ward];
    const char *street = pick(dis->streets, sim_h01(seed, 71, i, 0));
    double u = sim_h01(seed, 72, i, 0);
    switch (s) {
    case S_AIR:
        snprintf(id, sizeof(id), "hn-air-%05zu", serial);
        snprintf(name, sizeof(name), "Trạm quan trắc %s", wname);
        put_head(g, id, "air", name, lat, lon, d, wname);
        fputs("}\n", g->f);
        break;
    case S_WATER:
        snprintf(id, sizeof(id), "hn-water-%05zu", serial);
        snprintf(name, sizeof(name), "Trạm quan trắc nước %s", pick(dis->waters, u));
        put_head(g, id, "water", name, lat, lon, d, wname);
        fputs("}\n", g->f);
        break;
    case S_RAIN:
        snprintf(id, sizeof(id), "hn-rain-%05zu", serial);
        snprintf(name, sizeof(name), "Trạm đo mưa %s", wname);
        put_head(g, id, "rain", name, lat, lon, d, wname);
        fprintf(g->f, ",\"mm_per_tip\":%s}\n", u < 0.8 ? "0.2" : "0.5");
        break;
    case S_FLOOD:
        snprintf(id, sizeof(id), "hn-flood-%05zu", serial);
        snprintf(name, sizeof(name), "Điểm đo ngập %s", street);
        put_head(g, id, "flood", name, lat, lon, d, wname);
        fprintf(g->f, ",\"mount_cm\":%d,\"bands_cm\":[10,30,50]}\n", 250 + (int)(u * 150.0));
        break;
    default: { /* S_LOT */
        struct lot *lot = &g->lots[g->nlots++];
        snprintf(lot->id, sizeof(lot->id), "hn-park-%05zu", serial);
        enum sim_lot_character c = sim_lot_character_of(lot->id);
        int cap;
        if (c == SIM_LOT_OFFICE) {
            snprintf(lot->name, sizeof(lot->name), "Bãi đỗ xe %s", street);
            cap = 40 + (int)(u * 160.0);
        } else if (c == SIM_LOT_MARKET) {
            snprintf(lot->name, sizeof(lot->name), "Bãi đỗ xe chợ %s", wname);
            cap = 80 + (int)(u * 220.0);
        } else {
            snprintf(lot->name, sizeof(lot->name), "Bãi đỗ xe khu dân cư %s", wname);
            cap = 30 + (int)(u * 120.0);
        }
        lot->lat = lat;
        lot->lon = lon;
        lot->district = d;
        lot->ward = ward;
        put_head(g, lot->id, "parking", lot->name, lat, lon, d, wname);
        fprintf(g->f, ",\"mode\":\"lot\",\"capacity\":%d}\n", cap);
        break;
    }
    }
}

int sim_regen_write(FILE *f, size_t n, uint64_t seed)
{
    if (f == NULL || n == 0 || n > SIM_REGEN_MAX_NODES) {
        return CT_E_INVAL;
    }
    struct sim_regen_mix mix;
    sim_regen_mix_of(n, &mix);
    size_t target[S__COUNT] = {mix.air, mix.water, mix.rain, mix.flood, mix.lots, mix.bays};
    size_t done[S__COUNT] = {0};
    struct gen g = {.f = f, .seed = seed};
    g.lots = calloc(mix.lots ? mix.lots : 1, sizeof(*g.lots));
    if (g.lots == NULL) {
        return CT_E_NOMEM;
    }
    double total = 0;
    for (int d = 0; d < SIM_NDISTRICTS; d++) {
        total += sim_districts[d].urban
                     ? 5.0
                     : (strcmp(sim_districts[d].name, "Sơn Tây") == 0 ? 1.5 : 1.0);
        g.cum[d] = total;
    }
    for (int d = 0; d < SIM_NDISTRICTS; d++) {
        g.cum[d] /= total;
    }
    fprintf(f,
            "# citytel generated registry: %zu devices, seed %llu (fleet-sim --write-registry)\n",
            n, (unsigned long long)seed);
    for (size_t i = 0; i < n; i++) {
        /* Interleave the kinds (largest deficit first), so that a prefix (--limit) is a mix. */
        int best = -1;
        double best_def = -1e18;
        for (int k = 0; k < S__COUNT; k++) {
            if (done[k] >= target[k] || (k == S_BAY && g.nlots == 0)) {
                continue;
            }
            double def = (double)target[k] * (double)(i + 1) / (double)n - (double)done[k];
            if (def > best_def) {
                best_def = def;
                best = k;
            }
        }
        done[best]++;
        emit(&g, (enum slot)best, i, done[best]);
    }
    free(g.lots);
    return ferror(f) ? CT_E_IO : 0;
}

int sim_regen_write_file(const char *path, size_t n, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return CT_E_IO;
    }
    int rc = sim_regen_write(f, n, seed);
    if (fclose(f) != 0 && rc == 0) {
        rc = CT_E_IO;
    }
    return rc;
}

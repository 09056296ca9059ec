/* app_model.c - bounded random-walk sensors for sensor-node (see fw_app_model.h). */
#include "fw_app_model.h"

#include <string.h>

#include "ct/err.h"

struct chan {
    enum ct_kind kind;
    const char *name;
    double mean; /* typical Hanoi value */
    double step; /* random-walk step per read */
    double lo;   /* walk bounds */
    double hi;
};

static const struct chan chans[] = {
    {CT_KIND_AIR, "pm25", 45, 2.0, 5, 250},       {CT_KIND_AIR, "pm10", 70, 3.0, 10, 400},
    {CT_KIND_AIR, "no2", 35, 1.5, 2, 200},        {CT_KIND_AIR, "so2", 12, 0.5, 1, 80},
    {CT_KIND_AIR, "o3", 45, 2.0, 2, 250},         {CT_KIND_AIR, "co", 1100, 40, 200, 8000},
    {CT_KIND_AIR, "t", 27, 0.1, 8, 40},           {CT_KIND_AIR, "rh", 76, 0.5, 35, 100},
    {CT_KIND_WATER, "ph", 7.3, 0.02, 6.0, 8.8},   {CT_KIND_WATER, "do", 4.5, 0.05, 0.5, 9},
    {CT_KIND_WATER, "turb", 35, 1.0, 2, 300},     {CT_KIND_WATER, "ec", 420, 5, 150, 1200},
    {CT_KIND_WATER, "t", 26, 0.05, 15, 34},       {CT_KIND_PARKING, "capacity", 120, 0, 120, 120},
    {CT_KIND_PARKING, "occupied", 60, 3, 0, 120},
};

static uint64_t next_u64(struct fw_app_model *m)
{
    uint64_t x = m->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, 1). */
static double unif(struct fw_app_model *m)
{
    return (double)(next_u64(m) >> 11) / 9007199254740992.0;
}

static int chan_index(enum ct_kind kind, const char *name)
{
    for (size_t i = 0; i < sizeof(chans) / sizeof(chans[0]); i++) {
        if (chans[i].kind == kind && strcmp(chans[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void fw_app_model_init(struct fw_app_model *m, enum ct_kind kind, uint64_t seed)
{
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    m->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof(chans) / sizeof(chans[0]) && i < FW_APP_MODEL_CHANNELS; i++) {
        m->value[i] = chans[i].mean;
    }
}

static double walk(struct fw_app_model *m, int i)
{
    const struct chan *c = &chans[i];
    double v = m->value[i] + (unif(m) * 2.0 - 1.0) * c->step;
    /* Pull gently back to the mean so the walk stays plausible. */
    v += (c->mean - v) * 0.02;
    if (v < c->lo) {
        v = c->lo;
    }
    if (v > c->hi) {
        v = c->hi;
    }
    m->value[i] = v;
    return v;
}

int fw_app_model_read(void *arg, void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                      double *out)
{
    struct fw_app_model *m = arg;
    if (kind == CT_KIND_RAIN) {
        if (strcmp(channel, "tips") != 0) {
            return CT_E_NOTFOUND;
        }
        if (m->rain_left == 0 && unif(m) < 0.05) {
            m->rain_left = 5 + (int)(unif(m) * 30);
        }
        if (m->rain_left > 0) {
            m->rain_left--;
            m->tips += (double)(next_u64(m) % 6);
        }
        *out = m->tips;
        return 0;
    }
    if (kind == CT_KIND_FLOOD) {
        if (strcmp(channel, "depth") != 0) {
            return CT_E_NOTFOUND;
        }
        double *d = &m->value[0];
        if (m->rain_left == 0 && unif(m) < 0.03) {
            m->rain_left = 10 + (int)(unif(m) * 20);
        }
        if (m->rain_left > 0) {
            m->rain_left--;
            *d += unif(m) * 6.0;
        } else {
            *d = *d > 2.0 ? *d - 2.0 : 0.0;
        }
        if (*d > 120.0) {
            *d = 120.0;
        }
        *out = *d;
        return 0;
    }
    int i = chan_index(kind, channel);
    if (i < 0 || (m->bay && strcmp(channel, "capacity") == 0)) {
        return CT_E_NOTFOUND;
    }
    if (kind == CT_KIND_PARKING && strcmp(channel, "occupied") == 0 && m->bay) {
        /* A bay: flip now and then. */
        if (unif(m) < 0.1) {
            m->value[i] = m->value[i] > 0.5 ? 0 : 1;
        }
        *out = m->value[i] > 0.5 ? 1 : 0;
        return 0;
    }
    *out = walk(m, i);
    return 0;
}

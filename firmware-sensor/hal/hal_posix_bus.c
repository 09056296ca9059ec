/* hal_posix_bus.c - the POSIX backend of fw_hal.h's sensor buses: each bus is simulated from the
 * node's physical values (the HAL sensor source) through the drivers' build functions, so the
 * samplers exercise the same parsing and conversion code as on a board. */
#include "fw_hal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "fw_drv_bay.h"
#include "fw_drv_calib.h"
#include "fw_drv_depth.h"
#include "fw_drv_lot.h"
#include "fw_drv_pms5003.h"
#include "fw_drv_sht3x.h"
#include "fw_drv_tipbucket.h"
#include "ct/bytes.h"

#define RX_CAP 256        /* UART receive buffer */
#define REPLAY_CAP 4096   /* recorded UART input */
#define EDGE_CAP 512      /* simulated edges waiting for their time */
#define CACHE_CAP 16      /* physical values read at the current instant */
#define TIP_PERIOD_MS 200 /* nominal time between tips; shortened (>= TIP_MIN_MS) in heavy rain */
#define TIP_MIN_MS 100
#define TIP_BOUNCES 2 /* bounce pairs at each contact transition */
#define TIP_BOUNCE_GAP_MS 3
#define OUTLIER_CM 40.0f /* a false echo from a raindrop under the sensor */
#define AIR_RH_DEFAULT 60.0

static const int16_t earth[3] = {300, -100, 451}; /* empty bay field, LSB (|B| = 550.8) */
#define BAY_VEHICLE_LSB 120.0f                    /* a car's disturbance of |B| */

struct edge {
    int64_t t;
    uint8_t pin;
    bool level;
};

struct cached {
    const char *channel; /* static string of the caller */
    double v;
    int rc;
};

struct fw_hal_bus {
    struct fw_hal_bus_cfg cfg;
    struct fw_drv_calib hw; /* the simulated hardware */
    uint64_t rng;
    /* physical values of the current instant */
    int64_t cache_at;
    size_t ncache;
    struct cached cache[CACHE_CAP];
    /* UART */
    uint8_t rx[RX_CAP];
    size_t rx_len, rx_pos;
    uint32_t frames_built;
    bool replaying;
    uint8_t replay[REPLAY_CAP];
    size_t replay_len, replay_pos;
    /* I2C */
    uint8_t sht[FW_DRV_SHT3X_FRAME_LEN];
    bool sht_ready;
    uint8_t mag_reg;
    /* GPIO */
    fw_hal_edge_fn fn[FW_HAL_GPIO__COUNT];
    void *fn_arg[FW_HAL_GPIO__COUNT];
    bool level[FW_HAL_GPIO__COUNT];
    struct edge q[EDGE_CAP];
    size_t q_head, q_len;
    int64_t last_sync;
    bool synced;
    int64_t cursor;      /* end of the last simulated tip */
    uint32_t tips_built; /* tips turned into edges */
    uint16_t lot_occ;    /* occupancy the lot's pulses have produced */
    union {
        struct fw_drv_tipbucket_ev tip[EDGE_CAP];
        enum fw_drv_lot_ev lot[EDGE_CAP / 2];
    } scratch;
    /* echo */
    uint32_t echoes;
    struct fw_hal_bus_stats st;
};

static uint64_t rnd(struct fw_hal_bus *b)
{
    uint64_t x = b->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int fw_hal_bus_open(const struct fw_hal_bus_cfg *cfg, struct fw_hal_bus **out)
{
    if (cfg == NULL || out == NULL || (unsigned)cfg->kind >= CT_KIND__COUNT) {
        return CT_E_INVAL;
    }
    struct fw_hal_bus *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return CT_E_NOMEM;
    }
    b->cfg = *cfg;
    fw_drv_calib_defaults(&b->hw);
    b->rng = cfg->seed ? cfg->seed : 0x2545F4914F6CDD1Dull;
    b->cache_at = INT64_MIN;
    *out = b;
    return 0;
}

void fw_hal_bus_close(struct fw_hal_bus *bus)
{
    free(bus);
}

void fw_hal_bus_get_stats(const struct fw_hal_bus *bus, struct fw_hal_bus_stats *st)
{
    *st = bus->st;
}

/* The physical value of 'channel' at now_ms, read once per instant (a source such as the
 * random-walk model moves on each read). */
static int phys(struct fw_hal_bus *b, const char *channel, int64_t now_ms, double *v)
{
    if (now_ms != b->cache_at) {
        b->cache_at = now_ms;
        b->ncache = 0;
    }
    for (size_t i = 0; i < b->ncache; i++) {
        if (strcmp(b->cache[i].channel, channel) == 0) {
            *v = b->cache[i].v;
            return b->cache[i].rc;
        }
    }
    double x = 0;
    int rc = fw_hal_sensor_read(b->cfg.node, b->cfg.kind, channel, now_ms, &x);
    if (rc == 0 && !isfinite(x)) {
        rc = CT_E_RANGE;
    }
    if (b->ncache < CACHE_CAP) {
        b->cache[b->ncache++] = (struct cached){channel, x, rc};
    }
    *v = x;
    return rc;
}

/* Air temperature for the SHT3x and the temperature compensations. */
static double air_t(struct fw_hal_bus *b, int64_t now_ms)
{
    double t = 0;
    return phys(b, "t", now_ms, &t) == 0 ? t : (double)b->hw.air_t_default_c;
}

/* ---- UART: PMS5003 ------------------------------------------------------------------------ */

static uint16_t u16_clamp(double v)
{
    return v <= 0 ? 0 : (v >= 65535.0 ? 65535 : (uint16_t)lround(v));
}

static void build_pms_frame(struct fw_hal_bus *b, int64_t now_ms)
{
    double pm25 = 0, pm10 = 0;
    if (phys(b, "pm25", now_ms, &pm25) != 0 || phys(b, "pm10", now_ms, &pm10) != 0) {
        return; /* no particulate sensor: the line stays quiet */
    }
    struct fw_drv_pms5003_reading r = {
        .pm1_0 = u16_clamp(pm25 * 0.65),
        .pm2_5 = u16_clamp(pm25),
        .pm10 = u16_clamp(pm10),
        .pm1_0_cf1 = u16_clamp(pm25 * 0.65),
        .pm2_5_cf1 = u16_clamp(pm25),
        .pm10_cf1 = u16_clamp(pm10),
        .count = {u16_clamp(pm25 * 180), u16_clamp(pm25 * 55), u16_clamp(pm25 * 9),
                  u16_clamp(pm10 * 0.8), u16_clamp(pm10 * 0.2), u16_clamp(pm10 * 0.05)},
        .reserved = 0x9700,
    };
    b->rx_len = 0;
    b->rx_pos = 0;
    if (b->frames_built % 5 == 4) {
        /* line noise before a frame now and then: a false start byte */
        static const uint8_t noise[] = {0x00, FW_DRV_PMS5003_START1, 0x13};
        memcpy(b->rx, noise, sizeof(noise));
        b->rx_len = sizeof(noise);
    }
    fw_drv_pms5003_build(&r, b->rx + b->rx_len, RX_CAP - b->rx_len);
    b->rx_len += FW_DRV_PMS5003_FRAME_LEN;
    b->frames_built++;
}

int fw_hal_uart_read(struct fw_hal_bus *bus, unsigned port, int64_t now_ms, uint8_t *buf,
                     size_t cap, size_t *got)
{
    if (bus == NULL || port != FW_HAL_UART_PMS || buf == NULL || got == NULL) {
        return CT_E_INVAL;
    }
    *got = 0;
    const uint8_t *src;
    size_t avail;
    if (bus->replaying) {
        src = bus->replay + bus->replay_pos;
        avail = bus->replay_len - bus->replay_pos;
    } else {
        if (bus->rx_pos == bus->rx_len && bus->cfg.kind == CT_KIND_AIR) {
            build_pms_frame(bus, now_ms); /* active mode: the sensor sends a frame each second */
        }
        src = bus->rx + bus->rx_pos;
        avail = bus->rx_len - bus->rx_pos;
    }
    size_t n = 1 + (size_t)(rnd(bus) % 16); /* the UART's FIFO delivers ragged chunks */
    n = n < avail ? n : avail;
    n = n < cap ? n : cap;
    memcpy(buf, src, n);
    if (bus->replaying) {
        bus->replay_pos += n;
    } else {
        bus->rx_pos += n;
    }
    bus->st.uart_bytes += n;
    *got = n;
    return 0;
}

int fw_hal_uart_replay(struct fw_hal_bus *bus, unsigned port, const char *path)
{
    if (bus == NULL || port != FW_HAL_UART_PMS || path == NULL) {
        return CT_E_INVAL;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return CT_E_IO;
    }
    size_t n = 0;
    int rc = 0;
    int c;
    int hi = -1;
    bool comment = false;
    while ((c = fgetc(f)) != EOF) {
        if (comment) {
            comment = c != '\n';
            continue;
        }
        if (c == '#') {
            comment = true;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (hi >= 0) {
                rc = CT_E_PARSE; /* an odd digit */
                break;
            }
        } else if (ct_hex_digit(c) < 0) {
            rc = CT_E_PARSE;
            break;
        } else if (hi < 0) {
            hi = ct_hex_digit(c);
        } else {
            if (n == REPLAY_CAP) {
                rc = CT_E_TOOBIG;
                break;
            }
            bus->replay[n++] = (uint8_t)(hi << 4 | ct_hex_digit(c));
            hi = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = CT_E_IO;
    }
    if (rc == 0 && hi >= 0) {
        rc = CT_E_PARSE;
    }
    fclose(f);
    if (rc != 0) {
        return rc;
    }
    bus->replay_len = n;
    bus->replay_pos = 0;
    bus->replaying = true;
    return 0;
}

/* ---- I2C: SHT3x and magnetometer ---------------------------------------------------------- */

static bool has_sht(const struct fw_hal_bus *b)
{
    return b->cfg.kind == CT_KIND_AIR || b->cfg.kind == CT_KIND_FLOOD;
}

static int sht_measure(struct fw_hal_bus *b, int64_t now_ms)
{
    double rh = AIR_RH_DEFAULT;
    if (phys(b, "rh", now_ms, &rh) != 0) {
        rh = AIR_RH_DEFAULT;
    }
    if (fw_drv_sht3x_build((float)air_t(b, now_ms), (float)rh, b->sht, sizeof(b->sht)) != 0) {
        return CT_E_RANGE;
    }
    b->sht_ready = true;
    return 0;
}

static int mag_sample(struct fw_hal_bus *b, int64_t now_ms, uint8_t out[6])
{
    double occ = 0;
    if (phys(b, "occupied", now_ms, &occ) != 0) {
        occ = 0;
    }
    float noise = (float)((int)(rnd(b) % 5) - 2); /* +-2 LSB */
    int16_t xyz[3];
    if (fw_drv_bay_build(earth, (occ > 0.5 ? BAY_VEHICLE_LSB : 0.0f) + noise, xyz) != 0) {
        return CT_E_RANGE;
    }
    for (int i = 0; i < 3; i++) {
        out[2 * i] = (uint8_t)((uint16_t)xyz[i] & 0xFF);
        out[2 * i + 1] = (uint8_t)((uint16_t)xyz[i] >> 8);
    }
    return 0;
}

int fw_hal_i2c_transfer(struct fw_hal_bus *bus, uint8_t addr, const uint8_t *wr, size_t wlen,
                        uint8_t *rd, size_t rlen, int64_t now_ms)
{
    if (bus == NULL || (wlen > 0 && wr == NULL) || (rlen > 0 && rd == NULL)) {
        return CT_E_INVAL;
    }
    if (addr == FW_HAL_I2C_ADDR_SHT3X && has_sht(bus)) {
        if (wlen == 2) {
            uint16_t cmd = (uint16_t)(wr[0] << 8 | wr[1]);
            if (cmd != 0x2C06 && cmd != FW_DRV_SHT3X_CMD_SINGLE_HIGH &&
                cmd != FW_DRV_SHT3X_CMD_SINGLE_MEDIUM && cmd != FW_DRV_SHT3X_CMD_SINGLE_LOW) {
                return CT_E_INVAL;
            }
            int rc = sht_measure(bus, now_ms);
            if (rc != 0) {
                return rc;
            }
        } else if (wlen != 0) {
            return CT_E_INVAL;
        }
        if (rlen > 0) {
            if (!bus->sht_ready) {
                return CT_E_NOTFOUND; /* the sensor NACKs a read without a measurement */
            }
            memcpy(rd, bus->sht, rlen < sizeof(bus->sht) ? rlen : sizeof(bus->sht));
            bus->sht_ready = false;
        }
        return 0;
    }
    if (addr == FW_HAL_I2C_ADDR_MAG && bus->cfg.kind == CT_KIND_PARKING && bus->cfg.bay) {
        if (wlen >= 1) {
            bus->mag_reg = wr[0];
        }
        if (rlen > 0) {
            uint8_t regs[6];
            int rc = mag_sample(bus, now_ms, regs);
            if (rc != 0) {
                return rc;
            }
            for (size_t i = 0; i < rlen; i++) {
                size_t r = bus->mag_reg + i;
                rd[i] = r < sizeof(regs) ? regs[r] : 0;
            }
        }
        return 0;
    }
    return CT_E_NOTFOUND;
}

/* ---- ADC ---------------------------------------------------------------------------------- */

static const char *const gas_channel[FW_DRV_CALIB_GASES] = {"no2", "co", "so2", "o3"};

static int adc_air(struct fw_hal_bus *b, unsigned ch, int64_t now_ms, float *mv)
{
    if (ch > FW_HAL_ADC_O3_AE) {
        return CT_E_NOTFOUND;
    }
    const struct fw_drv_gas_cal *cal = &b->hw.gas[ch / 2];
    float ae = cal->ae_zero_mv + b->hw.gas_ae_drift_mv;
    if (ch % 2 == 1) {
        *mv = ae;
        return 0;
    }
    double ug = 0;
    int rc = phys(b, gas_channel[ch / 2], now_ms, &ug);
    if (rc != 0) {
        return rc;
    }
    float ppb = (float)ug * FW_DRV_GAS_MOLAR_VOLUME_L / fw_drv_gas_molar_mass(cal->species);
    return fw_drv_gas_build(cal, ppb, ae, (float)air_t(b, now_ms), mv) == 0 ? 0 : CT_E_RANGE;
}

static int adc_water(struct fw_hal_bus *b, unsigned ch, int64_t now_ms, float *mv)
{
    static const char *const name[] = {"ph", "do", "turb", "ec", "t"};
    if (ch < FW_HAL_ADC_PH || ch > FW_HAL_ADC_WTEMP) {
        return CT_E_NOTFOUND;
    }
    double v = 0, t = 0;
    int rc = phys(b, name[ch - FW_HAL_ADC_PH], now_ms, &v);
    if (rc == 0) {
        rc = phys(b, "t", now_ms, &t);
    }
    if (rc != 0) {
        return rc;
    }
    float raw = 0;
    switch (ch) {
    case FW_HAL_ADC_PH:
        rc = fw_drv_ph_build_mv(&b->hw.ph, (float)v, (float)t, mv);
        break;
    case FW_HAL_ADC_DO:
        rc = fw_drv_do_build_mv(&b->hw.dox, (float)v, (float)t, mv);
        break;
    case FW_HAL_ADC_TURB:
        rc = fw_drv_turb_build_mv(&b->hw.turb, (float)v, mv);
        break;
    case FW_HAL_ADC_EC:
        rc = fw_drv_ec_build_raw(&b->hw.ec, (float)v, (float)t, &raw);
        *mv = raw / b->hw.ec_us_per_mv;
        break;
    default:
        *mv = b->hw.wt_mv_at_0c + b->hw.wt_mv_per_c * (float)t;
        break;
    }
    return rc == 0 ? 0 : CT_E_RANGE;
}

int fw_hal_adc_read_mv(struct fw_hal_bus *bus, unsigned ch, int64_t now_ms, float *mv)
{
    if (bus == NULL || mv == NULL || ch >= FW_HAL_ADC__COUNT) {
        return CT_E_INVAL;
    }
    int rc = CT_E_NOTFOUND;
    if (bus->cfg.kind == CT_KIND_AIR) {
        rc = adc_air(bus, ch, now_ms, mv);
    } else if (bus->cfg.kind == CT_KIND_WATER) {
        rc = adc_water(bus, ch, now_ms, mv);
    }
    if (rc == 0) {
        *mv = roundf(*mv * 8.0f) / 8.0f; /* 16-bit converter, 0.125 mV per LSB */
    }
    return rc;
}

/* ---- Echo timer --------------------------------------------------------------------------- */

int fw_hal_echo_read_us(struct fw_hal_bus *bus, unsigned ch, int64_t now_ms, uint32_t *echo_us)
{
    if (bus == NULL || echo_us == NULL || ch != FW_HAL_ECHO_DEPTH) {
        return CT_E_INVAL;
    }
    if (bus->cfg.kind != CT_KIND_FLOOD) {
        return CT_E_NOTFOUND;
    }
    double depth = 0;
    int rc = phys(bus, "depth", now_ms, &depth);
    if (rc != 0) {
        return rc;
    }
    float t = (float)air_t(bus, now_ms);
    bus->echoes++;
    if (bus->echoes % FW_HAL_SIM_OUTLIER_EVERY == 0) {
        *echo_us = (uint32_t)lroundf(OUTLIER_CM * 20000.0f / fw_drv_depth_sound_speed(t));
        bus->st.echo_outliers++;
        return 0;
    }
    return fw_drv_depth_build_echo(bus->hw.depth_mount_cm, (float)depth, t, echo_us) == 0
               ? 0
               : CT_E_RANGE;
}

/* ---- GPIO edges --------------------------------------------------------------------------- */

int fw_hal_gpio_on_edge(struct fw_hal_bus *bus, unsigned pin, fw_hal_edge_fn fn, void *arg,
                        bool *level)
{
    if (bus == NULL || pin >= FW_HAL_GPIO__COUNT) {
        return CT_E_INVAL;
    }
    bus->fn[pin] = fn;
    bus->fn_arg[pin] = arg;
    if (level != NULL) {
        *level = bus->level[pin];
    }
    return 0;
}

static void push_edge(struct fw_hal_bus *b, int64_t t, unsigned pin, bool level)
{
    b->q[(b->q_head + b->q_len) % EDGE_CAP] = (struct edge){t, (uint8_t)pin, level};
    b->q_len++;
}

/* Turns new tips of the source into contact edges within (last sync, now]. */
static void sim_rain(struct fw_hal_bus *b, int64_t now_ms)
{
    double tips = 0;
    if (phys(b, "tips", now_ms, &tips) != 0 || !(tips >= 0)) {
        return;
    }
    uint32_t want = (uint32_t)fmod(floor(tips), 4294967296.0) - b->tips_built;
    size_t per_tip = 2 + 4 * TIP_BOUNCES;
    size_t room = (EDGE_CAP - b->q_len) / per_tip;
    if (want == 0 || room == 0) {
        return;
    }
    uint32_t n = want < room ? want : (uint32_t)room;
    int64_t start = b->cursor > b->last_sync ? b->cursor : b->last_sync;
    int64_t span = now_ms - start;
    int64_t period = TIP_PERIOD_MS;
    if ((int64_t)n * period > span) {
        period = span / n > TIP_MIN_MS ? span / n : TIP_MIN_MS;
    }
    struct fw_drv_tipbucket_sim sim = {
        .start_ms = (uint32_t)start + 1,
        .period_ms = (uint32_t)period,
        .closed_ms = (uint32_t)(period * 2 / 5),
        .bounces = TIP_BOUNCES,
        .bounce_gap_ms = TIP_BOUNCE_GAP_MS,
    };
    size_t ne = 0;
    if (fw_drv_tipbucket_build(&sim, (uint32_t)b->hw.tip_debounce_ms, n, b->scratch.tip, EDGE_CAP,
                               &ne) != 0) {
        return;
    }
    for (size_t i = 0; i < ne; i++) {
        int64_t t = start + (int64_t)(uint32_t)(b->scratch.tip[i].t_ms - (uint32_t)start);
        push_edge(b, t, FW_HAL_GPIO_RAIN, b->scratch.tip[i].closed);
    }
    b->cursor = start + 1 + (int64_t)n * period;
    b->tips_built += n;
    b->st.tips_built += n;
}

/* Turns a change of the source's occupancy into entry/exit pulses (with some churn). */
static void sim_lot(struct fw_hal_bus *b, int64_t now_ms)
{
    double occ = 0;
    if (phys(b, "occupied", now_ms, &occ) != 0 || !(occ >= 0)) {
        return;
    }
    double cap = b->hw.lot_capacity;
    uint16_t to = (uint16_t)llround(occ > cap ? cap : occ);
    size_t room = (EDGE_CAP - b->q_len) / 2;
    int diff = (int)to - (int)b->lot_occ;
    if ((size_t)abs(diff) + 4 > room) {
        return; /* catch up at the next sync */
    }
    uint16_t churn = (uint16_t)(rnd(b) % 3);
    size_t n = 0;
    if (fw_drv_lot_build(b->lot_occ, to, churn, b->scratch.lot, room, &n) != 0) {
        return;
    }
    int64_t start = b->synced ? b->last_sync : now_ms - 1;
    int64_t step = (now_ms - start) / (int64_t)(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned pin =
            b->scratch.lot[i] == FW_DRV_LOT_ENTRY ? FW_HAL_GPIO_LOT_ENTRY : FW_HAL_GPIO_LOT_EXIT;
        int64_t t = start + step * (int64_t)(i + 1);
        push_edge(b, t, pin, true);
        push_edge(b, t, pin, false);
    }
    b->lot_occ = to;
    b->st.lot_events += n;
}

int fw_hal_bus_sync(struct fw_hal_bus *bus, int64_t now_ms)
{
    if (bus == NULL) {
        return CT_E_INVAL;
    }
    if (!bus->synced) {
        bus->last_sync = now_ms;
        bus->cursor = now_ms;
    }
    if (bus->cfg.kind == CT_KIND_RAIN) {
        sim_rain(bus, now_ms);
    } else if (bus->cfg.kind == CT_KIND_PARKING && !bus->cfg.bay) {
        sim_lot(bus, now_ms);
    }
    bus->synced = true;
    bus->last_sync = now_ms;
    while (bus->q_len > 0 && bus->q[bus->q_head].t <= now_ms) {
        struct edge e = bus->q[bus->q_head];
        bus->q_head = (bus->q_head + 1) % EDGE_CAP;
        bus->q_len--;
        bus->level[e.pin] = e.level;
        if (bus->fn[e.pin] != NULL) {
            bus->fn[e.pin](bus->fn_arg[e.pin], e.pin, (uint32_t)e.t, e.level);
        }
        bus->st.edges++;
    }
    return 0;
}

/* sensors.c - the node's per-kind samplers over the HAL buses and the drivers (fw_sensors.h). */
#include "fw_sensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/payload.h"
#include "fw_drv_bay.h"
#include "fw_drv_depth.h"
#include "fw_drv_err.h"
#include "fw_drv_lot.h"
#include "fw_drv_pms5003.h"
#include "fw_drv_sht3x.h"
#include "fw_drv_tipbucket.h"

#define UART_CHUNK 16
#define UART_MAX_READS 64                /* bound of UART reads per sample (1 KiB at most) */
#define SHT3X_CMD_SINGLE_STRETCH 0x2C06u /* single shot, high repeatability, clock stretching */
#define BAY_LEARN_SAMPLES 4

struct fw_sensors {
    struct fw_sensors_cfg cfg;
    struct fw_hal_bus *bus;
    struct fw_drv_calib cal;
    struct fw_sampler sampler;
    /* air */
    struct fw_drv_pms5003_stream pms;
    uint8_t chunk[UART_CHUNK]; /* UART bytes read and not yet fed to the parser */
    size_t chunk_pos, chunk_len;
    /* rain */
    struct fw_drv_tipbucket tip;
    /* flood */
    struct fw_drv_depth depth;
    /* parking */
    struct fw_drv_lot lot;
    struct fw_drv_bay bay;
    struct fw_sensors_stats st;
};

static int set_num(struct fw_sensors *s, struct ct_reading *r, const char *name, double v)
{
    if (!isfinite(v)) {
        s->st.value_errors++;
        return 0;
    }
    return ct_reading_set_num(r, name, round(v * 100.0) / 100.0);
}

/* SHT3x single shot: 0 and *t, *rh, or an error (counted). */
static int read_sht3x(struct fw_sensors *s, int64_t now_ms, float *t, float *rh)
{
    const uint8_t cmd[2] = {SHT3X_CMD_SINGLE_STRETCH >> 8, SHT3X_CMD_SINGLE_STRETCH & 0xFF};
    uint8_t buf[FW_DRV_SHT3X_FRAME_LEN];
    struct fw_drv_sht3x_reading r;
    int rc = fw_hal_i2c_transfer(s->bus, FW_HAL_I2C_ADDR_SHT3X, cmd, sizeof(cmd), buf, sizeof(buf),
                                 now_ms);
    if (rc == 0 && fw_drv_sht3x_parse(buf, sizeof(buf), &r) != 0) {
        rc = CT_E_CORRUPT;
    }
    if (rc != 0) {
        s->st.sht_errors++;
        return rc;
    }
    *t = r.t_c;
    *rh = r.rh_pct;
    return 0;
}

/* Reads the UART until one PMS5003 frame completes (bounded); bytes after it stay for later. */
static bool read_pms(struct fw_sensors *s, int64_t now_ms, struct fw_drv_pms5003_reading *out)
{
    for (int i = 0; i < UART_MAX_READS; i++) {
        if (s->chunk_pos == s->chunk_len) {
            size_t got = 0;
            if (fw_hal_uart_read(s->bus, FW_HAL_UART_PMS, now_ms, s->chunk, sizeof(s->chunk),
                                 &got) != 0 ||
                got == 0) {
                return false;
            }
            s->chunk_pos = 0;
            s->chunk_len = got;
        }
        bool got = false;
        s->chunk_pos += fw_drv_pms5003_stream_feed(&s->pms, s->chunk + s->chunk_pos,
                                                   s->chunk_len - s->chunk_pos, out, &got);
        if (got) {
            return true;
        }
    }
    return false;
}

static int sample_air(struct fw_sensors *s, int64_t now_ms, struct ct_reading *r)
{
    static const char *const names[FW_DRV_CALIB_GASES] = {"no2", "co", "so2", "o3"};
    float t = s->cal.air_t_default_c, rh = 0;
    int rc = 0;
    if (read_sht3x(s, now_ms, &t, &rh) == 0) {
        rc = set_num(s, r, "t", t);
        rc = rc ? rc : set_num(s, r, "rh", rh);
    } else {
        t = s->cal.air_t_default_c;
        s->st.value_errors += 2;
    }
    struct fw_drv_pms5003_reading pm;
    if (rc == 0 && read_pms(s, now_ms, &pm)) {
        rc = set_num(s, r, "pm25", pm.pm2_5);
        rc = rc ? rc : set_num(s, r, "pm10", pm.pm10);
    } else {
        s->st.pms_missing++;
    }
    for (unsigned g = 0; g < FW_DRV_CALIB_GASES && rc == 0; g++) {
        float we = 0, ae = 0;
        struct fw_drv_gas_reading gr;
        if (fw_hal_adc_read_mv(s->bus, FW_HAL_ADC_NO2_WE + 2 * g, now_ms, &we) != 0 ||
            fw_hal_adc_read_mv(s->bus, FW_HAL_ADC_NO2_AE + 2 * g, now_ms, &ae) != 0 ||
            fw_drv_gas_convert(&s->cal.gas[g], we, ae, t, &gr) != 0) {
            s->st.value_errors++;
            continue;
        }
        rc = set_num(s, r, names[g], gr.ug_m3);
    }
    s->st.pms_frames = s->pms.frames;
    s->st.pms_bad_checksum = s->pms.bad_checksum;
    s->st.pms_bad_frame = s->pms.bad_frame;
    s->st.pms_skipped = s->pms.skipped;
    return rc;
}

static int sample_water(struct fw_sensors *s, int64_t now_ms, struct ct_reading *r)
{
    float mv = 0;
    if (fw_hal_adc_read_mv(s->bus, FW_HAL_ADC_WTEMP, now_ms, &mv) != 0) {
        s->st.value_errors += 5; /* no compensation without the water temperature */
        return 0;
    }
    float t = (mv - s->cal.wt_mv_at_0c) / s->cal.wt_mv_per_c;
    int rc = set_num(s, r, "t", t);
    for (unsigned ch = FW_HAL_ADC_PH; ch <= FW_HAL_ADC_EC && rc == 0; ch++) {
        float v = 0;
        const char *name = NULL;
        int drc = fw_hal_adc_read_mv(s->bus, ch, now_ms, &mv);
        if (drc == 0) {
            switch (ch) {
            case FW_HAL_ADC_PH:
                name = "ph";
                drc = fw_drv_ph_from_mv(&s->cal.ph, mv, t, &v);
                break;
            case FW_HAL_ADC_DO:
                name = "do";
                drc = fw_drv_do_from_mv(&s->cal.dox, mv, t, &v);
                break;
            case FW_HAL_ADC_TURB:
                name = "turb";
                drc = fw_drv_turb_from_mv(&s->cal.turb, mv, &v);
                break;
            default:
                name = "ec";
                drc = fw_drv_ec_compensate(&s->cal.ec, mv * s->cal.ec_us_per_mv, t, &v);
                break;
            }
        }
        if (drc != 0) {
            s->st.value_errors++;
            continue;
        }
        rc = set_num(s, r, name, v);
    }
    return rc;
}

static void tip_edge(void *arg, unsigned pin, uint32_t t_ms, bool level)
{
    struct fw_sensors *s = arg;
    (void)pin;
    fw_drv_tipbucket_edge(&s->tip, t_ms, level);
}

static void lot_edge(void *arg, unsigned pin, uint32_t t_ms, bool level)
{
    struct fw_sensors *s = arg;
    (void)t_ms;
    if (level) {
        fw_drv_lot_event(&s->lot,
                         pin == FW_HAL_GPIO_LOT_ENTRY ? FW_DRV_LOT_ENTRY : FW_DRV_LOT_EXIT);
    }
}

static int sample_rain(struct fw_sensors *s, int64_t now_ms, struct ct_reading *r)
{
    fw_hal_bus_sync(s->bus, now_ms); /* the edge interrupts up to now ran */
    fw_drv_tipbucket_poll(&s->tip, (uint32_t)now_ms);
    s->st.tips = fw_drv_tipbucket_tips(&s->tip);
    s->st.tip_bounces = s->tip.bounces;
    return ct_reading_set_num(r, "tips", (double)s->st.tips);
}

static int sample_flood(struct fw_sensors *s, int64_t now_ms, struct ct_reading *r)
{
    float t = s->cal.air_t_default_c, rh = 0;
    if (read_sht3x(s, now_ms, &t, &rh) != 0) {
        t = s->cal.air_t_default_c;
    }
    for (uint8_t i = 0; i < s->depth.cfg.window; i++) {
        uint32_t echo = 0;
        if (fw_hal_echo_read_us(s->bus, FW_HAL_ECHO_DEPTH, now_ms, &echo) == 0) {
            fw_drv_depth_add_echo(&s->depth, echo, t);
        }
    }
    s->st.echo_invalid = s->depth.invalid;
    float depth = 0;
    if (fw_drv_depth_read(&s->depth, &depth, NULL) != 0) {
        s->st.value_errors++;
        return 0;
    }
    return set_num(s, r, "depth", depth);
}

static int sample_parking(struct fw_sensors *s, int64_t now_ms, struct ct_reading *r)
{
    if (s->cfg.park_mode != CT_PARK_BAY) {
        fw_hal_bus_sync(s->bus, now_ms);
        s->st.lot_anomalies = s->lot.anomalies;
        int rc = ct_reading_set_num(r, "capacity", s->lot.capacity);
        return rc ? rc : ct_reading_set_num(r, "occupied", s->lot.occupied);
    }
    const uint8_t reg = 0x00;
    uint8_t b[6];
    if (fw_hal_i2c_transfer(s->bus, FW_HAL_I2C_ADDR_MAG, &reg, 1, b, sizeof(b), now_ms) != 0) {
        s->st.value_errors++;
        return 0;
    }
    int16_t x = (int16_t)(uint16_t)(b[0] | b[1] << 8);
    int16_t y = (int16_t)(uint16_t)(b[2] | b[3] << 8);
    int16_t z = (int16_t)(uint16_t)(b[4] | b[5] << 8);
    int rc = fw_drv_bay_update(&s->bay, (uint32_t)now_ms, x, y, z, NULL);
    if (rc == FW_DRV_E_AGAIN) {
        return 0; /* still learning the empty bay */
    }
    s->st.bay_changes = s->bay.changes;
    return ct_reading_set_bool(r, "occupied", fw_drv_bay_occupied(&s->bay));
}

static int sensors_read(void *ctx, void *node, enum ct_kind kind, int64_t now_ms,
                        struct ct_reading *r)
{
    struct fw_sensors *s = ctx;
    (void)node;
    if (kind != s->cfg.kind) {
        return CT_E_INVAL;
    }
    s->st.reads++;
    int rc;
    switch (kind) {
    case CT_KIND_AIR:
        rc = sample_air(s, now_ms, r);
        break;
    case CT_KIND_WATER:
        rc = sample_water(s, now_ms, r);
        break;
    case CT_KIND_RAIN:
        rc = sample_rain(s, now_ms, r);
        break;
    case CT_KIND_FLOOD:
        rc = sample_flood(s, now_ms, r);
        break;
    default:
        rc = sample_parking(s, now_ms, r);
        break;
    }
    if (rc == 0 && r->n == 0) {
        rc = CT_E_IO;
    }
    return rc;
}

int fw_sensors_calib_store(struct fw_nvs *nvs, const struct fw_drv_calib *c, bool sync)
{
    uint8_t blob[FW_DRV_CALIB_BLOB_LEN];
    if (nvs == NULL || fw_drv_calib_check(c) != 0) {
        return CT_E_INVAL;
    }
    size_t n = fw_drv_calib_encode(c, blob, sizeof(blob));
    return n == 0 ? CT_E_INVAL : fw_nvs_write(nvs, FW_SENSORS_CALIB_BLOB, blob, n, sync);
}

static int calib_load(struct fw_sensors *s)
{
    uint8_t blob[FW_DRV_CALIB_BLOB_LEN];
    size_t len = 0;
    int rc = fw_nvs_read(s->cfg.nvs, FW_SENSORS_CALIB_BLOB, blob, sizeof(blob), &len);
    if (rc == 0 && fw_drv_calib_decode(blob, len, &s->cal) == 0) {
        s->st.calib = FW_SENSORS_CALIB_NVS;
        return 0;
    }
    fw_drv_calib_defaults(&s->cal);
    if (rc == CT_E_NOTFOUND) {
        s->st.calib = FW_SENSORS_CALIB_FIRST_BOOT;
        return fw_sensors_calib_store(s->cfg.nvs, &s->cal, s->cfg.sync);
    }
    if (rc == CT_E_IO) {
        return rc;
    }
    s->st.calib = FW_SENSORS_CALIB_BAD_DEFAULTS;
    return 0;
}

static int drivers_init(struct fw_sensors *s)
{
    const struct fw_drv_calib *c = &s->cal;
    bool level = false;
    fw_drv_pms5003_stream_init(&s->pms);
    switch (s->cfg.kind) {
    case CT_KIND_RAIN:
        if (fw_hal_gpio_on_edge(s->bus, FW_HAL_GPIO_RAIN, tip_edge, s, &level) != 0) {
            return CT_E_INVAL;
        }
        fw_drv_tipbucket_init(&s->tip, (uint32_t)c->tip_debounce_ms, level);
        return 0;
    case CT_KIND_FLOOD: {
        struct fw_drv_depth_cfg d = {c->depth_mount_cm, c->depth_min_cm, c->depth_max_cm,
                                     (uint8_t)c->depth_window};
        return fw_drv_depth_init(&s->depth, &d) == 0 ? 0 : CT_E_INVAL;
    }
    case CT_KIND_PARKING:
        if (s->cfg.park_mode == CT_PARK_BAY) {
            struct fw_drv_bay_cfg b = {c->bay_upper, c->bay_lower, 0, BAY_LEARN_SAMPLES, 0.001f};
            if (fw_drv_bay_init(&s->bay, &b) != 0) {
                return CT_E_INVAL;
            }
            return c->bay_baseline > 0 && fw_drv_bay_set_baseline(&s->bay, c->bay_baseline) != 0
                       ? CT_E_INVAL
                       : 0;
        }
        if (fw_drv_lot_init(&s->lot, (uint16_t)c->lot_capacity, 0) != 0 ||
            fw_hal_gpio_on_edge(s->bus, FW_HAL_GPIO_LOT_ENTRY, lot_edge, s, NULL) != 0 ||
            fw_hal_gpio_on_edge(s->bus, FW_HAL_GPIO_LOT_EXIT, lot_edge, s, NULL) != 0) {
            return CT_E_INVAL;
        }
        return 0;
    default:
        return 0;
    }
}

int fw_sensors_create(const struct fw_sensors_cfg *cfg, struct fw_sensors **out)
{
    if (cfg == NULL || out == NULL || cfg->nvs == NULL || (unsigned)cfg->kind >= CT_KIND__COUNT) {
        return CT_E_INVAL;
    }
    struct fw_sensors *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return CT_E_NOMEM;
    }
    s->cfg = *cfg;
    if (s->cfg.kind == CT_KIND_PARKING && s->cfg.park_mode == CT_PARK_NONE) {
        s->cfg.park_mode = CT_PARK_LOT;
    }
    s->sampler.read = sensors_read;
    s->sampler.ctx = s;
    struct fw_hal_bus_cfg bc = {
        .kind = cfg->kind,
        .bay = s->cfg.kind == CT_KIND_PARKING && s->cfg.park_mode == CT_PARK_BAY,
        .node = cfg->node,
        .seed = cfg->seed,
    };
    int rc = calib_load(s);
    if (rc == 0) {
        rc = fw_hal_bus_open(&bc, &s->bus);
    }
    if (rc == 0) {
        rc = drivers_init(s);
    }
    if (rc != 0) {
        fw_sensors_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

const struct fw_sampler *fw_sensors_sampler(const struct fw_sensors *s)
{
    return &s->sampler;
}

struct fw_hal_bus *fw_sensors_bus(struct fw_sensors *s)
{
    return s->bus;
}

const struct fw_drv_calib *fw_sensors_calib(const struct fw_sensors *s)
{
    return &s->cal;
}

void fw_sensors_get_stats(const struct fw_sensors *s, struct fw_sensors_stats *st)
{
    *st = s->st;
}

void fw_sensors_destroy(struct fw_sensors *s)
{
    if (s == NULL) {
        return;
    }
    fw_hal_bus_close(s->bus);
    free(s);
}

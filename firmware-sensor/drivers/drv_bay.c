/* drv_bay.c - magnetometer bay sensor: baseline, hysteresis, debounce and drift tracking. */
#include "fw_drv_bay.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "fw_drv_err.h"

float fw_drv_bay_magnitude(int16_t x, int16_t y, int16_t z)
{
    /* In float: 3 * 32768^2 does not fit int32. */
    float fx = (float)x;
    float fy = (float)y;
    float fz = (float)z;

    return sqrtf(fx * fx + fy * fy + fz * fz);
}

int fw_drv_bay_init(struct fw_drv_bay *bay, const struct fw_drv_bay_cfg *cfg)
{
    if (bay == NULL || cfg == NULL || !(cfg->lower >= 0.0f) || !(cfg->upper > cfg->lower) ||
        !isfinite(cfg->upper) || cfg->learn_samples == 0 ||
        !(cfg->drift_alpha >= 0.0f && cfg->drift_alpha <= 1.0f)) {
        return FW_DRV_E_INVAL;
    }
    memset(bay, 0, sizeof(*bay));
    bay->cfg = *cfg;
    return 0;
}

int fw_drv_bay_set_baseline(struct fw_drv_bay *bay, float baseline)
{
    if (bay == NULL || !(baseline >= 0.0f) || !isfinite(baseline)) {
        return FW_DRV_E_INVAL;
    }
    bay->baseline = baseline;
    bay->learned = bay->cfg.learn_samples;
    return 0;
}

int fw_drv_bay_update(struct fw_drv_bay *bay, uint32_t now_ms, int16_t x, int16_t y, int16_t z,
                      bool *changed)
{
    float mag = fw_drv_bay_magnitude(x, y, z);
    float dev;
    bool want_change;

    if (changed != NULL) {
        *changed = false;
    }
    if (bay == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (bay->learned < bay->cfg.learn_samples) {
        bay->learn_sum += mag;
        bay->learned++;
        if (bay->learned < bay->cfg.learn_samples) {
            return FW_DRV_E_AGAIN;
        }
        bay->baseline = bay->learn_sum / (float)bay->learned;
        return FW_DRV_E_AGAIN;
    }
    dev = fabsf(mag - bay->baseline);
    bay->last_dev = dev;
    want_change = bay->occupied ? dev < bay->cfg.lower : dev > bay->cfg.upper;
    if (!want_change) {
        bay->pending = false;
        if (!bay->occupied && dev < bay->cfg.lower) {
            bay->baseline += bay->cfg.drift_alpha * (mag - bay->baseline);
        }
        return 0;
    }
    if (!bay->pending) {
        bay->pending = true;
        bay->pending_since_ms = now_ms;
    }
    if ((uint32_t)(now_ms - bay->pending_since_ms) >= bay->cfg.debounce_ms) {
        bay->occupied = !bay->occupied;
        bay->pending = false;
        bay->changes++;
        if (changed != NULL) {
            *changed = true;
        }
    }
    return 0;
}

bool fw_drv_bay_occupied(const struct fw_drv_bay *bay)
{
    return bay->occupied;
}

int fw_drv_bay_build(const int16_t earth[3], float deviation, int16_t out[3])
{
    float mag;
    float scale;
    float v[3];

    if (earth == NULL || out == NULL) {
        return FW_DRV_E_INVAL;
    }
    mag = fw_drv_bay_magnitude(earth[0], earth[1], earth[2]);
    if (mag == 0.0f) {
        return FW_DRV_E_INVAL;
    }
    if (!isfinite(deviation) || !(mag + deviation >= 0.0f)) {
        return FW_DRV_E_RANGE;
    }
    scale = (mag + deviation) / mag;
    for (int i = 0; i < 3; i++) {
        v[i] = roundf((float)earth[i] * scale);
        if (!(v[i] >= -32768.0f && v[i] <= 32767.0f)) {
            return FW_DRV_E_RANGE;
        }
    }
    for (int i = 0; i < 3; i++) {
        out[i] = (int16_t)v[i];
    }
    return 0;
}

/* drv_depth.c - ultrasonic flood depth: temperature-corrected distance and median filter. */
#include "fw_drv_depth.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "fw_drv_err.h"

float fw_drv_depth_sound_speed(float t_c)
{
    return 331.3f + 0.606f * t_c;
}

float fw_drv_depth_echo_to_cm(uint32_t echo_us, float t_c)
{
    return (float)echo_us * fw_drv_depth_sound_speed(t_c) / 20000.0f;
}

static bool t_ok(float t_c)
{
    return t_c >= FW_DRV_DEPTH_T_MIN_C && t_c <= FW_DRV_DEPTH_T_MAX_C;
}

int fw_drv_depth_init(struct fw_drv_depth *st, const struct fw_drv_depth_cfg *cfg)
{
    if (st == NULL || cfg == NULL || cfg->window == 0 || cfg->window > FW_DRV_DEPTH_MAX_WINDOW ||
        cfg->window % 2 == 0 || !(cfg->mount_height_cm > 0.0f) || !(cfg->min_range_cm >= 0.0f) ||
        !(cfg->max_range_cm > cfg->min_range_cm) || !isfinite(cfg->mount_height_cm) ||
        !isfinite(cfg->max_range_cm)) {
        return FW_DRV_E_INVAL;
    }
    memset(st, 0, sizeof(*st));
    st->cfg = *cfg;
    return 0;
}

int fw_drv_depth_add_echo(struct fw_drv_depth *st, uint32_t echo_us, float t_c)
{
    float d;

    if (st == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!t_ok(t_c)) {
        return FW_DRV_E_RANGE;
    }
    d = fw_drv_depth_echo_to_cm(echo_us, t_c);
    if (echo_us == 0 || d > st->cfg.max_range_cm || d < st->cfg.min_range_cm) {
        st->invalid++;
        return FW_DRV_E_RANGE;
    }
    st->dist_cm[st->head] = d;
    st->head = (uint8_t)((st->head + 1u) % st->cfg.window);
    if (st->count < st->cfg.window) {
        st->count++;
    }
    st->valid++;
    return 0;
}

int fw_drv_depth_read(const struct fw_drv_depth *st, float *depth_cm, float *dist_cm)
{
    float v[FW_DRV_DEPTH_MAX_WINDOW];
    size_t n;
    float med;
    float depth;

    if (st == NULL || depth_cm == NULL) {
        return FW_DRV_E_INVAL;
    }
    n = st->count;
    if (n == 0) {
        return FW_DRV_E_AGAIN;
    }
    /* The ring holds the newest 'count' entries in slots 0..count-1 until it is full, and in all
     * 'window' slots after; either way slots 0..n-1. Insertion sort: n <= 9. */
    memcpy(v, st->dist_cm, n * sizeof(v[0]));
    for (size_t i = 1; i < n; i++) {
        float x = v[i];
        size_t j = i;

        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    med = (n % 2 == 1) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0f;
    depth = st->cfg.mount_height_cm - med;
    *depth_cm = fminf(fmaxf(depth, 0.0f), FW_DRV_DEPTH_MAX_CM);
    if (dist_cm != NULL) {
        *dist_cm = med;
    }
    return 0;
}

int fw_drv_depth_build_echo(float mount_height_cm, float depth_cm, float t_c, uint32_t *echo_us)
{
    float d;
    float us;

    if (echo_us == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!t_ok(t_c) || !(depth_cm >= 0.0f) || !(depth_cm < mount_height_cm) ||
        !isfinite(mount_height_cm)) {
        return FW_DRV_E_RANGE;
    }
    d = mount_height_cm - depth_cm;
    us = roundf(d * 20000.0f / fw_drv_depth_sound_speed(t_c));
    if (!(us < 4294967295.0f)) {
        return FW_DRV_E_RANGE;
    }
    *echo_us = (uint32_t)us;
    return 0;
}

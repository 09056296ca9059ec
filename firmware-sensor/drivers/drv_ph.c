/* drv_ph.c - pH from electrode millivolts with two-point calibration and temperature compensation.
 */
#include "fw_drv_ph.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_drv_err.h"

#define NERNST_MV_PER_K 0.1984f
#define KELVIN_0C 273.15f

float fw_drv_ph_nernst_mv(float t_c)
{
    return NERNST_MV_PER_K * (t_c + KELVIN_0C);
}

static bool in_t_range(float t_c)
{
    return t_c >= FW_DRV_PH_T_MIN_C && t_c <= FW_DRV_PH_T_MAX_C;
}

/* Efficiency of the calibrated electrode (positive for a normal electrode). */
static float efficiency(const struct fw_drv_ph_cal *cal)
{
    float slope = (cal->mv_buf - cal->mv_ph7) / (cal->ph_buf - 7.0f);

    return -slope / fw_drv_ph_nernst_mv(cal->t_cal_c);
}

int fw_drv_ph_cal_check(const struct fw_drv_ph_cal *cal)
{
    float eff;

    if (cal == NULL || !isfinite(cal->mv_ph7) || !isfinite(cal->mv_buf) || !isfinite(cal->ph_buf) ||
        !isfinite(cal->t_cal_c) || !(fabsf(cal->ph_buf - 7.0f) >= 2.0f)) {
        return FW_DRV_E_INVAL;
    }
    if (!in_t_range(cal->t_cal_c)) {
        return FW_DRV_E_RANGE;
    }
    eff = efficiency(cal);
    if (!(eff >= FW_DRV_PH_EFF_MIN && eff <= FW_DRV_PH_EFF_MAX)) {
        return FW_DRV_E_RANGE;
    }
    return 0;
}

/* Electrode slope at t_c in mV/pH (negative). */
static float slope_at(const struct fw_drv_ph_cal *cal, float t_c)
{
    return -efficiency(cal) * fw_drv_ph_nernst_mv(t_c);
}

int fw_drv_ph_from_mv(const struct fw_drv_ph_cal *cal, float mv, float t_c, float *ph)
{
    int rc = fw_drv_ph_cal_check(cal);
    float v;

    if (rc != 0) {
        return rc;
    }
    if (ph == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!isfinite(mv) || !in_t_range(t_c)) {
        return FW_DRV_E_RANGE;
    }
    v = 7.0f + (mv - cal->mv_ph7) / slope_at(cal, t_c);
    if (!(v >= 0.0f && v <= 14.0f)) {
        return FW_DRV_E_RANGE;
    }
    *ph = v;
    return 0;
}

int fw_drv_ph_build_mv(const struct fw_drv_ph_cal *cal, float ph, float t_c, float *mv)
{
    int rc = fw_drv_ph_cal_check(cal);

    if (rc != 0) {
        return rc;
    }
    if (mv == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!(ph >= 0.0f && ph <= 14.0f) || !in_t_range(t_c)) {
        return FW_DRV_E_RANGE;
    }
    *mv = cal->mv_ph7 + slope_at(cal, t_c) * (ph - 7.0f);
    return 0;
}

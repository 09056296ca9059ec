/* drv_do.c - dissolved oxygen from a galvanic probe with saturation calibration. */
#include "fw_drv_do.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_drv_err.h"

float fw_drv_do_sat_mg_l(float t_c)
{
    return 14.652f + t_c * (-0.41022f + t_c * (0.0079910f + t_c * -0.000077774f));
}

static bool in_t_range(float t_c)
{
    return t_c >= FW_DRV_DO_T_MIN_C && t_c <= FW_DRV_DO_T_MAX_C;
}

/* Checks the calibration and t_c; on success sets *vsat to the saturation output at t_c. */
static int prepare(const struct fw_drv_do_cal *cal, float t_c, float *vsat)
{
    if (cal == NULL || !(cal->sat_mv > 0.0f) || !isfinite(cal->sat_mv) ||
        !isfinite(cal->sat_mv_per_c) || !in_t_range(cal->t_cal_c)) {
        return FW_DRV_E_INVAL;
    }
    if (!in_t_range(t_c)) {
        return FW_DRV_E_RANGE;
    }
    *vsat = cal->sat_mv + cal->sat_mv_per_c * (t_c - cal->t_cal_c);
    if (!(*vsat > 0.0f)) {
        return FW_DRV_E_RANGE;
    }
    return 0;
}

int fw_drv_do_from_mv(const struct fw_drv_do_cal *cal, float mv, float t_c, float *do_mg_l)
{
    float vsat = 0.0f;
    float v;
    int rc = prepare(cal, t_c, &vsat);

    if (rc != 0) {
        return rc;
    }
    if (do_mg_l == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!isfinite(mv)) {
        return FW_DRV_E_RANGE;
    }
    v = mv > 0.0f ? mv / vsat * fw_drv_do_sat_mg_l(t_c) : 0.0f;
    if (v > FW_DRV_DO_MAX_MG_L) {
        return FW_DRV_E_RANGE;
    }
    *do_mg_l = v;
    return 0;
}

int fw_drv_do_build_mv(const struct fw_drv_do_cal *cal, float do_mg_l, float t_c, float *mv)
{
    float vsat = 0.0f;
    int rc = prepare(cal, t_c, &vsat);

    if (rc != 0) {
        return rc;
    }
    if (mv == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!(do_mg_l >= 0.0f && do_mg_l <= FW_DRV_DO_MAX_MG_L)) {
        return FW_DRV_E_RANGE;
    }
    *mv = do_mg_l / fw_drv_do_sat_mg_l(t_c) * vsat;
    return 0;
}

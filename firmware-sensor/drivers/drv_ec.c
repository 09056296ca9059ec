/* drv_ec.c - conductivity with linear temperature compensation to 25 degC. */
#include "fw_drv_ec.h"

#include <math.h>
#include <stddef.h>

#include "fw_drv_err.h"

/* Checks the calibration and t_c; sets *factor = k / (1 + alpha (T - 25)). */
static int prepare(const struct fw_drv_ec_cal *cal, float t_c, float *factor)
{
    if (cal == NULL || !(cal->k > 0.0f) || !isfinite(cal->k) ||
        !(cal->alpha >= 0.0f && cal->alpha <= 0.1f)) {
        return FW_DRV_E_INVAL;
    }
    if (!(t_c >= FW_DRV_EC_T_MIN_C && t_c <= FW_DRV_EC_T_MAX_C)) {
        return FW_DRV_E_RANGE;
    }
    /* With alpha above 0.04 the denominator is <= 0 near 0 degC: reject that instead of
     * dividing by it. */
    if (!(1.0f + cal->alpha * (t_c - 25.0f) > 0.0f)) {
        return FW_DRV_E_RANGE;
    }
    *factor = cal->k / (1.0f + cal->alpha * (t_c - 25.0f));
    return 0;
}

int fw_drv_ec_compensate(const struct fw_drv_ec_cal *cal, float raw_us_cm, float t_c,
                         float *ec25_us_cm)
{
    float f = 0.0f;
    float v;
    int rc = prepare(cal, t_c, &f);

    if (rc != 0) {
        return rc;
    }
    if (ec25_us_cm == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!(raw_us_cm >= 0.0f) || !isfinite(raw_us_cm)) {
        return FW_DRV_E_RANGE;
    }
    v = raw_us_cm * f;
    if (!(v <= FW_DRV_EC_MAX_US_CM)) {
        return FW_DRV_E_RANGE;
    }
    *ec25_us_cm = v;
    return 0;
}

int fw_drv_ec_build_raw(const struct fw_drv_ec_cal *cal, float ec25_us_cm, float t_c,
                        float *raw_us_cm)
{
    float f = 0.0f;
    int rc = prepare(cal, t_c, &f);

    if (rc != 0) {
        return rc;
    }
    if (raw_us_cm == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!(ec25_us_cm >= 0.0f && ec25_us_cm <= FW_DRV_EC_MAX_US_CM)) {
        return FW_DRV_E_RANGE;
    }
    *raw_us_cm = ec25_us_cm / f;
    return 0;
}

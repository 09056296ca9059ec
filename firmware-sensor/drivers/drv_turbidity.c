/* drv_turbidity.c - turbidity by piecewise-linear interpolation in a calibration table. */
#include "fw_drv_turbidity.h"

#include <math.h>

#include "fw_drv_err.h"

/* Sign of b - a as -1, 0 or 1. */
static int dir(float a, float b)
{
    return (b > a) - (b < a);
}

int fw_drv_turb_cal_check(const struct fw_drv_turb_cal *cal)
{
    int dmv;
    int dntu;

    if (cal == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (cal->n < 2 || cal->n > FW_DRV_TURB_MAX_POINTS) {
        return FW_DRV_E_LEN;
    }
    for (size_t i = 0; i < cal->n; i++) {
        if (!isfinite(cal->pts[i].mv) || !isfinite(cal->pts[i].ntu)) {
            return FW_DRV_E_RANGE;
        }
    }
    dmv = dir(cal->pts[0].mv, cal->pts[1].mv);
    dntu = dir(cal->pts[0].ntu, cal->pts[1].ntu);
    if (dmv == 0 || dntu == 0) {
        return FW_DRV_E_RANGE;
    }
    for (size_t i = 1; i + 1 < cal->n; i++) {
        if (dir(cal->pts[i].mv, cal->pts[i + 1].mv) != dmv ||
            dir(cal->pts[i].ntu, cal->pts[i + 1].ntu) != dntu) {
            return FW_DRV_E_RANGE;
        }
    }
    return 0;
}

/* Linear interpolation of y at x between (x0, y0) and (x1, y1), x0 != x1. */
static float lerp(float x, float x0, float y0, float x1, float y1)
{
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

/* Interpolates field 'out' at value x of field 'in' (0 = mv, 1 = ntu) over the table, clamping
 * to the end points. The table is checked and strictly monotonic in both fields. */
static float interp(const struct fw_drv_turb_cal *cal, float x, int in_ntu)
{
    const struct fw_drv_turb_point *p = cal->pts;
    size_t n = cal->n;
    float x0 = in_ntu ? p[0].ntu : p[0].mv;
    float xl = in_ntu ? p[n - 1].ntu : p[n - 1].mv;
    int up = xl > x0;

    if ((up && x <= x0) || (!up && x >= x0)) {
        return in_ntu ? p[0].mv : p[0].ntu;
    }
    if ((up && x >= xl) || (!up && x <= xl)) {
        return in_ntu ? p[n - 1].mv : p[n - 1].ntu;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        float a = in_ntu ? p[i].ntu : p[i].mv;
        float b = in_ntu ? p[i + 1].ntu : p[i + 1].mv;

        if ((up && x <= b) || (!up && x >= b)) {
            return in_ntu ? lerp(x, a, p[i].mv, b, p[i + 1].mv)
                          : lerp(x, a, p[i].ntu, b, p[i + 1].ntu);
        }
    }
    return in_ntu ? p[n - 1].mv : p[n - 1].ntu;
}

int fw_drv_turb_from_mv(const struct fw_drv_turb_cal *cal, float mv, float *ntu)
{
    int rc = fw_drv_turb_cal_check(cal);
    float v;

    if (rc != 0) {
        return rc;
    }
    if (ntu == NULL) {
        return FW_DRV_E_INVAL;
    }
    if (!isfinite(mv)) {
        return FW_DRV_E_RANGE;
    }
    v = interp(cal, mv, 0);
    *ntu = fminf(fmaxf(v, 0.0f), FW_DRV_TURB_MAX_NTU);
    return 0;
}

int fw_drv_turb_build_mv(const struct fw_drv_turb_cal *cal, float ntu, float *mv)
{
    int rc = fw_drv_turb_cal_check(cal);
    float lo;
    float hi;

    if (rc != 0) {
        return rc;
    }
    if (mv == NULL) {
        return FW_DRV_E_INVAL;
    }
    lo = fminf(cal->pts[0].ntu, cal->pts[cal->n - 1].ntu);
    hi = fmaxf(cal->pts[0].ntu, cal->pts[cal->n - 1].ntu);
    if (!(ntu >= lo && ntu <= hi)) {
        return FW_DRV_E_RANGE;
    }
    *mv = interp(cal, ntu, 1);
    return 0;
}

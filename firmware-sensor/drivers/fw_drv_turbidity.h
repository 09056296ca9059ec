/* fw_drv_turbidity.h - optical turbidity probe with an analog output (for example DFRobot
 * SEN0189: the output voltage falls as turbidity rises), read as millivolts.
 *
 * Conversion: piecewise-linear interpolation in a calibration table of (mV, NTU) points measured
 * with formazin standards. The table must have 2..FW_DRV_TURB_MAX_POINTS points, strictly
 * monotonic in mV (rising or falling) and strictly monotonic in NTU, so the curve is invertible.
 * A reading outside the table takes the nearest end point's NTU; the result is clamped to
 * 0..4000 NTU (the protocol range). Pure: no I/O, no allocation, reentrant. */
#ifndef FW_DRV_TURBIDITY_H
#define FW_DRV_TURBIDITY_H
#include <stdbool.h>
#include <stddef.h>

#define FW_DRV_TURB_MAX_POINTS 16   /* capacity of a calibration table */
#define FW_DRV_TURB_MAX_NTU 4000.0f /* clamp of the result */

struct fw_drv_turb_point {
    float mv;  /* probe output, mV */
    float ntu; /* turbidity of the standard, NTU */
};

/* Calibration table owned by the caller; points in order of mV (either direction). */
struct fw_drv_turb_cal {
    struct fw_drv_turb_point pts[FW_DRV_TURB_MAX_POINTS];
    size_t n; /* points used, 2..FW_DRV_TURB_MAX_POINTS */
};

/* Checks a table: returns 0, FW_DRV_E_INVAL for NULL, FW_DRV_E_LEN for n outside 2..16,
 * FW_DRV_E_RANGE for a non-finite point or a table not strictly monotonic in mV and in NTU. */
int fw_drv_turb_cal_check(const struct fw_drv_turb_cal *cal);

/* Converts probe millivolts to NTU. Returns 0 and sets *ntu (0..4000); the errors of
 * fw_drv_turb_cal_check(); FW_DRV_E_RANGE when mv is not finite. */
int fw_drv_turb_from_mv(const struct fw_drv_turb_cal *cal, float mv, float *ntu);

/* Inverse for simulators: the millivolts for 'ntu', which must lie within the table's NTU span.
 * Returns 0 and sets *mv; the errors of fw_drv_turb_cal_check(); FW_DRV_E_RANGE outside the
 * span. */
int fw_drv_turb_build_mv(const struct fw_drv_turb_cal *cal, float ntu, float *mv);

#endif

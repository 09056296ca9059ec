/* fw_drv_do.h - galvanic dissolved-oxygen probe read as millivolts.
 *
 * A galvanic probe's output is proportional to the oxygen partial pressure, so the reading is a
 * fraction of the output in air-saturated water. One-point saturation calibration: sat_mv read in
 * air-saturated water (or water-saturated air) at t_cal_c. The probe's saturation output changes
 * with temperature (membrane permeability); sat_mv_per_c models it linearly (0 for a probe that
 * compensates itself; a two-point calibration at two temperatures gives the slope):
 *   V_sat(T) = sat_mv + sat_mv_per_c * (T - t_cal_c)
 *   DO = mv / V_sat(T) * DO_sat(T)                                                    mg/L
 *   DO_sat(T) = 14.652 - 0.41022 T + 0.0079910 T^2 - 0.000077774 T^3   (fresh water, 1 atm)
 * Negative millivolts (offset noise in anoxic water) give 0. Pure: no I/O, no allocation. */
#ifndef FW_DRV_DO_H
#define FW_DRV_DO_H

#define FW_DRV_DO_T_MIN_C 0.0f /* validity range of the DO_sat polynomial, degC */
#define FW_DRV_DO_T_MAX_C 50.0f
#define FW_DRV_DO_MAX_MG_L 25.0f /* protocol range 0..25 mg/L */

struct fw_drv_do_cal {
    float sat_mv;       /* probe mV at 100 % saturation at t_cal_c; > 0 */
    float t_cal_c;      /* calibration temperature, degC, 0..50 */
    float sat_mv_per_c; /* temperature coefficient of the saturation output, mV/degC */
};

/* Returns DO at saturation in mg/L at t_c (fresh water, 1 atm); meaningful for 0..50 degC. */
float fw_drv_do_sat_mg_l(float t_c);

/* Converts probe millivolts at water temperature t_c. Returns 0 and sets *do_mg_l;
 * FW_DRV_E_INVAL for NULL or a calibration with sat_mv <= 0 or t_cal_c outside 0..50;
 * FW_DRV_E_RANGE when mv is not finite, t_c is outside 0..50, V_sat(t_c) <= 0 or the result
 * exceeds 25 mg/L. */
int fw_drv_do_from_mv(const struct fw_drv_do_cal *cal, float mv, float t_c, float *do_mg_l);

/* Inverse for simulators: probe millivolts for do_mg_l (0..25) at t_c. Returns 0 and sets *mv,
 * or the errors of fw_drv_do_from_mv(). */
int fw_drv_do_build_mv(const struct fw_drv_do_cal *cal, float do_mg_l, float t_c, float *mv);

#endif

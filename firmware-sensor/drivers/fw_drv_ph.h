/* fw_drv_ph.h - glass pH electrode read as millivolts (through a high-impedance front end).
 *
 * Model: E = E7 + S(T) * (pH - 7), isopotential point at pH 7, with the electrode slope
 * S(T) = -eff * 0.1984 * (T + 273.15) mV/pH (Nernst: 2.303 R T / F; -59.16 mV/pH at 25 degC).
 * Two-point calibration: E7 read in a pH 7 buffer and E_b in a pH 4 or pH 10 buffer, both at
 * t_cal_c, give E7 and the efficiency eff = slope measured / Nernst slope at t_cal_c. A reading at
 * a different temperature is compensated by rescaling the slope to that temperature.
 * Pure: no I/O, no allocation, reentrant. */
#ifndef FW_DRV_PH_H
#define FW_DRV_PH_H

#define FW_DRV_PH_EFF_MIN 0.80f /* accepted electrode efficiency (slope / Nernst slope) */
#define FW_DRV_PH_EFF_MAX 1.05f
#define FW_DRV_PH_T_MIN_C 0.0f /* compensation range, degC */
#define FW_DRV_PH_T_MAX_C 100.0f

/* Two-point calibration record; owned by the caller (kept in the node's configuration). */
struct fw_drv_ph_cal {
    float mv_ph7;  /* electrode mV in the pH 7 buffer */
    float mv_buf;  /* electrode mV in the second buffer */
    float ph_buf;  /* pH of the second buffer (4.0 or 10.0; at least 2 pH from 7) */
    float t_cal_c; /* buffer temperature during calibration, degC */
};

/* Returns the Nernst slope magnitude 0.1984 * (t_c + 273.15) in mV/pH. */
float fw_drv_ph_nernst_mv(float t_c);

/* Checks a calibration: returns 0, FW_DRV_E_INVAL for NULL, a second buffer closer than 2 pH to
 * 7 or a non-finite field, FW_DRV_E_RANGE when the efficiency is outside 0.80..1.05 (a worn or
 * wrongly wired electrode, or swapped buffers) or t_cal_c is outside 0..100. */
int fw_drv_ph_cal_check(const struct fw_drv_ph_cal *cal);

/* Converts electrode millivolts at solution temperature t_c to pH. Returns 0 and sets *ph;
 * fw_drv_ph_cal_check() errors; FW_DRV_E_RANGE when mv is not finite, t_c is outside 0..100, or
 * the result is outside 0..14. */
int fw_drv_ph_from_mv(const struct fw_drv_ph_cal *cal, float mv, float t_c, float *ph);

/* Inverse for simulators: the millivolts the calibrated electrode gives at pH 'ph' (0..14) and
 * t_c. Returns 0 and sets *mv, or the errors of fw_drv_ph_from_mv(). */
int fw_drv_ph_build_mv(const struct fw_drv_ph_cal *cal, float ph, float t_c, float *mv);

#endif

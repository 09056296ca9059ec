/* fw_drv_ec.h - electrical conductivity probe (two-electrode cell behind an EC front end that
 * reports the uncompensated conductivity, "raw EC", in uS/cm at the water's temperature).
 *
 * Conversion: EC_raw_cal = k * EC_raw (k: cell-constant correction from a calibration standard,
 * 1.0 when the front end is trusted), then linear temperature compensation to 25 degC:
 *   EC25 = EC_raw_cal / (1 + alpha * (T - 25))      alpha = 0.02 /degC for natural waters
 * (ISO 7888 / Standard Methods 2510 use a linear alpha of about 0.019..0.021). Pure. */
#ifndef FW_DRV_EC_H
#define FW_DRV_EC_H

#define FW_DRV_EC_ALPHA_DEFAULT 0.02f /* per degC */
#define FW_DRV_EC_MAX_US_CM 200000.0f /* protocol range 0..200000 uS/cm */
#define FW_DRV_EC_T_MIN_C 0.0f        /* compensation range, degC */
#define FW_DRV_EC_T_MAX_C 50.0f

struct fw_drv_ec_cal {
    float k;     /* multiplicative correction of raw EC, > 0 (1.0 = none) */
    float alpha; /* temperature coefficient, per degC, 0..0.1 */
};

/* Compensates raw EC (uS/cm, >= 0) measured at t_c to 25 degC. Returns 0 and sets *ec25_us_cm;
 * FW_DRV_E_INVAL for NULL or k <= 0 or alpha outside 0..0.1; FW_DRV_E_RANGE when raw is
 * negative or not finite, t_c is outside 0..50, or the result exceeds 200000 uS/cm. */
int fw_drv_ec_compensate(const struct fw_drv_ec_cal *cal, float raw_us_cm, float t_c,
                         float *ec25_us_cm);

/* Inverse for simulators: the raw EC the front end reports at t_c for a water of ec25_us_cm
 * (0..200000). Returns 0 and sets *raw_us_cm, or the errors of fw_drv_ec_compensate(). */
int fw_drv_ec_build_raw(const struct fw_drv_ec_cal *cal, float ec25_us_cm, float t_c,
                        float *raw_us_cm);

#endif

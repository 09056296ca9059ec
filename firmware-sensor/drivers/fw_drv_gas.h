/* fw_drv_gas.h - electrochemical gas channel (NO2, CO, SO2 or O3), four-electrode sensor with
 * working (WE) and auxiliary (AE) electrodes read as millivolts through a transimpedance board
 * (for example an Alphasense B4 series sensor on an ISB).
 *
 * Conversion (Alphasense application note AAN 803, algorithm 1):
 *   WEc = (WE - WE_zero) - nT(T) * (AE - AE_zero)          mV, AE removes the temperature drift
 *   ppb = 1000 * WEc / sens_mv_per_ppm                      sens = nA/ppm * board gain mV/nA
 *   ug/m3 = ppb * M / 24.45                                 at 25 degC, 1 atm (EU convention)
 * with M = 46.01 g/mol (NO2), 28.01 (CO), 64.07 (SO2) or 48.00 (O3). nT is interpolated linearly
 * in a table at -30, -20, ..., 50 degC taken from the sensor's datasheet. A negative result
 * (noise at clean air) is clamped to 0 and flagged. Pure: no I/O, no allocation, reentrant. */
#ifndef FW_DRV_GAS_H
#define FW_DRV_GAS_H
#include <stdbool.h>

#define FW_DRV_GAS_NT_POINTS 9           /* nT table entries */
#define FW_DRV_GAS_NT_T0_C (-30.0f)      /* temperature of nt[0], degC */
#define FW_DRV_GAS_NT_STEP_C 10.0f       /* table step, degC; nt[8] is at 50 degC */
#define FW_DRV_GAS_MOLAR_VOLUME_L 24.45f /* L/mol at 25 degC and 101.325 kPa */

enum fw_drv_gas_species {
    FW_DRV_GAS_NO2 = 0, /* 46.01 g/mol */
    FW_DRV_GAS_CO = 1,  /* 28.01 g/mol */
    FW_DRV_GAS_SO2 = 2, /* 64.07 g/mol */
    FW_DRV_GAS_O3 = 3,  /* 48.00 g/mol (an OX sensor behind an NO2 filter) */
};

/* Per-sensor calibration from the sensor's certificate; owned by the caller. */
struct fw_drv_gas_cal {
    enum fw_drv_gas_species species;
    float we_zero_mv;               /* WE electronic zero (output with zero gas), mV */
    float ae_zero_mv;               /* AE electronic zero, mV */
    float sens_mv_per_ppm;          /* WE sensitivity, mV/ppm; non-zero (sign as certified) */
    float nt[FW_DRV_GAS_NT_POINTS]; /* temperature correction factor at -30..50 degC */
};

struct fw_drv_gas_reading {
    float ppb;    /* mixing ratio, ppb, >= 0 */
    float ug_m3;  /* mass concentration at 25 degC, ug/m3, >= 0 */
    bool clamped; /* the computed value was negative and was set to 0 */
};

/* Returns the sensitivity in mV/ppm from a certificate's nA/ppm and the board gain in mV/nA. */
float fw_drv_gas_sens_mv_per_ppm(float sens_na_per_ppm, float gain_mv_per_na);

/* Returns the molar mass of 'species' in g/mol, or 0 for an unknown value. */
float fw_drv_gas_molar_mass(enum fw_drv_gas_species species);

/* Converts ppb of 'species' to ug/m3 at 25 degC; returns 0 for an unknown species. */
float fw_drv_gas_ppb_to_ug_m3(enum fw_drv_gas_species species, float ppb);

/* Returns nT at t_c, interpolated in cal->nt; t_c outside -30..50 uses the nearest end. */
float fw_drv_gas_nt(const struct fw_drv_gas_cal *cal, float t_c);

/* Converts one pair of electrode readings at sensor temperature t_c (degC). Returns 0 and fills
 * *out; FW_DRV_E_INVAL for NULL pointers, an unknown species or a zero sensitivity;
 * FW_DRV_E_RANGE when an input is not finite or t_c is outside -30..50. */
int fw_drv_gas_convert(const struct fw_drv_gas_cal *cal, float we_mv, float ae_mv, float t_c,
                       struct fw_drv_gas_reading *out);

/* Inverse for simulators: the WE millivolts the sensor would give for 'ppb' with the AE reading
 * ae_mv at t_c. Returns 0 and sets *we_mv; FW_DRV_E_INVAL as above; FW_DRV_E_RANGE when ppb < 0,
 * an input is not finite or t_c is outside -30..50. */
int fw_drv_gas_build(const struct fw_drv_gas_cal *cal, float ppb, float ae_mv, float t_c,
                     float *we_mv);

#endif

/* fw_drv_calib.h - the node's calibration record: every driver's coefficients in one struct,
 * with factory defaults and a fixed binary encoding for non-volatile storage.
 *
 * Encoding (FW_DRV_CALIB_BLOB_LEN bytes, integers and floats little-endian):
 *   u32 magic "CTCA" | u16 version 1 | u16 count of floats (FW_DRV_CALIB_FLOATS) |
 *   count x f32 (IEEE 754, in the order listed in drv_calib.c) | u32 CRC-32 (IEEE) of all before.
 * The defaults describe the reference hardware (Alphasense B4 gas sensors on an ISB, a glass pH
 * electrode, a galvanic DO probe, a SEN0189-type turbidity probe, an EC front end at 1 uS/cm per
 * mV, a TMP36-type water thermometer, a JSN-SR04T 300 cm above the road, a QMC5883L bay sensor
 * and a 120-space lot); the POSIX HAL simulates exactly this hardware, so a node with the default
 * record reads back the simulated values. Pure: no I/O, no allocation. */
#ifndef FW_DRV_CALIB_H
#define FW_DRV_CALIB_H
#include <stddef.h>
#include <stdint.h>

#include "fw_drv_do.h"
#include "fw_drv_ec.h"
#include "fw_drv_gas.h"
#include "fw_drv_ph.h"
#include "fw_drv_turbidity.h"

#define FW_DRV_CALIB_GASES 4    /* index = enum fw_drv_gas_species: NO2, CO, SO2, O3 */
#define FW_DRV_CALIB_FLOATS 104 /* including the turbidity table size */
#define FW_DRV_CALIB_BLOB_LEN (8u + 4u * FW_DRV_CALIB_FLOATS + 4u)
#define FW_DRV_CALIB_VERSION 1u

struct fw_drv_calib {
    struct fw_drv_gas_cal gas[FW_DRV_CALIB_GASES]; /* air: WE/AE zeros, sensitivity, nT */
    float gas_ae_drift_mv;       /* simulation only: AE offset from its zero the HAL produces, mV */
    struct fw_drv_ph_cal ph;     /* water: two-point pH calibration */
    struct fw_drv_do_cal dox;    /* water: DO saturation calibration */
    struct fw_drv_turb_cal turb; /* water: turbidity table (mV -> NTU) */
    struct fw_drv_ec_cal ec;     /* water: cell correction and temperature coefficient */
    float ec_us_per_mv;          /* water: EC front end output, raw uS/cm per mV, > 0 */
    float wt_mv_at_0c;           /* water: thermometer output at 0 degC, mV */
    float wt_mv_per_c;           /* water: thermometer slope, mV/degC, > 0 */
    float air_t_default_c;       /* flood: air temperature when the SHT3x does not answer, degC */
    float depth_mount_cm;        /* flood: sensor face above the dry road, cm */
    float depth_min_cm;          /* flood: blind zone, cm */
    float depth_max_cm;          /* flood: maximum range, cm */
    float depth_window;          /* flood: median window, odd 1..9 (echoes per reading) */
    float tip_debounce_ms;       /* rain: reed contact debounce, ms */
    float bay_baseline;          /* parking bay: empty-bay field magnitude, LSB (0: learn) */
    float bay_upper;             /* parking bay: deviation to become occupied, LSB */
    float bay_lower;             /* parking bay: deviation to become free, LSB */
    float lot_capacity;          /* parking lot: spaces, 1..10000 */
};

/* Fills *c with the factory defaults (the reference hardware above). */
void fw_drv_calib_defaults(struct fw_drv_calib *c);

/* Checks every field (gas sensitivities non-zero, pH and turbidity tables valid, ranges sane).
 * Returns 0, FW_DRV_E_INVAL for NULL or FW_DRV_E_RANGE for a bad field. */
int fw_drv_calib_check(const struct fw_drv_calib *c);

/* Encodes *c into buf (cap >= FW_DRV_CALIB_BLOB_LEN). Returns the length written, or 0 when cap
 * is too small or a pointer is NULL. */
size_t fw_drv_calib_encode(const struct fw_drv_calib *c, uint8_t *buf, size_t cap);

/* Decodes a blob. Returns 0 and fills *c; FW_DRV_E_LEN for a wrong length, FW_DRV_E_FRAME for a
 * wrong magic, version or count, FW_DRV_E_CHECKSUM for a CRC mismatch, FW_DRV_E_RANGE when the
 * decoded record fails fw_drv_calib_check(), FW_DRV_E_INVAL for NULL. *c is untouched on error. */
int fw_drv_calib_decode(const uint8_t *buf, size_t len, struct fw_drv_calib *c);

#endif

/* fw_sensors.h - the node's per-kind samplers over the HAL sensor buses and the drivers.
 *
 * One struct fw_sensors per node, created at start-up (the only allocation; sampling allocates
 * nothing). Its sampler (fw_sensors_sampler) plugs into fw_app_cfg.sampler and reads:
 *   air:     PMS5003 frames from the UART (pm25, pm10: atmospheric words), SHT3x over I2C (t, rh;
 *            single shot with clock stretching), the B4 gas sensors' WE/AE millivolts from the
 *            ADC (no2, co, so2, o3 in ug/m3, compensated at the SHT3x temperature);
 *   water:   the thermometer (t) and the pH, DO, turbidity and EC front ends from the ADC;
 *   rain:    the reed contact's edges, counted in the edge handler (fw_drv_tipbucket_edge) and
 *            confirmed by fw_drv_tipbucket_poll before sampling: 'tips' (the app adds 'mm');
 *   flood:   'depth' from the median of depth_window echoes, compensated at the SHT3x
 *            temperature (or the calibration's default air temperature);
 *   parking: lot: entry/exit loop pulses counted by fw_drv_lot ('capacity', 'occupied');
 *            bay: the magnetometer through fw_drv_bay ('occupied' boolean).
 * A value whose bus or driver fails is left out of the reading and counted; the reading fails
 * (CT_E_IO) only when no value is left.
 *
 * Calibration: the blob "calib" in the node's NVS (fw_drv_calib encoding). At first boot (no
 * blob) the defaults are written; an unreadable blob is left in place and the defaults are used
 * (reported in stats.calib). Not thread-safe: the firmware thread only. */
#ifndef FW_SENSORS_H
#define FW_SENSORS_H
#include <stdbool.h>
#include <stdint.h>

#include "ct/schema.h"
#include "fw_app.h"
#include "fw_drv_calib.h"
#include "fw_hal.h"

#define FW_SENSORS_CALIB_BLOB "calib"

enum fw_sensors_calib_src {
    FW_SENSORS_CALIB_NVS = 0,      /* read from the blob */
    FW_SENSORS_CALIB_FIRST_BOOT,   /* no blob: defaults written */
    FW_SENSORS_CALIB_BAD_DEFAULTS, /* blob unreadable or invalid: defaults used, blob kept */
};

struct fw_sensors_cfg {
    enum ct_kind kind;
    enum ct_park_mode park_mode; /* parking: CT_PARK_LOT (default) or CT_PARK_BAY */
    struct fw_nvs *nvs;          /* borrowed: the calibration blob */
    bool sync;                   /* fsync the first-boot calibration write */
    void *node;                  /* the HAL sensor source's node context (borrowed) */
    uint64_t seed;               /* bus simulation noise */
};

struct fw_sensors_stats {
    uint64_t reads;        /* sampler calls */
    uint64_t value_errors; /* values left out: a bus or driver error */
    uint64_t pms_frames;   /* PMS5003 frames parsed */
    uint64_t pms_bad_checksum;
    uint64_t pms_bad_frame;
    uint64_t pms_skipped;   /* garbage bytes */
    uint64_t pms_missing;   /* samples without a new frame */
    uint64_t sht_errors;    /* SHT3x NACK or CRC errors */
    uint32_t tips;          /* rain: tips counted by the edge handler */
    uint32_t tip_bounces;   /* rain: contact bounces ignored */
    uint32_t echo_invalid;  /* flood: echoes rejected (no echo, blind zone, out of range) */
    uint32_t lot_anomalies; /* parking lot: events clamped at 0 or capacity */
    uint32_t bay_changes;   /* parking bay: state changes */
    enum fw_sensors_calib_src calib;
};

struct fw_sensors; /* opaque */

/* Opens the node's buses, loads (or writes at first boot) the calibration and installs the edge
 * handlers. Returns 0 and *out, CT_E_INVAL, CT_E_NOMEM or CT_E_IO (writing the defaults). */
int fw_sensors_create(const struct fw_sensors_cfg *cfg, struct fw_sensors **out);
/* The sampler to put in fw_app_cfg.sampler (valid until fw_sensors_destroy). */
const struct fw_sampler *fw_sensors_sampler(const struct fw_sensors *s);
/* The node's buses (for example to replay a recorded UART capture). */
struct fw_hal_bus *fw_sensors_bus(struct fw_sensors *s);
/* The calibration in use. */
const struct fw_drv_calib *fw_sensors_calib(const struct fw_sensors *s);
void fw_sensors_get_stats(const struct fw_sensors *s, struct fw_sensors_stats *st);
/* Accepts NULL. */
void fw_sensors_destroy(struct fw_sensors *s);

/* Writes a calibration record to the blob (provisioning, tests). Returns 0, CT_E_INVAL (the
 * record fails fw_drv_calib_check) or CT_E_IO. */
int fw_sensors_calib_store(struct fw_nvs *nvs, const struct fw_drv_calib *c, bool sync);

#endif

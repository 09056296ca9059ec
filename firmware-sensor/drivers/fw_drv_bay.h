/* fw_drv_bay.h - parking bay sensor: a 3-axis magnetometer (for example QMC5883L or LIS3MDL)
 * buried in the bay detects the disturbance of the earth's field by a vehicle's steel.
 *
 * Each sample (x, y, z in the sensor's LSB) gives the field magnitude |B| = sqrt(x^2+y^2+z^2)
 * and its deviation |(|B| - baseline)|. The baseline is learned as the mean of the first
 * learn_samples samples (install with the bay empty) or set explicitly. Hysteresis: a free bay
 * becomes occupied when the deviation stays above 'upper' for debounce_ms; an occupied bay
 * becomes free when it stays below 'lower' (< upper) for debounce_ms. Between the thresholds the
 * state holds, and a pending change is cancelled whenever its condition stops holding, so noise
 * around one threshold cannot make the state flap. While the bay is free and quiet (deviation
 * below 'lower', no change pending) the baseline follows slow drift (temperature, nearby
 * changes) as an exponential average with weight drift_alpha per sample.
 * Time is a uint32 ms clock; differences are modulo 2^32. Pure: no I/O, no allocation; the state
 * is caller-owned, not thread-safe. */
#ifndef FW_DRV_BAY_H
#define FW_DRV_BAY_H
#include <stdbool.h>
#include <stdint.h>

struct fw_drv_bay_cfg {
    float upper;            /* deviation to become occupied, LSB, > lower */
    float lower;            /* deviation to become free, LSB, >= 0 */
    uint32_t debounce_ms;   /* how long a condition must hold before the state changes */
    uint16_t learn_samples; /* samples averaged into the first baseline, >= 1 */
    float drift_alpha;      /* baseline tracking weight per free sample, 0..1 (0 = off) */
};

struct fw_drv_bay {
    struct fw_drv_bay_cfg cfg; /* copied by fw_drv_bay_init() */
    float baseline;            /* learned empty-bay magnitude, LSB */
    float learn_sum;           /* sum of magnitudes while learning */
    uint16_t learned;          /* samples learned, up to cfg.learn_samples */
    bool occupied;             /* debounced state */
    bool pending;              /* the opposite condition holds since pending_since_ms */
    uint32_t pending_since_ms; /* start of the pending condition */
    float last_dev;            /* deviation of the latest sample, LSB */
    uint32_t changes;          /* state changes; wraps at 2^32 */
};

/* Returns |(x, y, z)| in LSB. */
float fw_drv_bay_magnitude(int16_t x, int16_t y, int16_t z);

/* Initialises 'bay' (free, learning) with a copy of *cfg. Returns 0 or FW_DRV_E_INVAL (NULL,
 * lower < 0, upper <= lower, learn_samples 0, drift_alpha outside 0..1, non-finite values). */
int fw_drv_bay_init(struct fw_drv_bay *bay, const struct fw_drv_bay_cfg *cfg);

/* Sets the baseline (for example restored from non-volatile storage) and ends learning.
 * Returns 0 or FW_DRV_E_INVAL (NULL, baseline negative or not finite). */
int fw_drv_bay_set_baseline(struct fw_drv_bay *bay, float baseline);

/* Processes one sample taken at now_ms. Returns 0, setting *changed (may be NULL) to whether the
 * debounced state changed with this sample; FW_DRV_E_AGAIN while the baseline is being learned
 * (the sample was used for it); FW_DRV_E_INVAL for a NULL bay. */
int fw_drv_bay_update(struct fw_drv_bay *bay, uint32_t now_ms, int16_t x, int16_t y, int16_t z,
                      bool *changed);

/* Returns the debounced state (true = occupied). */
bool fw_drv_bay_occupied(const struct fw_drv_bay *bay);

/* Builds, for simulators, the sample the sensor reads when the field 'earth' (x, y, z in LSB,
 * the empty bay's reading) changes magnitude by 'deviation' LSB along its own direction (a
 * vehicle adds or removes field). Writes out[0..2]. Returns 0; FW_DRV_E_INVAL for NULL pointers
 * or a zero earth vector; FW_DRV_E_RANGE when the result does not fit int16 or would be a
 * negative magnitude. */
int fw_drv_bay_build(const int16_t earth[3], float deviation, int16_t out[3]);

#endif

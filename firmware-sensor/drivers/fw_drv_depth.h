/* fw_drv_depth.h - flood depth from an ultrasonic distance sensor mounted above the road and
 * looking down (JSN-SR04T / AJ-SR04M echo pulse, or a MaxBotix pulse-width output), which the
 * board layer measures as an echo time in microseconds (round trip).
 *
 * Conversion:
 *   c = 331.3 + 0.606 * T                 m/s, speed of sound in air at T degC
 *   distance_cm = echo_us * c / 20000     (echo_us * 1e-6 s * c m/s * 100 cm/m / 2)
 *   depth_cm = mount_height_cm - median(distance over the last 'window' valid echoes)
 * clamped to 0..500 cm. An echo of 0 (no echo / timeout) or farther than max_range_cm or nearer
 * than min_range_cm (blind zone) is invalid: counted and not put in the window. The median
 * removes single outliers (a raindrop, a passing vehicle's roof). Pure: no I/O, no allocation;
 * the state is caller-owned, not thread-safe. */
#ifndef FW_DRV_DEPTH_H
#define FW_DRV_DEPTH_H
#include <stdint.h>

#define FW_DRV_DEPTH_MAX_WINDOW 9u    /* largest median window */
#define FW_DRV_DEPTH_MAX_CM 500.0f    /* clamp of the reported depth (protocol range) */
#define FW_DRV_DEPTH_T_MIN_C (-40.0f) /* accepted air temperature, degC */
#define FW_DRV_DEPTH_T_MAX_C 85.0f

struct fw_drv_depth_cfg {
    float mount_height_cm; /* sensor face to dry road surface, cm, > 0 */
    float min_range_cm;    /* blind zone; nearer echoes are invalid (JSN-SR04T: 25) */
    float max_range_cm;    /* farther echoes are invalid (JSN-SR04T: 600) */
    uint8_t window;        /* median window, odd, 1..9 (typically 5) */
};

struct fw_drv_depth {
    struct fw_drv_depth_cfg cfg;            /* copied by fw_drv_depth_init() */
    float dist_cm[FW_DRV_DEPTH_MAX_WINDOW]; /* ring of the last valid distances */
    uint8_t head;                           /* next slot to write */
    uint8_t count;                          /* valid entries, 0..window */
    uint32_t valid;                         /* echoes accepted; wraps at 2^32 */
    uint32_t invalid;                       /* echoes rejected; wraps at 2^32 */
};

/* Returns the speed of sound in air at t_c in m/s. */
float fw_drv_depth_sound_speed(float t_c);

/* Returns the one-way distance in cm for a round-trip echo of echo_us at t_c. */
float fw_drv_depth_echo_to_cm(uint32_t echo_us, float t_c);

/* Initialises 'st' with a copy of *cfg and an empty window. Returns 0 or FW_DRV_E_INVAL (NULL,
 * window even or outside 1..9, mount height <= 0, min_range < 0, max_range <= min_range). */
int fw_drv_depth_init(struct fw_drv_depth *st, const struct fw_drv_depth_cfg *cfg);

/* Adds one echo measured at air temperature t_c. Returns 0; FW_DRV_E_RANGE for an invalid echo
 * (counted in st->invalid) or a t_c outside -40..85 or not finite (not counted);
 * FW_DRV_E_INVAL for a NULL st. */
int fw_drv_depth_add_echo(struct fw_drv_depth *st, uint32_t echo_us, float t_c);

/* Computes the median distance of the window (the mean of the two middle values while fewer
 * than 'window' echoes, an even count, have been seen) and the depth. Returns 0 and sets
 * *depth_cm (0..500) and, when not NULL, *dist_cm; FW_DRV_E_AGAIN when the window is empty;
 * FW_DRV_E_INVAL for NULL st or depth_cm. */
int fw_drv_depth_read(const struct fw_drv_depth *st, float *depth_cm, float *dist_cm);

/* Inverse for simulators: the echo time (rounded to 1 us) the sensor measures when the water is
 * depth_cm above the road at t_c. Returns 0 and sets *echo_us; FW_DRV_E_RANGE when depth_cm is
 * negative or not below mount_height_cm, or t_c is out of range; FW_DRV_E_INVAL for NULL. */
int fw_drv_depth_build_echo(float mount_height_cm, float depth_cm, float t_c, uint32_t *echo_us);

#endif

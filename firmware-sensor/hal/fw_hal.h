/* fw_hal.h - the sensor node's hardware abstraction layer: one header, one backend per platform.
 *
 * hal_posix.c is the backend for Linux (sensor-node, fleet-sim, tests); a board gets its own
 * hal_<board>.c implementing the same functions (no #ifdef for boards in function bodies).
 *
 * Services: clocks (ms), sleep and a process-wide wake-up event, randomness, non-volatile storage
 * (named blobs with atomic replace, and append-only logs for the outbox), the sensor source, and
 * the sensor buses (UART, I2C, ADC, GPIO edges, echo timer).
 *
 * Threading: clocks, randomness, fw_hal_wake() and the sensor source setter are thread-safe.
 * One struct fw_nvs must be used by one thread at a time; distinct nvs objects are independent.
 * Errors: 0 or a negative CT_E_* code (ct/err.h). */
#ifndef FW_HAL_H
#define FW_HAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/schema.h"

/* Monotonic milliseconds since an arbitrary origin; never goes back. */
int64_t fw_hal_mono_ms(void);
/* Wall clock: milliseconds since the Unix epoch, UTC. */
int64_t fw_hal_wall_ms(void);
/* Sleeps at least 'ms' milliseconds (EINTR is resumed). */
void fw_hal_sleep_ms(uint32_t ms);
/* Waits until fw_hal_wake() was called since the last fw_hal_idle() returned, or 'max_ms'
 * milliseconds passed. Returns true when woken. Called by the one thread that runs the firmware. */
bool fw_hal_idle(uint32_t max_ms);
/* Wakes fw_hal_idle(); safe from any thread (Paho callbacks, signal-free contexts). */
void fw_hal_wake(void);

/* Fills 'len' bytes from the platform's entropy source. Returns 0 or CT_E_IO. */
int fw_hal_random_bytes(void *out, size_t len);
/* A uniformly random 32-bit value from the platform's entropy source (0 on failure). */
uint32_t fw_hal_random_u32(void);

/* ---- Non-volatile storage ------------------------------------------------------------------
 * A store is a directory (posix) or a flash partition (board). Names are 1..63 characters of
 * [A-Za-z0-9._-] and never start with '.'. */
#define FW_NVS_NAME_MAX 63

struct fw_nvs; /* opaque */

/* Opens (and creates, mode 0700, with missing parents) the store at 'dir' (copied).
 * Returns 0 and *out (caller closes with fw_nvs_close), CT_E_INVAL, CT_E_IO or CT_E_NOMEM. */
int fw_nvs_open(const char *dir, struct fw_nvs **out);
/* Closes the store; accepts NULL. */
void fw_nvs_close(struct fw_nvs *nvs);

/* Reads blob 'name' into buf (cap bytes); *len gets its size. Returns 0, CT_E_NOTFOUND,
 * CT_E_TOOBIG (blob larger than cap; nothing useful in buf) or CT_E_IO. */
int fw_nvs_read(struct fw_nvs *nvs, const char *name, void *buf, size_t cap, size_t *len);
/* Replaces blob 'name' atomically: after a power loss the old or the new content is read, never
 * a mix. With 'sync' the data is durable when the call returns. Returns 0, CT_E_INVAL or
 * CT_E_IO. */
int fw_nvs_write(struct fw_nvs *nvs, const char *name, const void *data, size_t len, bool sync);

/* Append-only logs (the outbox's segment files). A log is created by its first append. */
/* Appends 'len' bytes at the end of log 'name'; with 'sync' durable on return. A power loss may
 * leave a prefix of the bytes (a torn tail); readers must detect it. Returns 0, CT_E_INVAL or
 * CT_E_IO. */
int fw_nvs_log_append(struct fw_nvs *nvs, const char *name, const void *data, size_t len,
                      bool sync);
/* Reads up to 'cap' bytes at offset 'off'; *got gets the count (0 at the end). Returns 0,
 * CT_E_NOTFOUND or CT_E_IO. */
int fw_nvs_log_read(struct fw_nvs *nvs, const char *name, uint64_t off, void *buf, size_t cap,
                    size_t *got);
/* *size gets the log's size. Returns 0, CT_E_NOTFOUND or CT_E_IO. */
int fw_nvs_log_size(struct fw_nvs *nvs, const char *name, uint64_t *size);
/* Cuts the log to 'size' bytes (used to drop a torn tail). Returns 0, CT_E_NOTFOUND or CT_E_IO. */
int fw_nvs_log_truncate(struct fw_nvs *nvs, const char *name, uint64_t size);
/* Removes blob or log 'name'. Returns 0 (also when it did not exist) or CT_E_IO. */
int fw_nvs_remove(struct fw_nvs *nvs, const char *name);
/* Calls fn(arg, name) for each entry whose name starts with 'prefix', in unspecified order;
 * stops early when fn returns non-zero and returns that value. Returns 0 or CT_E_IO. */
int fw_nvs_list(struct fw_nvs *nvs, const char *prefix, int (*fn)(void *arg, const char *name),
                void *arg);

/* ---- Simulated sensor source ----------------------------------------------------------------
 * On a board, drivers read the hardware. On posix, the program installs one source callback that
 * answers every channel of every node: 'node' is the per-node context the app was configured
 * with (fleet-sim keeps thousands of nodes in one process), 'channel' a measurement name such as
 * "pm25", "depth", "tips" or "occupied". The callback runs on the firmware thread. */
typedef int (*fw_hal_sensor_fn)(void *arg, void *node, enum ct_kind kind, const char *channel,
                                int64_t now_ms, double *out);

/* Installs the source (fn NULL removes it). 'arg' is borrowed; must outlive the source. */
void fw_hal_sensor_set_source(fw_hal_sensor_fn fn, void *arg);
/* Reads one channel. Returns 0 and *out, CT_E_NOTFOUND (no source, or channel unknown to it) or
 * the source's error. */
int fw_hal_sensor_read(void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                       double *out);

/* ---- Sensor buses ---------------------------------------------------------------------------
 * A node's sensors hang on logical buses that a backend maps to its pins: one UART (the PMS5003),
 * one I2C bus (SHT3x at 0x44, QMC5883L magnetometer at 0x0D), ADC channels in millivolts, GPIO
 * inputs with edge interrupts, and an ultrasonic echo timer. The samplers (app/fw_sensors.h) read
 * them through the drivers. 'now_ms' is the caller's monotonic clock (the app's clock); edge
 * timestamps are that clock truncated to 32 bits.
 *
 * posix backend (hal_posix_bus.c): every bus is simulated from the physical values of the node's
 * sensor source (fw_hal_sensor_read with the bus's 'node'), through the drivers' build
 * functions: PMS5003 frames arrive on the UART in chunks of 1..16 bytes, the SHT3x answers with
 * CRC'd bytes, the ADC gives the electrodes' millivolts (quantised to 0.125 mV like a 16-bit
 * converter), rain tips arrive as contact edges with bounce, lot entries and exits as pulses on
 * two inputs, the bay magnetometer gives the field with the vehicle's disturbance and noise, and
 * one echo in FW_HAL_SIM_OUTLIER_EVERY is a false near echo (a raindrop). The simulated hardware
 * is the reference hardware of fw_drv_calib_defaults(). A UART can instead replay a file of
 * recorded bytes (fw_hal_uart_replay). Simulated edges are delivered on the calling thread by
 * fw_hal_bus_sync(), which also stands for "interrupts are masked outside it". */
#define FW_HAL_UART_PMS 0u /* the particulate sensor's UART */
#define FW_HAL_I2C_ADDR_SHT3X 0x44u
#define FW_HAL_I2C_ADDR_MAG 0x0Du /* QMC5883L: register 0x00.. = X, Y, Z int16 little-endian */
#define FW_HAL_ECHO_DEPTH 0u      /* the flood sensor's echo timer */
#define FW_HAL_SIM_OUTLIER_EVERY 7u

enum fw_hal_adc_ch {
    FW_HAL_ADC_NO2_WE = 0, /* gas channels: WE, AE of species g at 2g, 2g + 1 (fw_drv_gas order) */
    FW_HAL_ADC_NO2_AE,
    FW_HAL_ADC_CO_WE,
    FW_HAL_ADC_CO_AE,
    FW_HAL_ADC_SO2_WE,
    FW_HAL_ADC_SO2_AE,
    FW_HAL_ADC_O3_WE,
    FW_HAL_ADC_O3_AE,
    FW_HAL_ADC_PH,    /* pH electrode front end */
    FW_HAL_ADC_DO,    /* galvanic DO probe */
    FW_HAL_ADC_TURB,  /* turbidity probe */
    FW_HAL_ADC_EC,    /* EC front end */
    FW_HAL_ADC_WTEMP, /* water thermometer */
    FW_HAL_ADC__COUNT
};

enum fw_hal_gpio_pin {
    FW_HAL_GPIO_RAIN = 0,  /* tipping-bucket reed contact (level true = closed) */
    FW_HAL_GPIO_LOT_ENTRY, /* entry loop detector: a pulse (rising then falling edge) per vehicle */
    FW_HAL_GPIO_LOT_EXIT,  /* exit loop detector */
    FW_HAL_GPIO__COUNT
};

struct fw_hal_bus_cfg {
    enum ct_kind kind; /* which sensors the node carries */
    bool bay;          /* parking: a bay magnetometer instead of lot loops */
    void *node;        /* the sensor source's node context (borrowed) */
    uint64_t seed;     /* simulation noise (0: fixed default) */
};

/* Edge handler: runs in the edge interrupt on a board, inside fw_hal_bus_sync() on posix. */
typedef void (*fw_hal_edge_fn)(void *arg, unsigned pin, uint32_t t_ms, bool level);

struct fw_hal_bus; /* opaque */

/* Opens a node's buses (allocates once, at start-up). Returns 0 and *out, CT_E_INVAL or
 * CT_E_NOMEM. */
int fw_hal_bus_open(const struct fw_hal_bus_cfg *cfg, struct fw_hal_bus **out);
/* Closes the buses; accepts NULL. */
void fw_hal_bus_close(struct fw_hal_bus *bus);
/* Lets pending edge interrupts up to now_ms run (posix: delivers the simulated edges whose time
 * has come; a board: returns at once, its ISRs ran already). Returns 0. */
int fw_hal_bus_sync(struct fw_hal_bus *bus, int64_t now_ms);
/* Reads up to 'cap' received bytes; *got gets the count (0: nothing received). Returns 0 or
 * CT_E_INVAL (unknown port). */
int fw_hal_uart_read(struct fw_hal_bus *bus, unsigned port, int64_t now_ms, uint8_t *buf,
                     size_t cap, size_t *got);
/* Replaces the UART's input by the bytes of a recorded capture: hex text, '#' comments (the
 * format of the captures in tests/data/frames), at most 4096 bytes, read now. Once replayed, the
 * UART receives nothing more. Returns 0, CT_E_IO, CT_E_PARSE, CT_E_TOOBIG, or CT_E_STATE on a
 * backend without recorded input (a board). */
int fw_hal_uart_replay(struct fw_hal_bus *bus, unsigned port, const char *path);
/* One I2C transaction with device 'addr': writes wlen bytes, then (repeated start) reads rlen
 * bytes, with clock stretching allowed. Returns 0, CT_E_NOTFOUND (no acknowledge from addr),
 * CT_E_INVAL. */
int fw_hal_i2c_transfer(struct fw_hal_bus *bus, uint8_t addr, const uint8_t *wr, size_t wlen,
                        uint8_t *rd, size_t rlen, int64_t now_ms);
/* Reads ADC channel 'ch' in millivolts. Returns 0, CT_E_NOTFOUND (not fitted on this node) or
 * CT_E_INVAL. */
int fw_hal_adc_read_mv(struct fw_hal_bus *bus, unsigned ch, int64_t now_ms, float *mv);
/* Triggers the ultrasonic sensor and measures its echo pulse; *echo_us gets the round-trip time
 * in us (0: no echo). Returns 0, CT_E_NOTFOUND or CT_E_INVAL. */
int fw_hal_echo_read_us(struct fw_hal_bus *bus, unsigned ch, int64_t now_ms, uint32_t *echo_us);
/* Installs the edge handler of input 'pin' (both edges; fn NULL disables it) and returns the
 * pin's current level in *level (may be NULL). 'arg' is borrowed. Returns 0 or CT_E_INVAL. */
int fw_hal_gpio_on_edge(struct fw_hal_bus *bus, unsigned pin, fw_hal_edge_fn fn, void *arg,
                        bool *level);

/* Simulation counters of a bus (posix; zeros on a board). */
struct fw_hal_bus_stats {
    uint64_t uart_bytes;    /* bytes handed out by fw_hal_uart_read */
    uint64_t edges;         /* edges delivered to handlers */
    uint64_t tips_built;    /* rain: tips turned into edges */
    uint64_t echo_outliers; /* false echoes produced */
    uint64_t lot_events;    /* lot: entry and exit pulses produced */
};
void fw_hal_bus_get_stats(const struct fw_hal_bus *bus, struct fw_hal_bus_stats *st);

#endif

/* fw_hal.h - the sensor node's hardware abstraction layer: one header, one backend per platform.
 *
 * hal_posix.c is the backend for Linux (sensor-node, fleet-sim, tests); a board gets its own
 * hal_<board>.c implementing the same functions (no #ifdef for boards in function bodies).
 *
 * Services: clocks (ms), sleep and a process-wide wake-up event, randomness, non-volatile storage
 * (named blobs with atomic replace, and append-only logs for the outbox), and the sensor source.
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

#endif

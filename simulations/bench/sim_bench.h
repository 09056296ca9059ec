/* sim_bench.h - small helpers shared by the benchmark tools (bench-pub, bench-sub,
 * bench-pipeline) and the durability tests' publisher dur-pub (tests/e2e/tools). */
#ifndef SIM_BENCH_H
#define SIM_BENCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/payload.h"
#include "ct/registry.h"

/* Monotonic clock in nanoseconds. */
int64_t sim_bench_mono_ns(void);
/* Wall clock in milliseconds since the Unix epoch (UTC). */
int64_t sim_bench_wall_ms(void);
/* Sleeps until the monotonic time 'ns'. */
void sim_bench_sleep_until(int64_t ns);
/* Parses a whole decimal unsigned integer; returns false on junk, sign or overflow. */
bool sim_bench_parse_u64(const char *s, uint64_t *out);
/* Parses a whole finite number >= 0; returns false otherwise. */
bool sim_bench_parse_double(const char *s, double *out);
/* Fills plausible, in-range measurements for the device's kind: message 'seq' of boot 'boot' at
 * ts (ms). The values vary with seq (a wave of 200 steps). Returns 0 or CT_E_FULL / CT_E_INVAL. */
int sim_bench_fill_reading(const struct ct_device *d, uint64_t boot, uint64_t seq, int64_t ts,
                           struct ct_reading *r);

#endif

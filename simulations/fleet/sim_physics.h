/* sim_physics.h - fleet-sim's city model: plausible Hanoi sensor values for every device.
 *
 * Simulated time runs 'scale' times faster than the real clock from the start of the run; the
 * day cycle is in Hanoi time (UTC+7). City-wide fields are value noise over time slots hashed from
 * the seed, so two runs with the same seed see the same weather at the same simulated time:
 *   air:     PM2.5 with morning and evening traffic peaks and a midday dip, PM10 ~1.6x PM2.5,
 *            NO2 and CO with traffic, O3 peaking early afternoon, temperature and humidity cycles;
 *   rain:    showers (30-minute slots), per-station factor; tips integrate the intensity;
 *   flood:   depth rises with rain (per-station susceptibility) and drains afterwards;
 *   parking: lot occupancy with rush hours and a quiet night; bays flip in 10-minute slots;
 *   water:   pH, DO, EC, temperature drifting slowly (6-hour slots), turbidity rising with rain.
 * Not thread-safe: the firmware thread only. */
#ifndef SIM_PHYSICS_H
#define SIM_PHYSICS_H
#include <stdint.h>

#include "ct/registry.h"
#include "ct/schema.h"

struct sim_physics {
    uint64_t seed;
    double scale;       /* simulated ms per real ms (>= 1) */
    int64_t start_wall; /* simulated epoch ms at the start */
    int64_t start_mono; /* the real monotonic ms at the start */
};

/* Per-device state; the node context handed to the HAL source. */
struct sim_node {
    const struct ct_device *dev; /* borrowed from the registry */
    uint32_t index;              /* position in the run (hash input) */
    double rain_mm;              /* rain: accumulated rain since the start */
    double depth_cm;             /* flood: current depth */
    int64_t last_sim_ms;         /* rain/flood: time of the previous integration step */
    void *user;                  /* the program's per-node data (fleet-sim's node); borrowed */
};

/* Starts the clock mapping: simulated time = start_wall + (mono - start_mono) * scale. */
void sim_physics_init(struct sim_physics *p, uint64_t seed, double scale, int64_t start_wall,
                      int64_t start_mono);
/* Simulated epoch ms for a real monotonic time. */
int64_t sim_physics_time(const struct sim_physics *p, int64_t mono_ms);
/* The HAL sensor source: 'arg' is struct sim_physics, 'node' a struct sim_node. Returns 0 or
 * CT_E_NOTFOUND for a channel the kind does not have. */
int sim_physics_read(void *arg, void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                     double *out);
/* City-wide rain intensity in mm/h at simulated time t (for tests and the status line). */
double sim_physics_rain_mmh(const struct sim_physics *p, int64_t sim_ms);

#endif

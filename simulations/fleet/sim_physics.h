/* sim_physics.h - fleet-sim's city model: plausible Hanoi sensor values for every device.
 *
 * Simulated time runs 'scale' times faster than the real clock from the start of the run and
 * starts at 'start_sim' (a scenario's "start", or the wall clock); the day cycle is in Hanoi time
 * (UTC+7). The model only decides sensor values: readings keep the real wall clock as their ts.
 * Everything is a function of the seed, the device and the simulated time (plus per-node
 * integrated state for rain, flood and water), so two runs with the same seed agree:
 *   weather: monsoon storms (May-Oct, mostly afternoons) are cells born west of the city that move
 *            with a speed and heading, with a radius and a peak intensity that rises and decays
 *            over their life; scripted storms (scenario "storms") add to or replace them. Rain at
 *            a point is the sum of the cells over it (weather.c);
 *   air:     PM2.5 from a station base (higher near the centre) times the season (Nov-Mar high),
 *            haze episodes of several days, a daily cycle (rush hours 7-9 and 17-19, night
 *            inversion in winter, afternoon mixing) and rain washout; PM10, NO2, CO with traffic,
 *            O3 in the afternoon sun, temperature and humidity by season and hour;
 *   rain:    tips integrate the rain over the gauge;
 *   flood:   a low spot collects rain from its catchment; depth rises while inflow beats the drain
 *            rate and drains afterwards;
 *   parking: lot occupancy by the lot's character (office, market, residential) and weekday;
 *            bays follow their lot's character, flipping in 10-minute slots;
 *   water:   pH, DO, EC, temperature drifting slowly; turbidity up after storms (a wetness index
 *            decaying over ~12 h), EC diluted and DO lowered by runoff.
 * Not thread-safe: the firmware thread only. */
#ifndef SIM_PHYSICS_H
#define SIM_PHYSICS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/registry.h"
#include "ct/schema.h"

#define SIM_MAX_STORMS 32 /* scripted storms per run */
#define SIM_MAX_HAZE 8    /* scripted haze episodes per run */
#define SIM_HOUR_MS 3600000LL
#define SIM_DAY_MS (24LL * SIM_HOUR_MS)

/* A convective storm cell. */
struct sim_storm {
    int64_t start_ms;   /* simulated epoch ms when it forms at (lat, lon) */
    double lat, lon;    /* where it forms */
    double heading_deg; /* direction it moves toward: 0 north, 90 east */
    double speed_kmh;
    double radius_km;  /* rain falls within 2 radii of the centre, heaviest at it */
    double peak_mmh;   /* intensity at the centre at the peak of its life */
    double duration_h; /* life: ramps up over the first quarter, decays to 0 at the end */
};

/* A haze episode (stagnant air, inversion): PM multiplied by up to 'factor'. */
struct sim_haze {
    int64_t start_ms; /* simulated epoch ms */
    double days;      /* length; 12 h ramps at both ends */
    double factor;    /* peak multiplier (> 1) */
};

struct sim_physics {
    uint64_t seed;
    double scale;       /* simulated ms per real ms (>= 1) */
    int64_t start_sim;  /* simulated epoch ms at the start */
    int64_t start_mono; /* the real monotonic ms at the start */
    bool auto_storms;   /* seed-generated storms (default true) */
    bool auto_haze;     /* seed-generated haze episodes in Nov-Mar (default true) */
    struct sim_storm storms[SIM_MAX_STORMS];
    size_t nstorms;
    struct sim_haze haze[SIM_MAX_HAZE];
    size_t nhaze;
};

enum sim_lot_character { SIM_LOT_OFFICE = 0, SIM_LOT_MARKET, SIM_LOT_RESIDENTIAL };

/* Per-device state; the node context handed to the HAL source. */
struct sim_node {
    const struct ct_device *dev; /* borrowed from the registry */
    uint32_t index;              /* position in the run (hash input) */
    double rain_mm;              /* rain: accumulated rain since the start */
    double depth_cm;             /* flood: current depth */
    double wet;                  /* water: runoff index (mm, decaying) */
    int64_t last_sim_ms;         /* rain/flood/water: time of the previous integration step */
    void *user;                  /* the program's per-node data (fleet-sim's node); borrowed */
};

/* Starts the clock mapping: simulated time = start_sim + (mono - start_mono) * scale. Automatic
 * storms and haze are on; no scripted events. */
void sim_physics_init(struct sim_physics *p, uint64_t seed, double scale, int64_t start_sim,
                      int64_t start_mono);
/* Adds a scripted storm / haze episode (copied). Returns 0 or CT_E_FULL. */
int sim_physics_add_storm(struct sim_physics *p, const struct sim_storm *s);
int sim_physics_add_haze(struct sim_physics *p, const struct sim_haze *h);
/* Simulated epoch ms for a real monotonic time. */
int64_t sim_physics_time(const struct sim_physics *p, int64_t mono_ms);
/* The HAL sensor source: 'arg' is struct sim_physics, 'node' a struct sim_node. Returns 0 or
 * CT_E_NOTFOUND for a channel the kind does not have. */
int sim_physics_read(void *arg, void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                     double *out);

/* Weather (weather.c). */
/* Rain intensity in mm/h at a point at simulated time t. */
double sim_physics_rain_at(const struct sim_physics *p, double lat, double lon, int64_t sim_ms);
/* PM multiplier of season and haze episodes at simulated time t (about 0.6 in July, 2 in
 * January, more during an episode). */
double sim_physics_haze_factor(const struct sim_physics *p, int64_t sim_ms);
/* Hanoi local hour of day (0..24) and day of week (0 Monday .. 6 Sunday). */
double sim_physics_hour(int64_t sim_ms);
int sim_physics_weekday(int64_t sim_ms);
/* Calendar month 1..12 in Hanoi time. */
int sim_physics_month(int64_t sim_ms);
/* Distance in km between two points (equirectangular; fine at city scale). */
double sim_km(double lat1, double lon1, double lat2, double lon2);
/* The character of a parking lot, a function of its id (the registry generator names lots by it).
 */
enum sim_lot_character sim_lot_character_of(const char *lot_id);
/* Parking occupancy ratio 0..1 of a lot character at simulated time t. */
double sim_parking_ratio(enum sim_lot_character c, int64_t sim_ms);

/* Internal hashing shared by the model's files: uniform in [0, 1) from (seed, a, b, c), and
 * smooth value noise in [0, 1) over x (slots) keyed by (a, b). */
double sim_h01(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
double sim_vnoise(uint64_t seed, uint64_t a, uint64_t b, double x);

#endif

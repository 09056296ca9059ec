/* col_indices_flood.h - street flooding (waterlogging) depth bands with a per-station state
 * machine: hysteresis, minimum duration before a band change is confirmed, one report per
 * change, and the rate of rise.
 *
 * There is no official depth-class table for street flooding in Hanoi (docs/indices.md): the
 * default bands are the project's own choice and the configuration can replace them. */
#ifndef COL_INDICES_FLOOD_H
#define COL_INDICES_FLOOD_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Most bands a configuration may have. */
#define COL_FLOOD_MAX_BANDS 8
/* Depth samples kept per station for the rate of rise (the oldest is overwritten). */
#define COL_FLOOD_SAMPLES 64

struct col_flood_band {
    double min_cm;     /* the band starts at this depth (the first band at 0) */
    const char *vi;    /* label, Vietnamese; borrowed (static or outliving the config) */
    const char *en;    /* label, English; borrowed */
    const char *color; /* "#RRGGBB"; borrowed */
};

struct col_flood_cfg {
    const struct col_flood_band *bands; /* borrowed; ascending min_cm */
    size_t n_bands;                     /* 1..COL_FLOOD_MAX_BANDS */
    double hysteresis_cm;               /* leave a band downwards only below its start minus this */
    int64_t min_duration_s;             /* a new band must hold this long (0 = at once) */
    int64_t rate_window_s;              /* window of the rate of rise */
};

/* The project's default: bands 0 "Khô/Dry", 10 "Ngập nhẹ/Minor", 20 "Ngập/Flooded (cars
 * slow)", 40 "Ngập sâu/Deep", 60 "Nguy hiểm/Dangerous"; hysteresis 2 cm, 120 s, rate over
 * 1800 s. Static; never NULL. */
const struct col_flood_cfg *col_flood_default_cfg(void);

/* Checks a configuration: bands non-NULL with labels and colours, 1..MAX bands, the first
 * starting at 0, strictly ascending, hysteresis >= 0 and below the narrowest band,
 * min_duration_s >= 0, rate_window_s > 0. Returns 0 or CT_E_INVAL. */
int col_flood_cfg_check(const struct col_flood_cfg *cfg);

/* One station's band table, from its registry entry's bands_cm (the depths where its bands
 * start; 0 is prepended when the first is above 0), with the default's hysteresis, minimum
 * duration and rate window. Labels: the default's when the count matches the default's five,
 * else "Mức i" / "Level i"; colours from the default's ramp. The collector's derived data
 * (flood_level's band) and the public layer (the band's name and colour) both build it, so the
 * band a point carries is named by the table that chose it. cfg.bands points into the struct:
 * set it up in place and never copy it. */
struct col_flood_station {
    struct col_flood_cfg cfg;
    struct col_flood_band bands[COL_FLOOD_MAX_BANDS];
    char labels[COL_FLOOD_MAX_BANDS][2][24];
};

/* Sets up 's' from 'n' band starts (n == 0 or bands_cm NULL: the default table). Returns 0, or
 * CT_E_INVAL when the bands were unusable (not ascending, too many, not finite): 's' holds the
 * default table then. */
int col_flood_station_setup(struct col_flood_station *s, const double *bands_cm, size_t n);

/* True when 's' is the table col_flood_station_setup() builds from these band starts. */
bool col_flood_station_same(const struct col_flood_station *s, const double *bands_cm, size_t n);

/* Index of the band that holds 'depth_cm' (negative depths count as 0), without hysteresis. */
size_t col_flood_band_of(const struct col_flood_cfg *cfg, double depth_cm);

struct col_flood_sample {
    int64_t ts;
    double depth_cm;
};

/* One station's state; a plain value, set up by col_flood_init(). */
struct col_flood_state {
    bool has_band;                                      /* false until the first sample */
    size_t band;                                        /* confirmed band */
    bool pending;                                       /* a change is waiting for min_duration_s */
    size_t candidate;                                   /* the band it would change to */
    int64_t candidate_since;                            /* when the wait started */
    int64_t last_ts;                                    /* newest sample */
    struct col_flood_sample samples[COL_FLOOD_SAMPLES]; /* ring for the rate of rise */
    size_t n_samples;
    size_t next; /* ring index of the next write */
};

/* A confirmed band change, reported once. */
struct col_flood_event {
    bool changed; /* false: nothing to report for this sample */
    int from;     /* previous band, or -1 for the station's first sample */
    size_t to;    /* the new band */
};

void col_flood_init(struct col_flood_state *st);

/* Feeds one sample (depth in cm at Unix time ts; negative depths count as 0). The first sample
 * sets the band at once (event from -1). Afterwards the target band is the raw band when it is
 * higher than the confirmed one; when lower, the band of depth + hysteresis (so the water must
 * fall below a band's start minus the hysteresis to leave it). A target different from the
 * confirmed band becomes a candidate; while further samples keep the target on the same side of
 * the confirmed band the wait continues (the candidate follows the target), and once it has
 * lasted min_duration_s the change is confirmed and reported in *ev. A sample whose target is
 * the confirmed band cancels the wait. Returns 0; CT_E_INVAL for NULL or NAN depth; CT_E_RANGE
 * when ts is older than the previous sample (the sample is ignored). 'cfg' must pass
 * col_flood_cfg_check() and stay the same for a state. */
int col_flood_update(const struct col_flood_cfg *cfg, struct col_flood_state *st, int64_t ts,
                     double depth_cm, struct col_flood_event *ev);

/* Rate of rise, cm/h, between the oldest sample within rate_window_s of the newest and the
 * newest one (negative when the water falls). NAN when fewer than two samples at distinct times
 * are in the window. */
double col_flood_rate_cm_h(const struct col_flood_cfg *cfg, const struct col_flood_state *st);

#endif

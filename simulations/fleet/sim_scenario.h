/* sim_scenario.h - fleet-sim scenario files (simulations/scenarios/ JSON; format in
 * simulations/README.md).
 *
 * A scenario sets the simulated start, the time compression, the run's length, the weather
 * (automatic storms and haze on or off, scripted storms and haze episodes), the faults of the fleet
 * and marks (moments an operator or a test acts: stop the broker, stop InfluxDB). Times inside the
 * scenario are simulated offsets from "start": a number of seconds or a string such as "90m",
 * "1h30m", "2d". Unknown members are errors naming the member (a typo must not run silently). */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_physics.h"

#define SIM_MAX_FAULTS 16
#define SIM_MAX_MARKS 16
#define SIM_FAULT_IDS 16
#define SIM_SCENARIO_MAX_BYTES (1024 * 1024)

enum sim_fault_type {
    SIM_FAULT_STUCK = 0, /* every channel frozen at its value when the fault starts */
    SIM_FAULT_DRIFT,     /* bias growing by 'value' % per simulated day */
    SIM_FAULT_SPIKE,     /* with probability 'prob' per reading, a channel times 'value' */
    SIM_FAULT_OFFLINE,   /* no connectivity for 'for': the outbox keeps the readings */
    SIM_FAULT_REBOOT,    /* restart once at 'at' (boot counter + 1, backlog kept) */
    SIM_FAULT_SKEW,      /* the node's clock is off by 'value' ms (ts of its readings) */
    SIM_FAULT_REPLACE,   /* new hardware under the same id at 'at': boot 0, seq 0, empty outbox */
    SIM_FAULT_GARBAGE,   /* with probability 'prob' per reading, also a malformed payload */
    SIM_FAULT__COUNT
};

struct sim_fault_spec {
    enum sim_fault_type type;
    unsigned kinds;  /* bit per enum ct_kind; 0: every kind */
    double fraction; /* share of the matching nodes hit (by hash of seed, fault, id) */
    char ids[SIM_FAULT_IDS][CT_ID_MAX + 1]; /* explicit devices (in addition to 'fraction') */
    size_t nids;
    int64_t at_ms;  /* simulated offset from the start */
    int64_t for_ms; /* simulated length; 0: until the end of the run */
    double value;   /* drift %/day, spike factor, skew ms */
    double prob;    /* spike, garbage: probability per reading */
};

struct sim_mark {
    int64_t at_ms;   /* simulated offset from the start */
    char label[160]; /* what to do then, printed by fleet-sim */
};

struct sim_scenario {
    char name[64];
    bool has_start;
    int64_t start_ms;  /* simulated epoch ms of the start */
    double rate_scale; /* 0: not set */
    double duration_s; /* real seconds; 0: not set */
    int64_t sim_ms;    /* simulated length ("sim_duration"); 0: not set */
    bool has_seed;
    uint64_t seed;
    bool auto_storms;
    bool auto_haze;
    struct sim_storm storms[SIM_MAX_STORMS]; /* start_ms relative to the start until applied */
    size_t nstorms;
    struct sim_haze haze[SIM_MAX_HAZE]; /* start_ms relative to the start until applied */
    size_t nhaze;
    struct sim_fault_spec faults[SIM_MAX_FAULTS];
    size_t nfaults;
    struct sim_mark marks[SIM_MAX_MARKS];
    size_t nmarks;
};

/* Parses a scenario (JSON text of 'len' bytes). Returns 0, CT_E_PARSE (with a message naming the
 * member in err) or CT_E_NOMEM. */
int sim_scenario_parse(const char *text, size_t len, struct sim_scenario *sc, char *err,
                       size_t errcap);
/* Reads and parses a file (at most SIM_SCENARIO_MAX_BYTES). CT_E_IO when unreadable. */
int sim_scenario_load(const char *path, struct sim_scenario *sc, char *err, size_t errcap);
/* Parses a duration: seconds as a number, or "<n>d<n>h<n>m<n>s" parts ("90m", "1h30m", "45s").
 * Returns 0 and *ms, or CT_E_PARSE. */
int sim_parse_duration(const char *s, int64_t *ms);
/* Parses "YYYY-MM-DDTHH:MM[:SS](Z|+HH:MM|-HH:MM)" (a date alone means 00:00 Hanoi time). */
int sim_parse_iso(const char *s, int64_t *ms);
/* Installs the scenario's weather into p (scripted times made absolute from p->start_sim).
 * Returns 0 or CT_E_FULL. */
int sim_scenario_apply_weather(const struct sim_scenario *sc, struct sim_physics *p);
const char *sim_fault_name(enum sim_fault_type t);

#endif

/* fleet.h - fleet-sim's internals shared by fleet.c (program, options) and fleet_run.c (nodes,
 * run loop, node faults, status line). */
#ifndef SIM_FLEET_H
#define SIM_FLEET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/registry.h"
#include "ct/sig.h"
#include "fw_app.h"
#include "fw_tx.h"
#include "sim_faults.h"
#include "sim_physics.h"
#include "sim_scenario.h"

struct fleet_opts {
    const char *registry;
    const char *broker;
    const char *master_key_file;
    const char *kinds;
    const char *mode;
    const char *state_dir;
    const char *scenario;
    const char *start;
    const char *write_registry;
    uint64_t nodes;
    uint64_t limit;
    uint64_t connections;
    double scale;
    double duration_s;
    uint64_t count_per_node;
    uint64_t seed;
    bool seed_set;
    uint64_t interval_ms;
    uint64_t inflight;
    double rate;
    double backfill_hours; /* 0: none; else queue the last H hours first (fleet_backfill) */
    bool print_stats;
};

#define FLEET_BACKFILL_MAX_H 48.0
#define FLEET_BACKFILL_STEP_MS (10 * 60 * 1000LL) /* wall-clock spacing of backfilled readings */

struct fleet_conn {
    struct fw_tx *tx;
    uint32_t *blocked; /* ring of node indices waiting for window room */
    size_t nblocked;
    size_t blocked_cap;
    bool room; /* deliveries freed window space since the last loop */
};

struct fleet_node {
    struct sim_node phys; /* first: the HAL source's node context */
    struct sim_fault_state fs;
    struct fw_nvs *nvs;
    struct fw_app *app;
    struct fleet_conn *conn;
    uint8_t key[CT_KEY_LEN];
    int64_t wake;
    size_t heap_pos; /* position in the wake-up heap */
    bool blocked;    /* in its connection's blocked ring */
    bool started;    /* stepped once (its first sample is spread over a period) */
    bool offline;    /* detached by an offline fault */
    int pending;     /* reboot/replace fault waiting for the in-flight to drain, or -1 */
    int64_t pending_since;
    uint64_t garbage_seen;    /* readings considered for garbage */
    struct fw_app_stats prev; /* acked/published of earlier incarnations (reboots) */
};

struct fleet {
    struct fleet_opts o;
    struct sim_physics phys;
    struct sim_scenario sc;
    bool have_scenario;
    struct sim_fault_ctx fctx;
    struct ct_registry *reg;
    struct fleet_node *nodes;
    size_t nnodes;
    struct fleet_conn *conns;
    size_t nconns;
    bool shared;
    uint32_t *heap; /* node indices, min-heap on wake */
    size_t heap_len;
    size_t marks_done;   /* marks announced */
    uint32_t marks_mask; /* bit per announced mark */
    uint64_t reboots, replacements, garbage_sent, garbage_acked;
};

/* The HAL sensor source: the city model, then the node's sensor faults. 'arg' is the fleet. */
int fleet_source(void *arg, void *node, enum ct_kind kind, const char *channel, int64_t now_ms,
                 double *out);
/* Creates the nodes (apps, storage, keys) and connections. Returns 0 or a CT_E_* code. */
int fleet_setup(struct fleet *fl, const uint8_t *master, size_t mlen, unsigned kinds);
/* Runs until the duration, the count per node, or a signal (*stop != 0). */
void fleet_run(struct fleet *fl, volatile int *stop);
/* Publishes offline statuses (bounded wait) and disconnects. */
void fleet_shutdown(struct fleet *fl);
/* Sums over the nodes (all incarnations). */
void fleet_totals(const struct fleet *fl, uint64_t *published, uint64_t *acked, uint64_t *backlog,
                  uint64_t *min_acked);
void fleet_free(struct fleet *fl);

#endif

/* col_flow.h - the ingest flow: MQTT message -> intake (journal, then PUBACK) -> pipeline -> sink,
 * in journal order, and the journal's commit behind the flow's checkpoint (docs/architecture.md).
 *
 * All on the loop thread. The flow borrows the parts it drives (spool, pipeline, sink, MQTT
 * client, intake, quarantine, derive, console): the app creates them, hands them over with
 * col_flow_set_parts, and closes them after col_flow_seal. The flow does not call the app (checked
 * by style_modules): what it must tell the app's other modules goes through the hooks given at
 * create time. */
#ifndef COL_FLOW_H
#define COL_FLOW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_intake.h"
#include "col_mqtt.h"
#include "col_pipeline.h"
#include "col_sink.h"
#include "ct/registry.h"

#define COL_FLOW_RECORD_MAX                                                                        \
    (COL_MSG_HDR + COL_MSG_TOPIC_MAX + COL_MSG_SIG_MAX + COL_MSG_PAYLOAD_MAX)

struct col_flow;
struct col_spool;
struct col_pipeline;
struct col_quarantine;
struct col_derive;
struct col_console;

struct col_flow_cfg {
    struct col_pipeline *pipeline; /* borrowed: the checkpoint restores its per-device state */
    const char *spool_dir;         /* borrowed for the flow's life: the checkpoint lives there */
    bool ckpt_sync;                /* fsync the checkpoint (spool.fsync is not "none") */
    size_t group_max_records;      /* the intake's group commit */
    size_t group_max_bytes;
    /* Called for each accepted reading with its quality flags and its journal record (the TT 10
     * files); may be NULL. */
    void (*on_reading)(void *arg, const struct ct_device *dev, const struct ct_reading *r,
                       const char *qc, uint64_t mark);
    /* Called when a record the app added with a token COL_INTAKE_TOKEN_LOCAL | ticket is durable
     * (an incoming TT 10 file's reading); may be NULL. */
    void (*on_local_ack)(void *arg, uint64_t ticket);
    /* The lowest journal record another module still holds in memory (UINT64_MAX: none): the
     * TT 10 files' open intervals. The journal is not committed past it. May be NULL. */
    uint64_t (*low_water)(void *arg);
    void *arg;
};

/* The parts the flow drives, borrowed; any may be NULL except spool and pipeline. */
struct col_flow_parts {
    const struct ct_registry *registry;
    struct col_pipeline *pipeline;
    struct col_spool *spool;
    struct col_sink *sink;
    struct col_mqtt *mqtt;
    struct col_intake *intake;
    struct col_quarantine *quarantine;
    struct col_derive *derive;
    struct col_console *console;
};

struct col_flow_stats {
    bool mqtt_up;
    bool behind;       /* reading the journal, not memory */
    bool replaying;    /* the journal found at start is not replayed yet */
    uint64_t backlog;  /* durable records not processed yet */
    uint64_t replayed; /* records replayed at start */
    uint64_t sub_refused;
    uint64_t reject_overflow;
    uint64_t quarantined;
    uint64_t points_dropped; /* lost because the overflow buffer was full */
    uint64_t rejected_cut[CT_REJ__COUNT];
};

/* Allocates the flow and its timers on 'loop' and loads the checkpoint from cfg->spool_dir.
 * Returns 0 or a CT_E_* code (then *out is NULL). */
int col_flow_create(uv_loop_t *loop, const struct col_flow_cfg *cfg, struct col_flow **out);
void col_flow_set_parts(struct col_flow *f, const struct col_flow_parts *p);
/* After a registry reload: the new registry (borrowed). */
void col_flow_set_registry(struct col_flow *f, const struct ct_registry *reg);
/* The intake, created on 'spool' (borrowed; the flow's journal from now on) with the flow's
 * callbacks. Returns 0 or a CT_E_* code. */
int col_flow_create_intake(struct col_flow *f, struct col_spool *spool, struct col_intake **out);
/* The callbacks the MQTT client and the sink are created with (arg: the flow). */
void col_flow_on_mqtt_msg(void *arg, const struct col_mqtt_msg *m);
void col_flow_on_mqtt_event(void *arg, enum col_mqtt_event ev, const char *why);
extern const struct col_sink_callbacks col_flow_sink_callbacks;
void col_flow_sink_on_state(void *arg, bool ok, const char *why);

/* Starts the flow (once the derived state is rebuilt): the journal's uncommitted records first,
 * read back in order, then the MQTT client's subscription. */
int col_flow_start(struct col_flow *f);
/* True once started and the journal found at start is replayed (derived ticks may run). */
bool col_flow_live(const struct col_flow *f);
/* Stops processing (a stop: no more messages are taken). */
void col_flow_stop(struct col_flow *f);
/* The one way points reach the sink (the flow's own, derived points, the console's): 'mark' is
 * the lowest journal record they came from. Returns 0, CT_E_FULL (dropped, counted) or an error. */
int col_flow_enqueue(struct col_flow *f, const char *lp, size_t len, uint64_t mark);
/* The highest seq such that every record at or below it is processed and not held. */
uint64_t col_flow_processed_through(const struct col_flow *f);
void col_flow_stats(const struct col_flow *f, struct col_flow_stats *out);
/* Before the app closes the sink: notes the final commit target and forgets the sink. */
void col_flow_seal(struct col_flow *f);
/* Closes the flow's handles; 'done' runs once they are closed. */
void col_flow_close(struct col_flow *f, void (*done)(void *arg), void *arg);
/* After the loop ended: writes the final checkpoint and commit, frees the flow. NULL is a no-op. */
void col_flow_free(struct col_flow *f);

#endif

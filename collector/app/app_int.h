/* app_int.h - the collector application's state, shared by the app's files only.
 *
 * The app owns every module and is the only place that knows the pipeline order, all on the loop:
 * MQTT client (col_mqtt) -> intake (group commit to the spool in a worker, then PUBACK)
 * -> flow (journal order: memory, or the journal when behind) -> pipeline -> sink
 * commit timer: checkpoint, then spool commit = min(processed, sink and derive low water - 1). */
#ifndef APP_INT_H
#define APP_INT_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_app.h"
#include "col_config.h"
#include "col_console.h"
#include "col_derive.h"
#include "col_tt10_in.h"
#include "col_tt10_writer.h"
#include "col_http.h"
#include "col_intake.h"
#include "col_mqtt.h"
#include "col_pipeline.h"
#include "col_quarantine.h"
#include "col_sink.h"
#include "col_spool.h"
#include "col_store.h"
#include "ct/buf.h"
#include "ct/registry.h"

#ifndef container_of
/* The struct that embeds 'ptr' as its member 'member'. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#define APP_DRAIN_BATCH 2048  /* messages processed per loop turn before yielding */
#define APP_REJECT_SLOTS 4096 /* distinct (reason, device) pairs counted between flushes */
#define APP_REJECT_FLUSH_MS 10000
#define APP_COMMIT_MS 250
#define APP_OVERFLOW_MAX (16u << 20) /* derived points held while the sink is full */
#define APP_RECORD_MAX (COL_MSG_HDR + COL_MSG_TOPIC_MAX + COL_MSG_SIG_MAX + COL_MSG_PAYLOAD_MAX)

struct app_reject_slot {
    uint8_t reason;             /* enum ct_reject */
    char device[CT_ID_MAX + 1]; /* "" when unknown */
    uint64_t count;
};

struct col_app {
    uv_loop_t *loop;
    struct col_app_opts opts;
    struct col_config cfg;
    struct ct_registry *registry;
    struct col_pipeline *pipeline;
    struct col_spool *spool;
    struct col_sink *sink;
    struct col_mqtt *mqtt;
    struct col_intake *intake;
    struct col_quarantine *quarantine;
    struct col_http *http;        /* public listener: map, layers, OGC API */
    struct col_http *http_staff;  /* staff listener: /healthz, /metrics */
    struct app_layers *layers;    /* the public layers (app_layers.c) */
    struct col_console *console;  /* the staff console (app_console.c); NULL when off */
    struct col_derive *derive;    /* app_derive.c */
    struct col_tt10_writer *tt10; /* app_tt10.c; NULL when tt10.out_dir is empty */
    struct col_tt10_in *tt10_in;  /* app_tt10.c; NULL when tt10.in_dir is empty */
    uint8_t tt10_master[256];     /* master key: signs incoming files' readings (app_tt10.c) */
    size_t tt10_master_len;
    uint64_t tt10_in_flagged; /* incoming values with status 01/02, kept out */
    uint64_t tt10_in_refused; /* incoming files the intake refused */
    uint64_t tt10_closed_low; /* app_tt10_low_water at the writer's close; 0: none */
    struct col_store *store;  /* the query client (app_store()): rebuild and layers */
    uv_timer_t tick_timer;    /* drives col_derive_tick */
    struct ct_buf overflow;   /* points waiting for room in the sink (bounded) */
    uint64_t overflow_mark;   /* the lowest mark in the overflow buffer (0: empty) */
    uint64_t alerts_unsent;   /* alerts the MQTT client's queue refused */
    uint64_t points_dropped;  /* points lost because the overflow buffer was full */
    bool rebuilding;          /* rebuild queries running: replay and ticks wait */
    int rebuild_pending;
    uint64_t rebuild_rows;
    uv_idle_t drain_idle;    /* continues a drain that yielded */
    uv_timer_t reader_timer; /* retries a journal read that failed */
    uv_timer_t commit_timer;
    uv_timer_t reject_timer;
    uv_timer_t stop_timer;     /* polls the sink's drain while stopping */
    uv_timer_t watchdog_timer; /* silent-subscription watchdog */
    uint64_t wd_messages;      /* messages counted at the last change */
    uint64_t wd_since;         /* loop time of the last change */
    uint64_t wd_reconnects;
    uint64_t stop_deadline;
    uv_signal_t sig_int;
    uv_signal_t sig_term;
    uv_signal_t sig_hup;
    int open_handles; /* counted close */

    /* The flow (app_flow.c): journal order. */
    bool flow_started;
    uint64_t next_seq;        /* the next journal record to process */
    uint64_t durable_seq;     /* the last record the intake made durable */
    uint64_t q_next_expected; /* the seq the intake's next group starts with */
    bool behind;              /* the memory queue is incomplete: read the journal */
    struct col_msg *q_head;   /* durable messages in memory, in journal order */
    struct col_msg *q_tail;
    size_t q_count;
    size_t q_bytes;
    struct col_spool_reader *reader; /* while behind */
    uint8_t *reader_buf;             /* APP_RECORD_MAX bytes */
    bool reader_failing;
    bool reader_fresh;     /* the reader was just opened: nothing read yet */
    uint64_t replay_until; /* the last record of the journal found at start (0 once replayed) */
    uint64_t replayed;
    uint64_t sub_refused;
    unsigned store_rejects_logged;
    uint64_t rejected_cut[CT_REJ__COUNT]; /* records journaled cut, by the reason given */

    struct col_msg *held;  /* a message whose points the sink refused (full); retried on room */
    struct ct_buf held_lp; /* its encoded points */
    bool sink_full;
    uint64_t committed;  /* the journal's commit point */
    uint64_t final_upto; /* the commit target computed when the sink closed */

    /* The checkpoint (app_ckpt.c). */
    uint64_t *vw; /* verdict bits of processed records after the commit point */
    size_t vw_cap;
    uint64_t vw_base; /* word index of vw[0] (bit i of word w: record 64 * w + i + 1) */
    bool vw_nomem;
    uint64_t ck_processed; /* the loaded checkpoint: P, C and verdicts */
    uint64_t ck_committed;
    uint64_t *ck_vw;
    uint64_t ck_vbase;
    uint64_t ck_nwords;
    uint64_t ck_last_p; /* P of the last checkpoint written */
    bool ckpt_busy;
    bool ckpt_failing;
    bool stopping_ckpt;
    uv_work_t ckpt_req;
    struct ct_buf ckpt_buf;
    uint64_t ckpt_p;
    uint64_t ckpt_c;
    uint64_t ckpt_at;
    int ckpt_errno;

    struct ct_buf lp; /* scratch for one message's points */
    struct app_reject_slot rejects[APP_REJECT_SLOTS];
    size_t nrejects;
    uint64_t reject_overflow;
    /* The log's summary of rejections since the last one (at most one line per flush period):
     * counts per reason, and the newest rejection's device and reason text as an example. */
    uint64_t rejlog_count[CT_REJ__COUNT];
    char rejlog_device[CT_ID_MAX + 1];
    char rejlog_why[160];
    enum ct_reject rejlog_reason;
    uint64_t quarantined;

    atomic_bool closing;
    atomic_bool mqtt_connected;
    int64_t started_ms;
    int exit_code;
};

/* app_flow.c */
void app_on_mqtt_msg(void *arg, const struct col_mqtt_msg *m);
void app_on_mqtt_event(void *arg, enum col_mqtt_event ev, const char *why);
int app_intake_create(struct col_app *app);
int app_flow_start(struct col_app *app);
uint64_t app_processed_through(const struct col_app *app);
uint64_t app_commit_target(struct col_app *app);
void app_drain_idle_cb(uv_idle_t *h);
void app_commit_cb(uv_timer_t *t);
void app_sink_on_room(void *arg);
void app_sink_on_reject(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                        int status, const char *reason);
void app_sink_on_state(void *arg, bool ok, const char *why);
void app_sink_on_auth_error(void *arg, int status, const char *reason);

/* app_ckpt.c */
int app_ckpt_load(struct col_app *app);
void app_ckpt_begin(struct col_app *app, uint64_t spool_commit);
bool app_ckpt_known(const struct col_app *app, uint64_t seq);
bool app_ckpt_accepted(const struct col_app *app, uint64_t seq);
void app_verdict_set(struct col_app *app, uint64_t seq, bool accepted);
void app_ckpt_commit(struct col_app *app, uint64_t upto);
void app_ckpt_final(struct col_app *app, uint64_t upto);
void app_count_reject(struct col_app *app, enum ct_reject reason, const char *device);
void app_reject_flush_cb(uv_timer_t *t);
int64_t app_now_ms(void);

/* app.c */
int app_store(struct col_app *app, struct col_store **out);

/* app_derive.c */
int app_enqueue(struct col_app *app, const char *lp, size_t len, uint64_t mark);
bool app_flush_overflow(struct col_app *app);
/* app_reload.c: SIGHUP, the registry and the reloadable config keys. */
void app_reload(struct col_app *app);
int app_derive_create(struct col_app *app);
int app_derive_rebuild(struct col_app *app);
void app_derive_close(struct col_app *app);
/* app_tt10.c: TT 10/2021 station files (docs/tt10.md). Create returns 0 when disabled. */
int app_tt10_create(struct col_app *app);
/* The lowest journal record the station files still need (UINT64_MAX: none); after close, the
 * value at close (the final commit keeps the open intervals' records). */
uint64_t app_tt10_low_water(const struct col_app *app);
void app_tt10_add(struct col_app *app, const struct ct_device *dev, const struct ct_reading *r,
                  const char *qc, uint64_t mark);
void app_tt10_tick(struct col_app *app, int64_t now_ms);
void app_tt10_close(struct col_app *app);
/* Keeps a copy of the master key (may be NULL) for signing incoming files' readings. */
void app_tt10_set_key(struct col_app *app, const uint8_t *master, size_t len);
/* After a registry reload. */
void app_tt10_registry(struct col_app *app);
/* The intake made the reading of an incoming file's ticket durable (app_flow.c's on_ack). */
void app_tt10_durable(struct col_app *app, uint64_t ticket);

/* app_layers.c */
int app_layers_routes(struct col_app *app);
void app_layers_close(struct col_app *app);

/* app_console.c: creates the console and adds its routes to the staff listener (nothing when
 * console.users_file is empty); closes it (app->open_handles counts it until closed). */
int app_console_start(struct col_app *app);
void app_console_close(struct col_app *app);
/* True for a journal record of the console's points (app_console.c): the flow sends its payload
 * to the sink as it is. */
bool app_console_record(const struct col_msg *m);

/* app_http.c */
int app_http_start(struct col_app *app);
/* Applies the reloadable http.* limits of app->cfg to both listeners (after a SIGHUP). */
void app_http_apply_limits(struct col_app *app);
/* Closes both listeners (app->open_handles counts them until closed). */
void app_http_close(struct col_app *app);
int app_metrics_render(struct col_app *app, struct ct_buf *out);

#endif

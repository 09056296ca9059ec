/* app_int.h - the collector application's state, shared by the app's files only.
 *
 * The app owns every module and is the only place that knows the pipeline order:
 * Paho thread: spool append -> ingest queue -> uv_async
 * loop: queue (or the journal, while replaying) -> pipeline -> sink (+ rejections, quarantine)
 * commit timer: spool commit = min(sink low water - 1, last processed). */
#ifndef APP_INT_H
#define APP_INT_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_app.h"
#include "col_config.h"
#include "col_derive.h"
#include "col_http.h"
#include "col_ingest.h"
#include "col_mq.h"
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
    struct col_ingest *ingest;
    struct col_quarantine *quarantine;
    struct col_http *http;       /* public listener: map, layers, OGC API */
    struct col_http *http_staff; /* staff listener: /healthz, /metrics */
    struct app_layers *layers;   /* the public layers (app_layers.c) */
    struct col_derive *derive;   /* app_derive.c */
    struct col_store *store;     /* the query client (app_store()): rebuild and layers */
    uv_timer_t tick_timer;       /* drives col_derive_tick */
    struct ct_buf overflow;      /* points waiting for room in the sink (bounded) */
    uint64_t overflow_mark;
    uint64_t last_mark;      /* the last mark given to the sink (marks never go back) */
    uint64_t points_dropped; /* points lost because the overflow buffer was full */
    bool rebuilding;         /* rebuild queries running: replay and ticks wait */
    int rebuild_pending;
    uint64_t rebuild_rows;
    struct col_mq mq;
    bool mq_ready;

    uv_async_t wake;      /* Paho thread -> loop */
    uv_idle_t drain_idle; /* continues a drain that yielded */
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

    struct col_spool_reader *replay; /* non-NULL while replaying the journal at start */
    uint8_t *replay_buf;
    uint64_t replayed;

    struct col_msg *held;  /* a message whose points the sink refused (full); retried on room */
    struct ct_buf held_lp; /* its encoded points */
    bool sink_full;
    uint64_t last_done_seq; /* every record <= this was processed (points at least enqueued) */
    uint64_t committed;

    struct ct_buf lp; /* scratch for one message's points */
    struct app_reject_slot rejects[APP_REJECT_SLOTS];
    size_t nrejects;
    uint64_t reject_overflow;
    uint64_t quarantined;

    atomic_bool closing;
    atomic_bool spool_full_alert; /* the spool refused: Paho thread is waiting for room */
    atomic_uint_fast64_t too_big; /* messages refused on Paho's thread (over 64 KiB) */
    atomic_uint_fast64_t spool_io_errors;
    atomic_bool mqtt_connected;
    int64_t started_ms;
    int exit_code;
};

/* app_flow.c */
int app_on_mqtt_msg(void *arg, const char *topic, size_t topic_len, const char *sig, size_t sig_len,
                    const void *payload, size_t payload_len);
void app_on_mqtt_state(void *arg, bool connected, const char *why);
void app_wake_cb(uv_async_t *h);
void app_drain_idle_cb(uv_idle_t *h);
void app_commit_cb(uv_timer_t *t);
void app_sink_on_room(void *arg);
void app_sink_on_reject(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                        int status, const char *reason);
void app_sink_on_auth_error(void *arg, int status, const char *reason);
int app_replay_start(struct col_app *app);
void app_count_reject(struct col_app *app, enum ct_reject reason, const char *device);
void app_reject_flush_cb(uv_timer_t *t);
int64_t app_now_ms(void);

/* app.c */
int app_store(struct col_app *app, struct col_store **out);

/* app_derive.c */
int app_enqueue(struct col_app *app, const char *lp, size_t len, uint64_t mark);
bool app_flush_overflow(struct col_app *app);
int app_derive_create(struct col_app *app);
int app_derive_rebuild(struct col_app *app);
void app_derive_close(struct col_app *app);

/* app_layers.c */
int app_layers_routes(struct col_app *app);
void app_layers_close(struct col_app *app);

/* app_http.c */
int app_http_start(struct col_app *app);
/* Applies the reloadable http.* limits of app->cfg to both listeners (after a SIGHUP). */
void app_http_apply_limits(struct col_app *app);
/* Closes both listeners (app->open_handles counts them until closed). */
void app_http_close(struct col_app *app);
int app_metrics_render(struct col_app *app, struct ct_buf *out);

#endif

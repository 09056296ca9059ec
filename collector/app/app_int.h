/* app_int.h - the wiring's state (struct col_app), shared by app.c (create, start, stop, close)
 * and app_reload.c (SIGHUP: it reaches every part, so it stays on the wiring's state) only.
 * Every other app file takes its own small context of borrowed pointers that app.c fills
 * (struct app_http_parts, app_metrics_src, app_derive_parts, app_tt10_parts, app_layers_parts,
 * app_console_parts; ownership in their headers) and may not include this header
 * (style_modules checks it); each app file declares its functions in its own header.
 *
 * The app owns every module, creates them, starts them in the documented order, stops and
 * closes them (app.c; docs/architecture.md). The ingest flow is collector/flow: MQTT client ->
 * intake (group commit to the spool in a worker, then PUBACK) -> flow (journal order) -> pipeline
 * -> sink. Calls run one way: app.c calls the other app files, they call the modules below, and
 * nothing calls back up except through callbacks set at create time (checked by style_modules). */
#ifndef APP_INT_H
#define APP_INT_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_config.h"
#include "col_console.h"
#include "col_derive.h"
#include "col_flow.h"
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

struct col_app {
    uv_loop_t *loop;
    const char *config_path; /* borrowed: the JSON config file (col_app_opts) */
    struct col_config cfg;
    struct ct_registry *registry;
    struct col_pipeline *pipeline;
    struct col_spool *spool;
    struct col_sink *sink;
    struct col_mqtt *mqtt;
    struct col_intake *intake;
    struct col_quarantine *quarantine;
    struct app_http *http_app;       /* both listeners (app_http.c) */
    struct app_metrics_src *metrics; /* what /metrics reads (app.c fills it; app_metrics.c) */
    struct col_http *http;       /* public listener: map, layers, OGC API (borrowed, http_app) */
    struct col_http *http_staff; /* staff listener: /healthz, /metrics (borrowed, http_app) */
    struct app_layers *layers;   /* the public layers (app_layers.c) */
    struct app_console *console_app; /* the staff console (app_console.c); NULL when off */
    struct col_console *console;     /* its console (borrowed: app_console_state) */
    struct app_derive *derived;      /* the derived flow (app_derive.c) */
    struct col_derive *derive;       /* its state (borrowed: app_derive_state) */
    bool derive_rebuilt;             /* its rebuild from the store is over (on_rebuilt) */
    struct app_tt10 *tt10;    /* TT 10 station files (app_tt10.c); NULL for the layers role */
    uint8_t tt10_master[256]; /* the master key until app_tt10_create copies it, then zeroed */
    size_t tt10_master_len;
    struct col_flow *flow;     /* the ingest flow (collector/flow); NULL for the layers role */
    struct col_store *store;   /* the query client (app.c): rebuild, layers, console */
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

    atomic_bool closing;
    int64_t started_ms;
    int exit_code;
};

#endif

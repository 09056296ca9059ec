/* app.c - collector start-up, signals, reload and orderly shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_console.h"
#include "app_derive.h"
#include "app_http.h"
#include "app_int.h"
#include "app_layers.h"
#include "app_reload.h"
#include "app_tt10.h"
#include "col_app.h"
#include "col_notify.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/sig.h"
#include "ct/key.h"

/* What the sink may still deliver at a stop; SIGTERM exits within 5 s whatever the store does
 * (tests/e2e/test_dur_spool_full.py). */
#define SHUTDOWN_DRAIN_MS 3000

/* Reads a master key file (ct_key_read_file: the one rule for key files). The file must not be
 * readable by group or others (e2e_security). The key is never logged. */
static int load_key_file(const char *path, uint8_t *key, size_t cap, size_t *klen)
{
    unsigned mode = 0;
    int rc = ct_key_read_file(path, CT_KEY_MASTER_MIN, key, cap, klen, &mode);

    if (rc == CT_E_IO) {
        col_log(COL_LOG_ERROR, "app", "master key file %s: %s", path, strerror(errno));
        return rc;
    }
    if ((mode & 077) != 0) {
        col_log(COL_LOG_ERROR, "app",
                "master key file %s: readable by group or others (mode %03o); chmod 600 it", path,
                mode & 0777);
        return CT_E_INVAL;
    }
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "app", "master key file %s: expected at least %d hex digits (%s)",
                path, 2 * CT_KEY_MASTER_MIN, ct_strerror(rc));
    }
    return rc;
}

static int load_keys(struct col_app *app, struct col_pipeline_cfg *pc, uint8_t key[2][256])
{
    const struct col_config *c = &app->cfg;
    int rc;

    /* The key file, when configured, wins: the environment variable is the fallback, so a stray
     * variable cannot silently replace a configured key (docs/config.md). */
    if (c->security_master_key_file[0] != '\0') {
        rc = load_key_file(c->security_master_key_file, key[0], 256, &pc->master_len);
        if (rc != 0) {
            return rc;
        }
        pc->master = key[0];
    } else if (c->security_master_key_env[0] != '\0' &&
               getenv(c->security_master_key_env) != NULL) {
        const char *v = getenv(c->security_master_key_env);
        rc = ct_key_parse(v, strlen(v), CT_KEY_MASTER_MIN, key[0], 256, &pc->master_len);
        if (rc != 0) {
            col_log(COL_LOG_ERROR, "app", "environment variable %s: expected hex digits",
                    c->security_master_key_env);
            return rc;
        }
        pc->master = key[0];
    }
    if (c->security_previous_master_key_file[0] != '\0') {
        rc = load_key_file(c->security_previous_master_key_file, key[1], 256, &pc->prev_master_len);
        if (rc != 0) {
            return rc;
        }
        pc->prev_master = key[1];
    }
    if (c->security_require_signatures && pc->master == NULL) {
        col_log(COL_LOG_ERROR, "app",
                "signatures are required but no master key was given "
                "(security.master_key_file or security.master_key_env)");
        return CT_E_INVAL;
    }
    return 0;
}

static int load_registry(const char *path, struct ct_registry **out)
{
    char err[512];
    int rc = ct_registry_load(path, out, err, sizeof(err));

    if (rc != 0) {
        col_log(COL_LOG_ERROR, "registry", "%s", err);
    }
    return rc;
}

static void spool_log(void *arg, const char *msg)
{
    (void)arg;
    col_log(COL_LOG_WARN, "spool", "%s", msg);
}

static int open_spool(struct col_app *app)
{
    const struct col_config *c = &app->cfg;
    struct col_spool_cfg sc;

    memset(&sc, 0, sizeof(sc));
    sc.dir = c->spool_dir;
    sc.segment_bytes = (uint64_t)c->spool_segment_bytes;
    sc.max_total_bytes = (uint64_t)c->spool_max_bytes;
    sc.max_record_bytes = COL_FLOW_RECORD_MAX;
    sc.fsync = c->spool_fsync == COL_CFG_FSYNC_ALWAYS ? COL_SPOOL_FSYNC_ALWAYS
               : c->spool_fsync == COL_CFG_FSYNC_NONE ? COL_SPOOL_FSYNC_NONE
                                                      : COL_SPOOL_FSYNC_INTERVAL;
    sc.fsync_interval_ms = (uint32_t)c->spool_fsync_interval_ms;
    sc.full = c->spool_full_policy == COL_CFG_FULL_DROP_OLDEST ? COL_SPOOL_FULL_DROP_OLDEST
                                                               : COL_SPOOL_FULL_REFUSE;
    sc.min_free_bytes = (uint64_t)c->spool_min_free_bytes;
    sc.log = spool_log;
    return col_spool_open(&sc, &app->spool);
}

static const char *precision_name(int p)
{
    static const char *const names[] = {"s", "ms", "u", "ns"};
    return p >= 0 && p < 4 ? names[p] : "ms";
}

static int create_sink(struct col_app *app)
{
    const struct col_config *c = &app->cfg;
    struct col_sink_cfg sc;

    memset(&sc, 0, sizeof(sc));
    sc.url = c->influx_url;
    sc.api_version = (int)c->influx_api;
    sc.db = c->influx_db;
    sc.rp = c->influx_rp;
    sc.user = c->influx_username[0] ? c->influx_username : NULL;
    sc.password = c->influx_password[0] ? c->influx_password : NULL;
    sc.org = c->influx_org;
    sc.bucket = c->influx_bucket;
    sc.token = c->influx_token[0] ? c->influx_token : NULL;
    sc.precision = precision_name(c->influx_precision);
    sc.gzip = c->influx_gzip;
    sc.batch_max_points = (size_t)c->influx_batch_max_points;
    sc.batch_max_bytes = (size_t)c->influx_batch_max_bytes;
    sc.flush_ms = (uint64_t)c->influx_flush_ms;
    sc.max_inflight = (unsigned)c->influx_max_inflight;
    sc.connect_timeout_ms = (long)c->influx_connect_timeout_ms;
    sc.total_timeout_ms = (long)c->influx_timeout_ms;
    sc.max_pending_bytes = (size_t)c->influx_max_pending_bytes;
    sc.retry_base_ms = (uint64_t)c->influx_retry_base_ms;
    sc.retry_max_ms = (uint64_t)c->influx_retry_max_ms;
    int rc = col_sink_create(app->loop, &sc, &col_flow_sink_callbacks, app->flow, &app->sink);
    if (rc == 0) {
        col_sink_set_state_cb(app->sink, col_flow_sink_on_state, app->flow);
    }
    return rc;
}

/* Reads mqtt.password_file (first line, at most 1 KiB; the file must not be readable by group or
 * others) into 'out'. Returns 0, CT_E_IO or CT_E_INVAL; the password is never logged. */
static int read_password_file(const char *path, char *out, size_t cap)
{
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        col_log(COL_LOG_ERROR, "ingest", "mqtt.password_file %s: %s", path, strerror(errno));
        return CT_E_IO;
    }
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        col_log(COL_LOG_ERROR, "ingest",
                "mqtt.password_file %s: readable by group or others (mode %03o); chmod 600 it",
                path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return CT_E_INVAL;
    }
    n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0) {
        return CT_E_IO;
    }
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* The one InfluxDB query client of the process (state rebuild at start, public layers, the
 * console's reports): app->store. Returns 0 or a CT_E_* code. */
static int create_store(struct col_app *app)
{
    struct col_store_cfg sc = {
        .url = app->cfg.store_query_url[0] ? app->cfg.store_query_url : app->cfg.influx_url,
        .db = app->cfg.influx_db,
        .user = app->cfg.influx_username[0] ? app->cfg.influx_username : NULL,
        .password = app->cfg.influx_password[0] ? app->cfg.influx_password : NULL,
        .epoch = "ms",
        .timeout_ms = 15000,
        .max_response_bytes = 64u << 20};
    int rc = col_store_create(app->loop, &sc, &app->store);

    if (rc != 0) {
        col_log(COL_LOG_ERROR, "store", "cannot create the query client: %s", ct_strerror(rc));
    }
    return rc;
}

static void on_store_closed(void *arg)
{
    struct col_app *app = arg;

    app->open_handles--;
}

/* The MQTT client: telemetry and status, QoS per mqtt.qos; nothing is acknowledged before the
 * intake has the message in the journal (collector/intake; proved by test_intake and
 * e2e_dur_kill). */
static int create_mqtt(struct col_app *app)
{
    const struct col_config *c = &app->cfg;
    struct col_mqtt_cfg mc;
    char password[1024];
    char up[300];
    char status[300];
    const char *share = c->mqtt_share_group;
    struct col_mqtt_sub subs[2];
    int rc;

    memset(&mc, 0, sizeof(mc));
    mc.uri = c->mqtt_uri;
    mc.client_id = c->mqtt_client_id;
    mc.username = c->mqtt_username;
    mc.password = c->mqtt_password;
    if (c->mqtt_password_file[0] != '\0') {
        rc = read_password_file(c->mqtt_password_file, password, sizeof(password));
        if (rc != 0) {
            return rc;
        }
        mc.password = password;
    }
    mc.ca_file = c->mqtt_ca_file;
    mc.cert_file = c->mqtt_cert_file;
    mc.key_file = c->mqtt_key_file;
    mc.keepalive_s = (unsigned)c->mqtt_keepalive_s;
    mc.session_expiry_s = (uint32_t)c->mqtt_session_expiry_s;
    mc.receive_max = (uint16_t)c->mqtt_receive_max;
    if (share[0] != '\0') {
        snprintf(up, sizeof(up), "$share/%s/city/v1/+/+/up", share);
        snprintf(status, sizeof(status), "$share/%s/city/v1/+/+/status", share);
    } else {
        snprintf(up, sizeof(up), "city/v1/+/+/up");
        snprintf(status, sizeof(status), "city/v1/+/+/status");
    }
    /* Telemetry: retained messages are never sent again on a resubscription (retain handling
     * 2); status: the retained last state is wanted (0). */
    subs[0] = (struct col_mqtt_sub){up, (uint8_t)c->mqtt_qos, 2};
    subs[1] = (struct col_mqtt_sub){status, (uint8_t)c->mqtt_qos, 0};
    rc = col_mqtt_create(app->loop, &mc, subs, 2, col_flow_on_mqtt_msg, col_flow_on_mqtt_event,
                         app->flow, &app->mqtt);
    memset(password, 0, sizeof(password));
    return rc;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct col_app *app = h->data;

    app->open_handles--;
}

static void close_handle(struct col_app *app, uv_handle_t *h)
{
    if (h->loop != NULL && !uv_is_closing(h)) {
        h->data = app;
        app->open_handles++;
        uv_close(h, on_handle_closed);
    }
}

static void on_sink_closed(void *arg)
{
    struct col_app *app = arg;

    app->open_handles--;
}

static void on_part_closed(void *arg)
{
    struct col_app *app = arg;

    app->open_handles--;
}

/* Close: every module in order; the loop ends when the last handle is closed. */
static void app_close(struct col_app *app)
{
    /* The query client first: it answers every running query (rebuild, layers) with CT_E_STATE
     * before the layers free their state. */
    if (app->store != NULL) {
        app->open_handles++;
        col_store_close(app->store, on_store_closed, app);
        app->store = NULL;
    }
    if (app->console_app != NULL) {
        app->open_handles++;
        app_console_close(app->console_app);
        app->console_app = NULL;
        app->console = NULL;
    }
    if (app->derived != NULL) {
        app->open_handles++;
        app_derive_close(app->derived);
    }
    if (app->tt10 != NULL) {
        app->open_handles++;
        app_tt10_close(app->tt10);
    }
    if (app->sink != NULL) {
        col_flow_seal(app->flow);
        app->open_handles++;
        col_sink_close(app->sink, on_sink_closed, app);
        app->sink = NULL;
    }
    app_layers_close(app->layers);
    app->layers = NULL;
    if (app->http_app != NULL) {
        app->open_handles++;
        app_http_close(app->http_app);
        app->http_app = NULL;
        app->http = app->http_staff = NULL;
    }
    if (app->flow != NULL) {
        app->open_handles++;
        col_flow_close(app->flow, on_part_closed, app);
    }
    close_handle(app, (uv_handle_t *)&app->stop_timer);
    close_handle(app, (uv_handle_t *)&app->watchdog_timer);
    close_handle(app, (uv_handle_t *)&app->sig_int);
    close_handle(app, (uv_handle_t *)&app->sig_term);
    close_handle(app, (uv_handle_t *)&app->sig_hup);
}

/* Polled while stopping: closes everything once the sink holds nothing or the deadline passed.
 * Whatever was not delivered stays in the journal for the next start. */
static void on_stop_tick(uv_timer_t *t)
{
    struct col_app *app = container_of(t, struct col_app, stop_timer);

    if (app->sink != NULL && col_sink_low_water(app->sink) != UINT64_MAX &&
        uv_now(app->loop) < app->stop_deadline) {
        return;
    }
    if (app->sink != NULL && col_sink_low_water(app->sink) != UINT64_MAX) {
        col_log(COL_LOG_WARN, "app", "stopping with undelivered points; they stay in the spool");
    }
    uv_timer_stop(t);
    app_close(app);
}

/* Stops taking messages, gives the sink a bounded time to deliver what it holds, then closes. */
static void app_stop(struct col_app *app)
{
    if (atomic_exchange(&app->closing, true)) {
        return;
    }
    col_log(COL_LOG_INFO, "app", "stopping: no more MQTT messages are taken");
    /* The broker keeps every message not yet acknowledged; the journal keeps every message not
     * yet committed: both come back at the next start (e2e_dur_kill, e2e_dur_replay). */
    if (app->mqtt != NULL) {
        app->open_handles++;
        col_mqtt_close(app->mqtt, on_part_closed, app);
    }
    if (app->intake != NULL) {
        app->open_handles++;
        col_intake_close(app->intake, on_part_closed, app);
    }
    col_flow_stop(app->flow);
    if (app->sink != NULL && app->stop_timer.loop != NULL) {
        col_sink_flush(app->sink);
        app->stop_deadline = uv_now(app->loop) + SHUTDOWN_DRAIN_MS;
        uv_timer_start(&app->stop_timer, on_stop_tick, 0, 50);
        return;
    }
    app_close(app);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
    struct col_app *app = s->data;

    col_log(COL_LOG_INFO, "app", "signal %d", signum);
    (void)col_notify("STOPPING=1");
    app_stop(app);
}

/* SIGHUP: app_reload.c. */
static void on_hup(uv_signal_t *s, int signum)
{
    (void)signum;
    app_reload(s->data);
}

/* A subscription can stay connected and still deliver nothing (a broker that lost it, a
 * half-open connection): after mqtt.silence_reconnect_s without a message, reconnect (the
 * on-connect handler subscribes again). */
static void on_watchdog(uv_timer_t *t)
{
    struct col_app *app = container_of(t, struct col_app, watchdog_timer);
    struct col_mqtt_stats st;
    uint64_t now = uv_now(app->loop);

    if (app->mqtt == NULL || atomic_load(&app->closing)) {
        return;
    }
    col_mqtt_stats(app->mqtt, &st);
    /* A paused subscription is silent on purpose. */
    if (st.received != app->wd_messages || !st.up || st.paused) {
        app->wd_messages = st.received;
        app->wd_since = now;
        return;
    }
    if (now - app->wd_since >= (uint64_t)app->cfg.mqtt_silence_reconnect_s * 1000) {
        col_log(COL_LOG_WARN, "ingest",
                "no message for %lld s while connected; reconnecting and subscribing again",
                (long long)app->cfg.mqtt_silence_reconnect_s);
        app->wd_reconnects++;
        app->wd_since = now;
        col_mqtt_reconnect(app->mqtt, "watchdog: silent subscription");
    }
}

static int start_handles(struct col_app *app)
{
    int rc = uv_timer_init(app->loop, &app->stop_timer);

    rc = rc ? rc : uv_timer_init(app->loop, &app->watchdog_timer);
    rc = rc ? rc : uv_signal_init(app->loop, &app->sig_int);
    rc = rc ? rc : uv_signal_init(app->loop, &app->sig_term);
    rc = rc ? rc : uv_signal_init(app->loop, &app->sig_hup);
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "app", "libuv: %s", uv_strerror(rc));
        return CT_E_IO;
    }
    app->sig_int.data = app;
    app->sig_term.data = app;
    app->sig_hup.data = app;
    uv_signal_start(&app->sig_int, on_stop_signal, SIGINT);
    uv_signal_start(&app->sig_term, on_stop_signal, SIGTERM);
    uv_signal_start(&app->sig_hup, on_hup, SIGHUP);
    return 0;
}

/* Start-up, step 6: the derived state is rebuilt; the flow replays the journal, then subscribes. */
static void on_rebuilt(void *arg)
{
    struct col_app *app = arg;

    app->derive_rebuilt = true;
    if (col_flow_start(app->flow) != 0) {
        col_log(COL_LOG_ERROR, "app", "cannot start the message flow");
    }
}

/* The derived flow's tick: the TT 10 station files close their intervals. */
static void on_derive_tick(void *arg, int64_t now_ms)
{
    struct col_app *app = arg;

    app_tt10_tick(app->tt10, now_ms);
}

/* The flow's hooks: the TT 10 station files take accepted readings, learn that an incoming file's
 * reading is durable, and hold the journal while their intervals are open. */
static void on_flow_reading(void *arg, const struct ct_device *dev, const struct ct_reading *r,
                            const char *qc, uint64_t mark)
{
    struct col_app *app = arg;

    app_tt10_add(app->tt10, dev, r, qc, mark);
}

static void on_flow_local_ack(void *arg, uint64_t ticket)
{
    struct col_app *app = arg;

    app_tt10_durable(app->tt10, ticket);
}

static uint64_t flow_low_water(void *arg)
{
    const struct col_app *app = arg;

    return app_tt10_low_water(app->tt10);
}

/* The TT 10 station files (app_tt10.c): app->tt10; the master key is copied there and zeroed
 * here. */
static int create_tt10(struct col_app *app)
{
    struct app_tt10_parts tp = {.loop = app->loop,
                                .cfg = &app->cfg,
                                .intake = app->intake,
                                .master = app->tt10_master_len > 0 ? app->tt10_master : NULL,
                                .master_len = app->tt10_master_len,
                                .on_closed = on_part_closed,
                                .arg = app};
    int rc = app_tt10_create(&tp, app->registry, &app->tt10);

    memset(app->tt10_master, 0, sizeof(app->tt10_master));
    app->tt10_master_len = 0;
    return rc;
}

/* The derived flow (app_derive.c): app->derived, and its state app->derive for the other parts. */
static int create_derive(struct col_app *app)
{
    struct app_derive_parts dp = {.loop = app->loop,
                                  .cfg = &app->cfg,
                                  .flow = app->flow,
                                  .mqtt = app->mqtt,
                                  .store = app->store,
                                  .closing = &app->closing,
                                  .on_tick = on_derive_tick,
                                  .on_rebuilt = on_rebuilt,
                                  .on_closed = on_part_closed,
                                  .arg = app};
    int rc = app_derive_create(&dp, app->registry, &app->derived);

    app->derive = app_derive_state(app->derived);
    return rc;
}

/* The ingest side: spool, quarantine, queue, sink, MQTT client (not for the layers role). */
static int start_ingest_side(struct col_app *app)
{
    int rc = open_spool(app);

    if (rc != 0) {
        col_log(COL_LOG_ERROR, "spool", "cannot open the spool in %s: %s", app->cfg.spool_dir,
                ct_strerror(rc));
        return rc;
    }
    if (app->cfg.quarantine_path[0] != '\0') {
        struct col_quarantine_cfg qc = {.path = app->cfg.quarantine_path,
                                        .max_bytes = (uint64_t)app->cfg.quarantine_max_bytes,
                                        .keep = (unsigned)app->cfg.quarantine_files,
                                        .max_payload_bytes = 16384};
        rc = col_quarantine_open(&qc, &app->quarantine);
        if (rc != 0) {
            col_log(COL_LOG_ERROR, "quarantine", "cannot open %s: %s", app->cfg.quarantine_path,
                    ct_strerror(rc));
            return rc;
        }
    }
    struct col_flow_cfg fc = {
        .pipeline = app->pipeline,
        .spool_dir = app->cfg.spool_dir,
        .ckpt_sync = app->cfg.spool_fsync != COL_CFG_FSYNC_NONE,
        .group_max_records = (size_t)app->cfg.ingest_group_max_records,
        .group_max_bytes = (size_t)app->cfg.ingest_group_max_bytes,
        .on_reading = on_flow_reading,
        .on_local_ack = on_flow_local_ack,
        .low_water = flow_low_water,
        .arg = app,
    };
    rc = col_flow_create(app->loop, &fc, &app->flow);
    if (rc != 0) {
        return rc;
    }
    rc = col_flow_create_intake(app->flow, app->spool, &app->intake);
    if (rc != 0) {
        return rc;
    }
    rc = create_sink(app);
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "sink", "cannot create the store client: %s", ct_strerror(rc));
        return rc;
    }
    rc = create_mqtt(app);
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "ingest", "cannot create the MQTT client: %s", ct_strerror(rc));
        return rc;
    }
    rc = create_derive(app);
    if (rc != 0) {
        return rc;
    }
    rc = create_tt10(app);
    if (rc != 0) {
        return rc;
    }
    if (app->cfg.mqtt_silence_reconnect_s > 0) {
        uv_timer_start(&app->watchdog_timer, on_watchdog, 5000, 5000);
    }
    return 0;
}

/* The console's correction of the live rain sums (col_derive_rain_adjust), once derive has
 * rebuilt its ring from the store: before that the rebuild would overwrite it (CT_E_AGAIN: the
 * console's job tries again at its next run). The layers role has no derive: nothing to correct. */
static int app_rain_adjust(void *arg, const char *id, const int64_t *ts_ms, const double *mm,
                           size_t n, int sign, int64_t validated_until_ms)
{
    struct col_app *app = arg;

    if (app->derive == NULL) {
        return 0;
    }
    if (!app->derive_rebuilt) {
        return CT_E_AGAIN;
    }
    return col_derive_rain_adjust(app->derive, id, ts_ms, mm, n, sign, validated_until_ms);
}

/* The staff console (app_console.c): app->console_app, and its console app->console for the flow
 * and the reload. */
static int http_staff_routes(void *arg)
{
    struct col_app *app = arg;
    struct app_console_parts cp = {.loop = app->loop,
                                   .cfg = &app->cfg,
                                   .registry = app->registry,
                                   .store = app->store,
                                   .http_staff = app->http_staff,
                                   .intake = app->intake,
                                   .derive = app->derive,
                                   .closing = &app->closing,
                                   .publish = app_alert_publish,
                                   .publish_arg = app->derived,
                                   .rain_adjust = app_rain_adjust,
                                   .rain_adjust_arg = app,
                                   .on_closed = on_part_closed,
                                   .arg = app};
    int rc = app_console_start(&cp, &app->console_app);

    app->console = app_console_state(app->console_app);
    return rc;
}

/* The public layers and the OGC API (app_layers.c): app->layers. */
static int http_public_routes(void *arg)
{
    struct col_app *app = arg;
    struct app_layers_parts lp = {
        .cfg = &app->cfg, .registry = &app->registry, .store = app->store, .http = app->http};

    return app_layers_start(&lp, &app->layers);
}

static void on_http_closed(void *arg)
{
    struct col_app *app = arg;

    app->open_handles--;
}

/* The HTTP surfaces (app_start, step 3): both listeners, what /metrics reads (app->metrics, owned
 * by the app), the console's and the layers' routes. */
static int start_http(struct col_app *app)
{
    struct app_http_parts hp = {.loop = app->loop,
                                .cfg = &app->cfg,
                                .flow = app->flow,
                                .sink = app->sink,
                                .spool = app->spool,
                                .intake = app->intake,
                                .derive = app->derive,
                                .staff_routes = http_staff_routes,
                                .public_routes = http_public_routes,
                                .on_closed = on_http_closed,
                                .arg = app};
    const struct app_tt10_counts *tt10_counts = app_tt10_counts(app->tt10);
    int rc;

    app->metrics = calloc(1, sizeof(*app->metrics));
    if (app->metrics == NULL) {
        return CT_E_NOMEM;
    }
    hp.metrics = app->metrics;
    rc = app_http_create(&hp, &app->http_app);
    if (rc != 0) {
        return rc;
    }
    app->http = app_http_public(app->http_app);
    app->http_staff = app_http_staff(app->http_app);
    *app->metrics = (struct app_metrics_src){
        .cfg = &app->cfg,
        .registry = &app->registry,
        .pipeline = app->pipeline,
        .flow = app->flow,
        .spool = app->spool,
        .sink = app->sink,
        .mqtt = app->mqtt,
        .intake = app->intake,
        .derive = app->derive,
        .tt10 = app_tt10_writer(app->tt10),
        .tt10_in = app_tt10_in(app->tt10),
        .http = app->http,
        .http_staff = app->http_staff,
        .tt10_in_flagged = tt10_counts != NULL ? &tt10_counts->in_flagged : NULL,
        .tt10_in_refused = tt10_counts != NULL ? &tt10_counts->in_refused : NULL,
        .wd_reconnects = &app->wd_reconnects,
        .started_ms = app->started_ms};
    return app_http_start(app->http_app);
}

/* Create: loads the config, the registry and the keys, and makes the pipeline; nothing touches
 * the network or the spool yet. Returns 0 or a CT_E_* code (the reason was logged). */
static int app_create(struct col_app *app)
{
    struct col_pipeline_cfg pc;
    uint8_t keys[2][256];
    char err[COL_CONFIG_ERR_MAX];
    int rc;

    rc = col_config_load(app->config_path, &app->cfg, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "config", "%s", err);
        return rc;
    }
    col_log_set_level((enum col_log_level)app->cfg.log_level);
    rc = load_registry(app->cfg.registry_path, &app->registry);
    if (rc != 0) {
        return rc;
    }
    if (app->cfg.collector_role != COL_CFG_ROLE_LAYERS) {
        memset(&pc, 0, sizeof(pc));
        rc = load_keys(app, &pc, keys);
        if (rc != 0) {
            return rc;
        }
        /* For app_tt10_create, which copies it (signing incoming files' readings). */
        if (pc.master != NULL && pc.master_len <= sizeof(app->tt10_master)) {
            memcpy(app->tt10_master, pc.master, pc.master_len);
            app->tt10_master_len = pc.master_len;
        }
        pc.require_sig = app->cfg.security_require_signatures;
        pc.future_ms = app->cfg.validate_future_ms;
        pc.backlog_ms = app->cfg.validate_backlog_ms;
        pc.replay_window = (uint32_t)app->cfg.validate_replay_window;
        pc.max_devices = 4 * ct_registry_count(app->registry) + 1024;
        rc = col_pipeline_create(&pc, &app->pipeline);
        memset(keys, 0, sizeof(keys));
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Start, in this order (docs/architecture.md, "Start-up and shutdown"):
 * 1. signals and the stop and watchdog timers; the query client (app->store);
 * 2. the ingest side: spool, quarantine, flow (its checkpoint), intake, sink, MQTT client
 *    (created, not connected), derived data, TT 10 files;
 * 3. the HTTP surfaces: both listeners, the layers, the console;
 * 4. the flow gets its parts; the rebuild queries start; when all have answered (on_rebuilt) the
 *    flow replays the journal's uncommitted records and then subscribes. */
static int app_start(struct col_app *app)
{
    int rc = start_handles(app);

    if (rc != 0) {
        return rc;
    }
    rc = create_store(app);
    if (rc != 0) {
        return rc;
    }
    if (app->cfg.collector_role != COL_CFG_ROLE_LAYERS) {
        rc = start_ingest_side(app);
        if (rc != 0) {
            return rc;
        }
    }
    rc = start_http(app);
    if (rc != 0) {
        return rc;
    }
    if (app->flow != NULL) {
        struct col_flow_parts parts = {.registry = app->registry,
                                       .pipeline = app->pipeline,
                                       .spool = app->spool,
                                       .sink = app->sink,
                                       .mqtt = app->mqtt,
                                       .intake = app->intake,
                                       .quarantine = app->quarantine,
                                       .derive = app->derive,
                                       .console = app->console};
        col_flow_set_parts(app->flow, &parts);
    }
    col_log(COL_LOG_INFO, "app", "collector %s started: %zu devices, store %s, broker %s",
            app->cfg.collector_instance, ct_registry_count(app->registry), app->cfg.influx_url,
            app->cfg.mqtt_uri);
    if (app->cfg.collector_role == COL_CFG_ROLE_LAYERS) {
        return 0;
    }
    return app_derive_start(app->derived);
}

/* A zeroed app on 'loop' (initialised here); NULL when either fails. Free with free() after
 * uv_loop_close(). */
static struct col_app *app_alloc(uv_loop_t *loop)
{
    struct col_app *app = calloc(1, sizeof(*app));

    if (app == NULL || uv_loop_init(loop) != 0) {
        free(app);
        return NULL;
    }
    app->loop = loop;
    return app;
}

/* After the loop ended (every handle closed): the flow's final checkpoint and commit, then
 * frees what create and start made. */
static void app_free(struct col_app *app)
{
    col_flow_free(app->flow);
    app_tt10_free(app->tt10);
    col_mqtt_free(app->mqtt);
    col_intake_free(app->intake);
    col_spool_close(app->spool);
    col_quarantine_close(app->quarantine);
    col_pipeline_free(app->pipeline);
    app_derive_free(app->derived);
    ct_registry_free(app->registry);
    col_config_free(&app->cfg);
    free(app->metrics);
    memset(app->tt10_master, 0, sizeof(app->tt10_master)); /* when start-up stopped before */
}

int col_app_run(const struct col_app_opts *opts)
{
    uv_loop_t loop;
    struct col_app *app = app_alloc(&loop);
    int rc;

    if (app == NULL) {
        return 1;
    }
    app->config_path = opts->config_path;
    app->started_ms = col_now_ms();
    rc = app_create(app);
    rc = rc ? rc : app_start(app);
    if (rc != 0) {
        app->exit_code = 1;
        col_log(COL_LOG_ERROR, "app", "start-up failed: %s", ct_strerror(rc));
        app_stop(app);
    } else if (col_notify("READY=1") != 0) {
        /* systemd's Type=notify (packaging/citytel-collector.service). */
        col_log(COL_LOG_WARN, "app", "cannot notify $NOTIFY_SOCKET of readiness");
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    app_free(app);
    rc = uv_loop_close(&loop);
    if (rc != 0) {
        col_log(COL_LOG_WARN, "app", "loop closed with handles open: %s", uv_err_name(rc));
    }
    rc = app->exit_code;
    free(app);
    return rc;
}

/* `collector check-config`: loads what app_create loads before it touches the network or the disk
 * (the config, the registry, the key files, the MQTT password file, URI and TLS files) through
 * the same functions, so a file that would stop `run` stops the check, with the same message
 * naming the file (and for the registry, the line). tests/e2e/test_check_config.py. */
int col_app_check(const struct col_app_opts *opts)
{
    uv_loop_t loop;
    struct col_app *app = app_alloc(&loop);
    struct col_pipeline_cfg pc;
    uint8_t keys[2][256];
    char err[COL_CONFIG_ERR_MAX];
    int rc;

    if (app == NULL) {
        return 1;
    }
    rc = col_config_load(opts->config_path, &app->cfg, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "config", "%s", err);
        goto done;
    }
    rc = load_registry(app->cfg.registry_path, &app->registry);
    if (rc == 0 && app->cfg.collector_role != COL_CFG_ROLE_LAYERS) {
        memset(&pc, 0, sizeof(pc));
        rc = load_keys(app, &pc, keys);
        memset(keys, 0, sizeof(keys));
        rc = rc ? rc : create_mqtt(app); /* password file, URI, TLS files; nothing is sent */
    }
    if (rc == 0) {
        printf("%s: ok (%zu devices in %s)\n", opts->config_path, ct_registry_count(app->registry),
               app->cfg.registry_path);
    }
    col_mqtt_free(app->mqtt);
    ct_registry_free(app->registry);
    col_config_free(&app->cfg);
done:
    (void)uv_loop_close(&loop);
    free(app);
    return rc == 0 ? 0 : 1;
}

/* app_reload.c - SIGHUP: reload the registry and the reloadable config keys without dropping a
 * message (the pipeline switches registries between two messages on this same thread).
 *
 * Every key flagged reloadable in config_table.c has an entry in 'appliers' below that hands the
 * new value to the module that uses it; a changed key is logged "reload: <key> changed and
 * applied". A changed key that needs a restart is logged "reload: <key> changed; needs a
 * restart; kept" and its running value stays. Each key's effect is proved by
 * tests/e2e/test_reload_keys.py. Loop thread only. */
#include <string.h>

#include "app_http.h"
#include "app_reload.h"
#include "app_tt10.h"
#include "col_obs.h"
#include "ct/err.h"

/* Hands the (already copied) value of one key in app->cfg to its module. */
typedef void (*app_apply_fn)(struct col_app *app);
/* True when the change from app->cfg to 'next' can be applied now; NULL: always. */
typedef bool (*app_can_fn)(const struct col_app *app, const struct col_config *next);

struct applier {
    const char *key;
    app_apply_fn apply; /* NULL: the module reads app->cfg at each use */
    app_can_fn can;
};

static void apply_log_level(struct col_app *app)
{
    col_log_set_level((enum col_log_level)app->cfg.log_level);
}

/* The watchdog timer is started at start-up only when mqtt.silence_reconnect_s > 0: a change from
 * 0 to a period cannot restart a timer that never had its callback. */
static bool can_watchdog(const struct col_app *app, const struct col_config *next)
{
    return app->mqtt == NULL || next->mqtt_silence_reconnect_s == 0 ||
           uv_timer_get_repeat(&app->watchdog_timer) > 0;
}

static void apply_watchdog(struct col_app *app)
{
    if (app->mqtt == NULL) {
        return;
    }
    if (app->cfg.mqtt_silence_reconnect_s == 0) {
        uv_timer_stop(&app->watchdog_timer);
    } else if (!uv_is_active((const uv_handle_t *)&app->watchdog_timer)) {
        app->wd_since = uv_now(app->loop);
        uv_timer_again(&app->watchdog_timer);
    }
}

static void apply_validate(struct col_app *app)
{
    col_pipeline_set_time_window(app->pipeline, app->cfg.validate_future_ms,
                                 app->cfg.validate_backlog_ms);
}

static void apply_sink(struct col_app *app)
{
    const struct col_config *c = &app->cfg;
    struct col_sink_cfg sc;

    if (app->sink == NULL) {
        return;
    }
    memset(&sc, 0, sizeof(sc));
    sc.batch_max_points = (size_t)c->influx_batch_max_points;
    sc.batch_max_bytes = (size_t)c->influx_batch_max_bytes;
    sc.flush_ms = (uint64_t)c->influx_flush_ms;
    sc.max_inflight = (unsigned)c->influx_max_inflight;
    sc.connect_timeout_ms = (long)c->influx_connect_timeout_ms;
    sc.total_timeout_ms = (long)c->influx_timeout_ms;
    sc.retry_base_ms = (uint64_t)c->influx_retry_base_ms;
    sc.retry_max_ms = (uint64_t)c->influx_retry_max_ms;
    col_sink_set_tunables(app->sink, &sc);
}

static void apply_liveness(struct col_app *app)
{
    col_derive_set_stale_intervals(app->derive, (uint32_t)app->cfg.liveness_stale_intervals);
}

static void apply_http(struct col_app *app)
{
    app_http_apply_limits(app->http_app);
}

static const struct applier appliers[] = {
    {"log.level", apply_log_level, NULL},
    {"mqtt.silence_reconnect_s", apply_watchdog, can_watchdog},
    {"validate.future_ms", apply_validate, NULL},
    {"validate.backlog_ms", apply_validate, NULL},
    {"influx.batch_max_points", apply_sink, NULL},
    {"influx.batch_max_bytes", apply_sink, NULL},
    {"influx.flush_ms", apply_sink, NULL},
    {"influx.max_inflight", apply_sink, NULL},
    {"influx.connect_timeout_ms", apply_sink, NULL},
    {"influx.timeout_ms", apply_sink, NULL},
    {"influx.retry_base_ms", apply_sink, NULL},
    {"influx.retry_max_ms", apply_sink, NULL},
    {"liveness.stale_intervals", apply_liveness, NULL},
    {"http.max_connections", apply_http, NULL},
    {"http.timeout_ms", apply_http, NULL},
    {"http.rate_per_client", apply_http, NULL},
    {"http.max_connections_per_client", apply_http, NULL},
    {"http.staff_max_connections", apply_http, NULL},
    {"map.tile_url", NULL, NULL},         /* /config.json reads app->cfg */
    {"map.tile_attribution", NULL, NULL}, /* /config.json reads app->cfg */
    {"layers.refresh_ms", NULL, NULL},    /* app_layers.c reads app->cfg at each request */
};

static const struct applier *find_applier(const char *key)
{
    for (size_t i = 0; i < sizeof(appliers) / sizeof(appliers[0]); i++) {
        if (strcmp(appliers[i].key, key) == 0) {
            return &appliers[i];
        }
    }
    return NULL;
}

/* Puts the running value of scalar key 'k' back into 'next', so that applying 'next' keeps it. */
static void keep_running(const struct col_cfg_key *k, const struct col_config *cur,
                         struct col_config *next)
{
    size_t size = 0;

    switch (k->type) {
    case COL_CFG_INT:
    case COL_CFG_DURATION:
    case COL_CFG_SIZE:
        size = sizeof(int64_t);
        break;
    case COL_CFG_DOUBLE:
        size = sizeof(double);
        break;
    case COL_CFG_BOOL:
        size = sizeof(bool);
        break;
    case COL_CFG_ENUM:
        size = sizeof(int);
        break;
    case COL_CFG_STRING:
        return; /* every reloadable string has an applier (see the table above) */
    }
    memcpy((char *)next + k->offset, (const char *)cur + k->offset, size);
}

void app_reload(struct col_app *app)
{
    struct col_config next;
    struct col_config_diff diff;
    struct ct_registry *reg;
    char err[COL_CONFIG_ERR_MAX];
    const struct applier *to_apply[COL_CONFIG_MAX_KEYS];
    const struct col_cfg_key *done[COL_CONFIG_MAX_KEYS];
    size_t ndone = 0;

    if (app->console != NULL) {
        col_console_users_reload(app->console); /* its own file: logs a refusal itself */
    }
    if (col_config_reload(&app->cfg, app->config_path, &next, &diff, err, sizeof(err)) != 0) {
        col_log(COL_LOG_ERROR, "config", "reload refused, the running config stays: %s", err);
        return;
    }
    int rc = ct_registry_load(next.registry_path, &reg, err, sizeof(err));
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "registry", "%s", err);
        col_log(COL_LOG_ERROR, "registry", "reload refused, the running registry stays");
        col_config_free(&next);
        return;
    }
    for (size_t i = 0; i < diff.nrefused; i++) {
        col_log(COL_LOG_WARN, "config", "reload: %s changed; needs a restart; kept",
                diff.refused[i]->name);
    }
    for (size_t i = 0; i < diff.napply; i++) {
        const struct col_cfg_key *k = diff.apply[i];
        const struct applier *a = find_applier(k->name);
        if (a == NULL || (a->can != NULL && !a->can(app, &next))) {
            col_log(COL_LOG_WARN, "config", "reload: %s changed; needs a restart; kept", k->name);
            keep_running(k, &app->cfg, &next);
            continue;
        }
        to_apply[ndone] = a;
        done[ndone++] = k;
    }
    col_config_apply_reloadable(&app->cfg, &next);
    col_config_free(&next);
    if (app->console != NULL) {
        col_console_registry(app->console, reg); /* before the old registry it borrows goes */
    }
    ct_registry_free(app->registry);
    app->registry = reg;
    col_flow_set_registry(app->flow, reg);
    if (app->derive != NULL) {
        col_derive_registry(app->derive, reg);
        app_tt10_registry(app->tt10, reg);
    }
    for (size_t i = 0; i < ndone; i++) {
        if (to_apply[i]->apply != NULL) {
            to_apply[i]->apply(app);
        }
        col_log(COL_LOG_INFO, "config", "reload: %s changed and applied", done[i]->name);
    }
    col_log(COL_LOG_INFO, "app", "reloaded: %zu devices, %zu config change(s) applied",
            ct_registry_count(reg), ndone);
}

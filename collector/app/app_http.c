/* app_http.c - the collector's two HTTP listeners. The public one (http.listen, http.port)
 * serves the map page, its config and the layers (app_layers.c); the staff one
 * (http.staff_listen, default loopback, http.staff_port) serves /healthz and /metrics with its
 * own connection limit, so that clients filling the public listener cannot blind the
 * operators (tests/e2e/test_staff_listener.py). */
#include <stdio.h>
#include <string.h>

#include "app_console.h"
#include "app_http.h"
#include "app_layers.h"
#include "app_metrics.h"
#include "col_obs.h"
#include "ct/err.h"

/* /healthz: 200 when the subscription is connected and the store answers (or holds nothing),
 * 503 otherwise, with a JSON body that says which part is unwell. */
static void on_healthz(struct col_http_req *req, void *arg)
{
    struct col_app *app = arg;
    struct col_sink_stats ss = {0};
    struct col_spool_stats sp = {0};
    char body[1024];
    struct col_flow_stats fs;
    bool mqtt;
    bool store;
    struct col_intake_stats is = {0};
    bool spool_ok;
    const char *store_why = "";
    char why[200];
    int n;

    col_flow_stats(app->flow, &fs);
    mqtt = fs.mqtt_up || app->cfg.collector_role == COL_CFG_ROLE_LAYERS;
    if (app->sink != NULL) {
        col_sink_stats(app->sink, &ss);
    }
    if (app->spool != NULL) {
        col_spool_stats(app->spool, &sp);
    }
    if (app->intake != NULL) {
        col_intake_stats(app->intake, &is);
    }
    spool_ok = !is.full_now && !is.failing_now;
    store = app->sink == NULL || col_sink_ok(app->sink, &store_why, NULL);
    /* The reason goes into a JSON string: quotes and control characters become spaces. */
    snprintf(why, sizeof(why), "%s", store ? "" : store_why);
    for (char *c = why; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) {
            *c = ' ';
        }
    }
    n = snprintf(body, sizeof(body),
                 "{\"status\":\"%s\",\"mqtt_connected\":%s,\"store_ok\":%s,\"spool_ok\":%s,"
                 "\"replaying\":%s,\"spool_records\":%llu,\"store_pending_bytes\":%zu,"
                 "\"stale_stations\":%zu,\"store_why\":\"%s\"}\n",
                 mqtt && store && spool_ok ? "ok" : "degraded", mqtt ? "true" : "false",
                 store ? "true" : "false", spool_ok ? "true" : "false",
                 fs.replaying ? "true" : "false", (unsigned long long)sp.records, ss.bytes_pending,
                 app->derive != NULL ? col_derive_stale_each(app->derive, NULL, NULL) : 0, why);
    struct col_http_resp resp = {.status = mqtt && store && spool_ok ? 200 : 503,
                                 .content_type = "application/json",
                                 .body = body,
                                 .len = (size_t)n,
                                 .cache_control = "no-store"};
    col_http_respond(req, &resp);
}

static void on_metrics(struct col_http_req *req, void *arg)
{
    struct col_app *app = arg;
    struct ct_buf out;

    ct_buf_init(&out, 4u << 20);
    if (app_metrics_render(app, &out) != 0) {
        ct_buf_free(&out);
        col_http_respond_error(req, 500);
        return;
    }
    struct col_http_resp resp = {.status = 200,
                                 .content_type = COL_METRICS_CONTENT_TYPE,
                                 .body = out.p,
                                 .len = out.len,
                                 .compress = true,
                                 .cache_control = "no-store"};
    col_http_respond(req, &resp);
    ct_buf_free(&out);
}

/* /config.json: what the map page needs to know (the base-map tiles; empty for offline). */
static void on_map_config(struct col_http_req *req, void *arg)
{
    struct col_app *app = arg;
    struct ct_buf out;

    ct_buf_init(&out, 16384);
    ct_buf_adds(&out, "{\"tile_url\":");
    ct_buf_add_json_str(&out, app->cfg.map_tile_url, strlen(app->cfg.map_tile_url));
    ct_buf_adds(&out, ",\"attribution\":");
    ct_buf_add_json_str(&out, app->cfg.map_tile_attribution, strlen(app->cfg.map_tile_attribution));
    ct_buf_adds(&out, ",\"layers\":[\"air\",\"water\",\"rain\",\"flood\",\"parking\"]}\n");
    struct col_http_resp resp = {.status = 200,
                                 .content_type = "application/json",
                                 .body = out.p,
                                 .len = out.len,
                                 .etag = true,
                                 .cache_control = "max-age=60"};
    col_http_respond(req, &resp);
    ct_buf_free(&out);
}

static void on_static(struct col_http_req *req, void *arg)
{
    struct col_app *app = arg;
    const char *path = col_http_req_path(req);

    size_t plen = strlen(path);

    /* Source maps are development files: never published, even when one was left in map.dir
     * (tests/e2e/test_map.py asserts /app.js.map is 404). */
    if (app->cfg.map_dir[0] == '\0' || (plen >= 4 && strcmp(path + plen - 4, ".map") == 0)) {
        col_http_respond_error(req, 404);
        return;
    }
    col_http_serve_file(req, app->cfg.map_dir, path[0] == '/' ? path + 1 : path);
}

static int write_port_file(const char *path, uint16_t port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        return CT_E_IO;
    }
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        return CT_E_IO;
    }
    return 0;
}

static void on_http_closed(void *arg)
{
    struct col_app *app = arg;

    app->open_handles--;
}

/* Binds 'h', logs where, and writes its port to 'port_file' when set. */
static int listen_on(struct col_http *h, const char *what, const char *addr, int64_t port,
                     const char *port_file)
{
    int rc = col_http_start(h);

    if (rc != 0) {
        col_log(COL_LOG_ERROR, "http", "cannot listen (%s) on %s:%lld", what, addr,
                (long long)port);
        return rc;
    }
    col_log(COL_LOG_INFO, "http", "%s listener on http://%s:%u/", what, addr, col_http_port(h));
    if (port_file[0] != '\0' && write_port_file(port_file, col_http_port(h)) != 0) {
        col_log(COL_LOG_ERROR, "http", "cannot write %s", port_file);
        return CT_E_IO;
    }
    return 0;
}

int app_http_start(struct col_app *app)
{
    const struct col_config *c = &app->cfg;
    struct col_http_cfg hc = {.listen = c->http_listen,
                              .port = (uint16_t)c->http_port,
                              .max_request_bytes = (size_t)c->http_max_request_bytes,
                              .max_connections = (size_t)c->http_max_connections,
                              .timeout_ms = (uint64_t)c->http_timeout_ms,
                              .rate_per_client = c->http_rate_per_client,
                              .max_connections_per_client =
                                  (size_t)c->http_max_connections_per_client};
    /* Staff: its own connection bound; no rate limit (a scraper polls it), no per-client cap. */
    struct col_http_cfg sc = {.listen = c->http_staff_listen,
                              .port = (uint16_t)c->http_staff_port,
                              .max_request_bytes = (size_t)c->http_max_request_bytes,
                              .max_connections = (size_t)c->http_staff_max_connections,
                              .timeout_ms = (uint64_t)c->http_timeout_ms,
                              .rate_per_client = 0};
    int rc = col_http_create(app->loop, &hc, &app->http);

    rc = rc ? rc : col_http_create(app->loop, &sc, &app->http_staff);
    if (rc != 0) {
        return rc;
    }
    rc = col_http_route(app->http_staff, "GET", "/healthz", false, on_healthz, app);
    rc = rc ? rc : app_console_start(app);
    rc = rc ? rc : col_http_route(app->http_staff, "GET", "/metrics", false, on_metrics, app);
    if (c->collector_role != COL_CFG_ROLE_INGEST) {
        rc = rc ? rc : col_http_route(app->http, "GET", "/config.json", false, on_map_config, app);
        rc = rc ? rc : app_layers_routes(app);
        rc = rc ? rc : col_http_route(app->http, "GET", "/", true, on_static, app);
    }
    if (rc != 0) {
        return rc;
    }
    rc = listen_on(app->http_staff, "staff", c->http_staff_listen, c->http_staff_port,
                   c->http_staff_port_file);
    return rc ? rc
              : listen_on(app->http, "public", c->http_listen, c->http_port, c->http_port_file);
}

void app_http_apply_limits(struct col_app *app)
{
    const struct col_config *c = &app->cfg;

    if (app->http != NULL) {
        col_http_set_limits(app->http, (uint64_t)c->http_timeout_ms,
                            (size_t)c->http_max_connections, c->http_rate_per_client);
        col_http_set_max_per_client(app->http, (size_t)c->http_max_connections_per_client);
    }
    if (app->http_staff != NULL) {
        col_http_set_limits(app->http_staff, (uint64_t)c->http_timeout_ms,
                            (size_t)c->http_staff_max_connections, -1);
    }
}

void app_http_close(struct col_app *app)
{
    struct col_http **servers[] = {&app->http, &app->http_staff};

    for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
        if (*servers[i] != NULL) {
            app->open_handles++;
            col_http_close(*servers[i], on_http_closed, app);
            *servers[i] = NULL;
        }
    }
}

/* app_http.c - the collector's two HTTP listeners. The public one (http.listen, http.port)
 * serves the map page, its config and the layers (app_layers.c); the staff one
 * (http.staff_listen, default loopback, http.staff_port) serves /healthz and /metrics with its
 * own connection limit, so that clients filling the public listener cannot blind the
 * operators (tests/e2e/test_staff_listener.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_http.h"
#include "col_obs.h"
#include "ct/err.h"

struct app_http {
    struct app_http_parts p;
    struct col_http *http;       /* public */
    struct col_http *http_staff; /* staff */
    int open;                    /* listeners not yet closed (app_http_close) */
};

/* /healthz: 200 when the subscription is connected and the store answers (or holds nothing),
 * 503 otherwise, with a JSON body that says which part is unwell. */
static void on_healthz(struct col_http_req *req, void *arg)
{
    struct app_http *h = arg;
    const struct app_http_parts *app = &h->p;
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
    mqtt = fs.mqtt_up || app->cfg->collector_role == COL_CFG_ROLE_LAYERS;
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
    struct app_http *h = arg;
    const struct app_http_parts *app = &h->p;
    struct ct_buf out;

    ct_buf_init(&out, 4u << 20);
    if (app_metrics_render(app->metrics, &out) != 0) {
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
    struct app_http *h = arg;
    const struct app_http_parts *app = &h->p;
    struct ct_buf out;

    ct_buf_init(&out, 16384);
    ct_buf_adds(&out, "{\"tile_url\":");
    ct_buf_add_json_str(&out, app->cfg->map_tile_url, strlen(app->cfg->map_tile_url));
    ct_buf_adds(&out, ",\"attribution\":");
    ct_buf_add_json_str(&out, app->cfg->map_tile_attribution,
                        strlen(app->cfg->map_tile_attribution));
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
    struct app_http *h = arg;
    const struct app_http_parts *app = &h->p;
    const char *path = col_http_req_path(req);

    size_t plen = strlen(path);

    /* Source maps are development files: never published, even when one was left in map.dir
     * (tests/e2e/test_map.py asserts /app.js.map is 404). */
    if (app->cfg->map_dir[0] == '\0' || (plen >= 4 && strcmp(path + plen - 4, ".map") == 0)) {
        col_http_respond_error(req, 404);
        return;
    }
    col_http_serve_file(req, app->cfg->map_dir, path[0] == '/' ? path + 1 : path);
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
    struct app_http *h = arg;

    if (--h->open == 0) {
        void (*cb)(void *) = h->p.on_closed;
        void *cb_arg = h->p.arg;

        free(h);
        if (cb != NULL) {
            cb(cb_arg);
        }
    }
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

int app_http_create(const struct app_http_parts *parts, struct app_http **out)
{
    const struct col_config *c = parts->cfg;
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
    struct app_http *h = calloc(1, sizeof(*h));
    int rc;

    *out = NULL;
    if (h == NULL) {
        return CT_E_NOMEM;
    }
    h->p = *parts;
    rc = col_http_create(parts->loop, &hc, &h->http);
    if (rc == 0) {
        h->open++;
        rc = col_http_create(parts->loop, &sc, &h->http_staff);
    }
    if (rc == 0) {
        h->open++;
        *out = h;
        return 0;
    }
    if (h->open > 0) {
        h->p.on_closed = NULL; /* a failed create: nothing for the app to count */
        col_http_close(h->http, on_http_closed, h);
    } else {
        free(h);
    }
    return rc;
}

struct col_http *app_http_public(const struct app_http *h)
{
    return h->http;
}

struct col_http *app_http_staff(const struct app_http *h)
{
    return h->http_staff;
}

int app_http_start(struct app_http *h)
{
    const struct col_config *c = h->p.cfg;
    int rc;

    rc = col_http_route(h->http_staff, "GET", "/healthz", false, on_healthz, h);
    rc = rc ? rc : h->p.staff_routes(h->p.arg);
    rc = rc ? rc : col_http_route(h->http_staff, "GET", "/metrics", false, on_metrics, h);
    if (c->collector_role != COL_CFG_ROLE_INGEST) {
        rc = rc ? rc : col_http_route(h->http, "GET", "/config.json", false, on_map_config, h);
        rc = rc ? rc : h->p.public_routes(h->p.arg);
        rc = rc ? rc : col_http_route(h->http, "GET", "/", true, on_static, h);
    }
    if (rc != 0) {
        return rc;
    }
    rc = listen_on(h->http_staff, "staff", c->http_staff_listen, c->http_staff_port,
                   c->http_staff_port_file);
    return rc ? rc : listen_on(h->http, "public", c->http_listen, c->http_port, c->http_port_file);
}

void app_http_apply_limits(struct app_http *h)
{
    const struct col_config *c;

    if (h == NULL) {
        return;
    }
    c = h->p.cfg;
    col_http_set_limits(h->http, (uint64_t)c->http_timeout_ms, (size_t)c->http_max_connections,
                        c->http_rate_per_client);
    col_http_set_max_per_client(h->http, (size_t)c->http_max_connections_per_client);
    col_http_set_limits(h->http_staff, (uint64_t)c->http_timeout_ms,
                        (size_t)c->http_staff_max_connections, -1);
}

void app_http_close(struct app_http *h)
{
    if (h == NULL) {
        return;
    }
    col_http_close(h->http, on_http_closed, h);
    col_http_close(h->http_staff, on_http_closed, h);
}

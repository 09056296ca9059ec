/* app_layers.c - the public map layers over HTTP: /layers/<layer>.geojson and OGC API -
 * Features (/collections...), with NGSI-LD for Accept: application/ld+json.
 *
 * Layers are built from the time-series store (so every collector of a group serves the same
 * map), one InfluxQL request per layer, cached for layers.refresh_ms. A request that finds the
 * cache older than that waits for one refresh (shared by every request that arrives meanwhile),
 * so an old representation is never served as current (tests/e2e/test_map.py, "after a quiet
 * interval"). Only when the store fails, or more than APP_LAYER_WAITERS requests wait, does a
 * request get the last document built; it carries its data's own time ("updated"), and none
 * at all gives 503. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_int.h"
#include "col_layers.h"
#include "col_obs.h"
#include "col_store.h"
#include "ct/gzip.h"
#include "ct/err.h"

#define APP_LAYER_WAITERS 256
#define APP_LAYER_LOOKBACK_S (7 * 24 * 3600)

enum waiter_kind { W_GEOJSON = 0, W_ITEMS, W_NGSI };

struct layer_waiter {
    struct col_http_req *req;
    enum waiter_kind what;
};

struct app_layer {
    struct app_layers *owner;
    enum ct_kind kind;
    bool history; /* the 24-hour history document (/layers/<layer>.history.json), not the layer */
    char *resp;   /* the store's last answer (owned) */
    size_t resp_len;
    char *geojson; /* built from it (owned) */
    size_t geojson_len;
    char *geojson_gz; /* its gzip representation (owned), made once per rebuild */
    size_t geojson_gz_len;
    char etag_plain[24]; /* ETags of the two representations */
    char etag_gz[24];
    int64_t built_ms; /* 0: never */
    bool refreshing;
    struct layer_waiter waiters[APP_LAYER_WAITERS];
    size_t nwaiters;
};

struct app_layers {
    struct col_app *app;
    struct col_store *store; /* borrowed: app_store() */
    struct app_layer layer[CT_KIND__COUNT];
    struct app_layer hist[CT_KIND__COUNT]; /* same cache and refresh rules as the layers */
    uint64_t queries;
    uint64_t query_errors;
};

static int build_src(struct app_layer *l, struct col_layers_src *src,
                     const struct ct_device ***devs)
{
    size_t n;
    int rc = col_layers_devices(l->owner->app->registry, devs, &n);

    if (rc != 0) {
        return rc;
    }
    memset(src, 0, sizeof(*src));
    src->devs = *devs;
    src->ndevs = n;
    src->resp = (const char *const *)&l->resp;
    src->resp_len = &l->resp_len;
    src->nresp = l->resp != NULL ? 1 : 0;
    src->now_ms = app_now_ms();
    src->stale_ms = col_layers_default_stale_ms(l->kind);
    src->stale_intervals = (uint32_t)l->owner->app->cfg.liveness_stale_intervals;
    return 0;
}

static void respond_doc(struct col_http_req *req, int status, const char *type, const char *doc)
{
    struct col_http_resp resp = {.status = status,
                                 .content_type = type,
                                 .body = doc,
                                 .len = strlen(doc),
                                 .compress = true,
                                 .etag = true,
                                 .cache_control = "public, max-age=30",
                                 .extra_headers = "Access-Control-Allow-Origin: *\r\n"};
    col_http_respond(req, &resp);
}

/* The cached layer: its gzip body and ETags were made once when it was built, so a storm of
 * citizens costs a copy per request, not a compression and a hash of the whole document. */
static void respond_cached(struct app_layer *l, struct col_http_req *req)
{
    struct col_http_resp resp = {.status = 200,
                                 .content_type =
                                     l->history ? "application/json" : "application/geo+json",
                                 .body = l->geojson,
                                 .len = l->geojson_len,
                                 .compress = true,
                                 .etag = true,
                                 .cache_control = "public, max-age=30",
                                 .extra_headers = "Access-Control-Allow-Origin: *\r\n",
                                 .gz_body = l->geojson_gz,
                                 .gz_len = l->geojson_gz_len,
                                 .etag_plain = l->etag_plain,
                                 .etag_gz = l->geojson_gz != NULL ? l->etag_gz : NULL};
    col_http_respond(req, &resp);
}

/* Takes ownership of 'doc' as the layer's cached document and prepares its representations. */
static void cache_doc(struct app_layer *l, char *doc)
{
    free(l->geojson);
    free(l->geojson_gz);
    l->geojson = doc;
    l->geojson_len = strlen(doc);
    l->geojson_gz = NULL;
    l->geojson_gz_len = 0;
    col_http_etag(doc, l->geojson_len, false, l->etag_plain);
    if (ct_gzip(doc, l->geojson_len, &l->geojson_gz, &l->geojson_gz_len) == 0) {
        col_http_etag(doc, l->geojson_len, true, l->etag_gz);
    }
    l->built_ms = app_now_ms();
}

/* Rebuilds the items query string from the parameters the OGC API defines (the server hands
 * parameters over decoded; the builder parses them again). */
static const char *items_query(struct col_http_req *req, char *buf, size_t cap)
{
    static const char *const names[] = {"limit", "offset", "bbox", "datetime", "f"};
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = col_http_req_query(req, names[i]);
        int n;
        if (v == NULL) {
            continue;
        }
        n = snprintf(buf + used, cap - used, "%s%s=%s", used ? "&" : "", names[i], v);
        if (n < 0 || (size_t)n >= cap - used) {
            break;
        }
        used += (size_t)n;
    }
    return buf;
}

static void answer(struct app_layer *l, struct col_http_req *req, enum waiter_kind what)
{
    struct col_layers_src src;
    const struct ct_device **devs = NULL;
    struct col_layers_query q;
    char err[256];
    char qbuf[COL_LAYERS_QUERY_MAX];
    char *doc = NULL;
    const char *qs;
    int rc;

    if (what == W_GEOJSON && l->geojson != NULL) {
        respond_cached(l, req);
        return;
    }
    rc = build_src(l, &src, &devs);
    if (rc == 0 && what == W_GEOJSON) {
        rc = col_layers_geojson(&src, l->kind, &doc);
    } else if (rc == 0 && what == W_NGSI) {
        rc = col_layers_ngsi_ld(&src, l->kind, &doc);
    } else if (rc == 0) {
        qs = items_query(req, qbuf, sizeof(qbuf));
        memset(&q, 0, sizeof(q));
        rc = col_layers_query_parse(qs, strlen(qs), &q, err, sizeof(err));
        if (rc != 0) {
            free(devs);
            struct col_http_resp resp = {.status = 400,
                                         .content_type = "text/plain; charset=utf-8",
                                         .body = err,
                                         .len = strlen(err)};
            col_http_respond(req, &resp);
            return;
        }
        rc = col_layers_ogc_items("", &src, l->kind, &q, &doc);
    }
    free(devs);
    if (rc != 0) {
        col_log(COL_LOG_WARN, "layers", "cannot build the %s layer: %s", ct_kind_name(l->kind),
                ct_strerror(rc));
        col_http_respond_error(req, 503);
        return;
    }
    respond_doc(req, 200, what == W_NGSI ? "application/ld+json" : "application/geo+json", doc);
    free(doc);
}

static void on_store_answer(void *arg, int status, const char *body, size_t len)
{
    struct app_layer *l = arg;
    struct col_layers_src src;
    const struct ct_device **devs = NULL;
    char *doc = NULL;

    l->refreshing = false;
    if (status == 200 && body != NULL) {
        char *copy = malloc(len + 1);
        if (copy != NULL) {
            memcpy(copy, body, len);
            copy[len] = '\0';
            free(l->resp);
            l->resp = copy;
            l->resp_len = len;
            if (build_src(l, &src, &devs) == 0 &&
                (l->history ? col_layers_history(&src, l->kind, &doc)
                            : col_layers_geojson(&src, l->kind, &doc)) == 0) {
                cache_doc(l, doc);
            }
            free(devs);
        }
    } else {
        l->owner->query_errors++;
        col_log(COL_LOG_WARN, "layers", "store query for the %s layer failed: %d",
                ct_kind_name(l->kind), status);
    }
    /* Waiters get the fresh document, or the old one, or 503 when there is none. */
    for (size_t i = 0; i < l->nwaiters; i++) {
        struct layer_waiter *w = &l->waiters[i];
        if (l->resp == NULL || l->geojson == NULL) {
            col_http_respond_error(w->req, 503);
        } else {
            answer(l, w->req, w->what);
        }
    }
    l->nwaiters = 0;
}

static void refresh(struct app_layer *l)
{
    char q[2048];

    if (l->refreshing || l->owner->store == NULL) {
        return;
    }
    if ((l->history ? col_layers_history_influxql(l->kind, q, sizeof(q))
                    : col_layers_influxql(l->kind, APP_LAYER_LOOKBACK_S, q, sizeof(q))) != 0) {
        return;
    }
    if (col_store_query(l->owner->store, q, on_store_answer, l) == 0) {
        l->refreshing = true;
        l->owner->queries++;
    }
}

static void serve(struct app_layer *l, struct col_http_req *req, enum waiter_kind what)
{
    int64_t age = app_now_ms() - l->built_ms;
    bool have = l->built_ms != 0 && l->resp != NULL && l->geojson != NULL;

    if (have && age < l->owner->app->cfg.layers_refresh_ms) {
        answer(l, req, what);
        return;
    }
    /* Nothing yet, or older than the refresh interval: wait for the store. */
    if (l->nwaiters < APP_LAYER_WAITERS) {
        l->waiters[l->nwaiters].req = req;
        l->waiters[l->nwaiters++].what = what;
        refresh(l);
        if (l->refreshing) {
            return;
        }
        l->nwaiters--;
    }
    if (have) {
        answer(l, req, what);
    } else {
        col_http_respond_error(req, 503);
    }
}

static bool wants_ld(struct col_http_req *req)
{
    const char *a = col_http_req_accept(req);
    return a != NULL && strstr(a, "application/ld+json") != NULL;
}

/* GET /layers/<layer>.geojson and /layers/<layer>.history.json */
static void on_layer(struct col_http_req *req, void *arg)
{
    struct app_layers *ls = arg;
    const char *name = col_http_req_path(req) + strlen("/layers/");
    const char *dot = strchr(name, '.');
    enum ct_kind kind;

    if (dot == NULL || ct_kind_parse(name, (size_t)(dot - name), &kind) != 0) {
        col_http_respond_error(req, 404);
        return;
    }
    if (strcmp(dot, ".geojson") == 0) {
        serve(&ls->layer[kind], req, W_GEOJSON);
    } else if (strcmp(dot, ".history.json") == 0) {
        serve(&ls->hist[kind], req, W_GEOJSON);
    } else {
        col_http_respond_error(req, 404);
    }
}

static void respond_owned(struct col_http_req *req, int rc, char *doc, const char *type)
{
    if (rc != 0) {
        col_http_respond_error(req, 500);
        return;
    }
    respond_doc(req, 200, type, doc);
    free(doc);
}

/* GET /collections, /collections/<layer>, /collections/<layer>/items, and the landing page and
 * conformance at /ogc and /conformance. */
static void on_collections(struct col_http_req *req, void *arg)
{
    struct app_layers *ls = arg;
    const char *path = col_http_req_path(req);
    const char *rest = path + strlen("/collections");
    const struct ct_device **devs = NULL;
    size_t n = 0;
    char *doc = NULL;
    enum ct_kind kind;
    const char *slash;
    int rc;

    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        rc = col_layers_devices(ls->app->registry, &devs, &n);
        rc = rc ? rc : col_layers_ogc_collections("", devs, n, &doc);
        free(devs);
        respond_owned(req, rc, doc, "application/json");
        return;
    }
    rest++;
    slash = strchr(rest, '/');
    if (ct_kind_parse(rest, slash ? (size_t)(slash - rest) : strlen(rest), &kind) != 0) {
        col_http_respond_error(req, 404);
        return;
    }
    if (slash == NULL) {
        rc = col_layers_devices(ls->app->registry, &devs, &n);
        rc = rc ? rc : col_layers_ogc_collection("", kind, devs, n, &doc);
        free(devs);
        respond_owned(req, rc, doc, "application/json");
        return;
    }
    if (strcmp(slash, "/items") != 0) {
        col_http_respond_error(req, 404);
        return;
    }
    serve(&ls->layer[kind], req, wants_ld(req) ? W_NGSI : W_ITEMS);
}

static void on_landing(struct col_http_req *req, void *arg)
{
    char *doc = NULL;
    int rc = col_layers_ogc_landing("", &doc);

    (void)arg;
    respond_owned(req, rc, doc, "application/json");
}

static void on_conformance(struct col_http_req *req, void *arg)
{
    char *doc = NULL;
    int rc = col_layers_ogc_conformance(&doc);

    (void)arg;
    respond_owned(req, rc, doc, "application/json");
}

int app_layers_routes(struct col_app *app)
{
    struct app_layers *ls = calloc(1, sizeof(*ls));
    int rc;

    if (ls == NULL) {
        return CT_E_NOMEM;
    }
    ls->app = app;
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        ls->layer[k].owner = ls;
        ls->layer[k].kind = (enum ct_kind)k;
        ls->hist[k].owner = ls;
        ls->hist[k].kind = (enum ct_kind)k;
        ls->hist[k].history = true;
    }
    rc = app_store(app, &ls->store);
    if (rc != 0) {
        free(ls);
        return rc;
    }
    app->layers = ls;
    rc = col_http_route(app->http, "GET", "/layers/", true, on_layer, ls);
    rc = rc ? rc : col_http_route(app->http, "GET", "/collections", true, on_collections, ls);
    rc = rc ? rc : col_http_route(app->http, "GET", "/ogc", false, on_landing, ls);
    rc = rc ? rc : col_http_route(app->http, "GET", "/conformance", false, on_conformance, ls);
    return rc;
}

void app_layers_close(struct col_app *app)
{
    struct app_layers *ls = app->layers;

    if (ls == NULL) {
        return;
    }
    app->layers = NULL;
    /* The shared query client was closed first (close_all): running queries were answered and
     * their waiters got 503. */
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        free(ls->layer[k].resp);
        free(ls->layer[k].geojson);
        free(ls->layer[k].geojson_gz);
        free(ls->hist[k].resp);
        free(ls->hist[k].geojson);
        free(ls->hist[k].geojson_gz);
    }
    free(ls);
}

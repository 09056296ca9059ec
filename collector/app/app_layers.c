/* app_layers.c - the public map layers over HTTP: /layers/<layer>.geojson, and the layer data
 * for the OGC API - Features and NGSI-LD endpoints of collector/ogc (col_ogc), which gets each
 * layer through the provider made here.
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

#include "app_layers.h"
#include "col_layers.h"
#include "col_obs.h"
#include "col_ogc.h"
#include "col_store.h"
#include "col_storeq.h"
#include "ct/gzip.h"
#include "ct/err.h"

#define APP_LAYER_WAITERS 256
#define APP_LAYER_LOOKBACK_S (7 * 24 * 3600)

enum waiter_kind { W_GEOJSON = 0, W_CB };

/* A request waiting for the layer: a GeoJSON request, or a col_ogc callback. */
struct layer_waiter {
    struct col_http_req *req; /* W_GEOJSON */
    enum waiter_kind what;
    col_ogc_layer_cb cb; /* W_CB */
    void *ctx;
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
    struct app_layers_parts p;
    struct col_store *store; /* borrowed: p.store */
    struct app_layer layer[CT_KIND__COUNT];
    struct app_layer hist[CT_KIND__COUNT]; /* same cache and refresh rules as the layers */
    struct col_ogc *ogc;                   /* the OGC API and NGSI-LD endpoints (owned) */
    uint64_t queries;
    uint64_t query_errors;
};

static int build_src(struct app_layer *l, struct col_layers_src *src,
                     const struct ct_device ***devs)
{
    size_t n;
    int rc = col_layers_devices(*l->owner->p.registry, devs, &n);

    if (rc != 0) {
        return rc;
    }
    memset(src, 0, sizeof(*src));
    src->devs = *devs;
    src->ndevs = n;
    src->resp = (const char *const *)&l->resp;
    src->resp_len = &l->resp_len;
    src->nresp = l->resp != NULL ? 1 : 0;
    src->now_ms = col_now_ms();
    src->stale_intervals = (uint32_t)l->owner->p.cfg->liveness_stale_intervals;
    src->stale_ms = col_layers_default_stale_ms(l->kind);
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
    l->built_ms = col_now_ms();
}

static void answer(struct app_layer *l, const struct layer_waiter *w)
{
    struct col_layers_src src;
    const struct ct_device **devs = NULL;
    char *doc = NULL;
    int rc;

    if (w->what == W_GEOJSON && l->geojson != NULL) {
        respond_cached(l, w->req);
        return;
    }
    rc = build_src(l, &src, &devs);
    if (w->what == W_CB) {
        w->cb(w->ctx, rc == 0 ? &src : NULL);
        free(devs);
        return;
    }
    rc = rc ? rc : col_layers_geojson(&src, l->kind, &doc);
    free(devs);
    if (rc != 0) {
        col_log(COL_LOG_WARN, "layers", "cannot build the %s layer: %s", ct_kind_name(l->kind),
                ct_strerror(rc));
        col_http_respond_error(w->req, 503);
        return;
    }
    respond_doc(w->req, 200, "application/geo+json", doc);
    free(doc);
}

/* Tells a waiter that the layer has no data (503, or a NULL source for a callback). */
static void unavailable(const struct layer_waiter *w)
{
    if (w->what == W_CB) {
        w->cb(w->ctx, NULL);
    } else {
        col_http_respond_error(w->req, 503);
    }
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
            unavailable(w);
        } else {
            answer(l, w);
        }
    }
    l->nwaiters = 0;
}

static void refresh(struct app_layer *l)
{
    struct col_storeq_sel q[COL_STOREQ_SEL_MAX];
    size_t n = 1;

    if (l->refreshing || l->owner->store == NULL) {
        return;
    }
    if ((l->history ? col_layers_history_sels(l->kind, q, &n)
                    : col_layers_sel(l->kind, APP_LAYER_LOOKBACK_S, q, &n)) != 0) {
        return;
    }
    if (col_storeq_query(l->owner->store, l->owner->p.cfg->store_kind, q, n, on_store_answer, l) ==
        0) {
        l->refreshing = true;
        l->owner->queries++;
    }
}

/* Answers 'w' now from a cache younger than the refresh interval, or queues it until the store
 * answers (one refresh shared by every waiter). */
static void serve(struct app_layer *l, const struct layer_waiter *w)
{
    int64_t age = col_now_ms() - l->built_ms;
    bool have = l->built_ms != 0 && l->resp != NULL && l->geojson != NULL;

    if (have && age < l->owner->p.cfg->layers_refresh_ms) {
        answer(l, w);
        return;
    }
    /* Nothing yet, or older than the refresh interval: wait for the store. */
    if (l->nwaiters < APP_LAYER_WAITERS) {
        l->waiters[l->nwaiters++] = *w;
        refresh(l);
        if (l->refreshing) {
            return;
        }
        l->nwaiters--;
    }
    if (have) {
        answer(l, w);
    } else {
        unavailable(w);
    }
}

/* GET /layers/<layer>.geojson and /layers/<layer>.history.json */
static void on_layer(struct col_http_req *req, void *arg)
{
    struct app_layers *ls = arg;
    const char *name = col_http_req_path(req) + strlen("/layers/");
    const char *dot = strchr(name, '.');
    enum ct_kind kind;
    struct layer_waiter w = {.req = req, .what = W_GEOJSON};

    if (dot == NULL || ct_kind_parse(name, (size_t)(dot - name), &kind) != 0) {
        col_http_respond_error(req, 404);
        return;
    }
    if (strcmp(dot, ".geojson") == 0) {
        serve(&ls->layer[kind], &w);
    } else if (strcmp(dot, ".history.json") == 0) {
        serve(&ls->hist[kind], &w);
    } else {
        col_http_respond_error(req, 404);
    }
}

/* col_ogc's provider: the registry's devices and a layer's source. */
static int provide_devices(void *arg, const struct ct_device ***out, size_t *n)
{
    struct app_layers *ls = arg;

    return col_layers_devices(*ls->p.registry, out, n);
}

static int provide_layer(void *arg, enum ct_kind kind, col_ogc_layer_cb cb, void *ctx)
{
    struct app_layers *ls = arg;
    struct layer_waiter w = {.what = W_CB, .cb = cb, .ctx = ctx};

    if ((int)kind < 0 || kind >= CT_KIND__COUNT || cb == NULL) {
        return CT_E_INVAL;
    }
    serve(&ls->layer[kind], &w);
    return 0;
}

int app_layers_start(const struct app_layers_parts *parts, struct app_layers **out)
{
    struct app_layers *ls = calloc(1, sizeof(*ls));
    int rc;

    *out = ls;
    if (ls == NULL) {
        return CT_E_NOMEM;
    }
    ls->p = *parts;
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        ls->layer[k].owner = ls;
        ls->layer[k].kind = (enum ct_kind)k;
        ls->hist[k].owner = ls;
        ls->hist[k].kind = (enum ct_kind)k;
        ls->hist[k].history = true;
    }
    ls->store = parts->store;
    struct col_ogc_provider prov = {.devices = provide_devices, .layer = provide_layer, .arg = ls};
    rc = col_http_route(parts->http, "GET", "/layers/", true, on_layer, ls);
    rc = rc ? rc : col_ogc_create(parts->http, &prov, &ls->ogc);
    if (rc == 0 && col_ogc_set_base_url(ls->ogc, parts->cfg->ogc_base_url) != 0) {
        col_log(COL_LOG_ERROR, "ogc", "key \"ogc.base_url\": not an http(s) URL of a host");
        rc = CT_E_INVAL;
    }
    return rc;
}

void app_layers_close(struct app_layers *ls)
{
    if (ls == NULL) {
        return;
    }
    col_ogc_free(ls->ogc);
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

/* ogc_http.c - the OGC API - Features routes under /ogc (see col_ogc.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_obs.h"
#include "ct/err.h"
#include "ogc_int.h"

#define PATH_MAX_SEGS 4

/* One items or feature request waiting for its layer. */
struct ogc_wait {
    struct col_http_req *req;
    enum ct_kind kind;
    struct col_layers_query q;
    char base[OGC_URL_MAX];
    char fid[CT_ID_MAX + 1]; /* "" for items */
};

void ogc_send(struct col_http_req *req, int status, const char *type, const char *doc,
              const char *extra_headers)
{
    char headers[512];
    snprintf(headers, sizeof(headers), "Access-Control-Allow-Origin: *\r\n%s",
             extra_headers ? extra_headers : "");
    struct col_http_resp resp = {.status = status,
                                 .content_type = type,
                                 .body = doc,
                                 .len = strlen(doc),
                                 .compress = true,
                                 .etag = status == 200,
                                 .cache_control = status == 200 ? "public, max-age=30" : NULL,
                                 .extra_headers = headers,
                                 /* Links depend on these (col_ogc_base): a shared cache
                                  * must not mix them. */
                                 .vary = "Host, Forwarded, X-Forwarded-Proto, X-Forwarded-Host"};
    col_http_respond(req, &resp);
}

/* An OGC exception answer (or the bare status when even that cannot be built). */
static void send_exception(struct col_http_req *req, int status, const char *code, const char *text)
{
    char *doc = NULL;
    if (col_ogc_exception(code, text, &doc) != 0) {
        col_http_respond_error(req, status);
        return;
    }
    ogc_send(req, status, "application/json", doc, NULL);
    free(doc);
}

static void send_owned(struct col_http_req *req, int rc, char *doc, const char *type)
{
    if (rc != 0) {
        send_exception(req, 500, "ServerError", ct_strerror(rc));
        return;
    }
    ogc_send(req, 200, type, doc, NULL);
    free(doc);
}

/* Rebuilds the query string from the decoded parameters (percent-encoding each again), so that
 * col_layers_query_parse sees every parameter the client sent, unknown ones included. */
static bool rebuild_query(struct col_http_req *req, char *buf, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < col_http_req_nquery(req); i++) {
        const char *name;
        const char *val = col_http_req_query_at(req, i, &name);
        const char *parts[2] = {name, val};
        if (used + 1 >= cap) {
            return false;
        }
        if (i > 0) {
            buf[used++] = '&';
        }
        for (int p = 0; p < 2; p++) {
            if (p == 1) {
                buf[used++] = '=';
            }
            for (const char *s = parts[p]; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (used + 4 >= cap) {
                    return false;
                }
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    strchr("-._~", c)) {
                    buf[used++] = (char)c;
                } else {
                    buf[used++] = '%';
                    buf[used++] = hex[c >> 4];
                    buf[used++] = hex[c & 15];
                }
            }
        }
        buf[used] = '\0';
    }
    return true;
}

static void on_layer_ready(void *ctx, const struct col_layers_src *src)
{
    struct ogc_wait *w = ctx;
    char *doc = NULL;
    int rc;

    if (src == NULL) {
        send_exception(w->req, 503, "ServiceUnavailable", "the store has not answered yet");
        free(w);
        return;
    }
    if (w->fid[0] != '\0') {
        rc = col_layers_ogc_feature(w->base, src, w->kind, w->fid, &doc);
        if (rc == CT_E_NOTFOUND) {
            send_exception(w->req, 404, "NotFound", "no such feature in this collection");
            free(w);
            return;
        }
    } else {
        rc = col_layers_ogc_items(w->base, src, w->kind, &w->q, &doc);
    }
    if (rc != 0) {
        col_log(COL_LOG_WARN, "ogc", "cannot build the %s layer: %s", ct_kind_name(w->kind),
                ct_strerror(rc));
    }
    send_owned(w->req, rc, doc, "application/geo+json");
    free(w);
}

/* /collections/<layer>/items[/<fid>]: waits for the layer from the provider. */
static void items(struct col_ogc *o, struct col_http_req *req, enum ct_kind kind, const char *base,
                  const char *fid)
{
    char qs[COL_LAYERS_QUERY_MAX + 1];
    char err[256];
    struct ogc_wait *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        col_http_respond_error(req, 503);
        return;
    }
    w->req = req;
    w->kind = kind;
    snprintf(w->base, sizeof(w->base), "%s", base);
    if (fid != NULL) {
        if (strlen(fid) > CT_ID_MAX) {
            free(w);
            send_exception(req, 404, "NotFound", "no such feature in this collection");
            return;
        }
        snprintf(w->fid, sizeof(w->fid), "%s", fid);
    } else {
        if (!rebuild_query(req, qs, sizeof(qs))) {
            free(w);
            send_exception(req, 400, "InvalidParameterValue", "query string too long");
            return;
        }
        if (col_layers_query_parse(qs, strlen(qs), &w->q, err, sizeof(err)) != 0) {
            free(w);
            send_exception(req, 400, "InvalidParameterValue", err);
            return;
        }
    }
    if (o->p.layer(o->p.arg, kind, on_layer_ready, w) != 0) {
        free(w);
        col_http_respond_error(req, 503);
    }
}

/* Splits the path after "/ogc" into segments, ignoring empty ones (repeated or trailing
 * slashes). Returns the number of segments, or -1 for too many. */
static int split(char *rest, char *seg[PATH_MAX_SEGS])
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(rest, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        if (n == PATH_MAX_SEGS) {
            return -1;
        }
        seg[n++] = tok;
    }
    return n;
}

static void on_ogc(struct col_http_req *req, void *arg)
{
    struct col_ogc *o = arg;
    const char *path = col_http_req_path(req);
    char rest[512];
    char base[OGC_URL_MAX];
    char *seg[PATH_MAX_SEGS] = {0};
    const struct ct_device **devs = NULL;
    size_t ndevs = 0;
    char *doc = NULL;
    enum ct_kind kind;
    int n;
    int rc;

    /* The route is the prefix "/ogc": "/ogcx" is not ours. */
    if (path[4] != '\0' && path[4] != '/') {
        col_http_respond_error(req, 404);
        return;
    }
    if (strlen(path + 4) >= sizeof(rest)) {
        send_exception(req, 404, "NotFound", "no such resource");
        return;
    }
    memcpy(rest, path + 4, strlen(path + 4) + 1);
    n = split(rest, seg);
    struct col_ogc_origin origin = {.base_url = o->base_url,
                                    .host = col_http_req_host(req),
                                    .fwd_proto = col_http_req_fwd_proto(req),
                                    .fwd_host = col_http_req_fwd_host(req),
                                    .forwarded = col_http_req_forwarded(req)};
    col_ogc_base(&origin, "/ogc", base, sizeof(base));
    if (n == 0) {
        rc = col_layers_ogc_landing(base, &doc);
        send_owned(req, rc, doc, "application/json");
        return;
    }
    if (n == 1 && strcmp(seg[0], "conformance") == 0) {
        rc = col_layers_ogc_conformance(&doc);
        send_owned(req, rc, doc, "application/json");
        return;
    }
    if (n == 1 && strcmp(seg[0], "api") == 0) {
        rc = col_ogc_openapi(base, &doc);
        send_owned(req, rc, doc, COL_LAYERS_OPENAPI_TYPE);
        return;
    }
    if (n == 1 && strcmp(seg[0], "api.html") == 0) {
        rc = col_ogc_doc_html(base, &doc);
        send_owned(req, rc, doc, "text/html; charset=utf-8");
        return;
    }
    if (n < 1 || strcmp(seg[0], "collections") != 0) {
        send_exception(req, 404, "NotFound", "no such resource");
        return;
    }
    if (n >= 2 && ct_kind_parse(seg[1], strlen(seg[1]), &kind) != 0) {
        send_exception(req, 404, "NotFound", "no such collection");
        return;
    }
    if (n <= 2) {
        rc = o->p.devices(o->p.arg, &devs, &ndevs);
        if (rc == 0 && n == 1) {
            rc = col_layers_ogc_collections(base, devs, ndevs, &doc);
        } else if (rc == 0) {
            rc = col_layers_ogc_collection(base, kind, devs, ndevs, &doc);
        }
        free(devs);
        send_owned(req, rc, doc, "application/json");
        return;
    }
    if (strcmp(seg[2], "items") != 0) {
        send_exception(req, 404, "NotFound", "no such resource");
        return;
    }
    items(o, req, kind, base, n == 4 ? seg[3] : NULL);
}

int col_ogc_create(struct col_http *h, const struct col_ogc_provider *p, struct col_ogc **out)
{
    if (h == NULL || p == NULL || p->devices == NULL || p->layer == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    struct col_ogc *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return CT_E_NOMEM;
    }
    o->p = *p;
    int rc = col_http_route(h, "GET", "/ogc", true, on_ogc, o);
    rc = rc ? rc : col_http_route(h, "GET", "/ngsi-ld/v1/entities", true, ogc_on_ngsi, o);
    /* Even on error the routes may hold 'o': the caller frees it with col_ogc_free. */
    *out = o;
    return rc;
}

void col_ogc_free(struct col_ogc *o)
{
    free(o);
}

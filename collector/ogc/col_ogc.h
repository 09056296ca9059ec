/* col_ogc.h - open-standard read APIs of the public listener (protocol.md section 5):
 *
 *   OGC API - Features Part 1 under /ogc: landing page (/ogc and /ogc/), /ogc/conformance,
 *   /ogc/api (OpenAPI 3.0, JSON), /ogc/api.html, /ogc/collections, /ogc/collections/<layer>,
 *   /ogc/collections/<layer>/items (bbox, datetime, limit, offset, crs/bbox-crs = CRS84 only)
 *   and /ogc/collections/<layer>/items/<device id>. Repeated and trailing slashes are ignored
 *   (GDAL joins "<url>/collections" even when the URL ends with '/'). Errors are OGC exception
 *   documents {"code", "description"} (400 InvalidParameterValue, 404 NotFound).
 *   Links are absolute (GDAL 3.6 joins relative links to the landing URL wrongly): ogc.base_url
 *   when set, else built from a reverse proxy's Forwarded / X-Forwarded-Proto /
 *   X-Forwarded-Host, else from Host (col_ogc_base); every answer varies on those headers.
 *
 *   NGSI-LD (ETSI GS CIM 009) under /ngsi-ld/v1/entities: the query (type, id, q, georel near
 *   with geometry=Point and coordinates, limit, offset, count) and /ngsi-ld/v1/entities/<id>.
 *   Errors are ProblemDetails with the ETSI error type URIs.
 *
 * Every document lists public stations only: the layers come from col_layers, which keeps the
 * registry's public devices (tests/e2e/test_ogc_gdal.py, test_ngsi.py).
 *
 * The data come from a provider (the app's layer cache): a col_ogc holds no data of its own.
 * Threading: loop thread only. */
#ifndef COL_OGC_H
#define COL_OGC_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_http.h"
#include "col_layers.h"

#define COL_NGSI_LIMIT_DEFAULT 20u /* NGSI-LD: default page size */
#define COL_NGSI_LIMIT_MAX 1000u   /* larger limits are refused (BadRequestData) */
#define COL_NGSI_TERMS_MAX 8u      /* q terms joined by ';' */
#define COL_NGSI_IDS_MAX 16u       /* ids in one id= list */
#define COL_NGSI_ATTR_MAX 64u      /* longest attribute name in q */

/* Called once per layer request with the layer's source (borrowed for the call), or NULL when
 * the layer cannot be had (no store answer): the caller then answers 503. */
typedef void (*col_ogc_layer_cb)(void *ctx, const struct col_layers_src *src);

struct col_ogc_provider {
    /* A borrowed view of the registry's devices, as col_layers_devices (free *out). */
    int (*devices)(void *arg, const struct ct_device ***out, size_t *n);
    /* Calls cb(ctx, src) exactly once, at once or later on the loop; returns 0, or an error
     * (then cb is not called). */
    int (*layer)(void *arg, enum ct_kind kind, col_ogc_layer_cb cb, void *ctx);
    void *arg;
};

struct col_ogc; /* opaque: the routes' context */

/* Adds the routes "/ogc" and "/ngsi-ld/v1/entities" (prefixes) to 'h' (before col_http_start);
 * 'p' is copied. Returns 0, CT_E_INVAL, CT_E_NOMEM or col_http_route's error; *out is set
 * whenever the context was allocated (also on a route error). Free with col_ogc_free after the
 * server has closed and the provider has answered every pending layer request. */
int col_ogc_create(struct col_http *h, const struct col_ogc_provider *p, struct col_ogc **out);
void col_ogc_free(struct col_ogc *o);

/* ---- Pure parts (exposed for the tests) ---- */

/* What a request's links are built from; every member borrowed, any may be NULL. */
struct col_ogc_origin {
    const char *base_url;  /* ogc.base_url ("" or NULL: none) */
    const char *host;      /* Host */
    const char *fwd_proto; /* X-Forwarded-Proto */
    const char *fwd_host;  /* X-Forwarded-Host */
    const char *forwarded; /* Forwarded (RFC 7239) */
};

/* The absolute URL of 'path' ("/ogc"): base_url + path when base_url is set (verbatim);
 * otherwise <proto>://<host><path> where proto is the first element's proto= of Forwarded, else
 * the first X-Forwarded-Proto, when it is "http" or "https" (else http), and host is the first
 * element's host= of Forwarded, else the first X-Forwarded-Host, when it is a plausible
 * host[:port] (letters, digits, '.', '-', ':', '[', ']'; 1 to 255 bytes), else Host when that is
 * plausible; with no plausible host at all, 'path' alone (root-relative). A bad forwarded value
 * (CR, LF, spaces, quotes, '/', '<' ...) is ignored, never copied. Writes at most 'cap' bytes,
 * NUL-terminated. Tested by test_ngsi_query (test_ogc_base) and e2e_ogc_gdal. */
void col_ogc_base(const struct col_ogc_origin *o, const char *path, char *buf, size_t cap);
/* Whether 'url' can be ogc.base_url: http:// or https://, then a plausible host[:port] and an
 * optional path of [A-Za-z0-9._~/%-] not ending in '/', at most 512 bytes. */
bool col_ogc_base_url_ok(const char *url);
/* Sets the base URL of every link (copied; "" = from the request's headers). Returns 0 or
 * CT_E_INVAL (not col_ogc_base_url_ok). */
int col_ogc_set_base_url(struct col_ogc *o, const char *url);
/* The OpenAPI 3.0 definition of the API at 'base' (JSON, malloc'd in *out). 0 or CT_E_NOMEM. */
int col_ogc_openapi(const char *base, char **out);
/* The service-doc page (HTML, malloc'd in *out). 0 or CT_E_NOMEM. */
int col_ogc_doc_html(const char *base, char **out);
/* An OGC exception document {"code": code, "description": text} (malloc'd). */
int col_ogc_exception(const char *code, const char *text, char **out);

/* NGSI-LD query of GET /ngsi-ld/v1/entities. */
enum col_ngsi_op {
    COL_NGSI_EQ = 0,
    COL_NGSI_NE,
    COL_NGSI_LT,
    COL_NGSI_GT,
    COL_NGSI_LE,
    COL_NGSI_GE
};

struct col_ngsi_term {
    char attr[COL_NGSI_ATTR_MAX + 1];
    enum col_ngsi_op op;
    cJSON *value; /* owned: the value as parsed by cJSON (number, string, bool) */
};

struct col_ngsi_query {
    unsigned kinds; /* bit (1 << kind) per layer asked for; all when no type/id narrows it */
    size_t nids;
    char ids[COL_NGSI_IDS_MAX][CT_ID_MAX + 64]; /* entity ids asked for (id=) */
    size_t nterms;
    struct col_ngsi_term terms[COL_NGSI_TERMS_MAX]; /* q: all must hold */
    bool near;
    double lon, lat;     /* geometry=Point, coordinates=[lon,lat] */
    double max_m, min_m; /* maxDistance / minDistance in metres (-1: none) */
    uint32_t limit;
    uint32_t offset;
    bool count;
};

/* The problem of a refused query: an ETSI error type ("BadRequestData") and a detail. */
struct col_ngsi_problem {
    const char *type; /* the last part of https://uri.etsi.org/ngsi-ld/errors/<type> */
    char detail[256];
};

/* Parses the query parameters (decoded names and values, n of them). Returns 0, or CT_E_PARSE
 * with *pb filled (InvalidRequest for a malformed value, BadRequestData for an unsupported one).
 * Free the terms' values with col_ngsi_query_free, also after an error. */
int col_ngsi_query_parse(const char *const *names, const char *const *values, size_t n,
                         struct col_ngsi_query *q, struct col_ngsi_problem *pb);
void col_ngsi_query_free(struct col_ngsi_query *q);
/* Whether an entity (as col_layers_ngsi_entities makes them) passes the id, q and geo
 * filters of 'q' (the type filter is applied by the kinds asked). */
bool col_ngsi_match(const struct col_ngsi_query *q, const cJSON *entity);
/* A ProblemDetails document (malloc'd text). */
int col_ngsi_problem_doc(const char *type, const char *title, const char *detail, char **out);
/* The layer of an NGSI-LD entity id "urn:ngsi-ld:<Type>:<device>": 0 and *kind, or
 * CT_E_NOTFOUND. */
int col_ngsi_id_kind(const char *id, enum ct_kind *kind);

#endif

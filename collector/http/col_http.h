/* col_http.h - a small HTTP/1.1 server on the collector's libuv loop (http-parser underneath).
 *
 * Routes match the method and either an exact path or a path prefix (longest prefix wins; exact
 * routes first); HEAD is served by GET routes without the body. A handler gets a request object
 * and answers at once or later: it keeps the pointer and calls col_http_respond() (or one of the
 * helpers) exactly once. If the client goes away (or the server closes) meanwhile, the request is
 * marked cancelled; responding to it is then safe, sends nothing and frees it.
 *
 * Limits and policies (all from struct col_http_cfg):
 *   - max_request_bytes: request line plus headers beyond it -> 431, a body (Content-Length or
 *     received) beyond it -> 413; both close the connection after the answer.
 *   - max_connections: a connection beyond it is accepted and closed at once (counted).
 *   - max_connections_per_client: likewise for a connection beyond it from one client address
 *     (0 = no cap), so that one client cannot take every connection (issue 13).
 *   - timeout_ms: a whole request must arrive within it, an idle keep-alive connection is closed
 *     after it, and so is one whose client does not read our answer. A request in a handler's
 *     hands is not timed.
 *   - rate_per_client: a token bucket per client address (burst max(1, 2 * rate)); an empty
 *     bucket answers 429 with Retry-After. The table of clients is bounded
 *     (COL_HTTP_RATE_SLOTS); when full, the least recently seen of a probe window is replaced.
 *   - one request at a time per connection: reading pauses while a request is being answered
 *     (pipelined requests wait in the connection's buffer).
 * Error answers carry a plain body ("404 Not Found") and no internal detail. Every response
 * carries X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, X-Frame-Options: DENY
 * and a Content-Security-Policy (a strict one, or the map page's for HTML).
 *
 * Threading: loop thread only, for every function here. */
#ifndef COL_HTTP_H
#define COL_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define COL_HTTP_MAX_ROUTES 32        /* col_http_route() beyond it: CT_E_FULL */
#define COL_HTTP_MAX_QUERY 32         /* query parameters kept; more -> 400 */
#define COL_HTTP_RATE_SLOTS 4096      /* client addresses tracked by the rate limiter */
#define COL_HTTP_FILE_MAX (16u << 20) /* static file size limit; larger -> 404 */
#define COL_HTTP_READ_CHUNK 65536     /* bytes of one socket read */

struct col_http;     /* opaque server; owns a uv_tcp_t listener and the connections */
struct col_http_req; /* one request; see the ownership rules above */

struct col_http_cfg {
    const char *listen;                /* IPv4 or IPv6 literal; copied */
    uint16_t port;                     /* 0 = any free port (see col_http_port()) */
    size_t max_request_bytes;          /* >= 1024 */
    size_t max_connections;            /* >= 1 */
    uint64_t timeout_ms;               /* >= 1 */
    double rate_per_client;            /* requests per second; 0 = unlimited */
    struct col_metrics *metrics;       /* borrowed, may be NULL: registers citytel_http_* series */
    size_t max_connections_per_client; /* 0 = no cap */
};

/* What the server counted since it was created (col_http_get_stats). */
enum col_http_count {
    COL_HTTP_REQUESTS = 0,     /* requests received */
    COL_HTTP_REF_CONNECTIONS,  /* refused: max_connections reached */
    COL_HTTP_REF_PER_CLIENT,   /* refused: max_connections_per_client reached */
    COL_HTTP_REF_RATE_LIMITED, /* 429 */
    COL_HTTP_REF_TOO_LARGE,    /* 413, 431 */
    COL_HTTP_REF_TIMEOUT,      /* request, idle or write timeout */
    COL_HTTP_REF_BAD_REQUEST,  /* 400 */
    COL_HTTP__COUNT
};

struct col_http_stats {
    uint64_t count[COL_HTTP__COUNT];
    size_t connections; /* open now */
};

/* The `reason` label of a refusal counter ("rate_limited"); "" for COL_HTTP_REQUESTS. */
const char *col_http_count_name(enum col_http_count which);
/* Copies the counters. */
void col_http_get_stats(const struct col_http *h, struct col_http_stats *out);

/* Called on the loop thread for a matching request. 'req' is borrowed until answered. */
typedef void (*col_http_handler)(struct col_http_req *req, void *arg);

/* Creates a server (not yet listening). Returns 0, CT_E_INVAL or CT_E_NOMEM. */
int col_http_create(uv_loop_t *loop, const struct col_http_cfg *cfg, struct col_http **out);
/* Adds a route before col_http_start(). 'method' ("GET") and 'path' ("/metrics", or a prefix
 * such as "/layers/" when 'prefix') are copied. Returns 0, CT_E_INVAL or CT_E_FULL. */
int col_http_route(struct col_http *h, const char *method, const char *path, bool prefix,
                   col_http_handler cb, void *arg);
/* Binds and listens. Returns 0, CT_E_INVAL (bad address) or CT_E_NET (the uv error is logged). */
int col_http_start(struct col_http *h);
/* The bound port after col_http_start() (useful with port 0); 0 before. */
uint16_t col_http_port(const struct col_http *h);
/* Applies reloadable limits (timeout, connections, rate) to new requests; 0 (or a negative
 * rate) keeps a limit as it is. */
void col_http_set_limits(struct col_http *h, uint64_t timeout_ms, size_t max_connections,
                         double rate_per_client);
/* Sets max_connections_per_client (0 = no cap) for new connections. */
void col_http_set_max_per_client(struct col_http *h, size_t max_per_client);
/* Number of open client connections. */
size_t col_http_connections(const struct col_http *h);
/* Asynchronous: stops listening, closes every connection (pending requests become cancelled),
 * frees 'h' in the last close callback and then calls closed_cb(arg) (may be NULL). */
void col_http_close(struct col_http *h, void (*closed_cb)(void *arg), void *arg);

/* ---- The request (borrowed pointers valid until the request is answered) ---- */

const char *col_http_req_method(const struct col_http_req *req); /* "GET" */
const char *col_http_req_path(const struct col_http_req *req);   /* percent-decoded, no query */
/* The first value of query parameter 'name' (decoded, '+' is a space), or NULL. */
const char *col_http_req_query(const struct col_http_req *req, const char *name);
/* The number of query parameters, and the i-th (in request order; i < nquery): its decoded
 * value, with its decoded name in *name; NULL when i is out of range. */
size_t col_http_req_nquery(const struct col_http_req *req);
const char *col_http_req_query_at(const struct col_http_req *req, size_t i, const char **name);
/* If-None-Match, Accept, Accept-Encoding: the value, or NULL when absent. */
const char *col_http_req_if_none_match(const struct col_http_req *req);
const char *col_http_req_accept(const struct col_http_req *req);
const char *col_http_req_accept_encoding(const struct col_http_req *req);
/* The Host header as the client sent it (unchecked), or NULL when absent. */
const char *col_http_req_host(const struct col_http_req *req);
/* Cookie and X-CSRF-Token (the staff console): the value, or NULL when absent. */
const char *col_http_req_cookie(const struct col_http_req *req);
const char *col_http_req_csrf_token(const struct col_http_req *req);
/* X-Forwarded-Proto, X-Forwarded-Host and Forwarded (RFC 7239) as a reverse proxy sent them
 * (the first of each; unchecked), or NULL when absent. */
const char *col_http_req_fwd_proto(const struct col_http_req *req);
const char *col_http_req_fwd_host(const struct col_http_req *req);
const char *col_http_req_forwarded(const struct col_http_req *req);
/* The client's address as text ("127.0.0.1"). */
const char *col_http_req_client(const struct col_http_req *req);
/* The request body (at most max_request_bytes), or "" with *len 0. */
const char *col_http_req_body(const struct col_http_req *req, size_t *len);
/* True once the client is gone; the answer will not be sent. */
bool col_http_req_cancelled(const struct col_http_req *req);
/* True when Accept-Encoding allows gzip (not with q=0). */
bool col_http_req_accepts_gzip(const struct col_http_req *req);

/* ---- Answers: each ends the request (and frees it); exactly one per request ---- */

struct col_http_resp {
    int status;               /* 200, 404, ... */
    const char *content_type; /* NULL = no body type (for example 204) */
    const char *body;         /* borrowed for the call; copied (or compressed) */
    size_t len;
    bool compress; /* gzip when the client accepts it (adds Vary: Accept-Encoding) */
    bool etag;     /* strong ETag from the body's hash; 304 on a matching If-None-Match */
    const char *cache_control; /* NULL = no Cache-Control header */
    const char *extra_headers; /* NULL or complete "Name: value\r\n" lines, copied */
    const char *vary; /* NULL or more Vary members ("Host, Forwarded"), in the one Vary line */
    /* Optional precomputed representations of a cached document, so that a busy document is not
     * compressed and hashed again for every request (all borrowed for the call; NULL = compute):
     * the gzip body, and the ETags col_http_etag() gives for the plain and gzip bodies. */
    const char *gz_body;
    size_t gz_len;
    const char *etag_plain;
    const char *etag_gz;
};

/* Sends 'resp'. Returns 0 (also for a cancelled request: nothing is sent), CT_E_INVAL,
 * CT_E_NOMEM or CT_E_NET (the connection is then closed). 'req' is invalid afterwards. */
int col_http_respond(struct col_http_req *req, const struct col_http_resp *resp);
/* An error answer with a plain body "<status> <reason>". Same contract as col_http_respond(). */
int col_http_respond_error(struct col_http_req *req, int status);
/* Serves the file 'rel' (a URL path below the root, percent-decoded; "" or a trailing '/'
 * means index.html) from directory 'root' (copied). The file is read on the libuv thread pool;
 * the answer follows later. Traversal ("..", a backslash, a NUL, a symbolic link leading out of
 * the root) and missing files answer 404; the content type comes from the extension (html, js,
 * css, png, svg, json, geojson; otherwise application/octet-stream). Compressed and ETagged.
 * Returns 0 or CT_E_NOMEM (then an error answer was attempted). */
int col_http_serve_file(struct col_http_req *req, const char *root, const char *rel);

/* ---- Helpers (pure; exposed for the tests and other modules) ---- */

/* The reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *col_http_reason(int status);
/* Content type for a file name by its extension. */
const char *col_http_content_type(const char *name);
/* Writes the strong ETag ("\"<16 hex>\"", or "\"<16 hex>-gz\"" for a gzip representation) of
 * 'body' into out (at least 24 bytes). */
void col_http_etag(const char *body, size_t len, bool gzip, char out[24]);
/* True when an If-None-Match value (a list of entity tags, or "*") matches 'etag'; weak
 * comparison as RFC 9110 says for If-None-Match. */
bool col_http_etag_matches(const char *if_none_match, const char *etag);
/* Percent-decodes 'len' bytes of 's' into out (cap bytes, NUL-terminated); '+' becomes a space
 * when 'plus'. Returns the decoded length, or -1 for a bad escape, a NUL byte or no room. */
long col_http_pct_decode(const char *s, size_t len, bool plus, char *out, size_t cap);

#endif

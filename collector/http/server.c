/* server.c - the listener, connections, reads, timeouts and the asynchronous close. Parsing and
 * routing are in parse.c, answers in respond.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "col_http.h"
#include "col_obs.h"
#include "ct/err.h"
#include "http_int.h"

static const char *const count_names[COL_HTTP__COUNT] = {
    [COL_HTTP_REQUESTS] = "",
    [COL_HTTP_REF_CONNECTIONS] = "connections",
    [COL_HTTP_REF_PER_CLIENT] = "per_client",
    [COL_HTTP_REF_RATE_LIMITED] = "rate_limited",
    [COL_HTTP_REF_TOO_LARGE] = "too_large",
    [COL_HTTP_REF_TIMEOUT] = "timeout",
    [COL_HTTP_REF_BAD_REQUEST] = "bad_request",
};

const char *col_http_count_name(enum col_http_count which)
{
    return (unsigned)which < COL_HTTP__COUNT ? count_names[which] : "";
}

void col_http_get_stats(const struct col_http *h, struct col_http_stats *out)
{
    memcpy(out->count, h->counts, sizeof(out->count));
    out->connections = h->nconns;
}

void col_http_bump(struct col_http *h, enum col_http_count which)
{
    h->counts[which]++;
    if (h->m[which] != NULL) {
        col_metric_inc(h->m[which]);
    }
}

static void register_metrics(struct col_http *h, struct col_metrics *m)
{
    int rc = col_metrics_register(m, COL_METRIC_COUNTER, "citytel_http_requests_total",
                                  "HTTP requests received.", NULL, &h->m[COL_HTTP_REQUESTS]);
    if (rc != 0 && rc != CT_E_EXISTS) {
        h->m[COL_HTTP_REQUESTS] = NULL;
    }
    for (int i = COL_HTTP_REQUESTS + 1; i < COL_HTTP__COUNT; i++) {
        const char *labels[] = {"reason", count_names[i], NULL};
        rc = col_metrics_register(m, COL_METRIC_COUNTER, "citytel_http_refused_total",
                                  "HTTP connections or requests refused, by reason.", labels,
                                  &h->m[i]);
        if (rc != 0 && rc != CT_E_EXISTS) {
            h->m[i] = NULL;
        }
    }
}

int col_http_create(uv_loop_t *loop, const struct col_http_cfg *cfg, struct col_http **out)
{
    if (loop == NULL || cfg == NULL || out == NULL || cfg->listen == NULL ||
        cfg->max_request_bytes < 1024 || cfg->max_connections < 1 || cfg->timeout_ms < 1 ||
        !(cfg->rate_per_client >= 0)) {
        return CT_E_INVAL;
    }
    struct col_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return CT_E_NOMEM;
    }
    h->listen = strdup(cfg->listen);
    h->rates = calloc(COL_HTTP_RATE_SLOTS, sizeof(*h->rates));
    if (h->listen == NULL || h->rates == NULL) {
        free(h->listen);
        free(h->rates);
        free(h);
        return CT_E_NOMEM;
    }
    h->loop = loop;
    h->port = cfg->port;
    h->max_request_bytes = cfg->max_request_bytes;
    h->max_connections = cfg->max_connections;
    h->timeout_ms = cfg->timeout_ms;
    h->rate = cfg->rate_per_client;
    h->max_per_client = cfg->max_connections_per_client;
    uv_tcp_init(loop, &h->listener);
    if (cfg->metrics != NULL) {
        register_metrics(h, cfg->metrics);
    }
    *out = h;
    return 0;
}

int col_http_route(struct col_http *h, const char *method, const char *path, bool prefix,
                   col_http_handler cb, void *arg)
{
    if (h == NULL || method == NULL || path == NULL || path[0] != '/' || cb == NULL ||
        strlen(method) >= sizeof(((struct col_http_req *)0)->method)) {
        return CT_E_INVAL;
    }
    if (h->nroutes == COL_HTTP_MAX_ROUTES) {
        return CT_E_FULL;
    }
    struct route *r = &h->routes[h->nroutes];
    r->method = strdup(method);
    r->path = strdup(path);
    if (r->method == NULL || r->path == NULL) {
        free(r->method);
        free(r->path);
        memset(r, 0, sizeof(*r));
        return CT_E_NOMEM;
    }
    r->path_len = strlen(path);
    r->prefix = prefix;
    r->cb = cb;
    r->arg = arg;
    h->nroutes++;
    return 0;
}

uint16_t col_http_port(const struct col_http *h)
{
    return h == NULL ? 0 : h->bound_port;
}

size_t col_http_connections(const struct col_http *h)
{
    return h == NULL ? 0 : h->nconns;
}

void col_http_set_limits(struct col_http *h, uint64_t timeout_ms, size_t max_connections,
                         double rate_per_client)
{
    if (timeout_ms > 0) {
        h->timeout_ms = timeout_ms;
    }
    if (max_connections > 0) {
        h->max_connections = max_connections;
    }
    if (rate_per_client >= 0) {
        h->rate = rate_per_client;
    }
}

void col_http_set_max_per_client(struct col_http *h, size_t max_per_client)
{
    h->max_per_client = max_per_client;
}

/* ---- Connections ---- */

static void maybe_finish(struct col_http *h);

static void on_conn_handle_closed(uv_handle_t *handle)
{
    struct conn *c = handle->data;
    if (--c->nclosing > 0) {
        return;
    }
    struct col_http *h = c->srv;
    ct_buf_free(&c->url);
    ct_buf_free(&c->field);
    ct_buf_free(&c->value);
    free(c->rbuf);
    free(c->pending);
    free(c);
    h->nalive--;
    maybe_finish(h);
}

void col_http_conn_close(struct conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    struct col_http *h = c->srv;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        h->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    h->nconns--;
    if (c->req != NULL) {
        if (c->busy) {
            c->req->conn = NULL; /* the handler still holds it: now cancelled */
        } else {
            col_http_req_free(c->req);
        }
        c->req = NULL;
    }
    c->nclosing = 2;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;
    col_http_bump(c->srv, COL_HTTP_REF_TIMEOUT);
    col_http_conn_close(c);
}

void col_http_conn_arm_timer(struct conn *c)
{
    uv_timer_start(&c->timer, on_timeout, c->srv->timeout_ms, 0);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = handle->data;
    *buf = uv_buf_init(c->rbuf, COL_HTTP_READ_CHUNK);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct conn *c = stream->data;
    if (nread < 0) {
        col_http_conn_close(c);
        return;
    }
    if (nread == 0) {
        return;
    }
    if (!c->busy) {
        col_http_conn_feed(c, c->rbuf, (size_t)nread);
        return;
    }
    /* A request is being answered: keep the bytes for later, up to PENDING_MAX; beyond it,
     * stop reading (TCP flow control holds the client back). */
    char *p = realloc(c->pending, c->pending_len + (size_t)nread);
    if (p == NULL) {
        col_http_conn_close(c);
        return;
    }
    memcpy(p + c->pending_len, c->rbuf, (size_t)nread);
    c->pending = p;
    c->pending_len += (size_t)nread;
    if (c->pending_len >= c->srv->max_request_bytes + COL_HTTP_READ_CHUNK) {
        col_http_conn_read_stop(c);
    }
}

void col_http_conn_read_start(struct conn *c)
{
    if (c->reading || c->closing) {
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        col_http_conn_close(c);
        return;
    }
    c->reading = true;
}

void col_http_conn_read_stop(struct conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void on_refused_closed(uv_handle_t *handle)
{
    struct conn *c = handle->data;
    struct col_http *h = c->srv;
    free(c);
    h->nalive--;
    maybe_finish(h);
}

static void client_name(struct conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    snprintf(c->client, sizeof(c->client), "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0) {
        return;
    }
    if (ss.ss_family == AF_INET) {
        uv_ip4_name((const struct sockaddr_in *)&ss, c->client, sizeof(c->client));
    } else if (ss.ss_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)&ss, c->client, sizeof(c->client));
    }
}

/* Open connections from 'addr' (a linear walk: the list is bounded by max_connections). */
static size_t client_connections(const struct col_http *h, const char *addr)
{
    size_t n = 0;
    for (const struct conn *o = h->conns; o != NULL; o = o->next) {
        n += strcmp(o->client, addr) == 0;
    }
    return n;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct col_http *h = container_of(server, struct col_http, listener);
    if (status < 0 || h->closing) {
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        col_log(COL_LOG_ERROR, "http", "out of memory accepting a connection");
        return;
    }
    c->srv = h;
    uv_tcp_init(h->loop, &c->tcp);
    c->tcp.data = c;
    h->nalive++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || h->nconns >= h->max_connections) {
        col_http_bump(h, COL_HTTP_REF_CONNECTIONS);
        uv_close((uv_handle_t *)&c->tcp, on_refused_closed);
        return;
    }
    client_name(c);
    if (h->max_per_client > 0 && client_connections(h, c->client) >= h->max_per_client) {
        col_http_bump(h, COL_HTTP_REF_PER_CLIENT);
        uv_close((uv_handle_t *)&c->tcp, on_refused_closed);
        return;
    }
    uv_timer_init(h->loop, &c->timer);
    c->timer.data = c;
    c->next = h->conns;
    if (h->conns != NULL) {
        h->conns->prev = c;
    }
    h->conns = c;
    h->nconns++;
    http_parser_init(&c->parser, HTTP_REQUEST);
    ct_buf_init(&c->url, h->max_request_bytes);
    ct_buf_init(&c->field, h->max_request_bytes);
    ct_buf_init(&c->value, h->max_request_bytes);
    c->rbuf = malloc(COL_HTTP_READ_CHUNK);
    if (c->rbuf == NULL) {
        col_http_conn_close(c);
        return;
    }
    col_http_conn_arm_timer(c);
    col_http_conn_read_start(c);
}

int col_http_start(struct col_http *h)
{
    struct sockaddr_storage ss;
    if (uv_ip4_addr(h->listen, h->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(h->listen, h->port, (struct sockaddr_in6 *)&ss) != 0) {
        return CT_E_INVAL;
    }
    int rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
    }
    if (rc != 0) {
        col_log(COL_LOG_ERROR, "http", "cannot listen on %s port %u: %s", h->listen,
                (unsigned)h->port, uv_err_name(rc));
        return CT_E_NET;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    if (uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &len) == 0) {
        h->bound_port =
            ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)&bound)->sin_port);
    }
    h->listening = true;
    return 0;
}

static void maybe_finish(struct col_http *h)
{
    if (!h->closing || !h->listener_closed || h->nalive > 0) {
        return;
    }
    void (*cb)(void *) = h->closed_cb;
    void *arg = h->closed_arg;
    for (size_t i = 0; i < h->nroutes; i++) {
        free(h->routes[i].method);
        free(h->routes[i].path);
    }
    free(h->rates);
    free(h->listen);
    free(h);
    if (cb != NULL) {
        cb(arg);
    }
}

static void on_listener_closed(uv_handle_t *handle)
{
    struct col_http *h = container_of(handle, struct col_http, listener);
    h->listener_closed = true;
    maybe_finish(h);
}

void col_http_close(struct col_http *h, void (*closed_cb)(void *arg), void *arg)
{
    if (h == NULL || h->closing) {
        return;
    }
    h->closing = true;
    h->closed_cb = closed_cb;
    h->closed_arg = arg;
    while (h->conns != NULL) {
        col_http_conn_close(h->conns);
    }
    uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}

/* fake_influx.c - the fake InfluxDB's server: listener, connections, http-parser callbacks,
 * recording and scripted answers. Script text parsing is in fake_influx_script.c. */
#include "fake_influx_int.h"

#include <ct/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define CONN_BUF 65536

struct conn {
    uv_tcp_t tcp;
    uv_timer_t delay; /* a scripted delay */
    http_parser parser;
    struct fake_influx *f;
    struct fake_influx_req *cur; /* request being parsed */
    size_t body_cap;
    bool last_was_value; /* header callbacks arrive in pieces */
    bool too_big;
    bool waiting; /* a request is counted as unanswered */
    int pending_closes;
    bool closing;
    struct fake_resp_own answer; /* the answer due after the delay */
    struct conn *prev, *next;
    char buf[CONN_BUF];
};

struct write_req {
    uv_write_t req;
    char *data;
};

static void conn_close(struct conn *c);

static char *append(char *s, const char *at, size_t n)
{
    size_t old = s ? strlen(s) : 0;
    char *r = realloc(s, old + n + 1);
    if (r == NULL) {
        abort(); /* test helper: out of memory is fatal */
    }
    memcpy(r + old, at, n);
    r[old + n] = '\0';
    return r;
}

static void req_free(struct fake_influx_req *r)
{
    if (r == NULL) {
        return;
    }
    free(r->target);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->body);
    free(r);
}

static struct conn *conn_of(http_parser *p)
{
    return container_of(p, struct conn, parser);
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = conn_of(p);
    req_free(c->cur);
    c->cur = calloc(1, sizeof(*c->cur));
    if (c->cur == NULL) {
        abort();
    }
    c->body_cap = 0;
    c->too_big = false;
    c->last_was_value = false;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct conn *c = conn_of(p);
    c->cur->target = append(c->cur->target, at, n);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct fake_influx_req *r = conn_of(p)->cur;
    struct conn *c = conn_of(p);
    if (c->last_was_value || r->n_headers == 0) {
        if (r->n_headers == FAKE_INFLUX_MAX_HEADERS) {
            return 0;
        }
        r->n_headers++;
    }
    c->last_was_value = false;
    struct fake_influx_header *h = &r->headers[r->n_headers - 1];
    h->name = append(h->name, at, n);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct fake_influx_req *r = conn_of(p)->cur;
    conn_of(p)->last_was_value = true;
    if (r->n_headers == 0) {
        return 0;
    }
    struct fake_influx_header *h = &r->headers[r->n_headers - 1];
    h->value = append(h->value, at, n);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct conn *c = conn_of(p);
    struct fake_influx_req *r = c->cur;
    size_t limit = c->f->max_body ? c->f->max_body : FAKE_INFLUX_MAX_BODY;
    if (c->too_big || r->raw_len + n > limit) {
        c->too_big = true;
        r->raw_len += n;
        return 0;
    }
    if (r->body_len + n + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < r->body_len + n + 1) {
            cap *= 2;
        }
        char *b = realloc(r->body, cap);
        if (b == NULL) {
            abort();
        }
        r->body = b;
        c->body_cap = cap;
    }
    memcpy(r->body + r->body_len, at, n);
    r->body_len += n;
    r->raw_len += n;
    r->body[r->body_len] = '\0';
    return 0;
}

/* Replaces a gzip body by its decoded bytes (up to FAKE_INFLUX_MAX_BODY). */
static void gunzip(struct fake_influx_req *r)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        r->gzip_bad = true;
        return;
    }
    size_t cap = r->body_len * 4 + 1024;
    char *out = malloc(cap);
    if (out == NULL) {
        abort();
    }
    zs.next_in = (Bytef *)r->body;
    zs.avail_in = (uInt)r->body_len;
    int rc;
    do {
        if (zs.total_out + 1 >= cap) {
            if (cap >= FAKE_INFLUX_MAX_BODY) {
                rc = Z_BUF_ERROR;
                break;
            }
            cap *= 2;
            char *o = realloc(out, cap);
            if (o == NULL) {
                abort();
            }
            out = o;
        }
        zs.next_out = (Bytef *)out + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out - 1);
        rc = inflate(&zs, Z_NO_FLUSH);
    } while (rc == Z_OK);
    if (rc != Z_STREAM_END) {
        r->gzip_bad = true;
        free(out);
        inflateEnd(&zs);
        return;
    }
    out[zs.total_out] = '\0';
    free(r->body);
    r->body = out;
    r->body_len = zs.total_out;
    inflateEnd(&zs);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 413:
        return "Request Entity Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static void on_written(uv_write_t *w, int status)
{
    struct write_req *wr = container_of(w, struct write_req, req);
    free(wr->data);
    free(wr);
}

static void send_answer(struct conn *c)
{
    struct fake_resp_own *a = &c->answer;
    const char *body = a->body ? a->body : "";
    size_t blen = strlen(body);
    size_t cap = blen + (a->headers ? strlen(a->headers) : 0) + 256;
    struct write_req *wr = calloc(1, sizeof(*wr));
    char *data = malloc(cap);
    if (wr == NULL || data == NULL) {
        abort();
    }
    int n = snprintf(data, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "X-Influxdb-Version: fake\r\nContent-Length: %zu\r\n%s\r\n%s",
                     a->status, reason_of(a->status), blen, a->headers ? a->headers : "", body);
    wr->data = data;
    uv_buf_t b = uv_buf_init(data, (unsigned)n);
    fake_lock(c->f);
    if (c->waiting) {
        c->waiting = false;
        c->f->active--;
    }
    fake_unlock(c->f);
    if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(data);
        free(wr);
        conn_close(c);
    }
    fake_resp_clear(a);
}

static void on_delay(uv_timer_t *t)
{
    send_answer(container_of(t, struct conn, delay));
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = conn_of(p);
    struct fake_influx *f = c->f;
    struct fake_influx_req *r = c->cur;
    c->cur = NULL;
    snprintf(r->method, sizeof(r->method), "%s", http_method_str((enum http_method)p->method));
    if (r->target == NULL) {
        r->target = append(NULL, "", 0);
    }
    if (r->body == NULL) {
        r->body = append(NULL, "", 0);
    }
    const char *ce = fake_influx_header(r, "Content-Encoding");
    if (!c->too_big && ce && strcasecmp(ce, "gzip") == 0) {
        r->gzip = true;
        gunzip(r);
    }
    r->t_ms = uv_hrtime() / 1000000u;
    fake_lock(f);
    if (c->too_big) {
        fake_resp_set(&c->answer, 413, NULL, "{\"error\":\"Request Entity Too Large\"}", 0, false);
    } else if (!fake_script_pop(f, &c->answer)) {
        bool query = strncmp(r->target, "/query", 6) == 0;
        fake_resp_set(&c->answer, query ? 200 : 204, NULL,
                      query ? "{\"results\":[{\"statement_id\":0}]}" : NULL, 0, false);
    }
    r->status = c->answer.hang ? 0 : c->answer.status;
    c->waiting = true;
    f->active++;
    if (f->active > f->max_active) {
        f->max_active = f->active;
    }
    if (f->n_reqs < FAKE_INFLUX_MAX_REQS) {
        f->reqs[f->n_reqs++] = r;
        r = NULL;
    } else {
        f->dropped++;
    }
    fake_unlock(f);
    req_free(r);
    if (c->answer.hang) {
        return 0;
    }
    if (c->answer.delay_ms) {
        uv_timer_start(&c->delay, on_delay, c->answer.delay_ms, 0);
    } else {
        send_answer(c);
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct fake_influx *f = c->f;
    if (--c->pending_closes > 0) {
        return;
    }
    req_free(c->cur);
    fake_resp_clear(&c->answer);
    free(c);
    fake_handle_closed(f);
}

static void conn_close(struct conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    struct fake_influx *f = c->f;
    fake_lock(f);
    if (c->waiting) {
        c->waiting = false;
        f->active--;
    }
    fake_unlock(f);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        f->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    c->pending_closes = 2;
    f->pending_closes++;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->delay, on_conn_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n == 0) {
        return; /* EAGAIN: nothing read (a zero length would mean EOF to http-parser) */
    }
    size_t used = http_parser_execute(&c->parser, &settings, buf->base, (size_t)n);
    if (c->parser.http_errno != HPE_OK || used != (size_t)n) {
        conn_close(c);
    }
}

void fake_on_connection(uv_stream_t *server, int status)
{
    struct fake_influx *f = container_of((uv_tcp_t *)server, struct fake_influx, listener);
    if (status < 0 || f->stopping) {
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        abort();
    }
    c->f = f;
    uv_tcp_init(f->loop, &c->tcp);
    uv_timer_init(f->loop, &c->delay);
    c->tcp.data = c;
    c->delay.data = c;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->next = f->conns;
    if (f->conns) {
        f->conns->prev = c;
    }
    f->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
    }
}

void fake_close_all(struct fake_influx *f)
{
    while (f->conns) {
        conn_close(f->conns);
    }
}

void fake_free_records(struct fake_influx *f)
{
    for (size_t i = 0; i < f->n_reqs; i++) {
        req_free(f->reqs[i]);
    }
    free(f->reqs);
}

const char *fake_influx_header(const struct fake_influx_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value ? r->headers[i].value : "";
        }
    }
    return NULL;
}

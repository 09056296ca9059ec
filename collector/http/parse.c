/* parse.c - request parsing with http-parser: size limits (431/413), header capture, target
 * decoding, rate limiting and routing, then the handler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "col_http.h"
#include "col_obs.h"
#include "ct/err.h"
#include "http_int.h"

/* ---- Parser callbacks ---- */

static struct conn *conn_of(http_parser *p)
{
    return container_of(p, struct conn, parser);
}

static int count_head(struct conn *c, size_t len)
{
    c->head_bytes += len;
    if (c->head_bytes > c->srv->max_request_bytes) {
        c->error_status = 431;
        return -1;
    }
    return 0;
}

static int req_begin(struct conn *c)
{
    if (c->req != NULL) {
        return 0;
    }
    c->req = calloc(1, sizeof(*c->req));
    if (c->req == NULL) {
        return -1;
    }
    c->req->conn = c;
    snprintf(c->req->client, sizeof(c->req->client), "%s", c->client);
    ct_buf_init(&c->req->body, c->srv->max_request_bytes);
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = conn_of(p);
    ct_buf_reset(&c->url);
    ct_buf_reset(&c->field);
    ct_buf_reset(&c->value);
    c->in_value = false;
    c->head_bytes = 0;
    c->pick = HDR_NONE;
    return req_begin(c);
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct conn *c = conn_of(p);
    if (count_head(c, len) != 0) {
        return -1;
    }
    return ct_buf_add(&c->url, at, len) == 0 ? 0 : -1;
}

/* Keeps the value of a header the handlers may ask for. */
static int finish_header(struct conn *c)
{
    if (!c->in_value) {
        return 0;
    }
    char **slot = NULL;
    const char *name = c->field.p != NULL ? c->field.p : "";
    if (strcasecmp(name, "If-None-Match") == 0) {
        slot = &c->req->if_none_match;
    } else if (strcasecmp(name, "Accept") == 0) {
        slot = &c->req->accept;
    } else if (strcasecmp(name, "Accept-Encoding") == 0) {
        slot = &c->req->accept_encoding;
    } else if (strcasecmp(name, "Host") == 0) {
        slot = &c->req->host;
    } else if (strcasecmp(name, "Cookie") == 0) {
        slot = &c->req->cookie;
    } else if (strcasecmp(name, "X-CSRF-Token") == 0) {
        slot = &c->req->csrf_token;
    } else if (strcasecmp(name, "X-Forwarded-Proto") == 0) {
        slot = &c->req->fwd_proto;
    } else if (strcasecmp(name, "X-Forwarded-Host") == 0) {
        slot = &c->req->fwd_host;
    } else if (strcasecmp(name, "Forwarded") == 0) {
        slot = &c->req->forwarded;
    }
    if (slot != NULL && *slot == NULL) {
        *slot = strdup(c->value.p != NULL ? c->value.p : "");
        if (*slot == NULL) {
            return -1;
        }
    }
    ct_buf_reset(&c->field);
    ct_buf_reset(&c->value);
    c->in_value = false;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct conn *c = conn_of(p);
    if (finish_header(c) != 0 || count_head(c, len + 4) != 0) {
        return -1;
    }
    return ct_buf_add(&c->field, at, len) == 0 ? 0 : -1;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct conn *c = conn_of(p);
    c->in_value = true;
    if (count_head(c, len) != 0) {
        return -1;
    }
    return ct_buf_add(&c->value, at, len) == 0 ? 0 : -1;
}

static int on_headers_complete(http_parser *p)
{
    struct conn *c = conn_of(p);
    if (finish_header(c) != 0) {
        return -1;
    }
    if ((p->flags & F_CONTENTLENGTH) != 0 && p->content_length > c->srv->max_request_bytes) {
        c->error_status = 413;
        return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct conn *c = conn_of(p);
    if (ct_buf_add(&c->req->body, at, len) != 0) {
        c->error_status = 413;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = conn_of(p);
    if (!http_should_keep_alive(p)) {
        c->close_after = true;
    }
    http_parser_pause(p, 1);
    return 0;
}

const http_parser_settings col_http_parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- Dispatch ---- */

/* Splits the URL into the decoded path and query parameters. Returns 0 or -1 (400). */
static int parse_target(struct col_http_req *req, const char *url, size_t len)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH))) {
        return -1;
    }
    const char *path = url + u.field_data[UF_PATH].off;
    size_t plen = u.field_data[UF_PATH].len;
    req->path = malloc(plen + 1);
    if (req->path == NULL || path[0] != '/' ||
        col_http_pct_decode(path, plen, false, req->path, plen + 1) < 0) {
        return -1;
    }
    if (!(u.field_set & (1 << UF_QUERY))) {
        return 0;
    }
    const char *q = url + u.field_data[UF_QUERY].off;
    const char *qend = q + u.field_data[UF_QUERY].len;
    while (q < qend) {
        const char *amp = memchr(q, '&', (size_t)(qend - q));
        const char *end = amp != NULL ? amp : qend;
        if (end > q) {
            if (req->nquery == COL_HTTP_MAX_QUERY) {
                return -1;
            }
            const char *eq = memchr(q, '=', (size_t)(end - q));
            const char *nend = eq != NULL ? eq : end;
            const char *v = eq != NULL ? eq + 1 : end;
            size_t nlen = (size_t)(nend - q), vlen = (size_t)(end - v);
            char *name = malloc(nlen + 1);
            char *value = malloc(vlen + 1);
            req->qname[req->nquery] = name;
            req->qvalue[req->nquery] = value;
            req->nquery++;
            if (name == NULL || value == NULL ||
                col_http_pct_decode(q, nlen, true, name, nlen + 1) < 0 ||
                col_http_pct_decode(v, vlen, true, value, vlen + 1) < 0) {
                return -1;
            }
        }
        q = end + 1;
    }
    return 0;
}

static const struct route *find_route(const struct col_http *h, const char *method,
                                      const char *path, bool *path_known)
{
    const struct route *best = NULL;
    *path_known = false;
    for (int pass = 0; pass < 2 && best == NULL; pass++) {
        for (size_t i = 0; i < h->nroutes; i++) {
            const struct route *r = &h->routes[i];
            bool match = pass == 0 ? !r->prefix && strcmp(r->path, path) == 0
                                   : r->prefix && strncmp(r->path, path, r->path_len) == 0;
            if (!match) {
                continue;
            }
            *path_known = true;
            if (strcmp(r->method, method) == 0 && (best == NULL || r->path_len > best->path_len)) {
                best = r;
            }
        }
    }
    return best;
}

static void dispatch(struct conn *c)
{
    struct col_http *h = c->srv;
    struct col_http_req *req = c->req;
    col_http_bump(h, COL_HTTP_REQUESTS);
    snprintf(req->method, sizeof(req->method), "%s",
             http_method_str((enum http_method)c->parser.method));
    if (parse_target(req, c->url.p != NULL ? c->url.p : "", c->url.len) != 0) {
        col_http_bump(h, COL_HTTP_REF_BAD_REQUEST);
        c->close_after = true;
        col_http_respond_error(req, 400);
        return;
    }
    unsigned retry_s = 0;
    if (h->rate > 0 && !col_http_rate_take(h, c->client, uv_now(h->loop), &retry_s)) {
        col_http_bump(h, COL_HTTP_REF_RATE_LIMITED);
        char extra[64];
        snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", retry_s);
        static const char body[] = "429 Too Many Requests\n";
        struct col_http_resp r = {.status = 429,
                                  .content_type = "text/plain; charset=utf-8",
                                  .body = body,
                                  .len = sizeof(body) - 1,
                                  .compress = false,
                                  .etag = false,
                                  .cache_control = "no-store",
                                  .extra_headers = extra};
        col_http_respond(req, &r);
        return;
    }
    req->head = strcmp(req->method, "HEAD") == 0;
    bool known = false;
    const struct route *r = find_route(h, req->head ? "GET" : req->method, req->path, &known);
    if (r == NULL) {
        col_http_respond_error(req, known ? 405 : 404);
        return;
    }
    r->cb(req, r->arg);
}

/* Parses 'len' bytes; dispatches a complete request; answers parse errors. */
void col_http_conn_feed(struct conn *c, const char *data, size_t len)
{
    size_t n = http_parser_execute(&c->parser, &col_http_parser_settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
        size_t rest = len - n;
        if (rest > 0) {
            char *keep = malloc(rest);
            if (keep == NULL) {
                col_http_conn_close(c);
                return;
            }
            memcpy(keep, data + n, rest);
            free(c->pending);
            c->pending = keep;
        }
        c->pending_len = rest;
        /* Reading goes on, so that a client leaving cancels the request; bytes that arrive
         * meanwhile wait in c->pending (see server.c on_read). */
        uv_timer_stop(&c->timer);
        c->busy = true;
        dispatch(c);
        return;
    }
    if (e != HPE_OK || n != len) {
        int status = c->error_status != 0 ? c->error_status : 400;
        if (e == HPE_HEADER_OVERFLOW) {
            status = 431;
        }
        col_http_bump(c->srv, status == 400 ? COL_HTTP_REF_BAD_REQUEST : COL_HTTP_REF_TOO_LARGE);
        col_http_conn_read_stop(c);
        if (req_begin(c) != 0) {
            col_http_conn_close(c);
            return;
        }
        c->busy = true;
        c->close_after = true;
        col_http_respond_error(c->req, status);
    }
}

/* Answered (the write finished): close, or go on with pipelined bytes, then read again. */
void col_http_conn_done(struct conn *c)
{
    c->busy = false;
    if (c->closing) {
        return;
    }
    if (c->close_after) {
        col_http_conn_close(c);
        return;
    }
    col_http_conn_arm_timer(c);
    http_parser_pause(&c->parser, 0);
    char *pend = c->pending;
    size_t plen = c->pending_len;
    c->pending = NULL;
    c->pending_len = 0;
    if (plen > 0) {
        col_http_conn_feed(c, pend, plen);
    }
    free(pend);
    if (!c->busy && !c->closing) {
        col_http_conn_read_start(c);
    }
}

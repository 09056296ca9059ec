/* respond.c - answers: headers (security, caching, ETag, gzip), writes, request accessors, and
 * static files read on the libuv thread pool. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "col_http.h"
#include "ct/gzip.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "http_int.h"

#define CSP_STRICT "default-src 'none'; frame-ancestors 'none'"
#define CSP_MAP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "       \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "                 \
    "frame-ancestors 'none'"
#define HEAD_MAX (16 * 1024) /* bytes of a response head; extra_headers must fit */

const char *col_http_req_method(const struct col_http_req *req)
{
    return req->method;
}

const char *col_http_req_path(const struct col_http_req *req)
{
    return req->path != NULL ? req->path : "";
}

const char *col_http_req_query(const struct col_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (req->qname[i] != NULL && strcmp(req->qname[i], name) == 0) {
            return req->qvalue[i];
        }
    }
    return NULL;
}

size_t col_http_req_nquery(const struct col_http_req *req)
{
    return req->nquery;
}

const char *col_http_req_query_at(const struct col_http_req *req, size_t i, const char **name)
{
    if (i >= req->nquery) {
        return NULL;
    }
    *name = req->qname[i] != NULL ? req->qname[i] : "";
    return req->qvalue[i] != NULL ? req->qvalue[i] : "";
}

const char *col_http_req_if_none_match(const struct col_http_req *req)
{
    return req->if_none_match;
}

const char *col_http_req_accept(const struct col_http_req *req)
{
    return req->accept;
}

const char *col_http_req_host(const struct col_http_req *req)
{
    return req->host;
}

const char *col_http_req_accept_encoding(const struct col_http_req *req)
{
    return req->accept_encoding;
}

const char *col_http_req_cookie(const struct col_http_req *req)
{
    return req->cookie;
}

const char *col_http_req_csrf_token(const struct col_http_req *req)
{
    return req->csrf_token;
}

const char *col_http_req_fwd_proto(const struct col_http_req *req)
{
    return req->fwd_proto;
}

const char *col_http_req_fwd_host(const struct col_http_req *req)
{
    return req->fwd_host;
}

const char *col_http_req_forwarded(const struct col_http_req *req)
{
    return req->forwarded;
}

const char *col_http_req_client(const struct col_http_req *req)
{
    return req->client;
}

const char *col_http_req_body(const struct col_http_req *req, size_t *len)
{
    *len = req->body.len;
    return req->body.p != NULL ? req->body.p : "";
}

bool col_http_req_cancelled(const struct col_http_req *req)
{
    return req->conn == NULL;
}

bool col_http_req_accepts_gzip(const struct col_http_req *req)
{
    return col_http_req_accepts_gzip_value(req->accept_encoding);
}

void col_http_req_free(struct col_http_req *req)
{
    if (req == NULL) {
        return;
    }
    for (size_t i = 0; i < req->nquery; i++) {
        free(req->qname[i]);
        free(req->qvalue[i]);
    }
    free(req->path);
    free(req->if_none_match);
    free(req->accept);
    free(req->accept_encoding);
    free(req->host);
    free(req->cookie);
    free(req->csrf_token);
    free(req->fwd_proto);
    free(req->fwd_host);
    free(req->forwarded);
    ct_buf_free(&req->body);
    free(req);
}

/* ---- Writing ---- */

struct wreq {
    uv_write_t w;
    char *head;
    char *body;
};

static void on_written(uv_write_t *w, int status)
{
    struct wreq *wr = container_of(w, struct wreq, w);
    struct conn *c = w->handle->data;
    free(wr->head);
    free(wr->body);
    free(wr);
    c->writes--;
    if (status < 0 || c->closing) {
        col_http_conn_close(c);
    } else if (c->writes == 0) {
        col_http_conn_done(c);
    }
}

int col_http_conn_send(struct conn *c, char *head, size_t head_len, char *body, size_t body_len)
{
    struct wreq *wr = malloc(sizeof(*wr));
    if (wr == NULL) {
        free(head);
        free(body);
        col_http_conn_close(c);
        return CT_E_NOMEM;
    }
    wr->head = head;
    wr->body = body;
    uv_buf_t bufs[2] = {uv_buf_init(head, (unsigned)head_len),
                        uv_buf_init(body, (unsigned)body_len)};
    int rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, body_len > 0 ? 2 : 1, on_written);
    if (rc != 0) {
        free(head);
        free(body);
        free(wr);
        col_http_conn_close(c);
        return CT_E_NET;
    }
    c->writes++;
    col_http_conn_arm_timer(c); /* a client that does not read our answer times out */
    return 0;
}

static int build_head(struct ct_buf *b, const struct col_http_resp *resp, int status,
                      const char *etag, bool gzip, size_t body_len, bool close)
{
    bool html = resp->content_type != NULL && strncmp(resp->content_type, "text/html", 9) == 0;
    int rc = ct_buf_printf(b, "HTTP/1.1 %d %s\r\n", status, col_http_reason(status));
    if (rc == 0 && resp->content_type != NULL && status != 304) {
        rc = ct_buf_printf(b, "Content-Type: %s\r\n", resp->content_type);
    }
    if (rc == 0 && status != 304 && status != 204) {
        rc = ct_buf_printf(b, "Content-Length: %zu\r\n", body_len);
    }
    if (rc == 0 && etag != NULL) {
        rc = ct_buf_printf(b, "ETag: %s\r\n", etag);
    }
    if (rc == 0 && gzip && status != 304) {
        rc = ct_buf_adds(b, "Content-Encoding: gzip\r\n");
    }
    if (rc == 0 && (resp->compress || resp->vary != NULL)) {
        rc = ct_buf_printf(b, "Vary: %s%s%s\r\n", resp->compress ? "Accept-Encoding" : "",
                           resp->compress && resp->vary != NULL ? ", " : "",
                           resp->vary != NULL ? resp->vary : "");
    }
    if (rc == 0 && resp->cache_control != NULL) {
        rc = ct_buf_printf(b, "Cache-Control: %s\r\n", resp->cache_control);
    }
    if (rc == 0) {
        rc = ct_buf_printf(b,
                           "X-Content-Type-Options: nosniff\r\n"
                           "Referrer-Policy: no-referrer\r\n"
                           "X-Frame-Options: DENY\r\n"
                           "Content-Security-Policy: %s\r\n",
                           html ? CSP_MAP : CSP_STRICT);
    }
    if (rc == 0 && resp->extra_headers != NULL) {
        rc = ct_buf_adds(b, resp->extra_headers);
    }
    if (rc == 0) {
        rc = ct_buf_adds(b, close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
    }
    return rc;
}

int col_http_respond(struct col_http_req *req, const struct col_http_resp *resp)
{
    if (req == NULL || resp == NULL || resp->status < 100 || resp->status > 599 ||
        (resp->body == NULL && resp->len > 0)) {
        return CT_E_INVAL;
    }
    struct conn *c = req->conn;
    if (c == NULL) {
        col_http_req_free(req);
        return 0;
    }
    int status = resp->status;
    bool want_gz = resp->compress && resp->len > 0 && col_http_req_accepts_gzip(req);
    bool gzip = false;
    char *body = NULL;
    size_t blen = 0;
    char etag[24];
    bool with_etag = resp->etag && status == 200;
    if (with_etag) {
        const char *pre = want_gz ? resp->etag_gz : resp->etag_plain;
        if (pre != NULL) {
            snprintf(etag, sizeof(etag), "%s", pre);
        } else {
            col_http_etag(resp->body, resp->len, want_gz, etag);
        }
        if (col_http_etag_matches(req->if_none_match, etag)) {
            status = 304;
        }
    }
    /* A 304 or 204 answer carries no body: nothing to compress or copy. (A HEAD answer needs the
     * body's length, so it is built and dropped below.) */
    bool skip = status == 304 || status == 204;
    if (!skip && want_gz) {
        if (resp->gz_body != NULL) {
            body = malloc(resp->gz_len > 0 ? resp->gz_len : 1);
            if (body != NULL) {
                memcpy(body, resp->gz_body, resp->gz_len);
                blen = resp->gz_len;
                gzip = true;
            }
        } else if (ct_gzip(resp->body, resp->len, &body, &blen) == 0) {
            gzip = true;
        }
        if (!gzip && with_etag && status == 200) {
            col_http_etag(resp->body, resp->len, false, etag); /* plain after all */
        }
    }
    if (!skip && !gzip && resp->len > 0) {
        body = malloc(resp->len);
        if (body == NULL) {
            col_http_conn_close(c);
            col_http_req_free(req);
            return CT_E_NOMEM;
        }
        memcpy(body, resp->body, resp->len);
        blen = resp->len;
    }
    struct ct_buf head;
    ct_buf_init(&head, HEAD_MAX);
    int rc = build_head(&head, resp, status, with_etag ? etag : NULL, gzip, blen, c->close_after);
    bool no_body = req->head || skip;
    c->req = NULL;
    col_http_req_free(req);
    if (rc != 0) {
        ct_buf_free(&head);
        free(body);
        col_http_conn_close(c);
        return rc;
    }
    if (no_body) {
        free(body);
        body = NULL;
        blen = 0;
    }
    size_t hlen = head.len;
    return col_http_conn_send(c, ct_buf_take(&head, NULL), hlen, body, blen);
}

int col_http_respond_error(struct col_http_req *req, int status)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, col_http_reason(status));
    struct col_http_resp r = {.status = status,
                              .content_type = "text/plain; charset=utf-8",
                              .body = body,
                              .len = (size_t)n,
                              .compress = false,
                              .etag = false,
                              .cache_control = "no-store",
                              .extra_headers = NULL};
    return col_http_respond(req, &r);
}

/* ---- Static files ---- */

struct file_job {
    uv_work_t work;
    struct col_http_req *req;
    char *root;
    char *path;
    char *data;
    size_t len;
    bool found;
};

/* Thread pool: resolve, confine to the root, read. Touches only the job's own strings. */
static void file_work(uv_work_t *w)
{
    struct file_job *j = container_of(w, struct file_job, work);
    char root[PATH_MAX], real[PATH_MAX];
    if (realpath(j->root, root) == NULL || realpath(j->path, real) == NULL) {
        return;
    }
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) != 0 || (real[rl] != '/' && !(rl == 1 && root[0] == '/'))) {
        return; /* a symbolic link out of the root */
    }
    FILE *f = fopen(real, "rb");
    if (f == NULL) {
        return;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        (uint64_t)st.st_size <= COL_HTTP_FILE_MAX) {
        j->data = malloc((size_t)st.st_size + 1);
        if (j->data != NULL) {
            j->len = fread(j->data, 1, (size_t)st.st_size, f);
            j->found = !ferror(f) && j->len == (size_t)st.st_size;
        }
    }
    fclose(f);
}

static void file_done(uv_work_t *w, int status)
{
    struct file_job *j = container_of(w, struct file_job, work);
    if (status != 0 || !j->found) {
        col_http_respond_error(j->req, 404);
    } else {
        struct col_http_resp r = {.status = 200,
                                  .content_type = col_http_content_type(j->path),
                                  .body = j->data,
                                  .len = j->len,
                                  .compress = true,
                                  .etag = true,
                                  .cache_control = "no-cache",
                                  .extra_headers = NULL};
        col_http_respond(j->req, &r);
    }
    free(j->data);
    free(j->root);
    free(j->path);
    free(j);
}

/* True when no segment of 'rel' is "..", and it has no backslash. */
static bool rel_safe(const char *rel)
{
    if (strchr(rel, '\\') != NULL) {
        return false;
    }
    const char *p = rel;
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            return false;
        }
        p += n;
        if (*p == '/') {
            p++;
        }
    }
    return true;
}

int col_http_serve_file(struct col_http_req *req, const char *root, const char *rel)
{
    if (req->conn == NULL) {
        col_http_req_free(req);
        return 0;
    }
    while (*rel == '/') {
        rel++;
    }
    if (!rel_safe(rel)) {
        return col_http_respond_error(req, 404);
    }
    size_t rlen = strlen(rel);
    bool index = rlen == 0 || rel[rlen - 1] == '/';
    size_t cap = strlen(root) + rlen + sizeof("/index.html") + 1;
    struct file_job *j = calloc(1, sizeof(*j));
    char *path = malloc(cap);
    char *rootc = strdup(root);
    if (j == NULL || path == NULL || rootc == NULL) {
        free(j);
        free(path);
        free(rootc);
        col_http_respond_error(req, 500);
        return CT_E_NOMEM;
    }
    snprintf(path, cap, "%s/%s%s", root, rel, index ? "index.html" : "");
    j->req = req;
    j->root = rootc;
    j->path = path;
    if (uv_queue_work(req->conn->srv->loop, &j->work, file_work, file_done) != 0) {
        free(j->root);
        free(j->path);
        free(j);
        return col_http_respond_error(req, 500);
    }
    return 0;
}

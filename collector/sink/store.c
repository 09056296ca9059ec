/* store.c - InfluxDB 1.x /query client over the shared curl/uv glue. */
#include "col_curl_uv.h"
#include "col_store.h"

#include <ct/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct query {
    struct col_curl_xfer xfer; /* embedded; recovered with container_of */
    struct col_store *st;
    col_store_cb cb;
    void *arg;
    char *url;  /* GET: full URL with q=; POST: URL without q= */
    char *form; /* POST body "q=..." */
    char *body; /* answer, NUL-terminated */
    size_t len, cap;
    bool too_big;
    struct query *prev, *next; /* running queries */
};

struct col_store {
    struct col_store_cfg cfg; /* strings point into copies below */
    char *url, *db, *user, *password, *epoch;
    struct col_curl_uv *cu;
    struct query *queries;
    unsigned running;
    bool closing;
};

static void query_free(struct query *q)
{
    if (q) {
        curl_easy_cleanup(q->xfer.easy);
        free(q->url);
        free(q->form);
        free(q->body);
        free(q);
    }
}

static void unlink_query(struct col_store *st, struct query *q)
{
    if (q->prev) {
        q->prev->next = q->next;
    } else {
        st->queries = q->next;
    }
    if (q->next) {
        q->next->prev = q->prev;
    }
    st->running--;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct query *q = userp;
    size_t n = size * nmemb;
    size_t limit = q->st->cfg.max_response_bytes;
    if (q->len + n > limit) {
        q->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (q->len + n + 1 > q->cap) {
        size_t cap = q->cap ? q->cap : 4096;
        while (cap < q->len + n + 1) {
            cap *= 2;
        }
        char *nb = realloc(q->body, cap);
        if (nb == NULL) {
            return 0;
        }
        q->body = nb;
        q->cap = cap;
    }
    memcpy(q->body + q->len, data, n);
    q->len += n;
    q->body[q->len] = '\0';
    return n;
}

static void on_done(struct col_curl_xfer *x, CURLcode rc)
{
    struct query *q = container_of(x, struct query, xfer);
    struct col_store *st = q->st;
    unlink_query(st, q);
    int status;
    if (q->too_big) {
        status = CT_E_TOOBIG;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        status = CT_E_TIMEOUT;
    } else if (rc == CURLE_WRITE_ERROR) {
        status = CT_E_NOMEM;
    } else if (rc != CURLE_OK) {
        status = CT_E_NET;
    } else {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        status = (int)code;
    }
    if (status > 0) {
        q->cb(q->arg, status, q->body ? q->body : "", q->len);
    } else {
        q->cb(q->arg, status, NULL, 0);
    }
    query_free(q);
}

static bool is_read_only(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    return strncasecmp(s, "SELECT", 6) == 0 || strncasecmp(s, "SHOW", 4) == 0;
}

/* Builds "<base>/query?db=..&u=..&p=..&epoch=.." and, for GET, "&q=..". */
static char *build_url(CURL *e, const struct col_store *st, const char *q_escaped)
{
    const char *keys[] = {"db", "u", "p", "epoch", "q"};
    const char *vals[] = {st->db, st->user, st->password, st->epoch, NULL};
    char *esc[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t cap = strlen(st->url) + 32 + (q_escaped ? strlen(q_escaped) : 0);
    char *url = NULL;
    for (size_t i = 0; i < 4; i++) {
        if (vals[i] && vals[i][0]) {
            esc[i] = curl_easy_escape(e, vals[i], 0);
            if (esc[i] == NULL) {
                goto out;
            }
            cap += strlen(esc[i]) + 8;
        }
    }
    url = malloc(cap);
    if (url == NULL) {
        goto out;
    }
    size_t base = strlen(st->url);
    while (base > 0 && st->url[base - 1] == '/') {
        base--;
    }
    int n = snprintf(url, cap, "%.*s/query", (int)base, st->url);
    char sep = '?';
    for (size_t i = 0; i < 5; i++) {
        const char *v = i < 4 ? esc[i] : q_escaped;
        if (v) {
            n += snprintf(url + n, cap - (size_t)n, "%c%s=%s", sep, keys[i], v);
            sep = '&';
        }
    }
out:
    for (size_t i = 0; i < 4; i++) {
        curl_free(esc[i]);
    }
    return url;
}

/* Creates a query for 'st' (the caller sets url and form), or NULL without memory. */
static struct query *query_new(struct col_store *st, col_store_cb cb, void *arg)
{
    struct query *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        return NULL;
    }
    q->st = st;
    q->cb = cb;
    q->arg = arg;
    q->xfer.easy = curl_easy_init();
    if (q->xfer.easy == NULL) {
        free(q);
        return NULL;
    }
    return q;
}

/* Starts q (its url set; a form makes it a POST) and links it; on error frees q. */
static int query_start(struct col_store *st, struct query *q)
{
    CURL *e = q->xfer.easy;
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    if (q->form) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->form);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(q->form));
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, st->cfg.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, st->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
    int rc = col_curl_uv_start(st->cu, &q->xfer, on_done);
    if (rc != 0) {
        query_free(q);
        return rc;
    }
    q->next = st->queries;
    if (st->queries) {
        st->queries->prev = q;
    }
    st->queries = q;
    st->running++;
    return 0;
}

static int query_check(const struct col_store *st, const char *text, col_store_cb cb)
{
    if (st->closing) {
        return CT_E_STATE;
    }
    if (text == NULL || text[0] == '\0' || cb == NULL) {
        return CT_E_INVAL;
    }
    return st->running >= st->cfg.max_inflight ? CT_E_FULL : 0;
}

int col_store_query(struct col_store *st, const char *influxql, col_store_cb cb, void *arg)
{
    int rc = query_check(st, influxql, cb);
    if (rc != 0) {
        return rc;
    }
    struct query *q = query_new(st, cb, arg);
    if (q == NULL) {
        return CT_E_NOMEM;
    }
    char *qe = curl_easy_escape(q->xfer.easy, influxql, 0);
    if (qe == NULL) {
        goto out_free;
    }
    if (is_read_only(influxql)) {
        q->url = build_url(q->xfer.easy, st, qe);
    } else {
        q->url = build_url(q->xfer.easy, st, NULL);
        size_t n = strlen(qe) + 3;
        q->form = malloc(n);
        if (q->form) {
            snprintf(q->form, n, "q=%s", qe);
        }
    }
    curl_free(qe);
    if (q->url == NULL || (q->form == NULL && !is_read_only(influxql))) {
        goto out_free;
    }
    return query_start(st, q);
out_free:
    query_free(q);
    return CT_E_NOMEM;
}

int col_store_get(struct col_store *st, const char *path, col_store_cb cb, void *arg)
{
    int rc = query_check(st, path, cb);
    if (rc != 0) {
        return rc;
    }
    if (path[0] != '/') {
        return CT_E_INVAL;
    }
    struct query *q = query_new(st, cb, arg);
    if (q == NULL) {
        return CT_E_NOMEM;
    }
    size_t base = strlen(st->url);
    while (base > 0 && st->url[base - 1] == '/') {
        base--;
    }
    size_t cap = base + strlen(path) + 1;
    q->url = malloc(cap);
    if (q->url == NULL) {
        query_free(q);
        return CT_E_NOMEM;
    }
    snprintf(q->url, cap, "%.*s%s", (int)base, st->url, path);
    if (st->user && st->user[0]) {
        curl_easy_setopt(q->xfer.easy, CURLOPT_USERNAME, st->user);
        curl_easy_setopt(q->xfer.easy, CURLOPT_PASSWORD, st->password ? st->password : "");
    }
    return query_start(st, q);
}

static char *dup_or_null(const char *s, bool *ok)
{
    if (s == NULL) {
        return NULL;
    }
    char *d = strdup(s);
    if (d == NULL) {
        *ok = false;
    }
    return d;
}

static void free_strings(struct col_store *st)
{
    free(st->url);
    free(st->db);
    free(st->user);
    free(st->password);
    free(st->epoch);
}

int col_store_create(uv_loop_t *loop, const struct col_store_cfg *cfg, struct col_store **out)
{
    if (loop == NULL || cfg == NULL || cfg->url == NULL || cfg->url[0] == '\0' || out == NULL) {
        return CT_E_INVAL;
    }
    struct col_store *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return CT_E_NOMEM;
    }
    st->cfg = *cfg;
    st->cfg.connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
    st->cfg.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    st->cfg.max_response_bytes =
        cfg->max_response_bytes ? cfg->max_response_bytes : 4u * 1024 * 1024;
    st->cfg.max_inflight = cfg->max_inflight ? cfg->max_inflight : 16;
    bool ok = true;
    st->url = dup_or_null(cfg->url, &ok);
    st->db = dup_or_null(cfg->db, &ok);
    st->user = dup_or_null(cfg->user, &ok);
    st->password = dup_or_null(cfg->password, &ok);
    st->epoch = dup_or_null(cfg->epoch, &ok);
    int rc = ok ? col_curl_uv_create(loop, &st->cu) : CT_E_NOMEM;
    if (rc != 0) {
        free_strings(st);
        free(st);
        return rc;
    }
    st->cfg.url = st->url;
    st->cfg.db = st->db;
    st->cfg.user = st->user;
    st->cfg.password = st->password;
    st->cfg.epoch = st->epoch;
    *out = st;
    return 0;
}

void col_store_close(struct col_store *st, void (*closed_cb)(void *arg), void *arg)
{
    if (st == NULL || st->closing) {
        return;
    }
    st->closing = true;
    while (st->queries) {
        struct query *q = st->queries;
        col_curl_uv_cancel(st->cu, &q->xfer);
        unlink_query(st, q);
        q->cb(q->arg, CT_E_STATE, NULL, 0);
        query_free(q);
    }
    /* The glue owns every uv handle; the store itself can go now. */
    struct col_curl_uv *cu = st->cu;
    free_strings(st);
    free(st);
    col_curl_uv_close(cu, closed_cb, arg);
}

/* fake_influx_server.c - the fake InfluxDB's life cycle (loop and thread modes), its script and
 * its thread-safe queries. */
#include "fake_influx_int.h"

#include <ct/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fake_lock(struct fake_influx *f)
{
    uv_mutex_lock(&f->mu);
}

void fake_unlock(struct fake_influx *f)
{
    uv_mutex_unlock(&f->mu);
}

static char *dup_opt(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    char *d = strdup(s);
    if (d == NULL) {
        abort(); /* test helper: out of memory is fatal */
    }
    return d;
}

void fake_resp_clear(struct fake_resp_own *a)
{
    free(a->headers);
    free(a->body);
    memset(a, 0, sizeof(*a));
}

void fake_resp_set(struct fake_resp_own *a, int status, const char *headers, const char *body,
                   unsigned delay_ms, bool hang)
{
    fake_resp_clear(a);
    a->status = status;
    a->headers = dup_opt(headers);
    a->body = dup_opt(body);
    a->delay_ms = delay_ms;
    a->hang = hang;
}

bool fake_script_pop(struct fake_influx *f, struct fake_resp_own *out)
{
    if (f->script_n == 0) {
        return false;
    }
    fake_resp_clear(out);
    *out = f->script[f->script_head];
    memset(&f->script[f->script_head], 0, sizeof(f->script[0]));
    f->script_head = (f->script_head + 1) % FAKE_INFLUX_MAX_SCRIPT;
    f->script_n--;
    return true;
}

int fake_influx_script(struct fake_influx *f, const struct fake_influx_resp *r, size_t n)
{
    fake_lock(f);
    if (f->script_n + n > FAKE_INFLUX_MAX_SCRIPT) {
        fake_unlock(f);
        return CT_E_FULL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t at = (f->script_head + f->script_n) % FAKE_INFLUX_MAX_SCRIPT;
        fake_resp_set(&f->script[at], r[i].status, r[i].headers, r[i].body, r[i].delay_ms,
                      r[i].hang);
        f->script_n++;
    }
    fake_unlock(f);
    return 0;
}

/* One script line: "<status>|hang [delay=MS] [retry-after=S] [body=<rest>]". */
static int parse_line(const char *line, size_t len, struct fake_influx_resp *r, char *hdr,
                      size_t hdr_cap, char *body, size_t body_cap)
{
    char tmp[1024];
    if (len >= sizeof(tmp)) {
        return CT_E_PARSE;
    }
    memcpy(tmp, line, len);
    tmp[len] = '\0';
    memset(r, 0, sizeof(*r));
    hdr[0] = '\0';
    char *p = tmp;
    char *end;
    if (strncmp(p, "hang", 4) == 0) {
        r->hang = true;
        p += 4;
    } else {
        long st = strtol(p, &end, 10);
        if (end == p || st < 100 || st > 599) {
            return CT_E_PARSE;
        }
        r->status = (int)st;
        p = end;
    }
    while (*p) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (strncmp(p, "body=", 5) == 0) {
            snprintf(body, body_cap, "%s", p + 5);
            r->body = body;
            break;
        }
        if (strncmp(p, "delay=", 6) == 0) {
            long v = strtol(p + 6, &end, 10);
            if (end == p + 6 || v < 0 || v > 3600000) {
                return CT_E_PARSE;
            }
            r->delay_ms = (unsigned)v;
        } else if (strncmp(p, "retry-after=", 12) == 0) {
            long v = strtol(p + 12, &end, 10);
            if (end == p + 12 || v < 0 || v > 86400) {
                return CT_E_PARSE;
            }
            snprintf(hdr, hdr_cap, "Retry-After: %ld\r\n", v);
            r->headers = hdr;
        } else {
            return CT_E_PARSE;
        }
        p = end;
    }
    return 0;
}

int fake_influx_script_text(struct fake_influx *f, const char *text)
{
    char hdr[64];
    char body[1024];
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ')) {
            n--;
        }
        if (n > 0 && p[0] != '#') {
            struct fake_influx_resp r;
            int rc = parse_line(p, n, &r, hdr, sizeof(hdr), body, sizeof(body));
            if (rc == 0) {
                rc = fake_influx_script(f, &r, 1);
            }
            if (rc != 0) {
                return rc;
            }
        }
        if (nl == NULL) {
            break;
        }
        p = nl + 1;
    }
    return 0;
}

void fake_influx_set_max_body(struct fake_influx *f, size_t n)
{
    fake_lock(f);
    f->max_body = n;
    fake_unlock(f);
}

int fake_influx_port(const struct fake_influx *f)
{
    return f->port;
}

size_t fake_influx_count(struct fake_influx *f)
{
    fake_lock(f);
    size_t n = f->n_reqs;
    fake_unlock(f);
    return n;
}

const struct fake_influx_req *fake_influx_req(struct fake_influx *f, size_t i)
{
    fake_lock(f);
    const struct fake_influx_req *r = i < f->n_reqs ? f->reqs[i] : NULL;
    fake_unlock(f);
    return r;
}

unsigned fake_influx_max_concurrent(struct fake_influx *f)
{
    fake_lock(f);
    unsigned n = f->max_active;
    fake_unlock(f);
    return n;
}

size_t fake_influx_dropped(struct fake_influx *f)
{
    fake_lock(f);
    size_t n = f->dropped;
    fake_unlock(f);
    return n;
}

static void free_server(struct fake_influx *f)
{
    fake_free_records(f);
    for (size_t i = 0; i < FAKE_INFLUX_MAX_SCRIPT; i++) {
        fake_resp_clear(&f->script[i]);
    }
    uv_mutex_destroy(&f->mu);
    free(f);
}

void fake_handle_closed(struct fake_influx *f)
{
    if (--f->pending_closes == 0 && f->stopping && !f->threaded) {
        free_server(f);
    }
}

static void on_listener_closed(uv_handle_t *h)
{
    fake_handle_closed(container_of((uv_tcp_t *)h, struct fake_influx, listener));
}

static void on_async_closed(uv_handle_t *h)
{
    fake_handle_closed(container_of((uv_async_t *)h, struct fake_influx, stop_async));
}

static void begin_stop(struct fake_influx *f)
{
    f->stopping = true;
    fake_close_all(f);
    f->pending_closes++;
    uv_close((uv_handle_t *)&f->listener, on_listener_closed);
    if (f->threaded) {
        f->pending_closes++;
        uv_close((uv_handle_t *)&f->stop_async, on_async_closed);
    }
}

static int listen_on(struct fake_influx *f)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof(got);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_init(f->loop, &f->listener) != 0) {
        return CT_E_IO;
    }
    if (uv_tcp_bind(&f->listener, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&f->listener, 128, fake_on_connection) != 0 ||
        uv_tcp_getsockname(&f->listener, (struct sockaddr *)&got, &len) != 0) {
        return CT_E_IO;
    }
    f->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    return 0;
}

static struct fake_influx *alloc_server(void)
{
    struct fake_influx *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    f->reqs = calloc(FAKE_INFLUX_MAX_REQS, sizeof(*f->reqs));
    if (f->reqs == NULL || uv_mutex_init(&f->mu) != 0) {
        free(f->reqs);
        free(f);
        return NULL;
    }
    return f;
}

int fake_influx_start(uv_loop_t *loop, struct fake_influx **out)
{
    struct fake_influx *f = alloc_server();
    if (f == NULL) {
        return CT_E_NOMEM;
    }
    f->loop = loop;
    int rc = listen_on(f);
    if (rc != 0) {
        begin_stop(f); /* frees f once the listener closed */
        return rc;
    }
    *out = f;
    return 0;
}

static void on_stop_async(uv_async_t *a)
{
    begin_stop(container_of(a, struct fake_influx, stop_async));
}

static void thread_main(void *arg)
{
    struct fake_influx *f = arg;
    f->start_rc = listen_on(f);
    if (f->start_rc != 0) {
        begin_stop(f);
    }
    uv_sem_post(&f->ready);
    uv_run(f->loop, UV_RUN_DEFAULT);
}

int fake_influx_start_thread(struct fake_influx **out)
{
    struct fake_influx *f = alloc_server();
    if (f == NULL) {
        return CT_E_NOMEM;
    }
    f->threaded = true;
    f->loop = &f->own_loop;
    if (uv_loop_init(f->loop) != 0) {
        free_server(f);
        return CT_E_IO;
    }
    uv_async_init(f->loop, &f->stop_async, on_stop_async);
    uv_sem_init(&f->ready, 0);
    if (uv_thread_create(&f->thread, thread_main, f) != 0) {
        uv_close((uv_handle_t *)&f->stop_async, NULL);
        uv_run(f->loop, UV_RUN_DEFAULT);
        uv_loop_close(f->loop);
        uv_sem_destroy(&f->ready);
        free_server(f);
        return CT_E_IO;
    }
    uv_sem_wait(&f->ready);
    if (f->start_rc != 0) {
        int rc = f->start_rc;
        uv_thread_join(&f->thread);
        uv_loop_close(f->loop);
        uv_sem_destroy(&f->ready);
        free_server(f);
        return rc;
    }
    *out = f;
    return 0;
}

void fake_influx_stop(struct fake_influx *f)
{
    if (f == NULL) {
        return;
    }
    if (!f->threaded) {
        if (!f->stopping) {
            begin_stop(f);
        }
        return;
    }
    uv_async_send(&f->stop_async);
    uv_thread_join(&f->thread);
    uv_loop_close(f->loop);
    uv_sem_destroy(&f->ready);
    free_server(f);
}

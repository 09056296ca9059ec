/* sink_life.c - the sink's creation, configuration defaults, queries and asynchronous close. */
#include "sink_int.h"

#include <ct/err.h>
#include <stdlib.h>
#include <string.h>

static const char *const precisions[] = {"ns", "n", "u", "us", "ms", "s"};

/* Copies the config strings into one allocation; returns false on no memory. */
static bool copy_strings(struct col_sink *s, const struct col_sink_cfg *cfg)
{
    const char *src[] = {cfg->url, cfg->db,     cfg->rp,    cfg->user,     cfg->password,
                         cfg->org, cfg->bucket, cfg->token, cfg->precision};
    const char **dst[] = {&s->cfg.url,    &s->cfg.db,       &s->cfg.rp,
                          &s->cfg.user,   &s->cfg.password, &s->cfg.org,
                          &s->cfg.bucket, &s->cfg.token,    &s->cfg.precision};
    size_t total = 0;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        total += src[i] ? strlen(src[i]) + 1 : 0;
    }
    s->strs = malloc(total ? total : 1);
    if (s->strs == NULL) {
        return false;
    }
    char *p = s->strs;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        if (src[i]) {
            size_t n = strlen(src[i]) + 1;
            memcpy(p, src[i], n);
            *dst[i] = p;
            p += n;
        } else {
            *dst[i] = NULL;
        }
    }
    return true;
}

static bool valid_cfg(const struct col_sink_cfg *c)
{
    if (c->url == NULL || c->url[0] == '\0') {
        return false;
    }
    if (c->api_version == 1) {
        if (c->db == NULL || c->db[0] == '\0') {
            return false;
        }
    } else if (c->api_version == 2) {
        if (c->org == NULL || c->org[0] == '\0' || c->bucket == NULL || c->bucket[0] == '\0') {
            return false;
        }
    } else {
        return false;
    }
    if (c->precision) {
        for (size_t i = 0; i < sizeof(precisions) / sizeof(precisions[0]); i++) {
            if (strcmp(c->precision, precisions[i]) == 0) {
                return true;
            }
        }
        return false;
    }
    return true;
}

static void apply_defaults(struct col_sink_cfg *c)
{
    c->batch_max_points = c->batch_max_points ? c->batch_max_points : COL_SINK_DEF_BATCH_POINTS;
    c->batch_max_bytes = c->batch_max_bytes ? c->batch_max_bytes : COL_SINK_DEF_BATCH_BYTES;
    c->flush_ms = c->flush_ms ? c->flush_ms : 250;
    c->max_inflight = c->max_inflight ? c->max_inflight : 4;
    c->connect_timeout_ms = c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 5000;
    c->total_timeout_ms = c->total_timeout_ms > 0 ? c->total_timeout_ms : 30000;
    c->max_pending_bytes = c->max_pending_bytes ? c->max_pending_bytes : 64u * 1024 * 1024;
    c->retry_base_ms = c->retry_base_ms ? c->retry_base_ms : 500;
    c->retry_max_ms = c->retry_max_ms ? c->retry_max_ms : 60000;
    if (c->retry_max_ms < c->retry_base_ms) {
        c->retry_max_ms = c->retry_base_ms;
    }
}

int col_sink_create(uv_loop_t *loop, const struct col_sink_cfg *cfg,
                    const struct col_sink_callbacks *cbs, void *arg, struct col_sink **out)
{
    if (loop == NULL || cfg == NULL || out == NULL || !valid_cfg(cfg)) {
        return CT_E_INVAL;
    }
    int rc = CT_E_NOMEM;
    struct col_sink *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return CT_E_NOMEM;
    }
    s->loop = loop;
    s->cfg = *cfg;
    apply_defaults(&s->cfg);
    if (cbs) {
        s->cbs = *cbs;
    }
    s->arg = arg;
    s->rng = uv_hrtime() | 1;
    if (!copy_strings(s, cfg)) {
        goto out_free;
    }
    s->url = col_sink_build_url(&s->cfg);
    s->hdrs = col_sink_build_headers(&s->cfg);
    if (s->url == NULL || s->hdrs == NULL) {
        goto out_free;
    }
    rc = col_curl_uv_create(loop, &s->cu);
    if (rc != 0) {
        goto out_free;
    }
    /* Timer init on a live loop cannot fail (libuv only fills the struct). */
    uv_timer_init(loop, &s->flush_timer);
    uv_timer_init(loop, &s->retry_timer);
    *out = s;
    return 0;
out_free:
    curl_slist_free_all(s->hdrs);
    free(s->url);
    free(s->strs);
    free(s);
    return rc;
}

void col_sink_flush(struct col_sink *s)
{
    if (s->closing) {
        return;
    }
    col_sink_seal(s);
    col_sink_pump(s);
}

uint64_t col_sink_low_water(const struct col_sink *s)
{
    /* Marks arrive in any order, so every batch counts (the backlog is sorted: its head is its
     * minimum). test_sink_low_water_min_mark. */
    uint64_t lo = UINT64_MAX;
    if (s->open && s->open->mark_lo < lo) {
        lo = s->open->mark_lo;
    }
    for (const struct batch *b = s->ready.head; b; b = b->next) {
        if (b->mark_lo < lo) {
            lo = b->mark_lo;
        }
    }
    if (s->backlog.head && s->backlog.head->mark_lo < lo) {
        lo = s->backlog.head->mark_lo;
    }
    for (const struct req *r = s->reqs; r; r = r->next) {
        if (r->b->mark_lo < lo) {
            lo = r->b->mark_lo;
        }
    }
    return lo;
}

void col_sink_stats(const struct col_sink *s, struct col_sink_stats *out)
{
    *out = s->st;
    out->inflight = s->inflight;
    out->batches_backlog = s->backlog.n;
    uint64_t born = UINT64_MAX;
    const struct batch *heads[] = {s->open, s->ready.head, s->backlog.head};
    for (size_t i = 0; i < 3; i++) {
        if (heads[i] && heads[i]->born_ms < born) {
            born = heads[i]->born_ms;
        }
    }
    for (const struct req *r = s->reqs; r; r = r->next) {
        if (r->b->born_ms < born) {
            born = r->b->born_ms;
        }
    }
    uint64_t now = uv_now(s->loop);
    out->store_ok = !s->failing;
    out->store_failing_ms = s->failing ? now - s->state_since : 0;
    out->oldest_pending_ms = born == UINT64_MAX || born > now ? 0 : now - born;
}

static void finish_close(struct col_sink *s)
{
    if (--s->pending_closes != 0) {
        return;
    }
    void (*cb)(void *) = s->closed_cb;
    void *arg = s->closed_arg;
    curl_slist_free_all(s->hdrs);
    free(s->url);
    free(s->strs);
    free(s);
    if (cb) {
        cb(arg);
    }
}

static void on_cu_closed(void *arg)
{
    finish_close(arg);
}

static void on_flush_closed(uv_handle_t *h)
{
    finish_close(container_of((uv_timer_t *)h, struct col_sink, flush_timer));
}

static void on_retry_closed(uv_handle_t *h)
{
    finish_close(container_of((uv_timer_t *)h, struct col_sink, retry_timer));
}

static void free_fifo(struct fifo *q)
{
    struct batch *b;
    while ((b = col_sink_fifo_pop(q)) != NULL) {
        col_sink_batch_free(b);
    }
}

void col_sink_close(struct col_sink *s, void (*closed_cb)(void *arg), void *arg)
{
    if (s == NULL || s->closing) {
        return;
    }
    s->closing = true;
    s->closed_cb = closed_cb;
    s->closed_arg = arg;
    while (s->reqs) {
        struct req *r = s->reqs;
        s->reqs = r->next;
        col_curl_uv_cancel(s->cu, &r->xfer);
        col_sink_batch_free(r->b);
        col_sink_req_free(r);
    }
    s->inflight = 0;
    s->backlog_inflight = 0;
    col_sink_batch_free(s->open);
    s->open = NULL;
    free_fifo(&s->ready);
    free_fifo(&s->backlog);
    s->st.bytes_pending = 0;
    s->pending_closes = 3;
    col_curl_uv_close(s->cu, on_cu_closed, s);
    uv_close((uv_handle_t *)&s->flush_timer, on_flush_closed);
    uv_close((uv_handle_t *)&s->retry_timer, on_retry_closed);
}

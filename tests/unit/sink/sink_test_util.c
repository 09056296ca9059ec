/* sink_test_util.c - fixture for the sink tests. */
#include "sink_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void on_room(void *arg)
{
    struct tctx *t = arg;
    t->rooms++;
}

static void on_reject(void *arg, enum col_sink_reject cls, const char *lines, size_t len,
                      int status, const char *reason)
{
    struct tctx *t = arg;
    t->reject_calls++;
    t->reject_cls = cls;
    t->reject_status = status;
    assert_true(t->rejected_len + len < sizeof(t->rejected));
    memcpy(t->rejected + t->rejected_len, lines, len);
    t->rejected_len += len;
    t->rejected[t->rejected_len] = '\0';
    snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

static void on_auth(void *arg, int status, const char *reason)
{
    struct tctx *t = arg;
    t->auth_calls++;
    t->auth_status = status;
}

void tctx_init(struct tctx *t)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(uv_loop_init(&t->loop), 0);
    assert_int_equal(fake_influx_start(&t->loop, &t->fake), 0);
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d", fake_influx_port(t->fake));
    t->cfg.url = t->url;
    t->cfg.api_version = 1;
    t->cfg.db = "city";
    t->cfg.flush_ms = 50;
    t->cfg.retry_base_ms = 20;
    t->cfg.retry_max_ms = 100;
    t->cfg.total_timeout_ms = 5000;
}

void tctx_sink(struct tctx *t)
{
    static const struct col_sink_callbacks cbs = {on_room, on_reject, on_auth};
    assert_int_equal(col_sink_create(&t->loop, &t->cfg, &cbs, t, &t->sink), 0);
}

static void on_closed(void *arg)
{
    struct tctx *t = arg;
    t->closed = true;
}

void tctx_finish(struct tctx *t)
{
    if (t->sink) {
        col_sink_close(t->sink, on_closed, t);
        t->sink = NULL;
    } else {
        t->closed = true;
    }
    fake_influx_stop(t->fake);
    t->fake = NULL;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    assert_true(t->closed);
    assert_int_equal(uv_loop_close(&t->loop), 0);
}

struct deadline {
    uv_timer_t timer;
    bool expired;
};

static void on_deadline(uv_timer_t *h)
{
    struct deadline *d = (struct deadline *)(void *)((char *)h - offsetof(struct deadline, timer));
    d->expired = true;
}

bool tctx_run_until(struct tctx *t, tcond_fn cond, uint64_t timeout_ms)
{
    struct deadline d = {.expired = false};
    uv_timer_init(&t->loop, &d.timer);
    uv_timer_start(&d.timer, on_deadline, timeout_ms, 0);
    while (!cond(t) && !d.expired) {
        uv_run(&t->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&d.timer, NULL);
    uv_run(&t->loop, UV_RUN_NOWAIT); /* lets the close finish before 'd' goes out of scope */
    return cond(t);
}

bool tcond_settled(struct tctx *t)
{
    return col_sink_low_water(t->sink) == UINT64_MAX;
}

uint64_t tctx_ms(void)
{
    return uv_hrtime() / 1000000u;
}

char *tctx_bodies(struct tctx *t, int status, size_t *len)
{
    size_t n = fake_influx_count(t->fake);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += fake_influx_req(t->fake, i)->body_len;
    }
    char *out = malloc(total + 1);
    assert_non_null(out);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const struct fake_influx_req *r = fake_influx_req(t->fake, i);
        if (status == 0 || r->status == status) {
            memcpy(out + used, r->body, r->body_len);
            used += r->body_len;
        }
    }
    out[used] = '\0';
    *len = used;
    return out;
}

/* sink_tune.c - the sink's tunables changed while it runs (SIGHUP reload). Loop thread only. */
#include "sink_int.h"

#include <uv.h>

void col_sink_set_tunables(struct col_sink *s, const struct col_sink_cfg *cfg)
{
    if (s == NULL || cfg == NULL || s->closing) {
        return;
    }
    struct col_sink_cfg *c = &s->cfg;
    c->batch_max_points = cfg->batch_max_points ? cfg->batch_max_points : COL_SINK_DEF_BATCH_POINTS;
    c->batch_max_bytes = cfg->batch_max_bytes ? cfg->batch_max_bytes : COL_SINK_DEF_BATCH_BYTES;
    c->flush_ms = cfg->flush_ms ? cfg->flush_ms : 250;
    c->max_inflight = cfg->max_inflight ? cfg->max_inflight : 4;
    c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
    c->total_timeout_ms = cfg->total_timeout_ms > 0 ? cfg->total_timeout_ms : 30000;
    c->retry_base_ms = cfg->retry_base_ms ? cfg->retry_base_ms : 500;
    c->retry_max_ms = cfg->retry_max_ms ? cfg->retry_max_ms : 60000;
    if (c->retry_max_ms < c->retry_base_ms) {
        c->retry_max_ms = c->retry_base_ms;
    }

    uint64_t now = uv_now(s->loop);
    struct batch *b = s->open;
    if (b != NULL && (b->points >= c->batch_max_points || b->len >= c->batch_max_bytes)) {
        col_sink_seal(s);
    } else if (b != NULL) {
        /* The open batch leaves flush_ms after its first line, by the new flush_ms. */
        uint64_t due = b->born_ms + c->flush_ms;
        uv_timer_start(&s->flush_timer, col_sink_on_flush_timer, due > now ? due - now : 0, 0);
    }
    /* A backoff drawn with the old cap ends no later than the new cap from now; a server's
     * Retry-After is still honoured. */
    if (s->hold_until > now + c->retry_max_ms) {
        s->hold_until = now + c->retry_max_ms;
        if (s->server_hold_until > s->hold_until) {
            s->hold_until = s->server_hold_until;
        }
        uv_timer_stop(&s->retry_timer);
    }
    col_sink_pump(s);
}

/* mqtt.c - the connection and its state machine; see col_mqtt.h (the send path is in
 * mqtt_send.c, the receive path in mqtt_recv.c, the shared struct in mqtt_int.h).
 *
 * One connection at a time: resolve (uv_getaddrinfo) -> TCP connect -> TLS handshake (when
 * ssl://) -> CONNECT/CONNACK -> SUBSCRIBE/SUBACK -> messages. Any failure drops the transport
 * (uv_close) and schedules the next attempt after a jittered exponential backoff. A new
 * transport is only set up once the old TCP handle's close callback ran, so every callback of an
 * old connection arrives before the next one starts; 'gen' (the connection generation) is bumped
 * on each drop and is part of every token, which is how col_mqtt_ack tells stale tokens.
 * Also here: creating, starting, closing and freeing the client, its timers (connect timeout,
 * backoff, keep-alive, close guard) and col_mqtt_reconnect/col_mqtt_stats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_obs.h"
#include "ct/err.h"
#include "mqtt_codec.h"
#include "mqtt_int.h"

static void start_connect(struct col_mqtt *c);
static void maybe_done(struct col_mqtt *c);
static void on_timer(uv_timer_t *t);
static void on_ka(uv_timer_t *t);

static const char *nonempty(const char *s)
{
    return (s != NULL && s[0] != '\0') ? s : NULL;
}

static char *dup_opt(const char *s)
{
    return (s != NULL && s[0] != '\0') ? strdup(s) : NULL;
}

static int parse_uri(struct col_mqtt *c, const char *uri)
{
    const char *sep = strstr(uri, "://");
    if (sep == NULL) {
        return CT_E_INVAL;
    }
    size_t sl = (size_t)(sep - uri);
    const char *def_port;
    if ((sl == 3 && strncmp(uri, "tcp", 3) == 0) || (sl == 4 && strncmp(uri, "mqtt", 4) == 0)) {
        c->use_tls = false;
        def_port = "1883";
    } else if ((sl == 3 && strncmp(uri, "ssl", 3) == 0) ||
               (sl == 5 && strncmp(uri, "mqtts", 5) == 0)) {
        c->use_tls = true;
        def_port = "8883";
    } else {
        return CT_E_INVAL;
    }
    const char *h = sep + 3;
    const char *hend;
    const char *p = NULL;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (hend == NULL) {
            return CT_E_INVAL;
        }
        h++;
        p = hend[1] == ':' ? hend + 2 : NULL;
    } else {
        hend = strchr(h, ':');
        if (hend != NULL) {
            p = hend + 1;
        } else {
            hend = h + strcspn(h, "/");
        }
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0) {
        return CT_E_INVAL;
    }
    size_t pl = p != NULL ? strcspn(p, "/") : strlen(def_port);
    if (p == NULL) {
        p = def_port;
    }
    if (pl == 0 || pl > 5 || strspn(p, "0123456789") < pl) {
        return CT_E_INVAL;
    }
    c->host = strndup(h, hl);
    c->port = strndup(p, pl);
    c->hostport = malloc(hl + pl + 2);
    if (c->host == NULL || c->port == NULL || c->hostport == NULL) {
        return CT_E_NOMEM;
    }
    snprintf(c->hostport, hl + pl + 2, "%s:%s", c->host, c->port);
    return 0;
}

static uint32_t rnd(struct col_mqtt *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)(c->rng >> 11);
}

static void on_tcp_closed(uv_handle_t *h)
{
    struct col_mqtt *c = h->data;
    c->tcp_open = false;
    c->tcp_closing = false;
    ct_buf_reset(&c->out_wire);
    if (c->st == ST_CLOSING) {
        maybe_done(c);
    } else if (c->connect_pending) {
        c->connect_pending = false;
        start_connect(c);
    }
}

void mqtt_close_transport(struct col_mqtt *c)
{
    if (c->tcp_open && !c->tcp_closing) {
        c->tcp_closing = true;
        c->tcp_reading = false;
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
    }
    col_mqtt_tls_free(c->tls);
    c->tls = NULL;
}

static unsigned backoff_ms(struct col_mqtt *c)
{
    unsigned shift = c->attempts < 16 ? c->attempts : 16;
    uint64_t d = (uint64_t)c->reconnect_min_ms << shift;
    if (d > c->reconnect_max_ms) {
        d = c->reconnect_max_ms;
    }
    c->attempts++;
    uint64_t half = d / 2;
    return (unsigned)(half + rnd(c) % (d - half + 1));
}

/* Ends the current connection or attempt: forgets its tokens, closes the transport, tells the
 * application (DOWN) and schedules the next attempt. */
void mqtt_drop(struct col_mqtt *c, const char *why)
{
    bool was_connected = c->st == ST_CONNECTED;
    enum state prev = c->st;
    c->gen = (c->gen + 1) & GEN_MASK;
    if (c->gen == 0) {
        c->gen = 1;
    }
    c->head_seq = c->tail_seq = 0;
    c->rlen = 0;
    c->out_inflight = 0;
    c->suback_pending = false;
    for (struct out_msg *m = c->oq_head; m != NULL; m = m->next) {
        m->sent = false;
    }
    ct_buf_reset(&c->out_plain);
    mqtt_close_transport(c);
    if (c->resolving) {
        uv_cancel((uv_req_t *)&c->gai);
    }
    uv_timer_stop(&c->ka);
    uv_timer_stop(&c->resume);
    c->stats.up = false;
    if (prev == ST_CLOSING || prev == ST_CLOSED) {
        return;
    }
    if (was_connected) {
        c->stats.lost++;
        col_log(COL_LOG_WARN, LOG_TAG, "connection to %s lost: %s", c->hostport, why);
    } else {
        col_log(COL_LOG_WARN, LOG_TAG, "connection attempt to %s failed: %s", c->hostport, why);
    }
    c->st = ST_WAIT;
    unsigned d = backoff_ms(c);
    uv_timer_start(&c->timer, on_timer, d, 0);
    mqtt_emit(c, COL_MQTT_DOWN, why);
}

void mqtt_drop_uv(struct col_mqtt *c, const char *what, int uverr)
{
    char why[160];
    snprintf(why, sizeof(why), "%s: %s", what, uv_strerror(uverr));
    mqtt_drop(c, why);
}

void mqtt_transport_up(struct col_mqtt *c)
{
    struct col_mqtt_connect cc = {.client_id = c->client_id,
                                  .username = c->username,
                                  .password = c->password,
                                  .keepalive_s = (uint16_t)c->keepalive_s,
                                  .clean_start = false,
                                  .session_expiry_s = c->session_expiry_s,
                                  .receive_max = c->receive_max,
                                  .max_packet = c->max_packet};
    c->st = ST_CONNACK;
    if (col_mqtt_enc_connect(&c->out_plain, &cc) != 0) {
        mqtt_drop(c, "cannot encode CONNECT");
        return;
    }
    mqtt_kick(c);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct col_mqtt *c = req->data;
    if (c->st != ST_TCP || c->tcp_closing) {
        return;
    }
    if (status < 0) {
        mqtt_drop_uv(c, "cannot connect", status);
        return;
    }
    mqtt_read_start(c);
    if (c->st != ST_TCP) {
        return;
    }
    if (!c->use_tls) {
        mqtt_transport_up(c);
        return;
    }
    if (col_mqtt_tls_new(c->tls_ctx, c->host, &c->tls) != 0) {
        mqtt_drop(c, "cannot set up TLS");
        return;
    }
    c->st = ST_TLS;
    char why[300];
    if (col_mqtt_tls_handshake(c->tls, why, sizeof(why)) < 0) {
        mqtt_drop(c, why);
        return;
    }
    mqtt_kick(c);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct col_mqtt *c = req->data;
    c->resolving = false;
    if (c->st != ST_RESOLVING) {
        uv_freeaddrinfo(res);
        if (c->st == ST_CLOSING) {
            maybe_done(c);
        } else if (c->connect_pending) {
            c->connect_pending = false;
            start_connect(c);
        }
        return;
    }
    if (status < 0) {
        char why[300];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", c->host, uv_strerror(status));
        mqtt_drop(c, why);
        return;
    }
    int rc = uv_tcp_init(c->loop, &c->tcp);
    if (rc == 0) {
        c->tcp.data = c;
        c->tcp_open = true;
        uv_tcp_nodelay(&c->tcp, 1);
        c->creq.data = c;
        rc = uv_tcp_connect(&c->creq, &c->tcp, res->ai_addr, on_connected);
    }
    uv_freeaddrinfo(res);
    if (rc != 0) {
        mqtt_drop_uv(c, "cannot connect", rc);
        return;
    }
    c->st = ST_TCP;
}

static void start_connect(struct col_mqtt *c)
{
    if (c->st == ST_CLOSING || c->st == ST_CLOSED) {
        return;
    }
    if (c->resolving || c->tcp_open) {
        c->connect_pending = true; /* the old attempt's handles finish first */
        return;
    }
    c->rlen = 0;
    ct_buf_reset(&c->out_plain);
    ct_buf_reset(&c->out_wire);
    c->st = ST_RESOLVING;
    c->last_rx = c->last_tx = mqtt_now_ms(c);
    uv_timer_start(&c->timer, on_timer, c->connect_timeout_ms, 0);
    uv_timer_start(&c->ka, on_ka, 250, 250);
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->gai.data = c;
    int rc = uv_getaddrinfo(c->loop, &c->gai, on_resolved, c->host, c->port, &hints);
    if (rc != 0) {
        char why[300];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", c->host, uv_strerror(rc));
        mqtt_drop(c, why);
        return;
    }
    c->resolving = true;
}

static void on_timer(uv_timer_t *t)
{
    struct col_mqtt *c = t->data;
    switch (c->st) {
    case ST_WAIT:
        start_connect(c);
        return;
    case ST_RESOLVING:
    case ST_TCP:
    case ST_TLS:
    case ST_CONNACK: {
        char why[96];
        snprintf(why, sizeof(why), "connect timeout after %u ms", c->connect_timeout_ms);
        mqtt_drop(c, why);
        return;
    }
    case ST_CLOSING:
        mqtt_close_transport(c); /* the DISCONNECT did not go out in time */
        return;
    default:
        return;
    }
}

static void on_ka(uv_timer_t *t)
{
    struct col_mqtt *c = t->data;
    if (c->st != ST_CONNECTED || c->ka_eff_s == 0) {
        return;
    }
    uint64_t now = mqtt_now_ms(c);
    uint64_t ka = (uint64_t)c->ka_eff_s * 1000;
    if (!c->stats.paused && now - c->last_rx >= ka + ka / 2) {
        char why[96];
        snprintf(why, sizeof(why), "keep alive timeout: nothing from the broker in %llu ms",
                 (unsigned long long)(now - c->last_rx));
        mqtt_drop(c, why);
        return;
    }
    /* A PING when nothing went out for most of the interval (ticks are 250 ms apart). */
    if (now - c->last_tx + 500 >= ka) {
        if (col_mqtt_enc_pingreq(&c->out_plain) == 0) {
            c->last_tx = now;
            mqtt_kick(c);
        }
    }
}

int col_mqtt_create(uv_loop_t *loop, const struct col_mqtt_cfg *cfg,
                    const struct col_mqtt_sub *subs, size_t nsubs, col_mqtt_msg_fn on_msg,
                    col_mqtt_event_fn on_event, void *arg, struct col_mqtt **out)
{
    if (loop == NULL || cfg == NULL || out == NULL || cfg->uri == NULL || cfg->client_id == NULL ||
        cfg->client_id[0] == '\0' || strlen(cfg->client_id) > 65535 ||
        (nsubs > 0 && subs == NULL) || cfg->keepalive_s > 65535) {
        return CT_E_INVAL;
    }
    for (size_t i = 0; i < nsubs; i++) {
        if (subs[i].filter == NULL || subs[i].filter[0] == '\0' || subs[i].qos > 1 ||
            subs[i].retain_handling > 2) {
            return CT_E_INVAL;
        }
    }
    struct col_mqtt *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return CT_E_NOMEM;
    }
    c->loop = loop;
    int rc = parse_uri(c, cfg->uri);
    if (rc != 0) {
        goto fail;
    }
    rc = CT_E_NOMEM;
    c->client_id = strdup(cfg->client_id);
    c->username = dup_opt(cfg->username);
    c->password = dup_opt(cfg->password);
    if (c->client_id == NULL ||
        (cfg->username != NULL && cfg->username[0] != '\0' && c->username == NULL) ||
        (cfg->password != NULL && cfg->password[0] != '\0' && c->password == NULL)) {
        goto fail;
    }
    c->keepalive_s = cfg->keepalive_s != 0 ? cfg->keepalive_s : 30;
    c->session_expiry_s = cfg->session_expiry_s;
    c->receive_max = cfg->receive_max != 0 ? cfg->receive_max : 1000;
    c->max_packet = cfg->max_packet != 0 ? cfg->max_packet : 65536 + 1024;
    c->reconnect_min_ms = cfg->reconnect_min_ms != 0 ? cfg->reconnect_min_ms : 500;
    c->reconnect_max_ms = cfg->reconnect_max_ms != 0 ? cfg->reconnect_max_ms : 30000;
    if (c->reconnect_max_ms < c->reconnect_min_ms) {
        c->reconnect_max_ms = c->reconnect_min_ms;
    }
    c->connect_timeout_ms = cfg->connect_timeout_ms != 0 ? cfg->connect_timeout_ms : 10000;
    c->out_queue_max = cfg->out_queue_max != 0 ? cfg->out_queue_max : (size_t)4 << 20;
    if (nsubs > 0) {
        c->subs = calloc(nsubs, sizeof(*c->subs));
        if (c->subs == NULL) {
            goto fail;
        }
        for (size_t i = 0; i < nsubs; i++) {
            c->subs[i].filter = strdup(subs[i].filter);
            c->subs[i].qos = subs[i].qos;
            c->subs[i].retain_handling = subs[i].retain_handling;
            c->nsubs = i + 1;
            if (c->subs[i].filter == NULL) {
                goto fail;
            }
        }
    }
    c->ring_cap = c->receive_max;
    c->ring = calloc(c->ring_cap, sizeof(*c->ring));
    c->rcap = c->max_packet + 16 > RBUF_MIN ? c->max_packet + 16 : RBUF_MIN;
    c->rbuf = malloc(c->rcap);
    if (c->ring == NULL || c->rbuf == NULL) {
        goto fail;
    }
    if (c->use_tls) {
        c->cbuf = malloc(CIPHER_BUF);
        if (c->cbuf == NULL) {
            goto fail;
        }
        char why[300];
        rc = col_mqtt_tls_ctx_new(nonempty(cfg->ca_file), nonempty(cfg->cert_file),
                                  nonempty(cfg->key_file), &c->tls_ctx, why, sizeof(why));
        if (rc != 0) {
            col_log(COL_LOG_ERROR, LOG_TAG, "TLS setup for %s failed: %s", c->hostport, why);
            goto fail;
        }
    }
    ct_buf_init(&c->out_plain, OUT_BUF_LIMIT);
    ct_buf_init(&c->out_wire, OUT_BUF_LIMIT);
    c->on_msg = on_msg;
    c->on_event = on_event;
    c->arg = arg;
    c->rng = uv_hrtime() | 1;
    /* A random first generation: a token of another client instance is (almost surely) stale. */
    c->gen = (rnd(c) & GEN_MASK) | 1;
    c->stats.server_receive_max = 65535;
    c->st = ST_IDLE;
    *out = c;
    return 0;
fail:
    col_mqtt_free(c);
    return rc;
}

int col_mqtt_start(struct col_mqtt *c)
{
    if (c->started || c->st != ST_IDLE) {
        return CT_E_STATE;
    }
    uv_timer_init(c->loop, &c->timer);
    uv_timer_init(c->loop, &c->ka);
    uv_timer_init(c->loop, &c->resume);
    c->timer.data = c->ka.data = c->resume.data = c;
    c->wreq.data = c;
    c->started = true;
    start_connect(c);
    return 0;
}

void col_mqtt_reconnect(struct col_mqtt *c, const char *why)
{
    char w[256];
    snprintf(w, sizeof(w), "reconnect requested: %s", why != NULL ? why : "(no reason)");
    switch (c->st) {
    case ST_RESOLVING:
    case ST_TCP:
    case ST_TLS:
    case ST_CONNACK:
    case ST_CONNECTED:
        c->attempts = 0;
        mqtt_drop(c, w);
        return;
    case ST_WAIT:
        uv_timer_stop(&c->timer);
        start_connect(c);
        return;
    default:
        return;
    }
}

void col_mqtt_stats(const struct col_mqtt *c, struct col_mqtt_stats *out)
{
    *out = c->stats;
    out->inflight = (uint32_t)(c->tail_seq - c->head_seq);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct col_mqtt *c = h->data;
    if (--c->handles_open == 0) {
        c->st = ST_CLOSED;
        col_log(COL_LOG_INFO, LOG_TAG, "client for %s closed", c->hostport);
        if (c->done != NULL) {
            c->done(c->done_arg);
        }
    }
}

static void maybe_done(struct col_mqtt *c)
{
    if (c->st != ST_CLOSING || c->tcp_open || c->resolving || c->handles_closing) {
        return;
    }
    c->handles_closing = true;
    c->handles_open = 3;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->ka, on_handle_closed);
    uv_close((uv_handle_t *)&c->resume, on_handle_closed);
}

void col_mqtt_close(struct col_mqtt *c, void (*done)(void *arg), void *arg)
{
    if (c->st == ST_CLOSING || c->st == ST_CLOSED) {
        return;
    }
    if (!c->started) {
        uv_timer_init(c->loop, &c->timer);
        uv_timer_init(c->loop, &c->ka);
        uv_timer_init(c->loop, &c->resume);
        c->timer.data = c->ka.data = c->resume.data = c;
        c->started = true;
    }
    enum state prev = c->st;
    c->st = ST_CLOSING;
    c->done = done;
    c->done_arg = arg;
    c->stats.up = false;
    uv_timer_stop(&c->timer);
    uv_timer_stop(&c->ka);
    uv_timer_stop(&c->resume);
    if (c->resolving) {
        uv_cancel((uv_req_t *)&c->gai);
    }
    if (prev == ST_CONNECTED && c->tcp_open && !c->tcp_closing) {
        /* DISCONNECT reason 0: the session (and its unacked messages) stays on the broker. */
        if (col_mqtt_enc_disconnect(&c->out_plain, 0) == 0) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->tcp_reading = false;
            uv_timer_start(&c->timer, on_timer, CLOSE_GUARD_MS, 0);
            mqtt_kick(c);
            if (c->tcp_open && !c->tcp_closing && !c->writing) {
                mqtt_close_transport(c);
            }
            maybe_done(c);
            return;
        }
    }
    mqtt_close_transport(c);
    maybe_done(c);
}

void col_mqtt_free(struct col_mqtt *c)
{
    if (c == NULL) {
        return;
    }
    while (c->oq_head != NULL) {
        mqtt_oq_remove(c, NULL, c->oq_head);
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        free((char *)c->subs[i].filter);
    }
    free(c->subs);
    col_mqtt_tls_free(c->tls);
    col_mqtt_tls_ctx_free(c->tls_ctx);
    ct_buf_free(&c->out_plain);
    ct_buf_free(&c->out_wire);
    free(c->ring);
    free(c->rbuf);
    free(c->cbuf);
    free(c->host);
    free(c->port);
    free(c->hostport);
    free(c->client_id);
    free(c->username);
    if (c->password != NULL) {
        memset(c->password, 0, strlen(c->password));
    }
    free(c->password);
    free(c);
}

/* mqtt.c - the connection and its state machine; see col_mqtt.h.
 *
 * One connection at a time: resolve (uv_getaddrinfo) -> TCP connect -> TLS handshake (when
 * ssl://) -> CONNECT/CONNACK -> SUBSCRIBE/SUBACK -> messages. Any failure drops the transport
 * (uv_close) and schedules the next attempt after a jittered exponential backoff. A new
 * transport is only set up once the old TCP handle's close callback ran, so every callback of an
 * old connection arrives before the next one starts; 'gen' (the connection generation) is bumped
 * on each drop and is part of every token, which is how col_mqtt_ack tells stale tokens.
 *
 * Receive path: bytes are read (or decrypted) into one buffer (rbuf) and packets are decoded in
 * place; nothing is allocated per message. QoS 1 messages take a slot in the ack ring
 * (preallocated to receive_max; grown only when the broker exceeds it). PUBACKs leave the ring
 * from its head only, so they keep the PUBLISH order (MQTT 4.6).
 *
 * Send path: all packets are appended to out_plain; one uv_write is in flight at a time (out_wire
 * is its buffer); whatever is appended meanwhile goes out with the next write, which batches
 * PUBACKs under load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_mqtt.h"
#include "col_obs.h"
#include "ct/err.h"
#include "mqtt_codec.h"
#include "mqtt_tls.h"

#define LOG_TAG "mqtt"
#define GEN_SHIFT 44
#define SEQ_MASK ((UINT64_C(1) << GEN_SHIFT) - 1)
/* 63, not 64: bit 63 of a token stays clear (the intake's COL_INTAKE_TOKEN_LOCAL). */
#define GEN_MASK ((UINT32_C(1) << (63 - GEN_SHIFT)) - 1)
#define OUT_BUF_LIMIT ((size_t)1 << 30)
#define CLOSE_GUARD_MS 2000
#define CIPHER_BUF 65536
#define RBUF_MIN (128 * 1024)

enum state {
    ST_IDLE,      /* created, not started */
    ST_WAIT,      /* backoff timer running */
    ST_RESOLVING, /* uv_getaddrinfo */
    ST_TCP,       /* uv_tcp_connect */
    ST_TLS,       /* TLS handshake */
    ST_CONNACK,   /* CONNECT sent */
    ST_CONNECTED, /* CONNACK 0 received */
    ST_CLOSING,   /* col_mqtt_close called */
    ST_CLOSED     /* done called */
};

struct out_msg {
    struct out_msg *next;
    uint8_t qos;
    bool sent;      /* written on the current connection */
    bool ever_sent; /* written on some connection: a resend carries DUP */
    uint16_t pid;
    size_t pid_off;
    size_t len;
    uint8_t pkt[]; /* the encoded PUBLISH */
};

struct ack_slot {
    uint16_t pid;
    bool acked;
};

struct col_mqtt {
    uv_loop_t *loop;
    /* configuration (owned copies) */
    char *host, *port, *hostport, *client_id, *username, *password;
    bool use_tls;
    struct col_mqtt_tls_ctx *tls_ctx;
    unsigned keepalive_s, reconnect_min_ms, reconnect_max_ms, connect_timeout_ms;
    uint32_t session_expiry_s, max_packet;
    uint16_t receive_max;
    size_t out_queue_max;
    struct col_mqtt_sub_item *subs;
    size_t nsubs;
    col_mqtt_msg_fn on_msg;
    col_mqtt_event_fn on_event;
    void *arg;

    enum state st;
    bool started;
    uv_tcp_t tcp;
    bool tcp_open, tcp_closing, tcp_reading;
    uv_connect_t creq;
    uv_getaddrinfo_t gai;
    bool resolving, connect_pending;
    uv_timer_t timer;  /* connect timeout, backoff, close guard */
    uv_timer_t ka;     /* keep-alive ticks */
    uv_timer_t resume; /* deferred parse after col_mqtt_resume */
    int handles_open;  /* timers still to close when closing */
    bool handles_closing;
    uv_write_t wreq;
    bool writing;
    struct ct_buf out_plain, out_wire;
    struct col_mqtt_tls *tls;
    uint8_t *rbuf;
    size_t rcap, rlen;
    char *cbuf;
    bool in_parse;
    unsigned attempts;
    uint64_t last_rx, last_tx;
    unsigned ka_eff_s;
    uint64_t rng;

    /* inbound QoS 1 */
    uint32_t gen;
    struct ack_slot *ring;
    size_t ring_cap;
    uint64_t head_seq, tail_seq;

    /* outbound */
    struct out_msg *oq_head, *oq_tail;
    size_t oq_bytes;
    uint32_t out_inflight;
    uint16_t next_pid, sub_pid;
    bool suback_pending;
    uint32_t server_max_packet;

    struct col_mqtt_stats stats;
    void (*done)(void *arg);
    void *done_arg;
};

static void start_connect(struct col_mqtt *c);
static void drop(struct col_mqtt *c, const char *why);
static void kick(struct col_mqtt *c);
static void pump(struct col_mqtt *c);
static void maybe_done(struct col_mqtt *c);
static void read_start(struct col_mqtt *c);

/* ---- helpers ---- */

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

static uint64_t now_ms(struct col_mqtt *c)
{
    return uv_now(c->loop);
}

static uint32_t rnd(struct col_mqtt *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)(c->rng >> 11);
}

static void emit(struct col_mqtt *c, enum col_mqtt_event ev, const char *why)
{
    if (c->on_event != NULL) {
        c->on_event(c->arg, ev, why);
    }
}

static bool live(const struct col_mqtt *c)
{
    return c->st == ST_CONNACK || c->st == ST_CONNECTED;
}

/* ---- outgoing queue ---- */

static void oq_remove(struct col_mqtt *c, struct out_msg *prev, struct out_msg *m)
{
    if (prev == NULL) {
        c->oq_head = m->next;
    } else {
        prev->next = m->next;
    }
    if (c->oq_tail == m) {
        c->oq_tail = prev;
    }
    c->oq_bytes -= m->len;
    free(m);
}

static bool pid_in_use(const struct col_mqtt *c, uint16_t pid)
{
    for (const struct out_msg *m = c->oq_head; m != NULL; m = m->next) {
        if (m->pid == pid) {
            return true;
        }
    }
    return c->suback_pending && c->sub_pid == pid;
}

static uint16_t alloc_pid(struct col_mqtt *c)
{
    do {
        c->next_pid++;
        if (c->next_pid == 0) {
            c->next_pid = 1;
        }
    } while (pid_in_use(c, c->next_pid));
    return c->next_pid;
}

/* Writes every queued publish that may go now (QoS 1 bounded by the server's Receive Maximum). */
static void send_queued(struct col_mqtt *c)
{
    if (c->st != ST_CONNECTED) {
        return;
    }
    struct out_msg *prev = NULL;
    struct out_msg *m = c->oq_head;
    while (m != NULL) {
        struct out_msg *next = m->next;
        if (m->sent) {
            prev = m;
            m = next;
            continue;
        }
        if (m->qos == 1 && c->out_inflight >= c->stats.server_receive_max) {
            break;
        }
        if (c->server_max_packet != 0 && m->len > c->server_max_packet) {
            col_log(COL_LOG_ERROR, LOG_TAG,
                    "outgoing publish of %zu bytes dropped: over the broker's maximum packet "
                    "size %u",
                    m->len, (unsigned)c->server_max_packet);
            c->stats.publish_refused++;
            oq_remove(c, prev, m);
            m = next;
            continue;
        }
        if (m->qos == 1) {
            if (m->pid == 0) {
                m->pid = alloc_pid(c);
                m->pkt[m->pid_off] = (uint8_t)(m->pid >> 8);
                m->pkt[m->pid_off + 1] = (uint8_t)(m->pid & 0xFFu);
            }
            if (m->ever_sent) {
                m->pkt[0] |= 0x08u; /* DUP */
            }
        }
        if (ct_buf_add(&c->out_plain, m->pkt, m->len) != 0) {
            drop(c, "out of memory for the send buffer");
            return;
        }
        if (m->qos == 0) {
            c->stats.published++;
            oq_remove(c, prev, m);
        } else {
            m->sent = true;
            m->ever_sent = true;
            c->out_inflight++;
            prev = m;
        }
        m = next;
    }
    kick(c);
}

/* ---- transport ---- */

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

static void close_transport(struct col_mqtt *c)
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

static void on_timer(uv_timer_t *t);

/* Ends the current connection or attempt: forgets its tokens, closes the transport, tells the
 * application (DOWN) and schedules the next attempt. */
static void drop(struct col_mqtt *c, const char *why)
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
    close_transport(c);
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
    emit(c, COL_MQTT_DOWN, why);
}

/* A forbidden or malformed packet: best-effort DISCONNECT with 'reason', then drop. */
static void protocol_error(struct col_mqtt *c, uint8_t reason, const char *what)
{
    c->stats.protocol_errors++;
    char why[256];
    snprintf(why, sizeof(why), "protocol error: %s (sent DISCONNECT %s, 0x%02x)", what,
             col_mqtt_reason_name(reason), reason);
    col_log(COL_LOG_ERROR, LOG_TAG, "%s", why);
    if (c->tcp_open && !c->tcp_closing && !c->writing) {
        struct ct_buf wire;
        ct_buf_init(&wire, 65536);
        const uint8_t pkt[4] = {COL_MQTT_DISCONNECT << 4, 2, reason, 0};
        bool ok = true;
        if (c->tls != NULL) {
            ok = col_mqtt_tls_ready(c->tls) && col_mqtt_tls_write(c->tls, pkt, 4) == 0 &&
                 col_mqtt_tls_drain(c->tls, &wire) == 0;
        } else {
            ok = ct_buf_add(&wire, pkt, 4) == 0;
        }
        if (ok && wire.len > 0) {
            uv_buf_t ub = uv_buf_init(wire.p, (unsigned)wire.len);
            (void)uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
        }
        ct_buf_free(&wire);
    }
    drop(c, why);
}

static void on_write(uv_write_t *req, int status)
{
    struct col_mqtt *c = req->data;
    c->writing = false;
    ct_buf_reset(&c->out_wire);
    if (c->tcp_closing || !c->tcp_open) {
        return;
    }
    if (status < 0) {
        char why[128];
        snprintf(why, sizeof(why), "write failed: %s", uv_strerror(status));
        if (c->st == ST_CLOSING) {
            close_transport(c);
        } else {
            drop(c, why);
        }
        return;
    }
    if (c->st == ST_CLOSING && c->out_plain.len == 0) {
        close_transport(c);
        return;
    }
    kick(c);
}

/* Starts a write of whatever is pending, unless one is in flight. */
static void kick(struct col_mqtt *c)
{
    if (c->writing || !c->tcp_open || c->tcp_closing) {
        return;
    }
    if (c->tls != NULL) {
        if (col_mqtt_tls_ready(c->tls) && c->out_plain.len > 0) {
            if (col_mqtt_tls_write(c->tls, c->out_plain.p, c->out_plain.len) != 0) {
                drop(c, "TLS write failed");
                return;
            }
            ct_buf_reset(&c->out_plain);
        }
        if (col_mqtt_tls_drain(c->tls, &c->out_wire) != 0) {
            drop(c, "out of memory for the TLS send buffer");
            return;
        }
    } else if (c->out_plain.len > 0) {
        struct ct_buf t = c->out_wire;
        c->out_wire = c->out_plain;
        c->out_plain = t;
    }
    if (c->out_wire.len == 0) {
        return;
    }
    uv_buf_t b = uv_buf_init(c->out_wire.p, (unsigned)c->out_wire.len);
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc != 0) {
        char why[128];
        snprintf(why, sizeof(why), "write failed: %s", uv_strerror(rc));
        drop(c, why);
        return;
    }
    c->writing = true;
    c->last_tx = now_ms(c);
}

/* ---- receiving ---- */

static int ring_grow(struct col_mqtt *c)
{
    size_t ncap = c->ring_cap * 2;
    struct ack_slot *n = malloc(ncap * sizeof(*n));
    if (n == NULL) {
        return CT_E_NOMEM;
    }
    for (uint64_t s = c->head_seq; s < c->tail_seq; s++) {
        n[s % ncap] = c->ring[s % c->ring_cap];
    }
    free(c->ring);
    c->ring = n;
    c->ring_cap = ncap;
    return 0;
}

static void handle_publish(struct col_mqtt *c, uint8_t flags, const uint8_t *body, size_t len)
{
    struct col_mqtt_publish p;
    const char *why = NULL;
    if (col_mqtt_dec_publish(flags, body, len, &p, &why) != 0) {
        protocol_error(c, 0x81, why);
        return;
    }
    if (p.qos == 2) {
        protocol_error(c, 0x9B, "QoS 2 PUBLISH (we subscribe at QoS 0 or 1 only)");
        return;
    }
    if (p.topic_alias != 0) {
        protocol_error(c, 0x94, "topic alias used (we announced Topic Alias Maximum 0)");
        return;
    }
    struct col_mqtt_msg m = {.topic = p.topic,
                             .topic_len = p.topic_len,
                             .payload = p.payload,
                             .payload_len = p.payload_len,
                             .sig = p.sig,
                             .sig_len = p.sig_len,
                             .qos = p.qos,
                             .retain = p.retain,
                             .dup = p.dup,
                             .token = 0};
    if (p.qos == 1) {
        uint64_t n = c->tail_seq - c->head_seq;
        if (n >= c->receive_max) {
            c->stats.over_receive_max++; /* Mosquitto 2.0.11 can, on session resume; keep it */
        }
        if (n == c->ring_cap && ring_grow(c) != 0) {
            drop(c, "out of memory for the ack ring");
            return;
        }
        struct ack_slot *s = &c->ring[c->tail_seq % c->ring_cap];
        s->pid = p.packet_id;
        s->acked = false;
        m.token = ((uint64_t)c->gen << GEN_SHIFT) | (c->tail_seq & SEQ_MASK);
        c->tail_seq++;
    }
    c->stats.received++;
    if (c->on_msg != NULL) {
        c->on_msg(c->arg, &m);
    }
}

static void handle_connack(struct col_mqtt *c, const uint8_t *body, size_t len)
{
    struct col_mqtt_connack a;
    const char *why = NULL;
    if (col_mqtt_dec_connack(body, len, &a, &why) != 0) {
        protocol_error(c, 0x81, why);
        return;
    }
    if (a.reason != 0) {
        char w[256];
        if (a.reason_string != NULL) {
            snprintf(w, sizeof(w), "%s (0x%02x): %.*s", col_mqtt_reason_name(a.reason), a.reason,
                     (int)(a.reason_string_len > 120 ? 120 : a.reason_string_len), a.reason_string);
        } else {
            snprintf(w, sizeof(w), "%s (0x%02x)", col_mqtt_reason_name(a.reason), a.reason);
        }
        drop(c, w);
        return;
    }
    uv_timer_stop(&c->timer);
    c->st = ST_CONNECTED;
    c->attempts = 0;
    c->stats.connects++;
    c->stats.server_receive_max = a.receive_max;
    c->server_max_packet = a.max_packet;
    c->ka_eff_s = a.server_keepalive >= 0 ? (unsigned)a.server_keepalive : c->keepalive_s;
    col_log(COL_LOG_INFO, LOG_TAG,
            "connected to %s (%s, keep alive %u s, server receive maximum %u)", c->hostport,
            a.session_present ? "session present" : "new session", c->ka_eff_s,
            (unsigned)a.receive_max);
    if (a.assigned_id != NULL) {
        col_log(COL_LOG_INFO, LOG_TAG, "the broker assigned the client id '%.*s'",
                (int)(a.assigned_id_len > 100 ? 100 : a.assigned_id_len), a.assigned_id);
    }
    if (c->nsubs > 0) {
        c->sub_pid = alloc_pid(c);
        if (col_mqtt_enc_subscribe(&c->out_plain, c->sub_pid, c->subs, c->nsubs) != 0) {
            drop(c, "cannot encode SUBSCRIBE");
            return;
        }
        c->suback_pending = true;
    }
    send_queued(c);
    if (c->st != ST_CONNECTED) {
        return;
    }
    if (c->nsubs == 0) {
        c->stats.up = true;
        emit(c, COL_MQTT_UP, "connected");
    }
}

static void handle_suback(struct col_mqtt *c, const uint8_t *body, size_t len)
{
    uint16_t pid;
    const uint8_t *codes;
    size_t n;
    const char *why = NULL;
    if (col_mqtt_dec_suback(body, len, &pid, &codes, &n, &why) != 0) {
        protocol_error(c, 0x81, why);
        return;
    }
    if (!c->suback_pending || pid != c->sub_pid) {
        protocol_error(c, 0x82, "SUBACK for a packet id we did not use");
        return;
    }
    if (n != c->nsubs) {
        protocol_error(c, 0x82, "SUBACK reason codes do not match the filters");
        return;
    }
    c->suback_pending = false;
    uint32_t gen = c->gen;
    size_t refused = 0;
    for (size_t i = 0; i < n && c->gen == gen && c->st == ST_CONNECTED; i++) {
        char w[512];
        if (codes[i] >= 0x80) {
            snprintf(w, sizeof(w), "subscription '%s' refused: %s (0x%02x)", c->subs[i].filter,
                     col_mqtt_reason_name(codes[i]), codes[i]);
        } else if (codes[i] < c->subs[i].qos) {
            snprintf(w, sizeof(w),
                     "subscription '%s' downgraded: granted QoS %u, asked %u (0x%02x)",
                     c->subs[i].filter, codes[i], c->subs[i].qos, codes[i]);
        } else {
            continue;
        }
        refused++;
        col_log(COL_LOG_ERROR, LOG_TAG, "%s", w);
        emit(c, COL_MQTT_SUB_REFUSED, w);
    }
    if (refused == 0 && c->gen == gen && c->st == ST_CONNECTED) {
        col_log(COL_LOG_INFO, LOG_TAG, "subscribed: %zu filter(s) granted as asked", n);
        c->stats.up = true;
        emit(c, COL_MQTT_UP, "subscribed");
    }
}

static void handle_puback(struct col_mqtt *c, const uint8_t *body, size_t len)
{
    uint16_t pid;
    uint8_t reason;
    const char *why = NULL;
    if (col_mqtt_dec_puback(body, len, &pid, &reason, &why) != 0) {
        protocol_error(c, 0x81, why);
        return;
    }
    struct out_msg *prev = NULL;
    for (struct out_msg *m = c->oq_head; m != NULL; prev = m, m = m->next) {
        if (m->sent && m->qos == 1 && m->pid == pid) {
            if (reason >= 0x80) {
                col_log(COL_LOG_WARN, LOG_TAG,
                        "outgoing publish refused by the broker: %s (0x%02x)",
                        col_mqtt_reason_name(reason), reason);
                c->stats.publish_refused++;
            } else {
                c->stats.published++;
            }
            c->out_inflight--;
            oq_remove(c, prev, m);
            send_queued(c);
            return;
        }
    }
    /* A PUBACK for nothing in flight: harmless (e.g. after a session was lost); ignored. */
}

static void handle_packet(struct col_mqtt *c, const struct col_mqtt_frame *f, const uint8_t *body)
{
    if (c->st == ST_CONNACK && f->type != COL_MQTT_CONNACK && f->type != COL_MQTT_DISCONNECT) {
        protocol_error(c, 0x82, "a packet before CONNACK");
        return;
    }
    switch (f->type) {
    case COL_MQTT_PUBLISH:
        handle_publish(c, f->flags, body, f->body_len);
        return;
    case COL_MQTT_CONNACK:
        if (c->st != ST_CONNACK) {
            protocol_error(c, 0x82, "a second CONNACK");
            return;
        }
        handle_connack(c, body, f->body_len);
        return;
    case COL_MQTT_SUBACK:
        handle_suback(c, body, f->body_len);
        return;
    case COL_MQTT_PUBACK:
        handle_puback(c, body, f->body_len);
        return;
    case COL_MQTT_PINGRESP:
        return;
    case COL_MQTT_DISCONNECT: {
        uint8_t reason = 0;
        const char *why = NULL;
        if (col_mqtt_dec_disconnect(body, f->body_len, &reason, &why) != 0) {
            protocol_error(c, 0x81, why);
            return;
        }
        char w[128];
        snprintf(w, sizeof(w), "the broker sent DISCONNECT: %s (0x%02x)",
                 col_mqtt_reason_name(reason), reason);
        drop(c, w);
        return;
    }
    default: {
        char w[64];
        snprintf(w, sizeof(w), "unexpected packet type %u", f->type);
        protocol_error(c, 0x82, w);
        return;
    }
    }
}

/* Decodes and handles every whole packet in rbuf. Stops before a PUBLISH while paused, and as
 * soon as a handler dropped the connection (gen changed) or the client is closing. */
static void parse_all(struct col_mqtt *c)
{
    size_t off = 0;
    uint32_t gen = c->gen;
    c->in_parse = true;
    while (off < c->rlen) {
        struct col_mqtt_frame f;
        const char *why = NULL;
        int rc = col_mqtt_frame(c->rbuf + off, c->rlen - off, c->max_packet, &f, &why);
        if (rc == CT_E_AGAIN) {
            break;
        }
        if (rc != 0) {
            c->in_parse = false;
            protocol_error(c, rc == CT_E_TOOBIG ? 0x95 : 0x81, why);
            return;
        }
        /* While paused, messages wait in the buffer; but not while a SUBACK is awaited: it may
         * sit behind them, and reading must go on until it arrives (else the buffer fills and
         * the connection drops, again at every reconnect: e2e_dur_spool_full). The intake
         * bounds what it takes meanwhile (the broker's in-flight window). */
        if (c->stats.paused && f.type == COL_MQTT_PUBLISH && c->st == ST_CONNECTED &&
            !c->suback_pending) {
            break;
        }
        handle_packet(c, &f, c->rbuf + off + f.hdr_len);
        if (c->gen != gen || !live(c)) {
            c->in_parse = false;
            return; /* dropped (rlen is 0 now) or closing */
        }
        off += f.hdr_len + f.body_len;
    }
    c->in_parse = false;
    if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
}

static void update_reading(struct col_mqtt *c)
{
    if (!c->tcp_open || c->tcp_closing) {
        return;
    }
    /* Reading stops only once subscribed: CONNACK and SUBACK are always read. */
    bool want = !(c->stats.paused && c->st == ST_CONNECTED && !c->suback_pending) &&
                c->rlen < c->rcap; /* a full buffer waits for the parser, never ENOBUFS */
    if (want && !c->tcp_reading) {
        read_start(c);
    } else if (!want && c->tcp_reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->tcp_reading = false;
    }
}

/* Decrypts (TLS) and parses until no more progress can be made. */
static void pump(struct col_mqtt *c)
{
    for (;;) {
        bool filled = false;
        if (c->tls != NULL) {
            while (c->rlen < c->rcap) {
                char why[256];
                long n = col_mqtt_tls_read(c->tls, c->rbuf + c->rlen, c->rcap - c->rlen, why,
                                           sizeof(why));
                if (n == 0) {
                    break;
                }
                if (n < 0) {
                    drop(c, why);
                    return;
                }
                c->rlen += (size_t)n;
            }
            filled = c->rlen == c->rcap;
        }
        size_t before = c->rlen;
        uint32_t gen = c->gen;
        parse_all(c);
        if (c->gen != gen || !live(c)) {
            return;
        }
        update_reading(c);
        kick(c);
        if (!filled || c->rlen == before) {
            return;
        }
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct col_mqtt *c = h->data;
    if (c->tls != NULL) {
        *buf = uv_buf_init(c->cbuf, CIPHER_BUF);
    } else {
        *buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
    }
}

static void on_transport_up(struct col_mqtt *c)
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
        drop(c, "cannot encode CONNECT");
        return;
    }
    kick(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct col_mqtt *c = s->data;
    if (nread == 0 || c->tcp_closing) {
        return;
    }
    if (nread < 0) {
        char why[128];
        if (nread == UV_EOF) {
            snprintf(why, sizeof(why), "the broker closed the connection");
        } else {
            snprintf(why, sizeof(why), "read failed: %s", uv_strerror((int)nread));
        }
        if (c->st == ST_CLOSING) {
            close_transport(c);
        } else {
            drop(c, why);
        }
        return;
    }
    c->last_rx = now_ms(c);
    if (c->st == ST_CLOSING) {
        return; /* only waiting for our DISCONNECT to go out */
    }
    if (c->tls == NULL) {
        c->rlen += (size_t)nread;
        pump(c);
        return;
    }
    if (col_mqtt_tls_feed(c->tls, buf->base, (size_t)nread) != 0) {
        drop(c, "out of memory for TLS input");
        return;
    }
    if (!col_mqtt_tls_ready(c->tls)) {
        char why[300];
        int hs = col_mqtt_tls_handshake(c->tls, why, sizeof(why));
        if (hs < 0) {
            drop(c, why);
            return;
        }
        kick(c);
        if (hs == 0 || c->tls == NULL) {
            return;
        }
        on_transport_up(c);
        if (c->tls == NULL) {
            return;
        }
    }
    pump(c);
}

static void read_start(struct col_mqtt *c)
{
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0) {
        char why[128];
        snprintf(why, sizeof(why), "cannot read: %s", uv_strerror(rc));
        drop(c, why);
        return;
    }
    c->tcp_reading = true;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct col_mqtt *c = req->data;
    if (c->st != ST_TCP || c->tcp_closing) {
        return;
    }
    if (status < 0) {
        char why[160];
        snprintf(why, sizeof(why), "cannot connect: %s", uv_strerror(status));
        drop(c, why);
        return;
    }
    read_start(c);
    if (c->st != ST_TCP) {
        return;
    }
    if (!c->use_tls) {
        on_transport_up(c);
        return;
    }
    if (col_mqtt_tls_new(c->tls_ctx, c->host, &c->tls) != 0) {
        drop(c, "cannot set up TLS");
        return;
    }
    c->st = ST_TLS;
    char why[300];
    if (col_mqtt_tls_handshake(c->tls, why, sizeof(why)) < 0) {
        drop(c, why);
        return;
    }
    kick(c);
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
        drop(c, why);
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
        char why[160];
        snprintf(why, sizeof(why), "cannot connect: %s", uv_strerror(rc));
        drop(c, why);
        return;
    }
    c->st = ST_TCP;
}

static void on_ka(uv_timer_t *t);

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
    c->last_rx = c->last_tx = now_ms(c);
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
        drop(c, why);
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
        drop(c, why);
        return;
    }
    case ST_CLOSING:
        close_transport(c); /* the DISCONNECT did not go out in time */
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
    uint64_t now = now_ms(c);
    uint64_t ka = (uint64_t)c->ka_eff_s * 1000;
    if (!c->stats.paused && now - c->last_rx >= ka + ka / 2) {
        char why[96];
        snprintf(why, sizeof(why), "keep alive timeout: nothing from the broker in %llu ms",
                 (unsigned long long)(now - c->last_rx));
        drop(c, why);
        return;
    }
    /* A PING when nothing went out for most of the interval (ticks are 250 ms apart). */
    if (now - c->last_tx + 500 >= ka) {
        if (col_mqtt_enc_pingreq(&c->out_plain) == 0) {
            c->last_tx = now;
            kick(c);
        }
    }
}

static void on_resume(uv_timer_t *t)
{
    struct col_mqtt *c = t->data;
    if (c->st != ST_CONNECTED || c->stats.paused) {
        return;
    }
    pump(c);
    if (c->st == ST_CONNECTED) {
        update_reading(c);
    }
}

/* ---- public API ---- */

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

void col_mqtt_ack(struct col_mqtt *c, uint64_t token)
{
    if (token == 0) {
        return;
    }
    uint32_t tgen = (uint32_t)(token >> GEN_SHIFT);
    uint64_t seq = token & SEQ_MASK;
    if (c->st != ST_CONNECTED || tgen != c->gen || seq < c->head_seq || seq >= c->tail_seq ||
        c->ring[seq % c->ring_cap].acked) {
        c->stats.stale_acks++;
        return;
    }
    c->ring[seq % c->ring_cap].acked = true;
    if (seq != c->head_seq) {
        return; /* held until the earlier ones are acked (MQTT 4.6) */
    }
    while (c->head_seq < c->tail_seq && c->ring[c->head_seq % c->ring_cap].acked) {
        uint8_t p[4];
        col_mqtt_puback_bytes(c->ring[c->head_seq % c->ring_cap].pid, p);
        if (ct_buf_add(&c->out_plain, p, sizeof(p)) != 0) {
            drop(c, "out of memory for the send buffer");
            return;
        }
        c->stats.acked++;
        c->head_seq++;
    }
    kick(c);
}

void col_mqtt_pause(struct col_mqtt *c)
{
    if (c->stats.paused) {
        return;
    }
    c->stats.paused = true;
    uv_timer_stop(&c->resume);
    if (live(c)) {
        update_reading(c);
    }
}

void col_mqtt_resume(struct col_mqtt *c)
{
    if (!c->stats.paused) {
        return;
    }
    c->stats.paused = false;
    c->last_rx = now_ms(c); /* the keep-alive timeout was suspended */
    if (c->st == ST_CONNECTED && !c->in_parse) {
        /* Deferred: buffered messages are delivered from the loop, never inside this call. */
        uv_timer_start(&c->resume, on_resume, 0, 0);
    }
}

int col_mqtt_publish(struct col_mqtt *c, const char *topic, const void *payload, size_t len,
                     uint8_t qos, bool retain)
{
    if (topic == NULL || qos > 1 || (payload == NULL && len > 0)) {
        return CT_E_INVAL;
    }
    if (c->st == ST_CLOSING || c->st == ST_CLOSED) {
        return CT_E_STATE;
    }
    size_t tl = strlen(topic);
    if (tl == 0 || tl > 65535 || !col_mqtt_utf8_ok(topic, tl) || strpbrk(topic, "+#") != NULL) {
        return CT_E_INVAL;
    }
    size_t need = 5 + 2 + tl + 2 + 1 + len;
    if (c->oq_bytes + need > c->out_queue_max) {
        c->stats.publish_refused++;
        return CT_E_FULL;
    }
    struct ct_buf b;
    ct_buf_init(&b, need + 1);
    size_t pid_off = 0;
    int rc = col_mqtt_enc_publish(&b, topic, tl, payload, len, qos, retain, false, 1, &pid_off);
    if (rc != 0) {
        ct_buf_free(&b);
        if (rc != CT_E_NOMEM) {
            c->stats.publish_refused++;
        }
        return rc == CT_E_NOMEM ? CT_E_NOMEM : CT_E_INVAL;
    }
    struct out_msg *m = malloc(sizeof(*m) + b.len);
    if (m == NULL) {
        ct_buf_free(&b);
        return CT_E_NOMEM;
    }
    memset(m, 0, sizeof(*m));
    m->qos = qos;
    m->pid_off = pid_off;
    m->len = b.len;
    memcpy(m->pkt, b.p, b.len);
    ct_buf_free(&b);
    if (c->oq_tail != NULL) {
        c->oq_tail->next = m;
    } else {
        c->oq_head = m;
    }
    c->oq_tail = m;
    c->oq_bytes += m->len;
    send_queued(c);
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
        drop(c, w);
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
            kick(c);
            if (c->tcp_open && !c->tcp_closing && !c->writing) {
                close_transport(c);
            }
            maybe_done(c);
            return;
        }
    }
    close_transport(c);
    maybe_done(c);
}

void col_mqtt_free(struct col_mqtt *c)
{
    if (c == NULL) {
        return;
    }
    while (c->oq_head != NULL) {
        oq_remove(c, NULL, c->oq_head);
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

/* mqtt_recv.c - the receive path of col_mqtt: reading (and decrypting) into the read buffer,
 * decoding packets in place and handling them (CONNACK, SUBACK, PUBLISH, PUBACK, DISCONNECT),
 * protocol errors, and col_mqtt_pause/col_mqtt_resume.
 *
 * Bytes are read (or decrypted) into one buffer (rbuf) and packets are decoded in place; nothing
 * is allocated per message. QoS 1 messages take a slot in the ack ring (preallocated to
 * receive_max; grown only when the broker exceeds it). PUBACKs leave the ring from its head only
 * (col_mqtt_ack in mqtt_send.c), so they keep the PUBLISH order (MQTT 4.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_obs.h"
#include "ct/err.h"
#include "mqtt_codec.h"
#include "mqtt_int.h"

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
    mqtt_drop(c, why);
}

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
            mqtt_drop(c, "out of memory for the ack ring");
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
        mqtt_drop(c, w);
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
        c->sub_pid = mqtt_alloc_pid(c);
        if (col_mqtt_enc_subscribe(&c->out_plain, c->sub_pid, c->subs, c->nsubs) != 0) {
            mqtt_drop(c, "cannot encode SUBSCRIBE");
            return;
        }
        c->suback_pending = true;
    }
    mqtt_send_queued(c);
    if (c->st != ST_CONNECTED) {
        return;
    }
    if (c->nsubs == 0) {
        c->stats.up = true;
        mqtt_emit(c, COL_MQTT_UP, "connected");
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
        mqtt_emit(c, COL_MQTT_SUB_REFUSED, w);
    }
    if (refused == 0 && c->gen == gen && c->st == ST_CONNECTED) {
        col_log(COL_LOG_INFO, LOG_TAG, "subscribed: %zu filter(s) granted as asked", n);
        c->stats.up = true;
        mqtt_emit(c, COL_MQTT_UP, "subscribed");
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
            mqtt_oq_remove(c, prev, m);
            mqtt_send_queued(c);
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
        mqtt_drop(c, w);
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
        if (c->gen != gen || !mqtt_live(c)) {
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
        mqtt_read_start(c);
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
                    mqtt_drop(c, why);
                    return;
                }
                c->rlen += (size_t)n;
            }
            filled = c->rlen == c->rcap;
        }
        size_t before = c->rlen;
        uint32_t gen = c->gen;
        parse_all(c);
        if (c->gen != gen || !mqtt_live(c)) {
            return;
        }
        update_reading(c);
        mqtt_kick(c);
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
            mqtt_close_transport(c);
        } else {
            mqtt_drop(c, why);
        }
        return;
    }
    c->last_rx = mqtt_now_ms(c);
    if (c->st == ST_CLOSING) {
        return; /* only waiting for our DISCONNECT to go out */
    }
    if (c->tls == NULL) {
        c->rlen += (size_t)nread;
        pump(c);
        return;
    }
    if (col_mqtt_tls_feed(c->tls, buf->base, (size_t)nread) != 0) {
        mqtt_drop(c, "out of memory for TLS input");
        return;
    }
    if (!col_mqtt_tls_ready(c->tls)) {
        char why[300];
        int hs = col_mqtt_tls_handshake(c->tls, why, sizeof(why));
        if (hs < 0) {
            mqtt_drop(c, why);
            return;
        }
        mqtt_kick(c);
        if (hs == 0 || c->tls == NULL) {
            return;
        }
        mqtt_transport_up(c);
        if (c->tls == NULL) {
            return;
        }
    }
    pump(c);
}

void mqtt_read_start(struct col_mqtt *c)
{
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0) {
        mqtt_drop_uv(c, "cannot read", rc);
        return;
    }
    c->tcp_reading = true;
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

void col_mqtt_pause(struct col_mqtt *c)
{
    if (c->stats.paused) {
        return;
    }
    c->stats.paused = true;
    uv_timer_stop(&c->resume);
    if (mqtt_live(c)) {
        update_reading(c);
    }
}

void col_mqtt_resume(struct col_mqtt *c)
{
    if (!c->stats.paused) {
        return;
    }
    c->stats.paused = false;
    c->last_rx = mqtt_now_ms(c); /* the keep-alive timeout was suspended */
    if (c->st == ST_CONNECTED && !c->in_parse) {
        /* Deferred: buffered messages are delivered from the loop, never inside this call. */
        uv_timer_start(&c->resume, on_resume, 0, 0);
    }
}

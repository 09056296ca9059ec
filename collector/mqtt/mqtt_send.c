/* mqtt_send.c - the send path of col_mqtt: the outgoing publish queue, packet ids, the one
 * uv_write in flight, col_mqtt_publish and col_mqtt_ack (PUBACKs in PUBLISH order).
 *
 * All packets are appended to out_plain; one uv_write is in flight at a time (out_wire is its
 * buffer); whatever is appended meanwhile goes out with the next write, which batches PUBACKs
 * under load. With TLS, out_plain is encrypted into out_wire (mqtt_tls.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_obs.h"
#include "ct/err.h"
#include "mqtt_codec.h"
#include "mqtt_int.h"

void mqtt_oq_remove(struct col_mqtt *c, struct out_msg *prev, struct out_msg *m)
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

uint16_t mqtt_alloc_pid(struct col_mqtt *c)
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
void mqtt_send_queued(struct col_mqtt *c)
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
            mqtt_oq_remove(c, prev, m);
            m = next;
            continue;
        }
        if (m->qos == 1) {
            if (m->pid == 0) {
                m->pid = mqtt_alloc_pid(c);
                m->pkt[m->pid_off] = (uint8_t)(m->pid >> 8);
                m->pkt[m->pid_off + 1] = (uint8_t)(m->pid & 0xFFu);
            }
            if (m->ever_sent) {
                m->pkt[0] |= 0x08u; /* DUP */
            }
        }
        if (ct_buf_add(&c->out_plain, m->pkt, m->len) != 0) {
            mqtt_drop(c, "out of memory for the send buffer");
            return;
        }
        if (m->qos == 0) {
            c->stats.published++;
            mqtt_oq_remove(c, prev, m);
        } else {
            m->sent = true;
            m->ever_sent = true;
            c->out_inflight++;
            prev = m;
        }
        m = next;
    }
    mqtt_kick(c);
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
            mqtt_close_transport(c);
        } else {
            mqtt_drop(c, why);
        }
        return;
    }
    if (c->st == ST_CLOSING && c->out_plain.len == 0) {
        mqtt_close_transport(c);
        return;
    }
    mqtt_kick(c);
}

/* Starts a write of whatever is pending, unless one is in flight. */
void mqtt_kick(struct col_mqtt *c)
{
    if (c->writing || !c->tcp_open || c->tcp_closing) {
        return;
    }
    if (c->tls != NULL) {
        if (col_mqtt_tls_ready(c->tls) && c->out_plain.len > 0) {
            if (col_mqtt_tls_write(c->tls, c->out_plain.p, c->out_plain.len) != 0) {
                mqtt_drop(c, "TLS write failed");
                return;
            }
            ct_buf_reset(&c->out_plain);
        }
        if (col_mqtt_tls_drain(c->tls, &c->out_wire) != 0) {
            mqtt_drop(c, "out of memory for the TLS send buffer");
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
        mqtt_drop_uv(c, "write failed", rc);
        return;
    }
    c->writing = true;
    c->last_tx = mqtt_now_ms(c);
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
    mqtt_send_queued(c);
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
            mqtt_drop(c, "out of memory for the send buffer");
            return;
        }
        c->stats.acked++;
        c->head_seq++;
    }
    mqtt_kick(c);
}

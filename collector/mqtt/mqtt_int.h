/* mqtt_int.h - internals of col_mqtt shared by its source files (not part of the API).
 *
 * Holds the client struct, its connection states, the outgoing queue entry and the inbound ack
 * slot, and the functions one file of the client calls in another:
 *   mqtt.c       the connection and its state machine (resolve, connect, CONNECT, timers, close);
 *   mqtt_send.c  the send path (outgoing queue, packet ids, one uv_write at a time, publish, ack);
 *   mqtt_recv.c  the receive path (read buffer, packet handlers, pause and resume);
 *   mqtt_tls.c   TLS over memory BIOs (mqtt_tls.h); mqtt_codec.c the packet codec (mqtt_codec.h).
 * Everything here runs on the loop thread. */
#ifndef MQTT_INT_H
#define MQTT_INT_H
#include <stdbool.h>
#include <stdint.h>

#include "col_mqtt.h"
#include "ct/buf.h"
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

static inline uint64_t mqtt_now_ms(struct col_mqtt *c)
{
    return uv_now(c->loop);
}

static inline void mqtt_emit(struct col_mqtt *c, enum col_mqtt_event ev, const char *why)
{
    if (c->on_event != NULL) {
        c->on_event(c->arg, ev, why);
    }
}

static inline bool mqtt_live(const struct col_mqtt *c)
{
    return c->st == ST_CONNACK || c->st == ST_CONNECTED;
}

/* mqtt.c */

/* Ends the current connection or attempt: forgets its tokens, closes the transport, tells the
 * application (DOWN) and schedules the next attempt. */
void mqtt_drop(struct col_mqtt *c, const char *why);
/* mqtt_drop with the reason "<what>: <libuv's message for uverr>". */
void mqtt_drop_uv(struct col_mqtt *c, const char *what, int uverr);
/* Closes the TCP handle (once) and frees the TLS connection. */
void mqtt_close_transport(struct col_mqtt *c);
/* The byte stream is up (TCP, then TLS when ssl://): sends CONNECT and waits for CONNACK. */
void mqtt_transport_up(struct col_mqtt *c);

/* mqtt_send.c */

/* Unlinks 'm' (whose predecessor is 'prev', NULL at the head) from the outgoing queue; frees
 * it. */
void mqtt_oq_remove(struct col_mqtt *c, struct out_msg *prev, struct out_msg *m);
/* The next packet id not used by a queued publish or the pending SUBSCRIBE. */
uint16_t mqtt_alloc_pid(struct col_mqtt *c);
/* Writes every queued publish that may go now (QoS 1 bounded by the server's Receive Maximum).
 */
void mqtt_send_queued(struct col_mqtt *c);
/* Starts a write of whatever is pending, unless one is in flight. */
void mqtt_kick(struct col_mqtt *c);

/* mqtt_recv.c */

/* Starts reading the TCP stream; drops the connection when libuv refuses. */
void mqtt_read_start(struct col_mqtt *c);

#endif

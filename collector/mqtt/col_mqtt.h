/* col_mqtt.h - the collector's MQTT v5 client on the libuv loop (library col_mqtt).
 *
 * Why it exists: Paho MQTT C 1.3 sends the PUBACK of a QoS 1 message as soon as the message
 * callback returns, so a message could not be made durable before it was acknowledged. This
 * client acknowledges a QoS 1 message only when the application calls col_mqtt_ack() (after the
 * journal's group commit; test_mqtt_broker's withheld_acks_redelivered: no PUBACK leaves without
 * col_mqtt_ack). See docs/mqtt-client.md.
 *
 * Threading: everything runs on the loop passed to col_mqtt_create(); every function must be
 * called on that loop's thread, and both callbacks are called there. No threads, no blocking
 * calls (DNS through uv_getaddrinfo, TLS through OpenSSL memory BIOs over the TCP stream).
 * Callbacks may call any function here, col_mqtt_close() included (never col_mqtt_free()).
 *
 * Ownership: col_mqtt_create() copies the configuration and the subscriptions; the caller keeps
 * its own. The message given to col_mqtt_msg_fn is borrowed for the callback only (it points into
 * the client's read buffer); copy what must outlive it. The client is freed with col_mqtt_free()
 * after col_mqtt_close()'s done callback (or without close when never started).
 *
 * Delivery: QoS 1 messages carry a token; the PUBACK goes out only through col_mqtt_ack(), in
 * the order the PUBLISHes came (MQTT 4.6). A connection loss forgets the tokens of that
 * connection: the broker keeps those messages in the session (clean start 0) and redelivers them
 * with DUP set (test_mqtt_broker: withheld_acks_redelivered, half_acked_other_half_redelivered).
 *
 * Events: COL_MQTT_UP after the CONNACK and a SUBACK that granted every filter as asked (or right
 * after the CONNACK when there are no subscriptions). COL_MQTT_DOWN on each loss and on each
 * failed connection attempt ('why' names the reason, e.g. "not authorized (0x87)").
 * COL_MQTT_SUB_REFUSED once per refused or downgraded filter; the client stays connected but no
 * UP follows on that connection. */
#ifndef COL_MQTT_H
#define COL_MQTT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct col_mqtt_cfg {
    const char *uri;       /* "tcp://host:port", "mqtt://", "ssl://", "mqtts://" (TLS); copied */
    const char *client_id; /* copied; required */
    const char *username, *password; /* NULL/"" none; copied; the client logs neither */
    const char *ca_file, *cert_file,
        *key_file;             /* TLS; NULL/"" none (ca NULL: system CAs); copied */
    unsigned keepalive_s;      /* default 30 */
    uint32_t session_expiry_s; /* CONNECT property; the CONNECT has clean start 0 */
    uint16_t receive_max; /* CONNECT Receive Maximum: QoS1 messages in flight to us; default 1000 */
    uint32_t max_packet;  /* CONNECT property Maximum Packet Size; default 65536+1024 */
    unsigned reconnect_min_ms, reconnect_max_ms; /* backoff with jitter; defaults 500 / 30000 */
    unsigned connect_timeout_ms;                 /* TCP+TLS+CONNACK; default 10000 */
    size_t out_queue_max; /* bound of queued outgoing publishes (bytes); default 4 MiB; policy when
                             full: refuse (CT_E_FULL), counted */
};

struct col_mqtt_sub {
    const char *filter;
    uint8_t qos;
    uint8_t retain_handling; /* 0,1,2 (MQTT v5 subscription option) */
};

struct col_mqtt_msg { /* borrowed for the callback only */
    const char *topic;
    size_t topic_len;
    const void *payload;
    size_t payload_len;
    const char *sig; /* the user property named "sig" (first one); NULL/0 when absent */
    size_t sig_len;
    uint8_t qos;
    bool retain;
    bool dup;
    uint64_t token; /* for col_mqtt_ack; 0 for QoS 0 */
};

enum col_mqtt_event {
    COL_MQTT_UP /* connected AND every SUBACK granted as asked */,
    COL_MQTT_DOWN,
    COL_MQTT_SUB_REFUSED /* a SUBACK reason code refused or downgraded a filter: 'why' names
                            filter and code; the client stays connected */
};

typedef void (*col_mqtt_msg_fn)(void *arg, const struct col_mqtt_msg *m); /* loop thread */
typedef void (*col_mqtt_event_fn)(void *arg, enum col_mqtt_event ev,
                                  const char *why); /* loop thread */

struct col_mqtt_stats {
    uint64_t received;         /* PUBLISH packets delivered to on_msg */
    uint64_t acked;            /* PUBACKs sent */
    uint64_t connects;         /* CONNACKs with reason 0 */
    uint64_t lost;             /* established connections lost */
    uint64_t published;        /* outgoing publishes written (QoS 0) or acknowledged (QoS 1) */
    uint64_t publish_refused;  /* col_mqtt_publish refusals (queue full, too big) */
    uint64_t protocol_errors;  /* malformed or forbidden packets from the broker */
    uint64_t over_receive_max; /* QoS 1 PUBLISHes beyond our Receive Maximum (kept, not refused) */
    uint64_t stale_acks;       /* col_mqtt_ack tokens of an earlier connection or unknown */
    uint32_t inflight;         /* received QoS1 not yet acked on this connection */
    bool up;                   /* the last event was COL_MQTT_UP */
    bool paused;
    uint16_t server_receive_max;
};

struct col_mqtt; /* opaque */

/* Returns 0, CT_E_INVAL (no client id, bad uri, unreadable TLS files, bad subscription) or
 * CT_E_NOMEM; copies everything. Nothing happens on the loop until col_mqtt_start(). */
int col_mqtt_create(uv_loop_t *loop, const struct col_mqtt_cfg *cfg,
                    const struct col_mqtt_sub *subs, size_t nsubs, col_mqtt_msg_fn on_msg,
                    col_mqtt_event_fn on_event, void *arg, struct col_mqtt **out);
/* Starts connecting; reconnects forever with backoff. Returns 0, CT_E_STATE (started or closed)
 * or a CT_E_* from libuv setup. */
int col_mqtt_start(struct col_mqtt *c);
/* Sends the PUBACK for 'token' if it belongs to the current connection; a token from an earlier
 * connection is ignored (counted stale_acks): the broker redelivers that message on the new
 * session. PUBACKs must go out in the order the PUBLISHes came (MQTT 4.6): acks given out of order
 * are held until the earlier ones are acked. */
void col_mqtt_ack(struct col_mqtt *c, uint64_t token);
/* Stops reading the socket (uv_read_stop): TCP back-pressure, the broker keeps the messages;
 * keep-alive PINGs are still sent and the keep-alive timeout is suspended; idempotent. Packets
 * already read are held, not delivered, until col_mqtt_resume() (test_mqtt_broker: pause). */
void col_mqtt_pause(struct col_mqtt *c);
void col_mqtt_resume(struct col_mqtt *c);
/* QoS 0 or 1 outgoing (alerts); queued while down up to out_queue_max (CT_E_FULL beyond, counted
 * publish_refused); QoS 1 resent on reconnect until PUBACK. Returns 0, CT_E_INVAL, CT_E_FULL,
 * CT_E_NOMEM or CT_E_STATE (closing). */
int col_mqtt_publish(struct col_mqtt *c, const char *topic, const void *payload, size_t len,
                     uint8_t qos, bool retain);
/* Drops the connection and connects again after the minimum backoff (watchdog). */
void col_mqtt_reconnect(struct col_mqtt *c, const char *why);
void col_mqtt_stats(const struct col_mqtt *c, struct col_mqtt_stats *out);
/* Sends DISCONNECT (reason 0, session kept), closes every handle, then calls done(arg) from the
 * loop; free with col_mqtt_free after done. Unacked messages are simply not acked (the broker
 * keeps them). */
void col_mqtt_close(struct col_mqtt *c, void (*done)(void *arg), void *arg);
/* Frees a client that was closed (after done) or never started. NULL is a no-op. */
void col_mqtt_free(struct col_mqtt *c);

#endif

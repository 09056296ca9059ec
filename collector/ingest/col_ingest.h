/* col_ingest.h - the collector's MQTT v5 subscriber over Paho MQTTAsync.
 *
 * Threading: Paho runs its own threads. The message callback (col_ingest_msg_cb) runs on Paho's
 * thread; it must make the message durable and hand it to the loop (spool + col_mq) and must not
 * touch libuv other than uv_async_send. Paho acknowledges a QoS 1 message to the broker when the
 * callback returns 0 ("taken"); a non-zero return makes Paho keep the message and call again.
 *
 * Session: a fixed client id, clean start off and a session expiry, so that messages published
 * while the collector is down wait in the broker. Paho reconnects automatically; on every
 * (re)connection the subscriptions are made again. With share_group set, the subscription is
 * $share/<group>/city/v1/+/+/up (MQTT v5 shared subscription: several collectors share the load).
 */
#ifndef COL_INGEST_H
#define COL_INGEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct col_ingest_cfg {
    const char *uri;         /* "tcp://127.0.0.1:1883" or "ssl://..."; copied */
    const char *client_id;   /* copied */
    const char *username;    /* NULL or "" for none; copied */
    const char *password;    /* copied */
    const char *share_group; /* NULL or "" for a plain subscription; copied */
    const char *ca_file;     /* TLS; NULL for none; copied */
    const char *cert_file;
    const char *key_file;
    int qos; /* 0 or 1 */
    int keepalive_s;
    uint32_t session_expiry_s;
    uint16_t receive_max; /* in-flight QoS 1 messages the broker may send unacknowledged */
};

/* Paho's thread. 'topic', 'sig' and 'payload' are borrowed for the call. 'sig' is NULL when the
 * message has no `sig` user property. Return 0 when the message is durable and queued. */
typedef int (*col_ingest_msg_cb)(void *arg, const char *topic, size_t topic_len, const char *sig,
                                 size_t sig_len, const void *payload, size_t payload_len);
/* Paho's thread. Ingest state changes: 'connected' is true once the subscription is granted
 * (not at the bare connection), false when the connection is lost. */
typedef void (*col_ingest_state_cb)(void *arg, bool connected, const char *why);

struct col_ingest;

struct col_ingest_stats {
    uint64_t messages;    /* delivered to the callback and taken */
    uint64_t redelivered; /* callback returned non-zero */
    uint64_t connects;    /* successful connections, the first included */
    uint64_t lost;        /* connections lost */
    bool connected;       /* connected and subscribed */
};

/* Creates the client (does not connect). Returns 0, CT_E_INVAL or CT_E_NOMEM. */
int col_ingest_create(const struct col_ingest_cfg *cfg, col_ingest_msg_cb msg_cb,
                      col_ingest_state_cb state_cb, void *arg, struct col_ingest **out);
/* Starts connecting; automatic reconnect afterwards. Returns 0 or CT_E_NET. */
int col_ingest_start(struct col_ingest *in);
/* Drops the connection and connects again (watchdog for a silent subscription). */
int col_ingest_reconnect(struct col_ingest *in);
/* Publishes (QoS 1, not retained) on Paho's queue; thread-safe. Returns 0 or CT_E_NET. */
int col_ingest_publish(struct col_ingest *in, const char *topic, const void *payload, size_t len);
void col_ingest_stats(struct col_ingest *in, struct col_ingest_stats *out);
/* Disconnects (waits up to 'timeout_ms') and frees. Safe on NULL. Never call from the callback. */
void col_ingest_destroy(struct col_ingest *in, unsigned timeout_ms);

#endif

/* fw_tx.h - the node's MQTT v5 transport over Paho MQTTAsync.
 *
 * One struct fw_tx is one MQTT connection (client id, optional will, optional TLS). Publishes are
 * QoS 1 with the `sig` user property given by the caller. The connection is (re)established by
 * fw_tx_poll() with exponential backoff (clean start each time), so a broker restart is survived.
 *
 * Threading: Paho runs its callbacks on its own threads; they only record events in a bounded,
 * locked queue and call fw_hal_wake(). Everything else (publish, poll, disconnect, destroy) is
 * called from one firmware thread per fw_tx. Several owners (fleet-sim's shared mode) may
 * publish through one fw_tx: each publish names an owner and a tag that come back in its event.
 *
 * Events, delivered by fw_tx_poll() in this order on each call: DELIVERED for each PUBACK
 * (owner, tag of the publish); LOST when the connection dropped (every publish in flight is
 * forgotten: the owner must resend what it did not see DELIVERED); CONNECTED when a connection is
 * up (also after a reconnect). Errors: 0 or a negative CT_E_* code; Paho codes are logged. */
#ifndef FW_TX_H
#define FW_TX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_TX_MAX_INFLIGHT 1024 /* hard limit of cfg.max_inflight */

struct fw_tx_cfg {
    const char *broker;        /* "tcp://host:port" or "ssl://host:port"; copied */
    const char *client_id;     /* copied */
    const char *will_topic;    /* NULL: no will; copied */
    const char *will_payload;  /* retained QoS 1 will; copied */
    const char *will_sig;      /* `sig` user property of the will, or NULL; copied */
    int max_inflight;          /* unacked publishes at once, 1..FW_TX_MAX_INFLIGHT */
    uint32_t reconnect_min_ms; /* first retry delay (0: 500 ms) */
    uint32_t reconnect_max_ms; /* retry delay cap (0: 10000 ms) */
    int keepalive_s;           /* 0: 30 s */
    const char *ca_file;       /* TLS trust store (PEM) or NULL; copied */
    const char *cert_file;     /* TLS client certificate (PEM) or NULL; copied */
    const char *key_file;      /* TLS client key (PEM) or NULL; copied */
};

enum fw_tx_ev_type { FW_TX_EV_CONNECTED = 0, FW_TX_EV_LOST, FW_TX_EV_DELIVERED };

struct fw_tx_event {
    enum fw_tx_ev_type type;
    void *owner;  /* DELIVERED: the publish's owner; otherwise NULL */
    uint64_t tag; /* DELIVERED: the publish's tag */
};

typedef void (*fw_tx_event_fn)(void *arg, const struct fw_tx_event *ev);

struct fw_tx_stats {
    uint64_t published; /* publishes handed to Paho */
    uint64_t delivered; /* PUBACKs */
    uint64_t connects;  /* successful connections */
    uint64_t losses;    /* connections lost */
    uint64_t overflows; /* event queue overflows (handled as a loss: owners resend) */
};

struct fw_tx; /* opaque */

/* Creates the client (no network yet). Returns 0 and *out, CT_E_INVAL or CT_E_NOMEM/CT_E_NET. */
int fw_tx_create(const struct fw_tx_cfg *cfg, struct fw_tx **out);
/* Delivers pending events to fn(arg, ev), starts a connection attempt when one is due, and
 * returns the monotonic time (ms) of the next due attempt, or INT64_MAX. */
int64_t fw_tx_poll(struct fw_tx *tx, int64_t now_ms, fw_tx_event_fn fn, void *arg);
/* True while connected (as of the last fw_tx_poll). */
bool fw_tx_connected(const struct fw_tx *tx);
/* Publishes at QoS 1 (payload copied by Paho). 'sig' (64 hex chars) becomes the `sig` user
 * property. Returns 0, CT_E_STATE (not connected), CT_E_FULL (in-flight window full),
 * CT_E_INVAL or CT_E_NET. On error no event will be reported for this publish. */
int fw_tx_publish(struct fw_tx *tx, const char *topic, const void *payload, size_t len,
                  bool retained, const char *sig, void *owner, uint64_t tag);
/* Replaces the will (copied) for the next connection attempts: the node signs a new will for
 * each connection (its status seq; protocol.md "Status messages"). Firmware thread only; only
 * for a fw_tx created with a will. Returns 0, CT_E_INVAL or CT_E_NOMEM (the old will stays). */
int fw_tx_set_will(struct fw_tx *tx, const char *topic, const char *payload, const char *sig);
/* Publishes in flight (handed to Paho, not yet DELIVERED). */
int fw_tx_inflight(const struct fw_tx *tx);
/* Disconnects cleanly (no will), waiting at most timeout_ms. Returns 0 or CT_E_TIMEOUT. */
int fw_tx_disconnect(struct fw_tx *tx, uint32_t timeout_ms);
void fw_tx_get_stats(const struct fw_tx *tx, struct fw_tx_stats *st);
/* Destroys the client (disconnects abruptly if still connected). Accepts NULL. */
void fw_tx_destroy(struct fw_tx *tx);

#endif

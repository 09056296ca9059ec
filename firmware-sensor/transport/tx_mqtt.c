/* tx_mqtt.c - fw_tx over Paho MQTTAsync (MQTT v5, QoS 1, `sig` user property, will, TLS). */
#include "fw_tx.h"

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/sig.h"
#include "fw_hal.h"
#include "ct_paho.h"

#define EVQ_EXTRA 64

struct slot {
    bool used;
    MQTTAsync_token token;
    void *owner;
    uint64_t tag;
};

struct fw_tx {
    MQTTAsync client;
    char *broker;
    char *client_id;
    char *will_topic;
    char *will_payload;
    char *will_sig;
    char *ca_file;
    char *cert_file;
    char *key_file;
    int max_inflight;
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    int keepalive_s;

    /* Firmware thread only. */
    struct slot *slots; /* max_inflight entries */
    int inflight;
    bool connected;      /* as seen by the firmware thread */
    bool connecting;     /* an attempt is in progress */
    int64_t next_try_ms; /* when to attempt a connection; INT64_MAX when none due */
    uint32_t backoff_ms;
    struct fw_tx_stats st;

    /* Shared with Paho threads, under mu. */
    pthread_mutex_t mu;
    MQTTAsync_token *evq; /* delivered tokens */
    size_t evq_cap;
    size_t evq_len;
    bool ev_overflow;
    bool ev_lost;
    bool ev_connected;
    bool ev_failed;
    bool ev_disconnected;
};

static char *dup_or_null(const char *s, bool *fail)
{
    if (s == NULL) {
        return NULL;
    }
    char *d = strdup(s);
    if (d == NULL) {
        *fail = true;
    }
    return d;
}

static void on_lost(void *ctx, char *cause)
{
    struct fw_tx *tx = ctx;
    pthread_mutex_lock(&tx->mu);
    if (tx->ev_connected) {
        /* Connected and lost again before the firmware saw it: a failed attempt. */
        tx->ev_connected = false;
        tx->ev_failed = true;
    } else {
        tx->ev_lost = true;
    }
    pthread_mutex_unlock(&tx->mu);
    fw_hal_wake();
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    /* The node subscribes to nothing; free anything the broker sends. */
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_delivered(void *ctx, MQTTAsync_token token)
{
    struct fw_tx *tx = ctx;
    pthread_mutex_lock(&tx->mu);
    if (tx->evq_len < tx->evq_cap) {
        tx->evq[tx->evq_len++] = token;
    } else {
        tx->ev_overflow = true;
    }
    pthread_mutex_unlock(&tx->mu);
    fw_hal_wake();
}

static void on_connect_ok(void *ctx, MQTTAsync_successData5 *resp)
{
    struct fw_tx *tx = ctx;
    pthread_mutex_lock(&tx->mu);
    tx->ev_connected = true;
    pthread_mutex_unlock(&tx->mu);
    fw_hal_wake();
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData5 *resp)
{
    struct fw_tx *tx = ctx;
    pthread_mutex_lock(&tx->mu);
    tx->ev_failed = true;
    pthread_mutex_unlock(&tx->mu);
    fw_hal_wake();
}

static void on_disconnect_ok(void *ctx, MQTTAsync_successData5 *resp)
{
    struct fw_tx *tx = ctx;
    pthread_mutex_lock(&tx->mu);
    tx->ev_disconnected = true;
    pthread_mutex_unlock(&tx->mu);
    fw_hal_wake();
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData5 *resp)
{
    on_disconnect_ok(ctx, NULL);
}

void fw_tx_destroy(struct fw_tx *tx)
{
    if (tx == NULL) {
        return;
    }
    if (tx->client != NULL) {
        MQTTAsync_destroy(&tx->client);
    }
    pthread_mutex_destroy(&tx->mu);
    free(tx->evq);
    free(tx->slots);
    free(tx->broker);
    free(tx->client_id);
    free(tx->will_topic);
    free(tx->will_payload);
    free(tx->will_sig);
    free(tx->ca_file);
    free(tx->cert_file);
    free(tx->key_file);
    free(tx);
}

int fw_tx_create(const struct fw_tx_cfg *cfg, struct fw_tx **out)
{
    if (cfg == NULL || cfg->broker == NULL || cfg->client_id == NULL || cfg->client_id[0] == '\0' ||
        cfg->max_inflight < 1 || cfg->max_inflight > FW_TX_MAX_INFLIGHT ||
        (cfg->will_topic != NULL && cfg->will_payload == NULL)) {
        return CT_E_INVAL;
    }
    struct fw_tx *tx = calloc(1, sizeof(*tx));
    if (tx == NULL) {
        return CT_E_NOMEM;
    }
    pthread_mutex_init(&tx->mu, NULL);
    bool fail = false;
    tx->broker = dup_or_null(cfg->broker, &fail);
    tx->client_id = dup_or_null(cfg->client_id, &fail);
    tx->will_topic = dup_or_null(cfg->will_topic, &fail);
    tx->will_payload = dup_or_null(cfg->will_payload, &fail);
    tx->will_sig = dup_or_null(cfg->will_sig, &fail);
    tx->ca_file = dup_or_null(cfg->ca_file, &fail);
    tx->cert_file = dup_or_null(cfg->cert_file, &fail);
    tx->key_file = dup_or_null(cfg->key_file, &fail);
    tx->max_inflight = cfg->max_inflight;
    tx->backoff_min_ms = cfg->reconnect_min_ms ? cfg->reconnect_min_ms : 500;
    tx->backoff_max_ms = cfg->reconnect_max_ms ? cfg->reconnect_max_ms : 10000;
    tx->keepalive_s = cfg->keepalive_s ? cfg->keepalive_s : 30;
    tx->backoff_ms = tx->backoff_min_ms;
    tx->next_try_ms = 0;
    tx->evq_cap = (size_t)cfg->max_inflight * 4 + EVQ_EXTRA;
    tx->evq = calloc(tx->evq_cap, sizeof(*tx->evq));
    tx->slots = calloc((size_t)cfg->max_inflight, sizeof(*tx->slots));
    if (fail || tx->evq == NULL || tx->slots == NULL) {
        fw_tx_destroy(tx);
        return CT_E_NOMEM;
    }
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    co.sendWhileDisconnected = 0;
    co.maxBufferedMessages = cfg->max_inflight * 2 + 16; /* queued commands, not offline data */
    int rc = MQTTAsync_createWithOptions(&tx->client, tx->broker, tx->client_id,
                                         MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "fw_tx: MQTTAsync_create(%s): %s\n", tx->broker, MQTTAsync_strerror(rc));
        tx->client = NULL;
        fw_tx_destroy(tx);
        return CT_E_INVAL;
    }
    rc = MQTTAsync_setCallbacks(tx->client, tx, on_lost, on_message, on_delivered);
    if (rc != MQTTASYNC_SUCCESS) {
        fw_tx_destroy(tx);
        return CT_E_NET;
    }
    *out = tx;
    return 0;
}

int fw_tx_set_will(struct fw_tx *tx, const char *topic, const char *payload, const char *sig)
{
    if (tx->will_topic == NULL || topic == NULL || payload == NULL) {
        return CT_E_INVAL;
    }
    bool fail = false;
    char *t = dup_or_null(topic, &fail);
    char *p = dup_or_null(payload, &fail);
    char *g = dup_or_null(sig, &fail);
    if (fail) {
        free(t);
        free(p);
        free(g);
        return CT_E_NOMEM;
    }
    free(tx->will_topic);
    free(tx->will_payload);
    free(tx->will_sig);
    tx->will_topic = t;
    tx->will_payload = p;
    tx->will_sig = g;
    return 0;
}

static void start_connect(struct fw_tx *tx)
{
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    MQTTProperties wprops = MQTTProperties_initializer;
    opts.keepAliveInterval = tx->keepalive_s;
    opts.cleanstart = 1;
    opts.maxInflight = tx->max_inflight;
    opts.automaticReconnect = 0;
    opts.connectTimeout = 10;
    opts.onSuccess5 = on_connect_ok;
    opts.onFailure5 = on_connect_fail;
    opts.context = tx;
    if (tx->will_topic != NULL) {
        will.topicName = tx->will_topic;
        will.message = NULL;
        will.payload.data = tx->will_payload;
        will.payload.len = (int)strlen(tx->will_payload);
        will.retained = 1;
        will.qos = 1;
        opts.will = &will;
        if (tx->will_sig != NULL && ct_paho_sig_props(&wprops, tx->will_sig) == 0) {
            opts.willProperties = &wprops; /* MQTTAsync_connect copies them */
        }
    }
    if (tx->ca_file != NULL || strncmp(tx->broker, "ssl://", 6) == 0) {
        ssl.trustStore = tx->ca_file;
        ssl.keyStore = tx->cert_file;
        ssl.privateKey = tx->key_file;
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1;
        opts.ssl = &ssl;
    }
    tx->connecting = true;
    int rc = MQTTAsync_connect(tx->client, &opts);
    MQTTProperties_free(&wprops);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "fw_tx %s: connect: %s\n", tx->client_id, MQTTAsync_strerror(rc));
        tx->connecting = false;
    }
}

static void schedule_retry(struct fw_tx *tx, int64_t now_ms)
{
    tx->next_try_ms = now_ms + tx->backoff_ms;
    tx->backoff_ms =
        tx->backoff_ms * 2 > tx->backoff_max_ms ? tx->backoff_max_ms : tx->backoff_ms * 2;
}

static void forget_inflight(struct fw_tx *tx)
{
    memset(tx->slots, 0, (size_t)tx->max_inflight * sizeof(*tx->slots));
    tx->inflight = 0;
}

int64_t fw_tx_poll(struct fw_tx *tx, int64_t now_ms, fw_tx_event_fn fn, void *arg)
{
    MQTTAsync_token toks[FW_TX_MAX_INFLIGHT * 4 + EVQ_EXTRA];
    pthread_mutex_lock(&tx->mu);
    size_t ntok = tx->evq_len;
    memcpy(toks, tx->evq, ntok * sizeof(*toks));
    tx->evq_len = 0;
    bool overflow = tx->ev_overflow;
    bool lost = tx->ev_lost;
    bool connected = tx->ev_connected;
    bool failed = tx->ev_failed;
    tx->ev_overflow = tx->ev_lost = tx->ev_connected = tx->ev_failed = false;
    pthread_mutex_unlock(&tx->mu);

    for (size_t i = 0; i < ntok; i++) {
        for (int k = 0; k < tx->max_inflight; k++) {
            struct slot *s = &tx->slots[k];
            if (s->used && s->token == toks[i]) {
                struct fw_tx_event ev = {FW_TX_EV_DELIVERED, s->owner, s->tag};
                s->used = false;
                tx->inflight--;
                tx->st.delivered++;
                fn(arg, &ev);
                break;
            }
        }
    }
    if (overflow) {
        /* Deliveries were lost: make the owners resend what they did not see acked. */
        tx->st.overflows++;
        forget_inflight(tx);
        struct fw_tx_event ev = {FW_TX_EV_LOST, NULL, 0};
        fn(arg, &ev);
        if (tx->connected && !lost) {
            ev.type = FW_TX_EV_CONNECTED;
            fn(arg, &ev);
        }
    }
    if (lost && tx->connected) {
        tx->connected = false;
        tx->st.losses++;
        forget_inflight(tx);
        fprintf(stderr, "fw_tx %s: connection lost\n", tx->client_id);
        struct fw_tx_event ev = {FW_TX_EV_LOST, NULL, 0};
        fn(arg, &ev);
        tx->next_try_ms = now_ms + tx->backoff_ms;
    }
    if (failed) {
        tx->connecting = false;
        schedule_retry(tx, now_ms);
    }
    if (connected) {
        tx->connecting = false;
        tx->connected = true;
        tx->st.connects++;
        tx->backoff_ms = tx->backoff_min_ms;
        tx->next_try_ms = INT64_MAX;
        forget_inflight(tx);
        struct fw_tx_event ev = {FW_TX_EV_CONNECTED, NULL, 0};
        fn(arg, &ev);
    }
    if (!tx->connected && !tx->connecting && now_ms >= tx->next_try_ms) {
        start_connect(tx);
        if (!tx->connecting) {
            schedule_retry(tx, now_ms);
        } else {
            tx->next_try_ms = INT64_MAX;
        }
    }
    return tx->connected || tx->connecting ? INT64_MAX : tx->next_try_ms;
}

bool fw_tx_connected(const struct fw_tx *tx)
{
    return tx->connected;
}

int fw_tx_inflight(const struct fw_tx *tx)
{
    return tx->inflight;
}

int fw_tx_publish(struct fw_tx *tx, const char *topic, const void *payload, size_t len,
                  bool retained, const char *sig, void *owner, uint64_t tag)
{
    if (topic == NULL || payload == NULL || len > 256 * 1024 ||
        (sig != NULL && strlen(sig) != CT_SIG_HEX_LEN)) {
        return CT_E_INVAL;
    }
    if (!tx->connected) {
        return CT_E_STATE;
    }
    if (tx->inflight >= tx->max_inflight) {
        return CT_E_FULL;
    }
    struct slot *s = NULL;
    for (int k = 0; k < tx->max_inflight; k++) {
        if (!tx->slots[k].used) {
            s = &tx->slots[k];
            break;
        }
    }
    if (s == NULL) {
        return CT_E_FULL;
    }
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = (void *)payload;
    msg.payloadlen = (int)len;
    msg.qos = 1;
    msg.retained = retained ? 1 : 0;
    if (sig != NULL && ct_paho_sig_props(&msg.properties, sig) != 0) {
        return CT_E_NOMEM;
    }
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc = MQTTAsync_sendMessage(tx->client, topic, &msg, &ro);
    MQTTProperties_free(&msg.properties); /* MQTTAsync_sendMessage copied them */
    if (rc == MQTTASYNC_MAX_BUFFERED_MESSAGES) {
        return CT_E_FULL; /* Paho's command queue is full: retried after deliveries */
    }
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "fw_tx %s: publish: %s\n", tx->client_id, MQTTAsync_strerror(rc));
        return CT_E_NET;
    }
    s->used = true;
    s->token = ro.token;
    s->owner = owner;
    s->tag = tag;
    tx->inflight++;
    tx->st.published++;
    return 0;
}

int fw_tx_disconnect(struct fw_tx *tx, uint32_t timeout_ms)
{
    if (!tx->connected) {
        return 0;
    }
    pthread_mutex_lock(&tx->mu);
    tx->ev_disconnected = false;
    pthread_mutex_unlock(&tx->mu);
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    d.timeout = (int)timeout_ms;
    d.onSuccess5 = on_disconnect_ok;
    d.onFailure5 = on_disconnect_fail;
    d.context = tx;
    int rc = MQTTAsync_disconnect(tx->client, &d);
    tx->connected = false;
    if (rc != MQTTASYNC_SUCCESS) {
        return CT_E_NET;
    }
    int64_t deadline = fw_hal_mono_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&tx->mu);
        bool done = tx->ev_disconnected;
        pthread_mutex_unlock(&tx->mu);
        if (done || !MQTTAsync_isConnected(tx->client)) {
            return 0;
        }
        int64_t left = deadline - fw_hal_mono_ms();
        if (left <= 0) {
            return CT_E_TIMEOUT;
        }
        fw_hal_idle((uint32_t)(left < 10 ? left : 10));
    }
}

void fw_tx_get_stats(const struct fw_tx *tx, struct fw_tx_stats *st)
{
    *st = tx->st;
}

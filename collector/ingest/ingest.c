/* ingest.c - MQTT v5 subscriber on Paho MQTTAsync: connect, subscribe, hand messages over. */
#include "col_ingest.h"

#include <MQTTAsync.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col_obs.h"
#include "ct/err.h"

#define UP_FILTER "city/v1/+/+/up"
#define STATUS_FILTER "city/v1/+/+/status"

struct col_ingest {
    MQTTAsync client;
    struct col_ingest_cfg cfg; /* strings below are owned copies */
    char *strings[8];
    char up_topic[160];
    char status_topic[160];
    col_ingest_msg_cb msg_cb;
    col_ingest_state_cb state_cb;
    void *arg;
    atomic_uint_fast64_t messages;
    atomic_uint_fast64_t redelivered;
    atomic_uint_fast64_t connects;
    atomic_uint_fast64_t lost;
    atomic_bool connected;
};

static char *dup_or_null(const char *s)
{
    size_t n;
    char *d;

    if (s == NULL || s[0] == '\0') {
        return NULL;
    }
    n = strlen(s) + 1;
    d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

static void notify(struct col_ingest *in, bool up, const char *why)
{
    atomic_store(&in->connected, up);
    if (in->state_cb != NULL) {
        in->state_cb(in->arg, up, why);
    }
}

static void on_subscribe_failure(void *context, MQTTAsync_failureData5 *resp)
{
    struct col_ingest *in = context;

    col_log(COL_LOG_ERROR, "ingest", "subscribe failed: reason %d (%s)",
            resp ? (int)resp->reasonCode : -1,
            resp ? MQTTReasonCode_toString(resp->reasonCode) : "unknown");
    (void)in;
}

/* The subscription is what makes the broker keep messages for us: only now is ingest "up". */
static void on_subscribe(void *context, MQTTAsync_successData5 *resp)
{
    struct col_ingest *in = context;

    if (resp != NULL && resp->reasonCode >= 0x80) {
        col_log(COL_LOG_ERROR, "ingest", "subscription refused: %s",
                MQTTReasonCode_toString(resp->reasonCode));
        return;
    }
    col_log(COL_LOG_INFO, "ingest", "subscribed to %s and %s", in->up_topic, in->status_topic);
    notify(in, true, "subscribed");
}

static int subscribe(struct col_ingest *in)
{
    MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
    char *topics[2] = {in->up_topic, in->status_topic};
    int qos[2] = {in->cfg.qos, in->cfg.qos};
    MQTTSubscribe_options sub[2] = {MQTTSubscribe_options_initializer,
                                    MQTTSubscribe_options_initializer};
    int rc;

    opts.onSuccess5 = on_subscribe;
    opts.onFailure5 = on_subscribe_failure;
    opts.context = in;
    opts.subscribeOptionsCount = 2;
    opts.subscribeOptionsList = sub;
    rc = MQTTAsync_subscribeMany(in->client, 2, topics, qos, &opts);
    if (rc != MQTTASYNC_SUCCESS) {
        col_log(COL_LOG_ERROR, "ingest", "MQTTAsync_subscribeMany: %s", MQTTAsync_strerror(rc));
        return CT_E_NET;
    }
    return 0;
}

/* Paho calls this after every successful connection, automatic reconnections included. */
static void on_connected(void *context, char *cause)
{
    struct col_ingest *in = context;

    atomic_fetch_add(&in->connects, 1);
    col_log(COL_LOG_INFO, "ingest", "connected to %s%s%s", in->cfg.uri, cause ? ": " : "",
            cause ? cause : "");
    subscribe(in);
}

static void on_connect_failure(void *context, MQTTAsync_failureData5 *resp)
{
    struct col_ingest *in = context;

    col_log(COL_LOG_WARN, "ingest", "connect to %s failed: %s (reason %d); retrying", in->cfg.uri,
            resp && resp->message ? resp->message : "no answer", resp ? (int)resp->reasonCode : -1);
    notify(in, false, "connect failed");
}

static void on_connection_lost(void *context, char *cause)
{
    struct col_ingest *in = context;

    atomic_fetch_add(&in->lost, 1);
    col_log(COL_LOG_WARN, "ingest", "connection lost: %s; reconnecting",
            cause ? cause : "no cause given");
    notify(in, false, "connection lost");
}

static const char *find_sig(MQTTAsync_message *m, size_t *len)
{
    int n = MQTTProperties_propertyCount(&m->properties, MQTTPROPERTY_CODE_USER_PROPERTY);

    for (int i = 0; i < n; i++) {
        MQTTProperty *p =
            MQTTProperties_getPropertyAt(&m->properties, MQTTPROPERTY_CODE_USER_PROPERTY, i);
        if (p != NULL && p->value.data.len == 3 && memcmp(p->value.data.data, "sig", 3) == 0) {
            *len = (size_t)p->value.value.len;
            return p->value.value.data;
        }
    }
    *len = 0;
    return NULL;
}

/* Paho's thread: the message is acknowledged to the broker when this returns 1. */
static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct col_ingest *in = context;
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    size_t sig_len;
    const char *sig = find_sig(m, &sig_len);
    int rc;

    rc = in->msg_cb(in->arg, topic, tlen, sig, sig_len, m->payload,
                    m->payloadlen > 0 ? (size_t)m->payloadlen : 0);
    if (rc != 0) {
        atomic_fetch_add(&in->redelivered, 1);
        return 0; /* Paho keeps the message and calls again */
    }
    atomic_fetch_add(&in->messages, 1);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

int col_ingest_create(const struct col_ingest_cfg *cfg, col_ingest_msg_cb msg_cb,
                      col_ingest_state_cb state_cb, void *arg, struct col_ingest **out)
{
    MQTTAsync_createOptions copts = MQTTAsync_createOptions_initializer5;
    struct col_ingest *in;
    int rc;

    if (cfg->uri == NULL || cfg->client_id == NULL || msg_cb == NULL || cfg->qos < 0 ||
        cfg->qos > 1) {
        return CT_E_INVAL;
    }
    in = calloc(1, sizeof(*in));
    if (in == NULL) {
        return CT_E_NOMEM;
    }
    in->cfg = *cfg;
    in->cfg.uri = in->strings[0] = dup_or_null(cfg->uri);
    in->cfg.client_id = in->strings[1] = dup_or_null(cfg->client_id);
    in->cfg.username = in->strings[2] = dup_or_null(cfg->username);
    in->cfg.password = in->strings[3] = dup_or_null(cfg->password);
    in->cfg.share_group = in->strings[4] = dup_or_null(cfg->share_group);
    in->cfg.ca_file = in->strings[5] = dup_or_null(cfg->ca_file);
    in->cfg.cert_file = in->strings[6] = dup_or_null(cfg->cert_file);
    in->cfg.key_file = in->strings[7] = dup_or_null(cfg->key_file);
    if (in->cfg.uri == NULL || in->cfg.client_id == NULL) {
        goto out_free;
    }
    if (in->cfg.share_group != NULL) {
        snprintf(in->up_topic, sizeof(in->up_topic), "$share/%s/%s", in->cfg.share_group,
                 UP_FILTER);
        snprintf(in->status_topic, sizeof(in->status_topic), "$share/%s/%s", in->cfg.share_group,
                 STATUS_FILTER);
    } else {
        snprintf(in->up_topic, sizeof(in->up_topic), "%s", UP_FILTER);
        snprintf(in->status_topic, sizeof(in->status_topic), "%s", STATUS_FILTER);
    }
    in->msg_cb = msg_cb;
    in->state_cb = state_cb;
    in->arg = arg;
    copts.MQTTVersion = MQTTVERSION_5;
    copts.sendWhileDisconnected = 1;
    copts.maxBufferedMessages = 10000;
    rc = MQTTAsync_createWithOptions(&in->client, in->cfg.uri, in->cfg.client_id,
                                     MQTTCLIENT_PERSISTENCE_NONE, NULL, &copts);
    if (rc != MQTTASYNC_SUCCESS) {
        col_log(COL_LOG_ERROR, "ingest", "MQTTAsync_create(%s): %s", in->cfg.uri,
                MQTTAsync_strerror(rc));
        goto out_free;
    }
    rc = MQTTAsync_setCallbacks(in->client, in, on_connection_lost, on_message, NULL);
    if (rc == MQTTASYNC_SUCCESS) {
        rc = MQTTAsync_setConnected(in->client, in, on_connected);
    }
    if (rc != MQTTASYNC_SUCCESS) {
        col_log(COL_LOG_ERROR, "ingest", "MQTTAsync_setCallbacks: %s", MQTTAsync_strerror(rc));
        MQTTAsync_destroy(&in->client);
        goto out_free;
    }
    *out = in;
    return 0;

out_free:
    for (size_t i = 0; i < 8; i++) {
        free(in->strings[i]);
    }
    free(in);
    return CT_E_INVAL;
}

int col_ingest_start(struct col_ingest *in)
{
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    MQTTProperties props = MQTTProperties_initializer;
    MQTTProperty p;
    int rc;

    p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    p.value.integer4 = in->cfg.session_expiry_s;
    MQTTProperties_add(&props, &p);
    if (in->cfg.receive_max > 0) {
        p.identifier = MQTTPROPERTY_CODE_RECEIVE_MAXIMUM;
        p.value.integer2 = in->cfg.receive_max;
        MQTTProperties_add(&props, &p);
    }
    opts.keepAliveInterval = in->cfg.keepalive_s > 0 ? in->cfg.keepalive_s : 30;
    opts.cleanstart = 0;
    opts.automaticReconnect = 1;
    opts.minRetryInterval = 1;
    opts.maxRetryInterval = 16;
    opts.connectTimeout = 10;
    opts.connectProperties = &props;
    opts.onFailure5 = on_connect_failure;
    opts.context = in;
    opts.username = in->cfg.username;
    opts.password = in->cfg.password;
    if (in->cfg.ca_file != NULL) {
        ssl.trustStore = in->cfg.ca_file;
        ssl.keyStore = in->cfg.cert_file;
        ssl.privateKey = in->cfg.key_file;
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1;
        opts.ssl = &ssl;
    }
    rc = MQTTAsync_connect(in->client, &opts);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
        col_log(COL_LOG_ERROR, "ingest", "MQTTAsync_connect(%s): %s", in->cfg.uri,
                MQTTAsync_strerror(rc));
        return CT_E_NET;
    }
    return 0;
}

/* Watchdog reconnection: Paho's MQTTAsync_reconnect() does nothing while the client counts as
 * connected, so the connection is closed and made again. The persistent session keeps the
 * subscriber's messages in the broker meanwhile; on_connected subscribes again. */
static void watchdog_connect(struct col_ingest *in)
{
    notify(in, false, "watchdog");
    if (col_ingest_start(in) != 0) {
        col_log(COL_LOG_ERROR, "ingest", "watchdog: cannot connect again; Paho retries");
    }
}

static void on_watchdog_disconnected(void *context, MQTTAsync_successData5 *resp)
{
    (void)resp;
    watchdog_connect(context);
}

static void on_watchdog_disconnect_failed(void *context, MQTTAsync_failureData5 *resp)
{
    (void)resp;
    watchdog_connect(context);
}

int col_ingest_reconnect(struct col_ingest *in)
{
    MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer5;
    int rc;

    opts.timeout = 1000;
    opts.onSuccess5 = on_watchdog_disconnected;
    opts.onFailure5 = on_watchdog_disconnect_failed;
    opts.context = in;
    rc = MQTTAsync_disconnect(in->client, &opts);
    if (rc != MQTTASYNC_SUCCESS) {
        col_log(COL_LOG_WARN, "ingest", "watchdog: MQTTAsync_disconnect: %s",
                MQTTAsync_strerror(rc));
        rc = MQTTAsync_reconnect(in->client);
        return rc == MQTTASYNC_SUCCESS ? 0 : CT_E_NET;
    }
    return 0;
}

int col_ingest_publish(struct col_ingest *in, const char *topic, const void *payload, size_t len)
{
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
    int rc;

    msg.payload = (void *)payload;
    msg.payloadlen = (int)len;
    msg.qos = 1;
    msg.retained = 0;
    rc = MQTTAsync_sendMessage(in->client, topic, &msg, &opts);
    if (rc != MQTTASYNC_SUCCESS) {
        col_log(COL_LOG_WARN, "ingest", "publish %s: %s", topic, MQTTAsync_strerror(rc));
        return CT_E_NET;
    }
    return 0;
}

void col_ingest_stats(struct col_ingest *in, struct col_ingest_stats *out)
{
    out->messages = atomic_load(&in->messages);
    out->redelivered = atomic_load(&in->redelivered);
    out->connects = atomic_load(&in->connects);
    out->lost = atomic_load(&in->lost);
    out->connected = atomic_load(&in->connected);
}

void col_ingest_destroy(struct col_ingest *in, unsigned timeout_ms)
{
    MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer5;

    if (in == NULL) {
        return;
    }
    opts.timeout = (int)timeout_ms;
    if (MQTTAsync_isConnected(in->client)) {
        MQTTAsync_disconnect(in->client, &opts);
        for (unsigned waited = 0; waited < timeout_ms && MQTTAsync_isConnected(in->client);
             waited += 10) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    MQTTAsync_destroy(&in->client);
    for (size_t i = 0; i < 8; i++) {
        free(in->strings[i]);
    }
    free(in);
}

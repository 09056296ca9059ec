/* dur_pub.c - program dur-pub: a steady, retrying publisher of signed telemetry for the
 * durability and fault end-to-end tests.
 *
 * Publishes --count readings at --rate messages per second over the first --devices devices of
 * the registry (air and water devices), round robin: reading i goes to device i % M with boot
 * --boot, seq --seq-start + i / M and ts = its send time in ms (strictly increasing per device),
 * at QoS 1 with the `sig` user property (ct_payload_encode + ct_sig_sign with the device key
 * derived from the master key).
 *
 * Every reading is kept until the broker acknowledges it. A publish that fails (connection lost,
 * buffer full) or stays unacknowledged for --resend-s seconds is sent again with the same bytes,
 * so a broker restart loses nothing; the resent duplicate has the same (boot, seq) and ts, which
 * the collector drops as a duplicate and InfluxDB would overwrite. The client reconnects on its
 * own with a persistent session (clean start off).
 *
 * With --ts-start T the readings are deterministic: ts = T + i, so a test can know a reading's
 * line protocol in advance.
 *
 * --acked-file F gets one line per acknowledgement, "<device> <boot> <seq> <ts>\n", written and
 * flushed as it happens (a reading acknowledged twice appears twice). stdout at exit:
 * "published=<n> acked=<n> resent=<n> failures=<n> elapsed_s=<s>". Exit status 0 once every
 * reading is acknowledged, 1 when --timeout-s passes first, 2 on bad usage or set-up errors. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "ct/buf.h"
#include "ct/err.h"
#include "ct/payload.h"
#include "ct/registry.h"
#include "ct/sig.h"
#include "ct/topic.h"
#include "ct/key.h"
#include "ct_paho.h"
#include "sim_bench.h"

#define MASTER_MAX 256
#define PAYLOAD_LIMIT 4096
#define SESSION_EXPIRY_S 3600
#define MAX_BUFFERED 100000

enum mstate { M_UNSENT = 0, M_INFLIGHT, M_RETRY, M_ACKED };

struct opts {
    const char *broker;
    const char *registry;
    const char *master_key_file;
    const char *client_id;
    const char *acked_file;
    uint64_t count;
    uint64_t devices;
    uint64_t boot;
    uint64_t seq_start;
    uint64_t inflight;
    uint64_t timeout_s;
    uint64_t resend_s;
    int64_t ts_start; /* 0: ts = send time */
    double rate;
};

struct dev {
    const struct ct_device *d;
    uint8_t key[CT_KEY_LEN];
    char topic[CT_TOPIC_MAX];
    int64_t last_ts;
};

struct pub;

struct msg {
    struct pub *p;
    size_t dev;
    uint64_t seq;
    int64_t ts;
    char *payload;
    size_t payload_len;
    char sig[CT_SIG_HEX_LEN + 1];
    enum mstate state;
    int64_t sent_ms; /* monotonic time of the last send */
};

struct pub {
    struct opts o;
    struct dev *devs;
    size_t ndevs;
    struct msg *msgs;
    MQTTAsync client;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    FILE *acked_out;
    uint64_t outstanding; /* sends whose callback has not come */
    uint64_t acked;
    uint64_t resent;
    uint64_t failures;
    bool connected;
};

/* Monotonic milliseconds (the resend and deadline clock). */
static int64_t mono_ms(void)
{
    return sim_bench_mono_ns() / 1000000;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: dur-pub --broker URI --registry F --master-key-file F --count N --rate R\n"
               "               --acked-file F [options]\n"
               "  --devices M       the first M air/water devices of the registry (default: all)\n"
               "  --boot B          boot counter of every device (default: Unix time in s)\n"
               "  --seq-start K     first seq (default 0)\n"
               "  --inflight W      sends awaiting acknowledgement at once (default 64)\n"
               "  --client-id ID    MQTT client id (default dur-pub-<pid>)\n"
               "  --resend-s S      resend a reading unacknowledged for S s (default 20)\n"
               "  --ts-start T      ts of reading i is T + i ms (default: its send time)\n"
               "  --timeout-s S     give up after S s (default 600)\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"broker", required_argument, NULL, 'b'},
                                             {"registry", required_argument, NULL, 'r'},
                                             {"master-key-file", required_argument, NULL, 'm'},
                                             {"client-id", required_argument, NULL, 'c'},
                                             {"acked-file", required_argument, NULL, 'a'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"devices", required_argument, NULL, 'd'},
                                             {"boot", required_argument, NULL, 'B'},
                                             {"seq-start", required_argument, NULL, 's'},
                                             {"inflight", required_argument, NULL, 'w'},
                                             {"timeout-s", required_argument, NULL, 't'},
                                             {"resend-s", required_argument, NULL, 'x'},
                                             {"rate", required_argument, NULL, 'R'},
                                             {"ts-start", required_argument, NULL, 'T'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool ok = true;
    int c;

    o->boot = (uint64_t)(sim_bench_wall_ms() / 1000);
    o->inflight = 64;
    o->timeout_s = 600;
    o->resend_s = 20;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o->broker = optarg;
            break;
        case 'r':
            o->registry = optarg;
            break;
        case 'm':
            o->master_key_file = optarg;
            break;
        case 'c':
            o->client_id = optarg;
            break;
        case 'a':
            o->acked_file = optarg;
            break;
        case 'n':
            ok = ok && sim_bench_parse_u64(optarg, &o->count);
            break;
        case 'd':
            ok = ok && sim_bench_parse_u64(optarg, &o->devices);
            break;
        case 'B':
            ok = ok && sim_bench_parse_u64(optarg, &o->boot);
            break;
        case 's':
            ok = ok && sim_bench_parse_u64(optarg, &o->seq_start);
            break;
        case 'w':
            ok = ok && sim_bench_parse_u64(optarg, &o->inflight) && o->inflight > 0;
            break;
        case 't':
            ok = ok && sim_bench_parse_u64(optarg, &o->timeout_s);
            break;
        case 'x':
            ok = ok && sim_bench_parse_u64(optarg, &o->resend_s) && o->resend_s > 0;
            break;
        case 'R':
            ok = ok && sim_bench_parse_double(optarg, &o->rate) && o->rate > 0;
            break;
        case 'T': {
            uint64_t v = 0;
            ok = ok && sim_bench_parse_u64(optarg, &v) && v > 0 && v < ((uint64_t)1 << 53);
            o->ts_start = (int64_t)v;
            break;
        }
        case 'h':
            usage(stdout);
            exit(0);
        default:
            ok = false;
            break;
        }
    }
    if (!ok || optind != argc || o->broker == NULL || o->registry == NULL ||
        o->master_key_file == NULL || o->acked_file == NULL || o->count == 0 || o->rate <= 0 ||
        o->inflight > 65535) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Encodes and signs reading i (ts = now, strictly increasing per device). */
static int build(struct pub *p, uint64_t i, struct msg *m)
{
    struct dev *dv = &p->devs[i % p->ndevs];
    struct ct_reading r;
    struct ct_buf b;
    int64_t ts = p->o.ts_start > 0 ? p->o.ts_start + (int64_t)i : sim_bench_wall_ms();
    int rc;

    if (ts <= dv->last_ts) {
        ts = dv->last_ts + 1;
    }
    dv->last_ts = ts;
    m->p = p;
    m->dev = i % p->ndevs;
    m->seq = p->o.seq_start + i / p->ndevs;
    m->ts = ts;
    rc = sim_bench_fill_reading(dv->d, p->o.boot, m->seq, ts, &r);
    if (rc != 0) {
        return rc;
    }
    ct_buf_init(&b, PAYLOAD_LIMIT);
    rc = ct_payload_encode(&r, &b);
    if (rc != 0) {
        ct_buf_free(&b);
        return rc;
    }
    m->payload = ct_buf_take(&b, &m->payload_len);
    if (m->payload == NULL) {
        return CT_E_NOMEM;
    }
    return ct_sig_sign(dv->key, dv->topic, strlen(dv->topic), m->payload, m->payload_len, m->sig);
}

static void on_sent(void *ctx, MQTTAsync_successData5 *d)
{
    struct msg *m = ctx;
    struct pub *p = m->p;

    (void)d;
    pthread_mutex_lock(&p->mu);
    p->outstanding--;
    if (m->state != M_ACKED) {
        m->state = M_ACKED;
        p->acked++;
    }
    fprintf(p->acked_out, "%s %llu %llu %lld\n", p->devs[m->dev].d->id,
            (unsigned long long)p->o.boot, (unsigned long long)m->seq, (long long)m->ts);
    fflush(p->acked_out);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void on_send_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    struct msg *m = ctx;
    struct pub *p = m->p;

    (void)d;
    pthread_mutex_lock(&p->mu);
    p->outstanding--;
    p->failures++;
    if (m->state != M_ACKED) {
        m->state = M_RETRY;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void on_lost(void *ctx, char *cause)
{
    struct pub *p = ctx;

    pthread_mutex_lock(&p->mu);
    p->connected = false;
    pthread_mutex_unlock(&p->mu);
    fprintf(stderr, "dur-pub: connection lost: %s\n", cause != NULL ? cause : "?");
}

static void on_connected(void *ctx, char *cause)
{
    struct pub *p = ctx;

    (void)cause;
    pthread_mutex_lock(&p->mu);
    p->connected = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int on_arrived(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
    (void)ctx;
    (void)len;
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)ctx;
    fprintf(stderr, "dur-pub: connect failed: %s\n",
            d != NULL && d->message != NULL ? d->message : "?");
}

/* Sends m (called with p->mu held; the lock is released around the Paho call). */
static void send_msg(struct pub *p, struct msg *m)
{
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    const char *topic = p->devs[m->dev].topic;
    int rc;

    if (ct_paho_sig_props(&msg.properties, m->sig) != 0) {
        p->failures++; /* out of memory: retried like a failed send */
        m->state = m->state == M_ACKED ? M_ACKED : M_RETRY;
        return;
    }
    msg.payload = m->payload;
    msg.payloadlen = (int)m->payload_len;
    msg.qos = 1;
    ro.onSuccess5 = on_sent;
    ro.onFailure5 = on_send_fail;
    ro.context = m;
    if (m->state != M_UNSENT) {
        p->resent++;
    }
    m->state = M_INFLIGHT;
    m->sent_ms = mono_ms();
    p->outstanding++;
    pthread_mutex_unlock(&p->mu);
    rc = MQTTAsync_sendMessage(p->client, topic, &msg, &ro);
    MQTTProperties_free(&msg.properties); /* MQTTAsync_sendMessage copied them */
    pthread_mutex_lock(&p->mu);
    if (rc != MQTTASYNC_SUCCESS) {
        p->outstanding--;
        p->failures++;
        if (m->state != M_ACKED) {
            m->state = M_RETRY;
        }
    }
}

/* Resends readings whose send failed or stayed unacknowledged for resend_s (p->mu held).
 * Returns how many were sent. */
static uint64_t resend_due(struct pub *p, uint64_t upto)
{
    int64_t now = mono_ms();
    uint64_t n = 0;

    if (!p->connected) {
        return 0;
    }
    for (uint64_t i = 0; i < upto && p->outstanding < p->o.inflight; i++) {
        struct msg *m = &p->msgs[i];
        if (m->state == M_RETRY ||
            (m->state == M_INFLIGHT && now - m->sent_ms >= (int64_t)p->o.resend_s * 1000)) {
            send_msg(p, m);
            n++;
        }
    }
    return n;
}

static void wait_ms(struct pub *p, int64_t ms)
{
    struct timespec ts;

    if (ms <= 0) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

static int load_devices(struct pub *p, struct ct_registry *reg, const uint8_t *master, size_t mlen)
{
    size_t total = ct_registry_count(reg);
    size_t want = p->o.devices != 0 ? (size_t)p->o.devices : total;

    p->devs = calloc(total > 0 ? total : 1, sizeof(*p->devs));
    if (p->devs == NULL) {
        return CT_E_NOMEM;
    }
    for (size_t i = 0; i < total && p->ndevs < want; i++) {
        const struct ct_device *d = ct_registry_at(reg, i);
        struct dev *dv = &p->devs[p->ndevs];
        int rc;
        if (d->kind != CT_KIND_AIR && d->kind != CT_KIND_WATER) {
            continue;
        }
        dv->d = d;
        rc = ct_sig_device_key(master, mlen, d->id, dv->key);
        if (rc == 0) {
            rc = ct_topic_format(CT_TOPIC_UP, d->kind, d->id, dv->topic, sizeof(dv->topic));
        }
        if (rc != 0) {
            return rc;
        }
        p->ndevs++;
    }
    if (p->ndevs == 0) {
        fprintf(stderr, "dur-pub: the registry has no air or water devices\n");
        return CT_E_INVAL;
    }
    return 0;
}

static int connect_client(struct pub *p)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    MQTTProperties props = MQTTProperties_initializer;
    MQTTProperty expiry;
    char cid[64];
    const char *id = p->o.client_id;
    int rc;

    if (id == NULL) {
        snprintf(cid, sizeof(cid), "dur-pub-%ld", (long)getpid());
        id = cid;
    }
    co.sendWhileDisconnected = 1;
    co.maxBufferedMessages = MAX_BUFFERED;
    rc = MQTTAsync_createWithOptions(&p->client, p->o.broker, id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                     &co);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "dur-pub: create: %s\n", MQTTAsync_strerror(rc));
        return CT_E_INVAL;
    }
    MQTTAsync_setCallbacks(p->client, p, on_lost, on_arrived, NULL);
    MQTTAsync_setConnected(p->client, p, on_connected);
    memset(&expiry, 0, sizeof(expiry));
    expiry.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    expiry.value.integer4 = SESSION_EXPIRY_S;
    MQTTProperties_add(&props, &expiry);
    opts.keepAliveInterval = 10;
    opts.cleanstart = 0;
    opts.maxInflight = (int)p->o.inflight;
    opts.connectTimeout = 5;
    opts.automaticReconnect = 1;
    opts.minRetryInterval = 1;
    opts.maxRetryInterval = 2;
    opts.connectProperties = &props;
    opts.onFailure5 = on_connect_fail;
    opts.context = p;
    rc = MQTTAsync_connect(p->client, &opts);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "dur-pub: connect: %s\n", MQTTAsync_strerror(rc));
        return CT_E_NET;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct pub p;
    struct ct_registry *reg = NULL;
    uint8_t master[MASTER_MAX];
    size_t mlen = 0;
    char err[512];
    int64_t t0;
    int64_t deadline;
    uint64_t next = 0;
    int code = 2;

    memset(&p, 0, sizeof(p));
    if (parse_opts(argc, argv, &p.o) != 0) {
        return 2;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    int rc =
        ct_key_read_file(p.o.master_key_file, CT_KEY_MASTER_MIN, master, MASTER_MAX, &mlen, NULL);
    if (rc != 0) {
        fprintf(stderr, "dur-pub: master key %s: %s\n", p.o.master_key_file, ct_strerror(rc));
        return 2;
    }
    if (ct_registry_load(p.o.registry, &reg, err, sizeof(err)) != 0) {
        fprintf(stderr, "dur-pub: %s\n", err);
        return 2;
    }
    if (load_devices(&p, reg, master, mlen) != 0) {
        goto out_reg;
    }
    p.msgs = calloc((size_t)p.o.count, sizeof(*p.msgs));
    p.acked_out = fopen(p.o.acked_file, "a");
    if (p.msgs == NULL || p.acked_out == NULL) {
        fprintf(stderr, "dur-pub: cannot allocate or open %s\n", p.o.acked_file);
        goto out_reg;
    }
    if (connect_client(&p) != 0) {
        goto out_reg;
    }
    t0 = mono_ms();
    deadline = t0 + (int64_t)p.o.timeout_s * 1000;
    pthread_mutex_lock(&p.mu);
    while (!p.connected && mono_ms() < deadline) {
        wait_ms(&p, 100);
    }
    t0 = mono_ms();
    while (p.acked < p.o.count && mono_ms() < deadline) {
        int64_t now = mono_ms();
        int64_t due = t0 + (int64_t)((double)next * 1000.0 / p.o.rate);
        resend_due(&p, next);
        if (next < p.o.count && now >= due && p.outstanding < p.o.inflight) {
            struct msg *m = &p.msgs[next];
            if (build(&p, next, m) != 0) {
                fprintf(stderr, "dur-pub: cannot build reading %llu\n", (unsigned long long)next);
                pthread_mutex_unlock(&p.mu);
                goto out_client;
            }
            next++;
            send_msg(&p, m);
            continue;
        }
        wait_ms(&p, next < p.o.count && due > now ? (due - now < 100 ? due - now : 100) : 100);
    }
    code = p.acked == p.o.count ? 0 : 1;
    printf("published=%llu acked=%llu resent=%llu failures=%llu elapsed_s=%.1f\n",
           (unsigned long long)next, (unsigned long long)p.acked, (unsigned long long)p.resent,
           (unsigned long long)p.failures, (double)(mono_ms() - t0) / 1000.0);
    fflush(stdout);
    pthread_mutex_unlock(&p.mu);
out_client : {
    MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer5;
    dopts.timeout = 2000;
    MQTTAsync_disconnect(p.client, &dopts);
    usleep(200 * 1000);
    MQTTAsync_destroy(&p.client);
}
out_reg:
    if (p.acked_out != NULL) {
        fclose(p.acked_out);
    }
    if (p.msgs != NULL) {
        for (uint64_t i = 0; i < p.o.count; i++) {
            free(p.msgs[i].payload);
        }
        free(p.msgs);
    }
    free(p.devs);
    ct_registry_free(reg);
    return code;
}

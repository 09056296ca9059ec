/* bench_pub.c - program bench-pub: a fast MQTT v5 publisher of signed telemetry for benchmarks.
 *
 * Publishes --count messages for the first --devices devices of the registry (round robin), each
 * a valid telemetry payload (ct_payload_encode) with its `sig` user property (ct_sig_sign with the
 * device key derived from the master key), at QoS 1 (or 0), with at most --inflight messages
 * unacknowledged. Message i goes to device i % M with seq i / M and the boot --boot, so every
 * message has a distinct (boot, seq) per device and a distinct ts.
 *
 * Flat out (no --rate): every payload is encoded and signed before the connection, and ts runs
 * from now - count ms upwards by 1 ms per message. With --rate R (or --jit): each payload is
 * encoded and signed just before it is sent, with ts = the send time (ms, strictly increasing
 * per device), so a receiver can measure latency from ts.
 *
 * stdout, at exit: "published=<n> acked=<n> failed=<n> elapsed_s=<s> rate=<msg/s>"; the rate is
 * acked messages over the time from the first send to the last acknowledgement. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include "sim_bench.h"
#include "ct/key.h"
#include "ct_paho.h"

#define MASTER_MAX 256
#define ARENA_LIMIT ((size_t)4 << 30)
#define CONNECT_TIMEOUT_S 20
#define DISCONNECT_MS 5000

struct opts {
    const char *broker;
    const char *registry;
    const char *master_key_file;
    const char *client_id;
    uint64_t count;
    uint64_t devices;
    uint64_t qos;
    uint64_t inflight;
    uint64_t boot;
    uint64_t timeout_s;
    double rate;
    bool jit;
};

struct dev {
    const struct ct_device *d;
    uint8_t key[CT_KEY_LEN];
    char topic[CT_TOPIC_MAX];
    int64_t last_ts; /* --jit: ts of this device's previous message */
};

struct msg {
    size_t topic_off; /* into the arena, NUL-terminated */
    size_t payload_off;
    size_t payload_len;
    char sig[CT_SIG_HEX_LEN + 1];
};

struct pub {
    struct opts o;
    struct dev *devs;
    size_t ndevs;
    MQTTAsync client;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int connected; /* 0 pending, 1 connected, -1 failed */
    bool lost;
    uint64_t inflight;
    atomic_uint_fast64_t acked;
    atomic_uint_fast64_t failed;
    atomic_int_fast64_t last_ack_ns;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench-pub --broker URI --registry F --master-key-file F --count N [options]\n"
            "  --devices M       use the first M devices of the registry (default: all)\n"
            "  --qos 0|1         publish QoS (default 1)\n"
            "  --inflight W      unacknowledged messages at once (default 256)\n"
            "  --rate R          messages per second (default: flat out); implies --jit\n"
            "  --jit             encode and sign each message when it is sent (ts = send time)\n"
            "  --boot B          boot counter of every device (default: Unix time in s)\n"
            "  --client-id ID    MQTT client id (default bench-pub-<pid>)\n"
            "  --timeout-s S     give up waiting for acknowledgements after S s (default 600)\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"broker", required_argument, NULL, 'b'},
                                             {"registry", required_argument, NULL, 'r'},
                                             {"master-key-file", required_argument, NULL, 'm'},
                                             {"client-id", required_argument, NULL, 'c'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"devices", required_argument, NULL, 'd'},
                                             {"qos", required_argument, NULL, 'q'},
                                             {"inflight", required_argument, NULL, 'w'},
                                             {"boot", required_argument, NULL, 'B'},
                                             {"timeout-s", required_argument, NULL, 't'},
                                             {"rate", required_argument, NULL, 'R'},
                                             {"jit", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    o->qos = 1;
    o->inflight = 256;
    o->boot = (uint64_t)(sim_bench_wall_ms() / 1000);
    o->timeout_s = 600;
    int c;
    bool ok = true;
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
        case 'n':
            ok = ok && sim_bench_parse_u64(optarg, &o->count);
            break;
        case 'd':
            ok = ok && sim_bench_parse_u64(optarg, &o->devices);
            break;
        case 'q':
            ok = ok && sim_bench_parse_u64(optarg, &o->qos) && o->qos <= 1;
            break;
        case 'w':
            ok = ok && sim_bench_parse_u64(optarg, &o->inflight) && o->inflight > 0;
            break;
        case 'B':
            ok = ok && sim_bench_parse_u64(optarg, &o->boot);
            break;
        case 't':
            ok = ok && sim_bench_parse_u64(optarg, &o->timeout_s);
            break;
        case 'R':
            ok = ok && sim_bench_parse_double(optarg, &o->rate);
            break;
        case 'j':
            o->jit = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            ok = false;
            break;
        }
    }
    if (!ok || optind != argc || o->broker == NULL || o->registry == NULL ||
        o->master_key_file == NULL || o->count == 0 || o->inflight > 65535) {
        usage(stderr);
        return -1;
    }
    if (o->rate > 0) {
        o->jit = true;
    }
    return 0;
}

/* Encodes and signs message i into 'arena' (appends) and fills 'm'. */
static int build(struct pub *p, uint64_t i, int64_t ts, struct ct_buf *arena, struct msg *m)
{
    struct dev *dv = &p->devs[i % p->ndevs];
    struct ct_reading r;
    int rc = sim_bench_fill_reading(dv->d, p->o.boot, i / p->ndevs, ts, &r);
    if (rc != 0) {
        return rc;
    }
    m->topic_off = arena->len;
    rc = ct_buf_add(arena, dv->topic, strlen(dv->topic) + 1);
    if (rc != 0) {
        return rc;
    }
    m->payload_off = arena->len;
    rc = ct_payload_encode(&r, arena);
    if (rc != 0) {
        return rc;
    }
    m->payload_len = arena->len - m->payload_off;
    return ct_sig_sign(dv->key, dv->topic, strlen(dv->topic), arena->p + m->payload_off,
                       m->payload_len, m->sig);
}

static void on_lost(void *ctx, char *cause)
{
    struct pub *p = ctx;
    pthread_mutex_lock(&p->mu);
    p->lost = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fprintf(stderr, "bench-pub: connection lost: %s\n", cause != NULL ? cause : "?");
}

static int on_arrived(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void set_connected(struct pub *p, int state)
{
    pthread_mutex_lock(&p->mu);
    p->connected = state;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData5 *d)
{
    set_connected(ctx, 1);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    fprintf(stderr, "bench-pub: connect failed: %s\n",
            d != NULL && d->message != NULL ? d->message : MQTTAsync_strerror(d ? d->code : 0));
    set_connected(ctx, -1);
}

static void settle(struct pub *p, bool ok)
{
    if (ok) {
        atomic_fetch_add(&p->acked, 1);
    } else {
        atomic_fetch_add(&p->failed, 1);
    }
    atomic_store(&p->last_ack_ns, sim_bench_mono_ns());
    pthread_mutex_lock(&p->mu);
    p->inflight--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void on_sent(void *ctx, MQTTAsync_successData5 *d)
{
    settle(ctx, true);
}

static void on_send_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    settle(ctx, false);
}

static int connect_client(struct pub *p)
{
    char cid[64];
    if (p->o.client_id == NULL) {
        snprintf(cid, sizeof(cid), "bench-pub-%ld", (long)getpid());
    }
    const char *id = p->o.client_id != NULL ? p->o.client_id : cid;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    co.sendWhileDisconnected = 0;
    co.maxBufferedMessages = (int)p->o.inflight + 16;
    int rc = MQTTAsync_createWithOptions(&p->client, p->o.broker, id, MQTTCLIENT_PERSISTENCE_NONE,
                                         NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench-pub: create: %s\n", MQTTAsync_strerror(rc));
        return CT_E_INVAL;
    }
    MQTTAsync_setCallbacks(p->client, p, on_lost, on_arrived, NULL);
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    opts.keepAliveInterval = 30;
    opts.cleanstart = 1;
    opts.maxInflight = (int)p->o.inflight;
    opts.connectTimeout = CONNECT_TIMEOUT_S;
    opts.onSuccess5 = on_connect_ok;
    opts.onFailure5 = on_connect_fail;
    opts.context = p;
    rc = MQTTAsync_connect(p->client, &opts);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench-pub: connect: %s\n", MQTTAsync_strerror(rc));
        return CT_E_NET;
    }
    pthread_mutex_lock(&p->mu);
    while (p->connected == 0) {
        pthread_cond_wait(&p->cv, &p->mu);
    }
    int state = p->connected;
    pthread_mutex_unlock(&p->mu);
    return state == 1 ? 0 : CT_E_NET;
}

/* Waits for window room; returns false when the connection was lost. */
static bool wait_room(struct pub *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->inflight >= p->o.inflight && !p->lost) {
        pthread_cond_wait(&p->cv, &p->mu);
    }
    bool ok = !p->lost;
    if (ok) {
        p->inflight++;
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static int send_one(struct pub *p, const char *topic, const char *payload, size_t len,
                    const char *sig)
{
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    if (ct_paho_sig_props(&msg.properties, sig) != 0) {
        settle(p, false);
        return CT_E_NOMEM;
    }
    msg.payload = (void *)payload;
    msg.payloadlen = (int)len;
    msg.qos = (int)p->o.qos;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess5 = on_sent;
    ro.onFailure5 = on_send_fail;
    ro.context = p;
    int rc = MQTTAsync_sendMessage(p->client, topic, &msg, &ro);
    MQTTProperties_free(&msg.properties); /* MQTTAsync_sendMessage copied them */
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench-pub: publish: %s\n", MQTTAsync_strerror(rc));
        settle(p, false);
        return CT_E_NET;
    }
    return 0;
}

static int load_devices(struct pub *p, struct ct_registry *reg, const uint8_t *master, size_t mlen)
{
    size_t n = ct_registry_count(reg);
    if (p->o.devices != 0 && p->o.devices < n) {
        n = (size_t)p->o.devices;
    }
    if (n == 0) {
        fprintf(stderr, "bench-pub: the registry has no devices\n");
        return CT_E_INVAL;
    }
    p->devs = calloc(n, sizeof(*p->devs));
    if (p->devs == NULL) {
        return CT_E_NOMEM;
    }
    p->ndevs = n;
    for (size_t i = 0; i < n; i++) {
        struct dev *dv = &p->devs[i];
        dv->d = ct_registry_at(reg, i);
        int rc = ct_sig_device_key(master, mlen, dv->d->id, dv->key);
        if (rc == 0) {
            rc = ct_topic_format(CT_TOPIC_UP, dv->d->kind, dv->d->id, dv->topic, sizeof(dv->topic));
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Flat out: builds every message first, then sends them through the window. */
static int run_prebuilt(struct pub *p, uint64_t *published, int64_t *t0)
{
    struct msg *msgs = calloc((size_t)p->o.count, sizeof(*msgs));
    struct ct_buf arena;
    ct_buf_init(&arena, ARENA_LIMIT);
    int rc = msgs == NULL ? CT_E_NOMEM : 0;
    int64_t base = sim_bench_wall_ms() - (int64_t)p->o.count;
    for (uint64_t i = 0; rc == 0 && i < p->o.count; i++) {
        rc = build(p, i, base + (int64_t)i, &arena, &msgs[i]);
    }
    if (rc != 0) {
        fprintf(stderr, "bench-pub: building messages: %s\n", ct_strerror(rc));
        goto out_free;
    }
    rc = connect_client(p);
    if (rc != 0) {
        goto out_free;
    }
    *t0 = sim_bench_mono_ns();
    for (uint64_t i = 0; i < p->o.count; i++) {
        if (!wait_room(p)) {
            break;
        }
        const struct msg *m = &msgs[i];
        if (send_one(p, arena.p + m->topic_off, arena.p + m->payload_off, m->payload_len, m->sig) !=
            0) {
            break;
        }
        (*published)++;
    }
out_free:
    ct_buf_free(&arena);
    free(msgs);
    return rc;
}

/* At a rate (or --jit): builds each message just before sending it, ts = send time. */
static int run_jit(struct pub *p, uint64_t *published, int64_t *t0)
{
    struct ct_buf arena;
    ct_buf_init(&arena, CT_PAYLOAD_MAX + CT_TOPIC_MAX + 16);
    int rc = connect_client(p);
    if (rc != 0) {
        goto out_free;
    }
    *t0 = sim_bench_mono_ns();
    for (uint64_t i = 0; i < p->o.count; i++) {
        if (p->o.rate > 0) {
            sim_bench_sleep_until(*t0 + (int64_t)((double)i * 1e9 / p->o.rate));
        }
        if (!wait_room(p)) {
            break;
        }
        /* Strictly increasing per device, so no two points of a device share a time. */
        struct dev *dv = &p->devs[i % p->ndevs];
        int64_t ts = sim_bench_wall_ms();
        if (ts <= dv->last_ts) {
            ts = dv->last_ts + 1;
        }
        dv->last_ts = ts;
        struct msg m;
        ct_buf_reset(&arena);
        rc = build(p, i, ts, &arena, &m);
        if (rc != 0) {
            fprintf(stderr, "bench-pub: building message %llu: %s\n", (unsigned long long)i,
                    ct_strerror(rc));
            settle(p, false);
            break;
        }
        if (send_one(p, arena.p + m.topic_off, arena.p + m.payload_off, m.payload_len, m.sig) !=
            0) {
            break;
        }
        (*published)++;
    }
out_free:
    ct_buf_free(&arena);
    return rc;
}

int main(int argc, char **argv)
{
    struct pub p;
    memset(&p, 0, sizeof(p));
    if (parse_opts(argc, argv, &p.o) != 0) {
        return 2;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    uint8_t master[MASTER_MAX];
    size_t mlen = 0;
    int rc = ct_key_read_file(p.o.master_key_file, CT_KEY_MASTER_MIN, master, sizeof(master), &mlen,
                              NULL);
    if (rc != 0) {
        fprintf(stderr, "bench-pub: master key %s: %s\n", p.o.master_key_file, ct_strerror(rc));
        return 1;
    }
    char err[512];
    struct ct_registry *reg = NULL;
    rc = ct_registry_load(p.o.registry, &reg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "bench-pub: %s\n", err);
        return 1;
    }
    int status = 1;
    rc = load_devices(&p, reg, master, mlen);
    if (rc != 0) {
        fprintf(stderr, "bench-pub: devices: %s\n", ct_strerror(rc));
        goto out_reg;
    }
    uint64_t published = 0;
    int64_t t0 = 0;
    rc = p.o.jit ? run_jit(&p, &published, &t0) : run_prebuilt(&p, &published, &t0);
    if (p.client == NULL || p.connected != 1) {
        goto out_client;
    }
    /* Waits for the acknowledgements of everything sent. */
    int64_t deadline = sim_bench_mono_ns() + (int64_t)p.o.timeout_s * 1000000000;
    pthread_mutex_lock(&p.mu);
    while (p.inflight > 0 && !p.lost && sim_bench_mono_ns() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p.cv, &p.mu, &ts);
    }
    pthread_mutex_unlock(&p.mu);
    uint64_t acked = atomic_load(&p.acked);
    int64_t t1 = atomic_load(&p.last_ack_ns);
    double elapsed = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0.0;
    printf("published=%llu acked=%llu failed=%llu elapsed_s=%.3f rate=%.1f\n",
           (unsigned long long)published, (unsigned long long)acked,
           (unsigned long long)atomic_load(&p.failed), elapsed,
           elapsed > 0 ? (double)acked / elapsed : 0.0);
    fflush(stdout);
    status = rc == 0 && acked == p.o.count ? 0 : 1;
    MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer5;
    dopts.timeout = DISCONNECT_MS;
    MQTTAsync_disconnect(p.client, &dopts);
    sim_bench_sleep_until(sim_bench_mono_ns() + 100000000);
out_client:
    if (p.client != NULL) {
        MQTTAsync_destroy(&p.client);
    }
out_reg:
    free(p.devs);
    ct_registry_free(reg);
    return status;
}

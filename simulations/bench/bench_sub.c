/* bench_sub.c - program bench-sub: the benchmarks' baseline, a bare Paho MQTTAsync v5 subscriber
 * that only counts messages (no verification, no decoding, no storage).
 *
 * It subscribes to --topic at --qos and exits once --count messages arrived, or after --timeout-s,
 * or when no message arrived for --idle-s after the first. With --session it keeps a persistent
 * session (clean start off, session expiry 1 h) under --client-id, so that messages published
 * while it is away wait in the broker; --prepare only creates that session (subscribe, then
 * disconnect). With --latency it reads each payload's "ts" and records the receive time (wall
 * clock) minus ts.
 *
 * stdout, at exit: "received=<n> elapsed_s=<s> rate=<msg/s>" (the rate over the time from the
 * first to the last message), then with --latency " lat_n=<n> lat_p50_ms=<x> lat_p99_ms=<x>
 * lat_max_ms=<x>". */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "ct/err.h"
#include "sim_bench.h"

#define SESSION_EXPIRY_S 3600
#define CONNECT_TIMEOUT_S 20
#define TS_TEXT_MAX 24
#define POLL_NS 20000000

struct opts {
    const char *broker;
    const char *topic;
    const char *client_id;
    uint64_t qos;
    uint64_t count;
    uint64_t timeout_s;
    uint64_t idle_s;
    bool session;
    bool prepare;
    bool latency;
};

struct sub {
    struct opts o;
    MQTTAsync client;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 pending, 1 subscribed, -1 failed */
    atomic_uint_fast64_t received;
    atomic_int_fast64_t first_ns;
    atomic_int_fast64_t last_ns;
    int64_t *lat_us; /* o.count slots, with --latency; written by the Paho thread only */
    uint64_t nlat;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench-sub --broker URI --count N [options]\n"
            "  --topic F         topic filter (default city/v1/+/+/up)\n"
            "  --qos 0|1         subscription QoS (default 1)\n"
            "  --timeout-s S     stop after S s in all (default 120)\n"
            "  --idle-s S        stop when nothing arrived for S s after the first (default: off)\n"
            "  --client-id ID    MQTT client id (default bench-sub-<pid>)\n"
            "  --session         persistent session (clean start off, expiry 1 h)\n"
            "  --prepare         with --session: subscribe, disconnect and exit\n"
            "  --latency         record receive time minus the payload's ts\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"broker", required_argument, NULL, 'b'},
                                             {"topic", required_argument, NULL, 'T'},
                                             {"client-id", required_argument, NULL, 'c'},
                                             {"qos", required_argument, NULL, 'q'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"timeout-s", required_argument, NULL, 't'},
                                             {"idle-s", required_argument, NULL, 'i'},
                                             {"session", no_argument, NULL, 's'},
                                             {"prepare", no_argument, NULL, 'p'},
                                             {"latency", no_argument, NULL, 'l'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    o->topic = "city/v1/+/+/up";
    o->qos = 1;
    o->timeout_s = 120;
    int c;
    bool ok = true;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o->broker = optarg;
            break;
        case 'T':
            o->topic = optarg;
            break;
        case 'c':
            o->client_id = optarg;
            break;
        case 'q':
            ok = ok && sim_bench_parse_u64(optarg, &o->qos) && o->qos <= 1;
            break;
        case 'n':
            ok = ok && sim_bench_parse_u64(optarg, &o->count);
            break;
        case 't':
            ok = ok && sim_bench_parse_u64(optarg, &o->timeout_s);
            break;
        case 'i':
            ok = ok && sim_bench_parse_u64(optarg, &o->idle_s);
            break;
        case 's':
            o->session = true;
            break;
        case 'p':
            o->prepare = true;
            break;
        case 'l':
            o->latency = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            ok = false;
            break;
        }
    }
    if (!ok || optind != argc || o->broker == NULL || (o->count == 0 && !o->prepare) ||
        (o->prepare && !o->session)) {
        usage(stderr);
        return -1;
    }
    return 0;
}

static void set_state(struct sub *s, int state)
{
    pthread_mutex_lock(&s->mu);
    s->state = state;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Reads the integer after "ts": in the payload; false when there is none. */
static bool payload_ts(const char *p, size_t len, int64_t *ts)
{
    static const char key[] = "\"ts\":";
    size_t klen = sizeof(key) - 1;
    size_t at = 0;
    while (at + klen <= len && memcmp(p + at, key, klen) != 0) {
        at++;
    }
    if (at + klen > len) {
        return false;
    }
    at += klen;
    char text[TS_TEXT_MAX];
    size_t n = 0;
    while (at + n < len && n < sizeof(text) - 1 && p[at + n] >= '0' && p[at + n] <= '9') {
        text[n] = p[at + n];
        n++;
    }
    text[n] = '\0';
    uint64_t v = 0;
    if (!sim_bench_parse_u64(text, &v)) {
        return false;
    }
    *ts = (int64_t)v;
    return true;
}

static int on_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct sub *s = ctx;
    int64_t now = sim_bench_mono_ns();
    if (s->o.latency && s->nlat < s->o.count) {
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        int64_t ts = 0;
        if (payload_ts(m->payload, (size_t)m->payloadlen, &ts)) {
            int64_t now_us = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000;
            s->lat_us[s->nlat++] = now_us - ts * 1000;
        }
    }
    uint64_t n = atomic_fetch_add(&s->received, 1) + 1;
    if (n == 1) {
        atomic_store(&s->first_ns, now);
    }
    atomic_store(&s->last_ns, now);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    if (n == s->o.count) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return 1;
}

static void on_lost(void *ctx, char *cause)
{
    fprintf(stderr, "bench-sub: connection lost: %s\n", cause != NULL ? cause : "?");
    set_state(ctx, -1);
}

static void on_sub_ok(void *ctx, MQTTAsync_successData5 *d)
{
    set_state(ctx, 1);
}

static void on_sub_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    fprintf(stderr, "bench-sub: subscribe failed\n");
    set_state(ctx, -1);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData5 *d)
{
    struct sub *s = ctx;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess5 = on_sub_ok;
    ro.onFailure5 = on_sub_fail;
    ro.context = s;
    int rc = MQTTAsync_subscribe(s->client, s->o.topic, (int)s->o.qos, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench-sub: subscribe: %s\n", MQTTAsync_strerror(rc));
        set_state(s, -1);
    }
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    fprintf(stderr, "bench-sub: connect failed: %s\n",
            d != NULL && d->message != NULL ? d->message : "?");
    set_state(ctx, -1);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(const int64_t *v, uint64_t n, double q)
{
    uint64_t i = (uint64_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static int start(struct sub *s)
{
    char cid[64];
    snprintf(cid, sizeof(cid), "bench-sub-%ld", (long)getpid());
    const char *id = s->o.client_id != NULL ? s->o.client_id : cid;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    int rc = MQTTAsync_createWithOptions(&s->client, s->o.broker, id, MQTTCLIENT_PERSISTENCE_NONE,
                                         NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench-sub: create: %s\n", MQTTAsync_strerror(rc));
        s->client = NULL;
        return CT_E_INVAL;
    }
    MQTTAsync_setCallbacks(s->client, s, on_lost, on_arrived, NULL);
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    MQTTProperties props = MQTTProperties_initializer;
    MQTTProperty expiry;
    memset(&expiry, 0, sizeof(expiry));
    opts.keepAliveInterval = 30;
    opts.cleanstart = s->o.session ? 0 : 1;
    opts.connectTimeout = CONNECT_TIMEOUT_S;
    opts.onSuccess5 = on_connect_ok;
    opts.onFailure5 = on_connect_fail;
    opts.context = s;
    if (s->o.session) {
        expiry.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
        expiry.value.integer4 = SESSION_EXPIRY_S;
        MQTTProperties_add(&props, &expiry);
        opts.connectProperties = &props;
    }
    rc = MQTTAsync_connect(s->client, &opts);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench-sub: connect: %s\n", MQTTAsync_strerror(rc));
        return CT_E_NET;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sub s;
    memset(&s, 0, sizeof(s));
    if (parse_opts(argc, argv, &s.o) != 0) {
        return 2;
    }
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    if (s.o.latency) {
        s.lat_us = calloc((size_t)s.o.count, sizeof(*s.lat_us));
        if (s.lat_us == NULL) {
            fprintf(stderr, "bench-sub: out of memory\n");
            return 1;
        }
    }
    int status = 1;
    if (start(&s) != 0) {
        goto out;
    }
    int64_t t_start = sim_bench_mono_ns();
    int64_t deadline = t_start + (int64_t)s.o.timeout_s * 1000000000;
    for (;;) {
        int64_t now = sim_bench_mono_ns();
        uint64_t n = atomic_load(&s.received);
        int state;
        pthread_mutex_lock(&s.mu);
        state = s.state;
        pthread_mutex_unlock(&s.mu);
        if (state < 0 || now >= deadline || (s.o.prepare && state == 1) ||
            (!s.o.prepare && n >= s.o.count)) {
            break;
        }
        if (s.o.idle_s > 0 && n > 0 &&
            now - atomic_load(&s.last_ns) > (int64_t)s.o.idle_s * 1000000000) {
            break;
        }
        sim_bench_sleep_until(now + POLL_NS);
    }
    /* Stops the Paho thread's deliveries before reading what it wrote. */
    MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer5;
    dopts.timeout = 2000;
    MQTTAsync_disconnect(s.client, &dopts);
    sim_bench_sleep_until(sim_bench_mono_ns() + 100000000);
    if (s.o.prepare) {
        status = s.state == 1 ? 0 : 1;
        printf("prepared=%d\n", s.state == 1);
    } else {
        uint64_t n = atomic_load(&s.received);
        int64_t span = atomic_load(&s.last_ns) - atomic_load(&s.first_ns);
        double el = (double)span / 1e9;
        printf("received=%llu elapsed_s=%.3f rate=%.1f", (unsigned long long)n, el,
               el > 0 ? (double)n / el : 0.0);
        if (s.o.latency && s.nlat > 0) {
            uint64_t k = s.nlat;
            qsort(s.lat_us, (size_t)k, sizeof(*s.lat_us), cmp_i64);
            printf(" lat_n=%llu lat_p50_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f",
                   (unsigned long long)k, pct_ms(s.lat_us, k, 0.5), pct_ms(s.lat_us, k, 0.99),
                   pct_ms(s.lat_us, k, 1.0));
        }
        printf("\n");
        status = n >= s.o.count ? 0 : 1;
    }
    fflush(stdout);
out:
    if (s.client != NULL) {
        MQTTAsync_destroy(&s.client);
    }
    free(s.lat_us);
    return status;
}

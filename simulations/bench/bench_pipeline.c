/* bench_pipeline.c - program bench-pipeline: the collector's per-message CPU work without a broker,
 * a journal or a store, on one core: pre-signed messages through verification to line protocol.
 *
 * It builds a registry of --devices devices (the kinds of run.py's registry, in the same order),
 * derives their keys from a fixed master key, and encodes and signs --count messages (message i
 * for device i mod D, seq i div D, as bench-pub does) before any clock starts. Then, each timed
 * on the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID) and repeated --repeat times (best kept):
 *
 *   full     col_pipeline_process (topic, registry, HMAC, strict decode, validation, dedup) and
 *            col_pipeline_raw_lp into a batch buffer that is emptied at 1 MiB, as the sink's is
 *   verify   ct_sig_verify alone (the device key derived before the clock; HMAC key schedule per
 *            message)
 *   verify-prepared  ct_sig_verify_prepared alone (the key's HMAC state prepared once per device,
 *            as the pipeline keeps it)
 *   decode   ct_payload_decode alone (cJSON tree, schema, types)
 *   lp       col_pipeline_raw_lp alone, from readings decoded before the clock
 *   gzip-L   ct_gzip_level on the line protocol of the run in 1 MiB batches, levels 1 and 6
 *            (reported per message and as the compression ratio)
 *
 * The derived data (col_derive: rollups, quality checks, indices), the journal and the MQTT
 * client are not in it; docs/benchmarks.md has the collector's whole profile.
 *
 * stdout: one line per stage, "stage=<s> messages=<n> cpu_s=<s> rate=<msg/s> us_per_msg=<us>",
 * the gzip stages also "ratio=<in/out>"; the last line is the full pipeline's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col_pipeline.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "ct/gzip.h"
#include "ct/payload.h"
#include "ct/registry.h"
#include "ct/sig.h"
#include "ct/topic.h"
#include "sim_bench.h"

#define BATCH_BYTES (1u << 20)
#define BUF_LIMIT ((size_t)4 << 30) /* the arena of every message, the run's line protocol */
#define BOOT 7
#define REG_LINE_MAX 512

static const char *const kinds[] = {"air",   "air",     "air", "water", "rain",
                                    "flood", "parking", "air", "water", "air"};

struct msg {
    size_t topic_off; /* into the arena, NUL-terminated */
    size_t payload_off;
    size_t payload_len;
    char sig[CT_SIG_HEX_LEN + 1];
};

struct bench {
    uint64_t count;
    uint64_t devices;
    uint64_t repeat;
    struct ct_registry *reg;
    uint8_t master[CT_KEY_LEN];
    uint8_t (*keys)[CT_KEY_LEN]; /* per device, in registry order */
    struct ct_buf arena;         /* topics and payloads */
    struct msg *msgs;
    int64_t now_ms;
};

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *stage, uint64_t n, double cpu, double ratio)
{
    printf("stage=%s messages=%llu cpu_s=%.3f rate=%.0f us_per_msg=%.2f", stage,
           (unsigned long long)n, cpu, cpu > 0 ? (double)n / cpu : 0.0, cpu * 1e6 / (double)n);
    if (ratio > 0) {
        printf(" ratio=%.2f", ratio);
    }
    printf("\n");
}

static int make_registry(struct bench *b)
{
    struct ct_buf text;
    char err[256];
    int rc = 0;

    ct_buf_init(&text, BUF_LIMIT);
    for (uint64_t i = 0; i < b->devices && rc == 0; i++) {
        const char *kind = kinds[i % (sizeof(kinds) / sizeof(kinds[0]))];
        rc =
            ct_buf_printf(&text,
                          "{\"id\":\"bench-%s-%06llu\",\"kind\":\"%s\",\"name\":\"Station %llu\","
                          "\"lat\":%.4f,\"lon\":%.4f,\"district\":\"Hoan Kiem\","
                          "\"ward\":\"Hang Bac\"%s}\n",
                          kind, (unsigned long long)i, kind, (unsigned long long)i,
                          21.0 + (double)(i % 1000) * 1e-4, 105.8 + (double)(i / 1000) * 1e-4,
                          strcmp(kind, "parking") == 0 ? ",\"mode\":\"lot\",\"capacity\":200" : "");
    }
    if (rc == 0) {
        rc = ct_registry_parse(text.p, text.len, "bench", &b->reg, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "bench-pipeline: registry: %s\n", err);
        }
    }
    ct_buf_free(&text);
    return rc;
}

/* Encodes and signs every message before the clocks start. */
static int make_messages(struct bench *b)
{
    char topic[CT_TOPIC_MAX];
    int64_t ts0 = b->now_ms - (int64_t)b->count;

    for (size_t i = 0; i < (size_t)CT_KEY_LEN; i++) {
        b->master[i] = (uint8_t)(i * 7 + 1);
    }
    b->keys = calloc(b->devices, sizeof(*b->keys));
    b->msgs = calloc(b->count, sizeof(*b->msgs));
    if (b->keys == NULL || b->msgs == NULL) {
        return CT_E_NOMEM;
    }
    for (uint64_t d = 0; d < b->devices; d++) {
        const struct ct_device *dev = ct_registry_at(b->reg, d);
        if (dev == NULL ||
            ct_sig_device_key(b->master, sizeof(b->master), dev->id, b->keys[d]) != 0) {
            return CT_E_INVAL;
        }
    }
    ct_buf_init(&b->arena, BUF_LIMIT);
    for (uint64_t i = 0; i < b->count; i++) {
        uint64_t d = i % b->devices;
        const struct ct_device *dev = ct_registry_at(b->reg, d);
        struct ct_reading r;
        struct msg *m = &b->msgs[i];
        int rc = sim_bench_fill_reading(dev, BOOT, i / b->devices, ts0 + (int64_t)i, &r);
        if (rc == 0) {
            rc = ct_topic_format(CT_TOPIC_UP, dev->kind, dev->id, topic, sizeof(topic));
        }
        m->topic_off = b->arena.len;
        if (rc == 0) {
            rc = ct_buf_add(&b->arena, topic, strlen(topic) + 1);
        }
        m->payload_off = b->arena.len;
        if (rc == 0) {
            rc = ct_payload_encode(&r, &b->arena);
        }
        m->payload_len = b->arena.len - m->payload_off;
        if (rc == 0) {
            rc = ct_sig_sign(b->keys[d], topic, strlen(topic), b->arena.p + m->payload_off,
                             m->payload_len, m->sig);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static const char *topic_of(const struct bench *b, const struct msg *m)
{
    return b->arena.p + m->topic_off;
}

static const char *payload_of(const struct bench *b, const struct msg *m)
{
    return b->arena.p + m->payload_off;
}

/* The whole pipeline, once over every message with a fresh per-device state; the line protocol
 * goes to 'lp_all' when it is not NULL (for the gzip stages). Returns the CPU seconds, or < 0. */
static double run_full(const struct bench *b, struct ct_buf *lp_all)
{
    struct col_pipeline_cfg cfg = {.require_sig = true,
                                   .master = b->master,
                                   .master_len = sizeof(b->master),
                                   .future_ms = 300000,
                                   .backlog_ms = 7LL * 24 * 3600 * 1000,
                                   .replay_window = 1024,
                                   .max_devices = b->devices + 16};
    struct col_pipeline *p;
    struct col_verdict v;
    struct ct_buf batch;
    double t0;
    double t;
    uint64_t bad = 0;

    if (col_pipeline_create(&cfg, &p) != 0) {
        return -1;
    }
    ct_buf_init(&batch, BUF_LIMIT);
    t0 = thread_cpu_s();
    for (uint64_t i = 0; i < b->count; i++) {
        const struct msg *m = &b->msgs[i];
        const char *topic = topic_of(b, m);
        if (col_pipeline_process(p, b->reg, topic, strlen(topic), m->sig, CT_SIG_HEX_LEN,
                                 payload_of(b, m), m->payload_len, b->now_ms, &v) != 0 ||
            v.reject != CT_REJ_NONE || col_pipeline_raw_lp(v.dev, &v.reading, &batch) != 0) {
            bad++;
            continue;
        }
        if (batch.len >= BATCH_BYTES) {
            if (lp_all != NULL && ct_buf_add(lp_all, batch.p, batch.len) != 0) {
                bad++;
            }
            ct_buf_reset(&batch);
        }
    }
    t = thread_cpu_s() - t0;
    if (lp_all != NULL && ct_buf_add(lp_all, batch.p, batch.len) != 0) {
        bad++;
    }
    ct_buf_free(&batch);
    col_pipeline_free(p);
    if (bad > 0) {
        fprintf(stderr, "bench-pipeline: %llu messages not accepted\n", (unsigned long long)bad);
        return -1;
    }
    return t;
}

static double run_verify(const struct bench *b)
{
    uint64_t bad = 0;
    double t0 = thread_cpu_s();

    for (uint64_t i = 0; i < b->count; i++) {
        const struct msg *m = &b->msgs[i];
        const char *topic = topic_of(b, m);
        bad += !ct_sig_verify(b->keys[i % b->devices], topic, strlen(topic), payload_of(b, m),
                              m->payload_len, m->sig, CT_SIG_HEX_LEN);
    }
    return bad == 0 ? thread_cpu_s() - t0 : -1;
}

static double run_verify_prepared(const struct bench *b)
{
    struct ct_sig_key *k = calloc(b->devices, sizeof(*k));
    uint64_t bad = 0;
    double t0;
    double t;

    if (k == NULL) {
        return -1;
    }
    for (uint64_t d = 0; d < b->devices; d++) {
        bad += ct_sig_key_prepare(b->keys[d], &k[d]) != 0;
    }
    t0 = thread_cpu_s();
    for (uint64_t i = 0; i < b->count; i++) {
        const struct msg *m = &b->msgs[i];
        const char *topic = topic_of(b, m);
        bad += !ct_sig_verify_prepared(&k[i % b->devices], topic, strlen(topic), payload_of(b, m),
                                       m->payload_len, m->sig, CT_SIG_HEX_LEN);
    }
    t = thread_cpu_s() - t0;
    free(k);
    return bad == 0 ? t : -1;
}

static double run_decode(const struct bench *b)
{
    struct ct_reading r;
    struct ct_reason why;
    uint64_t bad = 0;
    double t0 = thread_cpu_s();

    for (uint64_t i = 0; i < b->count; i++) {
        const struct msg *m = &b->msgs[i];
        const struct ct_device *dev = ct_registry_at(b->reg, i % b->devices);
        bad += ct_payload_decode(payload_of(b, m), m->payload_len, dev->kind, &r, &why) != 0;
    }
    return bad == 0 ? thread_cpu_s() - t0 : -1;
}

/* Line protocol of one reading per device, written count times (the readings are decoded before
 * the clock; their values differ little between messages of a device). */
static double run_lp(const struct bench *b)
{
    struct ct_reading *rs = calloc(b->devices, sizeof(*rs));
    struct ct_buf batch;
    struct ct_reason why;
    uint64_t bad = 0;
    double t0;
    double t;

    if (rs == NULL) {
        return -1;
    }
    for (uint64_t d = 0; d < b->devices && d < b->count; d++) {
        const struct msg *m = &b->msgs[d];
        bad += ct_payload_decode(payload_of(b, m), m->payload_len, ct_registry_at(b->reg, d)->kind,
                                 &rs[d], &why) != 0;
    }
    ct_buf_init(&batch, BUF_LIMIT);
    t0 = thread_cpu_s();
    for (uint64_t i = 0; i < b->count; i++) {
        uint64_t d = i % b->devices;
        bad += col_pipeline_raw_lp(ct_registry_at(b->reg, d), &rs[d], &batch) != 0;
        if (batch.len >= BATCH_BYTES) {
            ct_buf_reset(&batch);
        }
    }
    t = thread_cpu_s() - t0;
    ct_buf_free(&batch);
    free(rs);
    return bad == 0 ? t : -1;
}

/* gzip of the run's line protocol in batches of about BATCH_BYTES; *ratio = in / out. */
static double run_gzip(const struct ct_buf *lp, int level, double *ratio)
{
    size_t in = 0;
    size_t out = 0;
    double t0 = thread_cpu_s();

    for (size_t off = 0; off < lp->len; off += BATCH_BYTES) {
        size_t n = lp->len - off < BATCH_BYTES ? lp->len - off : BATCH_BYTES;
        char *gz;
        size_t gz_len;
        if (ct_gzip_level(lp->p + off, n, level, &gz, &gz_len) != 0) {
            return -1;
        }
        in += n;
        out += gz_len;
        free(gz);
    }
    *ratio = out > 0 ? (double)in / (double)out : 0;
    return thread_cpu_s() - t0;
}

static int parse_args(int argc, char **argv, struct bench *b)
{
    static const struct option longopts[] = {{"count", required_argument, NULL, 'n'},
                                             {"devices", required_argument, NULL, 'd'},
                                             {"repeat", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool ok = true;
    int c;

    b->count = 200000;
    b->devices = 1000;
    b->repeat = 3;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            ok = ok && sim_bench_parse_u64(optarg, &b->count);
            break;
        case 'd':
            ok = ok && sim_bench_parse_u64(optarg, &b->devices);
            break;
        case 'r':
            ok = ok && sim_bench_parse_u64(optarg, &b->repeat);
            break;
        case 'h':
            printf("usage: bench-pipeline [--count N] [--devices D] [--repeat R]\n");
            exit(0);
        default:
            ok = false;
            break;
        }
    }
    if (!ok || optind != argc || b->count == 0 || b->devices == 0 || b->repeat == 0 ||
        b->devices > 1000000) {
        fprintf(stderr, "usage: bench-pipeline [--count N] [--devices D] [--repeat R]\n");
        return CT_E_INVAL;
    }
    return 0;
}

/* The best of 'repeat' runs of a stage (the least disturbed by the other jobs on the machine). */
#define BEST(expr, out)                                                                            \
    do {                                                                                           \
        (out) = -1;                                                                                \
        for (uint64_t k_ = 0; k_ < b.repeat; k_++) {                                               \
            double t_ = (expr);                                                                    \
            if (t_ < 0) {                                                                          \
                (out) = -1;                                                                        \
                break;                                                                             \
            }                                                                                      \
            if ((out) < 0 || t_ < (out)) {                                                         \
                (out) = t_;                                                                        \
            }                                                                                      \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    struct bench b;
    struct ct_buf lp;
    double t_full;
    double t;
    double ratio;
    int rc;

    memset(&b, 0, sizeof(b));
    ct_buf_init(&lp, BUF_LIMIT);
    if (parse_args(argc, argv, &b) != 0) {
        return 2;
    }
    b.now_ms = sim_bench_wall_ms();
    rc = make_registry(&b);
    if (rc == 0) {
        rc = make_messages(&b);
    }
    if (rc != 0) {
        fprintf(stderr, "bench-pipeline: setup failed: %s\n", ct_strerror(rc));
        goto out;
    }
    rc = CT_E_INVAL;
    BEST(run_verify(&b), t);
    if (t < 0) {
        goto out;
    }
    report("verify", b.count, t, 0);
    BEST(run_verify_prepared(&b), t);
    if (t < 0) {
        goto out;
    }
    report("verify-prepared", b.count, t, 0);
    BEST(run_decode(&b), t);
    if (t < 0) {
        goto out;
    }
    report("decode", b.count, t, 0);
    BEST(run_lp(&b), t);
    if (t < 0) {
        goto out;
    }
    report("lp", b.count, t, 0);
    if (run_full(&b, &lp) < 0) {
        goto out;
    }
    for (int level = 1; level <= 6; level += 5) {
        char name[16];
        BEST(run_gzip(&lp, level, &ratio), t);
        if (t < 0) {
            goto out;
        }
        snprintf(name, sizeof(name), "gzip-%d", level);
        report(name, b.count, t, ratio);
    }
    BEST(run_full(&b, NULL), t_full);
    if (t_full < 0) {
        goto out;
    }
    report("full", b.count, t_full, 0);
    rc = 0;
out:
    ct_buf_free(&lp);
    ct_buf_free(&b.arena);
    free(b.msgs);
    free(b.keys);
    ct_registry_free(b.reg);
    return rc == 0 ? 0 : 1;
}

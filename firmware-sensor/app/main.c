/* main.c - program sensor-node: one simulated sensor node on POSIX (see firmware-sensor/README.md).
 *
 * Wires the HAL (posix), the random-walk sensor model, the app state machine, the outbox and the
 * MQTT transport, and runs them on the main thread until --count readings were acked or SIGINT /
 * SIGTERM. Logs go to stderr; --print-key prints a derived device key on stdout. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/sig.h"
#include "ct/topic.h"
#include "fw_app.h"
#include "fw_app_model.h"
#include "fw_sensors.h"
#include "fw_hal.h"
#include "fw_tx.h"
#include "ct/key.h"

#define MASTER_MAX 256
#define SHUTDOWN_FLUSH_MS 5000
#define IDLE_MAX_MS 200

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
}

struct opts {
    const char *kind;
    const char *id;
    const char *broker;
    const char *key_file;
    const char *state_dir;
    const char *ca;
    const char *cert;
    const char *key_pem;
    const char *master_key_file;
    const char *park_mode;
    const char *sensors;     /* "bus" (default): drivers over the HAL buses; "model": direct */
    const char *replay_uart; /* air: recorded PMS5003 capture replayed on the UART */
    uint32_t interval_ms;
    uint64_t count;
    double rate;
    double scale;
    uint64_t max_records;
    int inflight;
    uint64_t seed;
    bool print_key;
    bool no_sync;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sensor-node --kind K --id ID --broker URI --key-file F --state-dir DIR\n"
            "                   [--interval-ms N] [--count N] [--rate N] [--scale X]\n"
            "                   [--max-records N] [--inflight N] [--seed N] [--park-mode lot|bay]\n"
            "                   [--no-sync] [--ca F] [--cert F] [--key-pem F]\n"
            "                   [--sensors bus|model] [--replay-uart F]\n"
            "       sensor-node --print-key --master-key-file F --id ID\n"
            "  --kind K           air|water|rain|flood|parking\n"
            "  --id ID            device id ([a-z0-9-]{1,64}); also the MQTT client id\n"
            "  --broker URI       tcp://host:port or ssl://host:port\n"
            "  --key-file F       the device key, 64 hex chars\n"
            "  --state-dir DIR    non-volatile storage (boot counter, outbox)\n"
            "  --interval-ms N    replaces the kind's base period (air 60 s, others 300 s)\n"
            "  --count N          exit 0 once N readings were acked by the broker\n"
            "  --rate N           messages/s sent from the outbox (backlog drain; default 20)\n"
            "  --scale X          time compression: divides every interval (default 1)\n"
            "  --max-records N    outbox bound (default: 7 days of readings)\n"
            "  --inflight N       unacked publishes at once (default 16)\n"
            "  --seed N           seed of the simulated sensors (default: random)\n"
            "  --park-mode M      parking: lot (default) or bay\n"
            "  --no-sync          do not fsync the outbox (faster, not power-loss safe)\n"
            "  --sensors M        bus (default): samplers read the simulated buses through the\n"
            "                     drivers; model: read the model's values directly\n"
            "  --replay-uart F    air: replay a recorded PMS5003 capture (hex) on the UART\n"
            "  --ca/--cert/--key-pem F   TLS trust store, client certificate and key (PEM)\n"
            "  --print-key        print HKDF(master, id) as hex and exit\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max) {
        return CT_E_INVAL;
    }
    *out = (uint64_t)v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        return CT_E_INVAL;
    }
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        O_KIND = 256,
        O_ID,
        O_BROKER,
        O_KEYFILE,
        O_STATE,
        O_INTERVAL,
        O_COUNT,
        O_RATE,
        O_CA,
        O_CERT,
        O_KEYPEM,
        O_PRINT,
        O_MASTER,
        O_SCALE,
        O_MAXREC,
        O_INFL,
        O_SEED,
        O_PARK,
        O_NOSYNC,
        O_SENSORS,
        O_REPLAY,
        O_HELP
    };
    static const struct option lo[] = {
        {"kind", required_argument, NULL, O_KIND},
        {"id", required_argument, NULL, O_ID},
        {"broker", required_argument, NULL, O_BROKER},
        {"key-file", required_argument, NULL, O_KEYFILE},
        {"state-dir", required_argument, NULL, O_STATE},
        {"interval-ms", required_argument, NULL, O_INTERVAL},
        {"count", required_argument, NULL, O_COUNT},
        {"rate", required_argument, NULL, O_RATE},
        {"ca", required_argument, NULL, O_CA},
        {"cert", required_argument, NULL, O_CERT},
        {"key-pem", required_argument, NULL, O_KEYPEM},
        {"print-key", no_argument, NULL, O_PRINT},
        {"master-key-file", required_argument, NULL, O_MASTER},
        {"scale", required_argument, NULL, O_SCALE},
        {"max-records", required_argument, NULL, O_MAXREC},
        {"inflight", required_argument, NULL, O_INFL},
        {"seed", required_argument, NULL, O_SEED},
        {"park-mode", required_argument, NULL, O_PARK},
        {"no-sync", no_argument, NULL, O_NOSYNC},
        {"sensors", required_argument, NULL, O_SENSORS},
        {"replay-uart", required_argument, NULL, O_REPLAY},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    uint64_t v = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case O_KIND:
            o->kind = optarg;
            break;
        case O_ID:
            o->id = optarg;
            break;
        case O_BROKER:
            o->broker = optarg;
            break;
        case O_KEYFILE:
            o->key_file = optarg;
            break;
        case O_STATE:
            o->state_dir = optarg;
            break;
        case O_CA:
            o->ca = optarg;
            break;
        case O_CERT:
            o->cert = optarg;
            break;
        case O_KEYPEM:
            o->key_pem = optarg;
            break;
        case O_MASTER:
            o->master_key_file = optarg;
            break;
        case O_PARK:
            o->park_mode = optarg;
            break;
        case O_PRINT:
            o->print_key = true;
            break;
        case O_NOSYNC:
            o->no_sync = true;
            break;
        case O_SENSORS:
            o->sensors = optarg;
            rc = strcmp(optarg, "bus") == 0 || strcmp(optarg, "model") == 0 ? 0 : CT_E_INVAL;
            break;
        case O_REPLAY:
            o->replay_uart = optarg;
            break;
        case O_INTERVAL:
            rc = parse_u64(optarg, 86400000ull, &v);
            o->interval_ms = (uint32_t)v;
            rc = rc == 0 && v == 0 ? CT_E_INVAL : rc;
            break;
        case O_COUNT:
            rc = parse_u64(optarg, UINT64_MAX, &o->count);
            break;
        case O_RATE:
            rc = parse_double(optarg, 0, 1e6, &o->rate);
            break;
        case O_SCALE:
            rc = parse_double(optarg, 1, 1e7, &o->scale);
            break;
        case O_MAXREC:
            rc = parse_u64(optarg, 100000000ull, &o->max_records);
            rc = rc == 0 && o->max_records == 0 ? CT_E_INVAL : rc;
            break;
        case O_INFL:
            rc = parse_u64(optarg, FW_OUTBOX_ACK_WINDOW, &v);
            o->inflight = (int)v;
            rc = rc == 0 && v == 0 ? CT_E_INVAL : rc;
            break;
        case O_SEED:
            rc = parse_u64(optarg, UINT64_MAX, &o->seed);
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            return CT_E_INVAL;
        }
        if (rc != 0) {
            fprintf(stderr, "sensor-node: bad value for --%s: %s\n", lo[c - O_KIND].name, optarg);
            return rc;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "sensor-node: unexpected argument %s\n", argv[optind]);
        return CT_E_INVAL;
    }
    return 0;
}

static int print_key(const struct opts *o)
{
    uint8_t master[MASTER_MAX];
    size_t mlen = 0;
    uint8_t key[CT_KEY_LEN];
    if (o->master_key_file == NULL || o->id == NULL || !ct_device_id_valid(o->id, strlen(o->id))) {
        fprintf(stderr, "sensor-node: --print-key needs --master-key-file and a valid --id\n");
        return 2;
    }
    int rc = ct_key_read_file(o->master_key_file, CT_KEY_MASTER_MIN, master, sizeof(master), &mlen,
                              NULL);
    if (rc == 0) {
        rc = ct_sig_device_key(master, mlen, o->id, key);
    }
    if (rc != 0) {
        fprintf(stderr, "sensor-node: master key %s: %s\n", o->master_key_file, ct_strerror(rc));
        return 1;
    }
    for (size_t i = 0; i < CT_KEY_LEN; i++) {
        printf("%02x", key[i]);
    }
    printf("\n");
    return 0;
}

/* What the transport's events go to: the app, and the transport itself to renew its will. */
struct node_ctx {
    struct fw_app *app;
    struct fw_tx *tx;
};

static void dispatch(void *arg, const struct fw_tx_event *ev)
{
    struct node_ctx *ctx = arg;
    struct fw_app *app = ctx->app;
    if (ev->type == FW_TX_EV_CONNECTED) {
        fprintf(stderr, "sensor-node: connected\n");
    } else if (ev->type == FW_TX_EV_LOST) {
        fprintf(stderr, "sensor-node: connection lost; resending from the outbox\n");
    }
    fw_app_on_tx_event(app, ev);
    if (ev->type == FW_TX_EV_LOST && ctx->tx != NULL) {
        /* The next connection registers a will signed with its own status seq. */
        char wtopic[CT_TOPIC_MAX];
        char wpayload[256];
        char wsig[CT_SIG_HEX_LEN + 1];
        if (fw_app_status(app, false, wtopic, sizeof(wtopic), wpayload, sizeof(wpayload), wsig) !=
                0 ||
            fw_tx_set_will(ctx->tx, wtopic, wpayload, wsig) != 0) {
            fprintf(stderr, "sensor-node: could not renew the will; keeping the old one\n");
        }
    }
}

static void wait_until(int64_t next, int64_t now)
{
    int64_t wait = next - now;
    if (wait < 0) {
        wait = 0;
    }
    if (wait > IDLE_MAX_MS) {
        wait = IDLE_MAX_MS;
    }
    if (wait > 0) {
        fw_hal_idle((uint32_t)wait);
    }
}

/* Lets the acks of what is in flight (and the offline status) arrive, bounded. */
static void shutdown_flush(struct fw_app *app, struct fw_tx *tx)
{
    int64_t deadline = fw_hal_mono_ms() + SHUTDOWN_FLUSH_MS;
    struct fw_app_stats st;
    fw_app_get_stats(app, &st);
    uint64_t status_acked = st.status_acked;
    bool offline_sent = false;
    for (;;) {
        int64_t now = fw_hal_mono_ms();
        if (now >= deadline || !fw_tx_connected(tx)) {
            break;
        }
        struct node_ctx ctx = {app, tx};
        fw_tx_poll(tx, now, dispatch, &ctx);
        if (!offline_sent && fw_outbox_outstanding(fw_app_outbox(app)) == 0) {
            offline_sent = fw_app_publish_offline(app) == 0;
        }
        fw_app_get_stats(app, &st);
        if (offline_sent && st.status_acked > status_acked &&
            fw_outbox_outstanding(fw_app_outbox(app)) == 0) {
            break;
        }
        wait_until(now + 50, now);
    }
}

static int run(const struct opts *o)
{
    enum ct_kind kind;
    uint8_t key[CT_KEY_LEN];
    size_t klen = 0;
    int rc;
    if (o->kind == NULL || ct_kind_parse(o->kind, strlen(o->kind), &kind) != 0) {
        fprintf(stderr, "sensor-node: --kind must be air, water, rain, flood or parking\n");
        return 2;
    }
    if (o->id == NULL || !ct_device_id_valid(o->id, strlen(o->id)) || o->broker == NULL ||
        o->key_file == NULL || o->state_dir == NULL) {
        fprintf(stderr, "sensor-node: --id, --broker, --key-file and --state-dir are required\n");
        usage(stderr);
        return 2;
    }
    bool bay = o->park_mode != NULL && strcmp(o->park_mode, "bay") == 0;
    if (o->park_mode != NULL && !bay && strcmp(o->park_mode, "lot") != 0) {
        fprintf(stderr, "sensor-node: --park-mode must be lot or bay\n");
        return 2;
    }
    rc = ct_key_read_file(o->key_file, CT_KEY_DEVICE_LEN, key, sizeof(key), &klen, NULL);
    if (rc != 0 || klen != CT_KEY_LEN) {
        fprintf(stderr, "sensor-node: key file %s: %s\n", o->key_file,
                rc != 0 ? ct_strerror(rc) : "must hold 32 bytes as 64 hex chars");
        return 1;
    }
    struct fw_nvs *nvs = NULL;
    rc = fw_nvs_open(o->state_dir, &nvs);
    if (rc != 0) {
        fprintf(stderr, "sensor-node: state dir %s: %s\n", o->state_dir, ct_strerror(rc));
        return 1;
    }
    static struct fw_app_model model;
    fw_app_model_init(&model, kind,
                      o->seed ? o->seed
                              : ((uint64_t)fw_hal_random_u32() << 32 | fw_hal_random_u32()));
    model.bay = bay;
    fw_hal_sensor_set_source(fw_app_model_read, &model);
    struct fw_sensors *sensors = NULL;
    if (o->sensors == NULL || strcmp(o->sensors, "bus") == 0) {
        struct fw_sensors_cfg scfg = {
            .kind = kind,
            .park_mode = bay ? CT_PARK_BAY : CT_PARK_LOT,
            .nvs = nvs,
            .sync = !o->no_sync,
            .node = NULL,
            .seed = model.rng,
        };
        rc = fw_sensors_create(&scfg, &sensors);
        if (rc == 0 && o->replay_uart != NULL) {
            rc = fw_hal_uart_replay(fw_sensors_bus(sensors), FW_HAL_UART_PMS, o->replay_uart);
        }
        if (rc != 0) {
            fprintf(stderr, "sensor-node: sensors: %s\n", ct_strerror(rc));
            fw_sensors_destroy(sensors);
            fw_nvs_close(nvs);
            return 1;
        }
    }

    struct fw_app_cfg acfg = {
        .kind = kind,
        .id = o->id,
        .key = key,
        .nvs = nvs,
        .time_scale = o->scale,
        .interval_ms = o->interval_ms,
        .backlog_rate = o->rate,
        .max_records = (size_t)o->max_records,
        .sync = !o->no_sync,
        .max_inflight = o->inflight,
        .park_mode = bay ? CT_PARK_BAY : CT_PARK_LOT,
        .publish_status = true,
        .sampler = sensors != NULL ? fw_sensors_sampler(sensors) : NULL,
    };
    struct fw_app *app = NULL;
    struct fw_tx *tx = NULL;
    int exit_code = 1;
    rc = fw_app_create(&acfg, &app);
    if (rc != 0) {
        fprintf(stderr, "sensor-node: app: %s\n", ct_strerror(rc));
        goto out_nvs;
    }
    char wtopic[CT_TOPIC_MAX];
    char wpayload[256];
    char wsig[CT_SIG_HEX_LEN + 1];
    rc = fw_app_status(app, false, wtopic, sizeof(wtopic), wpayload, sizeof(wpayload), wsig);
    if (rc != 0) {
        goto out_app;
    }
    struct fw_tx_cfg tcfg = {
        .broker = o->broker,
        .client_id = o->id,
        .will_topic = wtopic,
        .will_payload = wpayload,
        .will_sig = wsig,
        .max_inflight = o->inflight ? o->inflight + 1 : 17,
        .ca_file = o->ca,
        .cert_file = o->cert,
        .key_file = o->key_pem,
    };
    rc = fw_tx_create(&tcfg, &tx);
    if (rc != 0) {
        fprintf(stderr, "sensor-node: transport: %s\n", ct_strerror(rc));
        goto out_app;
    }
    fw_app_set_tx(app, tx);
    struct node_ctx ctx = {app, tx};
    struct fw_app_stats st;
    fw_app_get_stats(app, &st);
    const struct fw_outbox *ob = fw_app_outbox(app);
    fprintf(stderr, "sensor-node: %s %s boot %llu, %llu readings waiting in the outbox\n", o->kind,
            o->id, (unsigned long long)st.boot, (unsigned long long)fw_outbox_pending(ob));

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    while (!stop_flag) {
        int64_t now = fw_hal_mono_ms();
        int64_t next_tx = fw_tx_poll(tx, now, dispatch, &ctx);
        int64_t next_app = fw_app_step(app, now);
        fw_app_get_stats(app, &st);
        if (o->count > 0 && st.acked >= o->count) {
            fprintf(stderr, "sensor-node: %llu readings acked\n", (unsigned long long)st.acked);
            break;
        }
        wait_until(next_tx < next_app ? next_tx : next_app, now);
    }
    shutdown_flush(app, tx);
    fw_tx_disconnect(tx, 2000);
    struct fw_outbox_stats os;
    fw_outbox_get_stats(ob, &os);
    fw_app_get_stats(app, &st);
    fprintf(stderr,
            "sensor-node: exit: queued=%llu published=%llu acked=%llu pending=%llu "
            "dropped=%llu out_of_range=%llu\n",
            (unsigned long long)st.queued, (unsigned long long)st.published,
            (unsigned long long)st.acked, (unsigned long long)os.pending,
            (unsigned long long)os.dropped, (unsigned long long)st.out_of_range);
    exit_code = 0;
    fw_tx_destroy(tx);
out_app:
    fw_app_destroy(app);
out_nvs:
    fw_sensors_destroy(sensors);
    fw_nvs_close(nvs);
    return exit_code;
}

int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof(o));
    o.rate = 20;
    o.scale = 1;
    if (parse_opts(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (o.print_key) {
        return print_key(&o);
    }
    return run(&o);
}

/* fleet.c - program fleet-sim: runs the real firmware app for many registry devices in one
 * process, one thread, with the city model of physics.c as the sensor source.
 *
 * --mode per-node: one MQTT client per node (client id = device id, its own will), as in the
 * field; --mode shared: --connections clients "fleet-sim-<i>" publish for all nodes (no per-node
 * will; each node still publishes its retained online status and, at a clean exit, offline).
 * Every node keeps its own state directory (boot counter, outbox) under --state-dir.
 * stdout: a summary line "published=<n> acked=<n>" at exit; stderr: logs and --print-stats. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct/err.h"
#include "ct/registry.h"
#include "ct/sig.h"
#include "ct/topic.h"
#include "fw_app.h"
#include "fw_hal.h"
#include "fw_tx.h"
#include "sim_physics.h"

#define MASTER_MAX 256
#define IDLE_MAX_MS 100
#define SHUTDOWN_MS 3000
#define PER_NODE_WARN 500

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
}

struct conn {
    struct fw_tx *tx;
    bool room; /* deliveries freed window space: wake waiting nodes */
};

struct node {
    struct sim_node phys; /* first: the HAL source's node context */
    struct fw_nvs *nvs;
    struct fw_app *app;
    struct conn *conn; /* per-node: its own; shared: one of the pool */
    int64_t wake;
};

struct opts {
    const char *registry;
    const char *broker;
    const char *master_key_file;
    const char *kinds;
    const char *mode;
    const char *state_dir;
    uint64_t limit;
    uint64_t connections;
    double scale;
    double duration_s;
    uint64_t count_per_node;
    uint64_t seed;
    uint64_t interval_ms;
    uint64_t inflight;
    double rate;
    bool print_stats;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fleet-sim --registry F --broker URI --master-key-file F [options]\n"
            "  --kinds a,b,...       only these kinds (air,water,rain,flood,parking)\n"
            "  --limit N             at most N devices (registry order)\n"
            "  --mode per-node|shared  one MQTT client per node (default) or a shared pool\n"
            "  --connections N       shared mode: pool size (default 4)\n"
            "  --rate-scale X        time compression: simulated seconds per second (default 1)\n"
            "  --duration-s S        stop after S real seconds (default: no limit)\n"
            "  --count-per-node N    stop once every node had N readings acked\n"
            "  --seed N              seed of the city model (default 1)\n"
            "  --interval-ms N       replaces every node's base period (before scaling)\n"
            "  --inflight N          unacked publishes per node (default 8)\n"
            "  --rate N              outbox drain per node, messages/s (default 20)\n"
            "  --state-dir DIR       per-node storage (default /tmp/fleet-sim-<pid>)\n"
            "  --print-stats         a status line each second on stderr\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        return CT_E_INVAL;
    }
    *out = (uint64_t)v;
    return 0;
}

static int parse_pos_double(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0 && v < 1e9)) {
        return CT_E_INVAL;
    }
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"registry", required_argument, NULL, 'R'},
        {"broker", required_argument, NULL, 'b'},
        {"master-key-file", required_argument, NULL, 'm'},
        {"kinds", required_argument, NULL, 'k'},
        {"limit", required_argument, NULL, 'l'},
        {"mode", required_argument, NULL, 'M'},
        {"connections", required_argument, NULL, 'c'},
        {"rate-scale", required_argument, NULL, 's'},
        {"duration-s", required_argument, NULL, 'd'},
        {"count-per-node", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 'S'},
        {"interval-ms", required_argument, NULL, 'i'},
        {"inflight", required_argument, NULL, 'f'},
        {"rate", required_argument, NULL, 'r'},
        {"state-dir", required_argument, NULL, 'D'},
        {"print-stats", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'R':
            o->registry = optarg;
            break;
        case 'b':
            o->broker = optarg;
            break;
        case 'm':
            o->master_key_file = optarg;
            break;
        case 'k':
            o->kinds = optarg;
            break;
        case 'M':
            o->mode = optarg;
            break;
        case 'D':
            o->state_dir = optarg;
            break;
        case 'p':
            o->print_stats = true;
            break;
        case 'l':
            rc = parse_u64(optarg, &o->limit);
            break;
        case 'c':
            rc = parse_u64(optarg, &o->connections);
            break;
        case 'n':
            rc = parse_u64(optarg, &o->count_per_node);
            break;
        case 'S':
            rc = parse_u64(optarg, &o->seed);
            break;
        case 'i':
            rc = parse_u64(optarg, &o->interval_ms);
            break;
        case 'f':
            rc = parse_u64(optarg, &o->inflight);
            break;
        case 's':
            rc = parse_pos_double(optarg, &o->scale);
            break;
        case 'd':
            rc = parse_pos_double(optarg, &o->duration_s);
            break;
        case 'r':
            rc = parse_pos_double(optarg, &o->rate);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return CT_E_INVAL;
        }
        if (rc != 0) {
            fprintf(stderr, "fleet-sim: bad option value: %s\n", optarg);
            return rc;
        }
    }
    if (optind != argc || o->registry == NULL || o->broker == NULL || o->master_key_file == NULL) {
        return CT_E_INVAL;
    }
    if (strcmp(o->mode, "per-node") != 0 && strcmp(o->mode, "shared") != 0) {
        fprintf(stderr, "fleet-sim: --mode must be per-node or shared\n");
        return CT_E_INVAL;
    }
    if (o->connections == 0 || o->connections > 1024 || o->inflight == 0 ||
        o->inflight > FW_OUTBOX_ACK_WINDOW || o->interval_ms > 86400000ull) {
        fprintf(stderr, "fleet-sim: --connections 1..1024, --inflight 1..%d\n",
                FW_OUTBOX_ACK_WINDOW);
        return CT_E_INVAL;
    }
    return 0;
}

/* Kind filter from "air,rain": bit per kind; all when NULL. */
static int parse_kinds(const char *s, unsigned *mask)
{
    *mask = 0;
    if (s == NULL) {
        *mask = (1u << CT_KIND__COUNT) - 1;
        return 0;
    }
    const char *p = s;
    while (*p != '\0') {
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        enum ct_kind k;
        if (ct_kind_parse(p, len, &k) != 0) {
            fprintf(stderr, "fleet-sim: unknown kind in --kinds: %.*s\n", (int)len, p);
            return CT_E_INVAL;
        }
        *mask |= 1u << k;
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    return 0;
}

static void dispatch(void *arg, const struct fw_tx_event *ev)
{
    struct conn *c = arg;
    if (ev->type == FW_TX_EV_DELIVERED) {
        struct fw_app *app = ev->owner;
        struct node *n = fw_app_user(app);
        fw_app_on_tx_event(app, ev);
        n->wake = 0;
        c->room = true;
    }
}

struct fleet {
    struct opts o;
    struct sim_physics phys;
    struct ct_registry *reg;
    struct node *nodes;
    size_t nnodes;
    struct conn *conns;
    size_t nconns;
    bool shared;
};

/* Broadcasts a connection event to the nodes of conn c. */
static void conn_event(struct fleet *fl, struct conn *c, const struct fw_tx_event *ev)
{
    for (size_t i = 0; i < fl->nnodes; i++) {
        if (fl->nodes[i].conn == c) {
            fw_app_on_tx_event(fl->nodes[i].app, ev);
            fl->nodes[i].wake = 0;
        }
    }
}

struct poll_ctx {
    struct fleet *fl;
    struct conn *c;
};

static void dispatch_all(void *arg, const struct fw_tx_event *ev)
{
    struct poll_ctx *pc = arg;
    if (ev->type == FW_TX_EV_DELIVERED) {
        dispatch(pc->c, ev);
    } else {
        conn_event(pc->fl, pc->c, ev);
    }
}

static int setup_nodes(struct fleet *fl, const uint8_t *master, size_t mlen, unsigned kinds)
{
    size_t total = ct_registry_count(fl->reg);
    fl->nodes = calloc(total ? total : 1, sizeof(*fl->nodes));
    if (fl->nodes == NULL) {
        return CT_E_NOMEM;
    }
    size_t nconn = fl->shared ? (size_t)fl->o.connections : total;
    fl->conns = calloc(nconn ? nconn : 1, sizeof(*fl->conns));
    if (fl->conns == NULL) {
        return CT_E_NOMEM;
    }
    for (size_t i = 0; i < total; i++) {
        const struct ct_device *d = ct_registry_at(fl->reg, i);
        if (!(kinds & (1u << d->kind))) {
            continue;
        }
        if (fl->o.limit > 0 && fl->nnodes >= fl->o.limit) {
            break;
        }
        struct node *n = &fl->nodes[fl->nnodes];
        n->phys.dev = d;
        n->phys.index = (uint32_t)fl->nnodes;
        n->phys.user = n;
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", fl->o.state_dir, d->id);
        int rc = fw_nvs_open(dir, &n->nvs);
        if (rc != 0) {
            fprintf(stderr, "fleet-sim: %s: %s\n", dir, ct_strerror(rc));
            return rc;
        }
        uint8_t key[CT_KEY_LEN];
        rc = ct_sig_device_key(master, mlen, d->id, key);
        if (rc != 0) {
            return rc;
        }
        uint64_t interval = fl->o.interval_ms;
        struct fw_app_cfg cfg = {
            .kind = d->kind,
            .id = d->id,
            .key = key,
            .nvs = n->nvs,
            .time_scale = fl->o.scale,
            .interval_ms = (uint32_t)interval,
            .backlog_rate = fl->o.rate,
            .sync = false,
            .max_inflight = (int)fl->o.inflight,
            .mm_per_tip = d->mm_per_tip,
            .park_mode = d->park_mode,
            .publish_status = true,
            .sensor_node = &n->phys,
        };
        rc = fw_app_create(&cfg, &n->app);
        if (rc != 0) {
            fprintf(stderr, "fleet-sim: %s: app: %s\n", d->id, ct_strerror(rc));
            return rc;
        }
        fl->nnodes++;
        if (!fl->shared) {
            struct conn *c = &fl->conns[fl->nconns++];
            char wt[CT_TOPIC_MAX];
            char wp[256];
            char ws[CT_SIG_HEX_LEN + 1];
            rc = fw_app_status(n->app, false, wt, sizeof(wt), wp, sizeof(wp), ws);
            struct fw_tx_cfg tc = {
                .broker = fl->o.broker,
                .client_id = d->id,
                .will_topic = wt,
                .will_payload = wp,
                .will_sig = ws,
                .max_inflight = (int)fl->o.inflight + 1,
                .reconnect_max_ms = 10000,
            };
            if (rc == 0) {
                rc = fw_tx_create(&tc, &c->tx);
            }
            if (rc != 0) {
                return rc;
            }
            n->conn = c;
        }
    }
    if (fl->shared) {
        fl->nconns = nconn;
        for (size_t i = 0; i < nconn; i++) {
            char cid[32];
            snprintf(cid, sizeof(cid), "fleet-sim-%zu", i);
            size_t per = fl->nnodes / nconn + 1;
            size_t window = per * (fl->o.inflight + 1);
            struct fw_tx_cfg tc = {
                .broker = fl->o.broker,
                .client_id = cid,
                .max_inflight = window > FW_TX_MAX_INFLIGHT ? FW_TX_MAX_INFLIGHT : (int)window,
                .reconnect_max_ms = 10000,
            };
            int rc = fw_tx_create(&tc, &fl->conns[i].tx);
            if (rc != 0) {
                return rc;
            }
        }
        for (size_t i = 0; i < fl->nnodes; i++) {
            fl->nodes[i].conn = &fl->conns[i % nconn];
        }
    }
    for (size_t i = 0; i < fl->nnodes; i++) {
        fw_app_set_tx(fl->nodes[i].app, fl->nodes[i].conn->tx);
    }
    return 0;
}

static void totals(const struct fleet *fl, uint64_t *published, uint64_t *acked, uint64_t *backlog,
                   uint64_t *min_acked)
{
    *published = *acked = *backlog = 0;
    *min_acked = UINT64_MAX;
    for (size_t i = 0; i < fl->nnodes; i++) {
        struct fw_app_stats st;
        fw_app_get_stats(fl->nodes[i].app, &st);
        *published += st.published;
        *acked += st.acked;
        *backlog += fw_outbox_pending(fw_app_outbox(fl->nodes[i].app));
        *min_acked = st.acked < *min_acked ? st.acked : *min_acked;
    }
    if (fl->nnodes == 0) {
        *min_acked = 0;
    }
}

static void run_loop(struct fleet *fl)
{
    int64_t start = fw_hal_mono_ms();
    int64_t stats_at = start + 1000;
    uint64_t last_acked = 0;
    for (;;) {
        int64_t now = fw_hal_mono_ms();
        int64_t next = now + IDLE_MAX_MS;
        for (size_t i = 0; i < fl->nconns; i++) {
            struct poll_ctx pc = {fl, &fl->conns[i]};
            int64_t t = fw_tx_poll(fl->conns[i].tx, now, dispatch_all, &pc);
            next = t < next ? t : next;
        }
        for (size_t i = 0; i < fl->nnodes; i++) {
            struct node *n = &fl->nodes[i];
            if (n->wake <= now || n->conn->room) {
                n->wake = fw_app_step(n->app, now);
            }
            next = n->wake < next ? n->wake : next;
        }
        for (size_t i = 0; i < fl->nconns; i++) {
            fl->conns[i].room = false;
        }
        uint64_t published, acked, backlog, min_acked;
        totals(fl, &published, &acked, &backlog, &min_acked);
        if (fl->o.print_stats && now >= stats_at) {
            size_t up = 0;
            for (size_t i = 0; i < fl->nconns; i++) {
                up += fw_tx_connected(fl->conns[i].tx) ? 1 : 0;
            }
            double secs = (double)(now - stats_at + 1000) / 1000.0;
            fprintf(stderr,
                    "fleet-sim: t=%llds nodes=%zu connections=%zu/%zu acked/s=%.0f "
                    "published=%llu acked=%llu backlog=%llu\n",
                    (long long)((now - start) / 1000), fl->nnodes, up, fl->nconns,
                    (double)(acked - last_acked) / secs, (unsigned long long)published,
                    (unsigned long long)acked, (unsigned long long)backlog);
            last_acked = acked;
            stats_at = now + 1000;
        }
        if (stop_flag || (fl->o.duration_s > 0 && now - start >= fl->o.duration_s * 1000.0) ||
            (fl->o.count_per_node > 0 && min_acked >= fl->o.count_per_node)) {
            return;
        }
        if (next > now) {
            fw_hal_idle((uint32_t)(next - now > IDLE_MAX_MS ? IDLE_MAX_MS : next - now));
        }
    }
}

/* Publishes every node's offline status as the windows allow (bounded wait for the acks), then
 * disconnects. */
static void shutdown_fleet(struct fleet *fl)
{
    size_t next = 0;
    int64_t deadline = fw_hal_mono_ms() + SHUTDOWN_MS;
    for (;;) {
        int64_t now = fw_hal_mono_ms();
        while (next < fl->nnodes) {
            int rc = fw_app_publish_offline(fl->nodes[next].app);
            if (rc == CT_E_FULL) {
                break;
            }
            next++; /* published, or not connected: nothing more to do for it */
        }
        int inflight = 0;
        for (size_t i = 0; i < fl->nconns; i++) {
            struct poll_ctx pc = {fl, &fl->conns[i]};
            fw_tx_poll(fl->conns[i].tx, now, dispatch_all, &pc);
            inflight += fw_tx_connected(fl->conns[i].tx) ? fw_tx_inflight(fl->conns[i].tx) : 0;
        }
        if (inflight == 0 && next == fl->nnodes) {
            break;
        }
        if (now >= deadline) {
            fprintf(stderr, "fleet-sim: shutdown: %zu/%zu offline statuses sent, %d in flight\n",
                    next, fl->nnodes, inflight);
            break;
        }
        fw_hal_idle(20);
    }
    for (size_t i = 0; i < fl->nconns; i++) {
        fw_tx_disconnect(fl->conns[i].tx, 1000);
    }
}

static void free_fleet(struct fleet *fl)
{
    for (size_t i = 0; i < fl->nconns; i++) {
        fw_tx_destroy(fl->conns[i].tx);
    }
    for (size_t i = 0; i < fl->nnodes; i++) {
        fw_app_destroy(fl->nodes[i].app);
        fw_nvs_close(fl->nodes[i].nvs);
    }
    free(fl->conns);
    free(fl->nodes);
    ct_registry_free(fl->reg);
}

int main(int argc, char **argv)
{
    static struct fleet fl;
    char default_dir[64];
    fl.o.mode = "per-node";
    fl.o.connections = 4;
    fl.o.scale = 1;
    fl.o.seed = 1;
    fl.o.inflight = 8;
    fl.o.rate = 20;
    if (parse_opts(argc, argv, &fl.o) != 0) {
        usage(stderr);
        return 2;
    }
    if (fl.o.state_dir == NULL) {
        snprintf(default_dir, sizeof(default_dir), "/tmp/fleet-sim-%ld", (long)getpid());
        fl.o.state_dir = default_dir;
    }
    unsigned kinds = 0;
    if (parse_kinds(fl.o.kinds, &kinds) != 0) {
        return 2;
    }
    fl.shared = strcmp(fl.o.mode, "shared") == 0;
    uint8_t master[MASTER_MAX];
    size_t mlen = 0;
    int rc = fw_app_read_hex_file(fl.o.master_key_file, master, sizeof(master), &mlen);
    if (rc != 0) {
        fprintf(stderr, "fleet-sim: master key %s: %s\n", fl.o.master_key_file, ct_strerror(rc));
        return 1;
    }
    char err[512];
    rc = ct_registry_load(fl.o.registry, &fl.reg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "fleet-sim: %s\n", err);
        return 1;
    }
    sim_physics_init(&fl.phys, fl.o.seed, fl.o.scale, fw_hal_wall_ms(), fw_hal_mono_ms());
    fw_hal_sensor_set_source(sim_physics_read, &fl.phys);
    int exit_code = 1;
    rc = setup_nodes(&fl, master, mlen, kinds);
    if (rc != 0) {
        fprintf(stderr, "fleet-sim: setup: %s\n", ct_strerror(rc));
        goto out;
    }
    if (!fl.shared && fl.nnodes > PER_NODE_WARN) {
        fprintf(stderr, "fleet-sim: %zu MQTT clients in per-node mode; consider --mode shared\n",
                fl.nnodes);
    }
    fprintf(stderr, "fleet-sim: %zu nodes, %zu connections (%s), scale %g, state %s\n", fl.nnodes,
            fl.nconns, fl.o.mode, fl.o.scale, fl.o.state_dir);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    run_loop(&fl);
    shutdown_fleet(&fl);
    uint64_t published, acked, backlog, min_acked;
    totals(&fl, &published, &acked, &backlog, &min_acked);
    printf("published=%llu acked=%llu\n", (unsigned long long)published, (unsigned long long)acked);
    fflush(stdout);
    exit_code = fl.o.count_per_node > 0 && min_acked < fl.o.count_per_node ? 1 : 0;
out:
    free_fleet(&fl);
    return exit_code;
}

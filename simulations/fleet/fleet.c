/* fleet.c - program fleet-sim: runs the real firmware app for many registry devices in one
 * process, one thread, with the city model of physics.c as the sensor source, optionally driven by
 * a scenario file (weather, faults, marks); also generates registries (--write-registry).
 *
 * --mode per-node: one MQTT client per node (client id = device id, its own will), as in the
 * field; --mode shared: --connections clients "fleet-sim-<i>" publish for all nodes (no per-node
 * will; each node still publishes its retained online status and, at a clean exit, offline).
 * Every node keeps its own state directory (boot counter, outbox) under --state-dir.
 * stdout: "MARK t=<s> <label>" lines and a summary line "published=<n> acked=<n>" at exit;
 * stderr: logs and the status line (--print-stats, or with --scenario). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ct/err.h"
#include "ct/registry.h"
#include "fleet.h"
#include "fw_hal.h"
#include "sim_regen.h"
#include "ct/key.h"

#define MASTER_MAX 256
#define PER_NODE_WARN 500

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: fleet-sim --registry F --broker URI --master-key-file F [options]\n"
           "       fleet-sim --write-registry F --nodes N [--seed S]\n"
           "  --scenario F          scenario file (simulations/scenarios/*.json)\n"
           "  --start ISO           simulated start, e.g. 2026-07-15T14:00:00+07:00 (default:\n"
           "                        the scenario's \"start\", else now)\n"
           "  --kinds a,b,...       only these kinds (air,water,rain,flood,parking)\n"
           "  --limit N             at most N devices (registry order)\n"
           "  --mode per-node|shared  one MQTT client per node (default) or a shared pool\n"
           "  --connections N       shared mode: pool size (default 4)\n"
           "  --rate-scale X        time compression: simulated seconds per second (default:\n"
           "                        the scenario's \"rate_scale\", else 1)\n"
           "  --duration-s S        stop after S real seconds (default: the scenario's length)\n"
           "  --count-per-node N    stop once every node had N readings acked\n"
           "  --seed N              seed of the city model, faults and registry (default 1)\n"
           "  --interval-ms N       replaces every node's base period (before scaling)\n"
           "  --inflight N          unacked publishes per node (default 8)\n"
           "  --rate N              outbox drain per node, messages/s (default 20)\n"
           "  --backfill-hours H    air and water nodes first queue a reading every 10 min of\n"
           "                        the last H wall-clock hours (at most 48), so hourly indices\n"
           "                        exist at once (scripts/demo.sh: 12)\n"
           "  --state-dir DIR       per-node storage (default /tmp/fleet-sim-<pid>)\n"
           "  --print-stats         a status line each second on stderr\n"
           "  --write-registry F    write a generated Hanoi registry of --nodes N devices, exit\n");
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

static int parse_opts(int argc, char **argv, struct fleet_opts *o)
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
        {"backfill-hours", required_argument, NULL, 'B'},
        {"state-dir", required_argument, NULL, 'D'},
        {"print-stats", no_argument, NULL, 'p'},
        {"scenario", required_argument, NULL, 'F'},
        {"start", required_argument, NULL, 'T'},
        {"write-registry", required_argument, NULL, 'W'},
        {"nodes", required_argument, NULL, 'N'},
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
        case 'F':
            o->scenario = optarg;
            break;
        case 'T':
            o->start = optarg;
            break;
        case 'W':
            o->write_registry = optarg;
            break;
        case 'N':
            rc = parse_u64(optarg, &o->nodes);
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
            o->seed_set = true;
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
        case 'B':
            rc = parse_pos_double(optarg, &o->backfill_hours);
            rc = rc ? rc : (o->backfill_hours <= FLEET_BACKFILL_MAX_H ? 0 : CT_E_INVAL);
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
    if (optind != argc) {
        return CT_E_INVAL;
    }
    if (o->write_registry != NULL) {
        return o->nodes >= 1 && o->nodes <= SIM_REGEN_MAX_NODES ? 0 : CT_E_INVAL;
    }
    if (o->registry == NULL || o->broker == NULL || o->master_key_file == NULL) {
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

/* Each MQTT connection holds a socket (node storage opens files only while it writes): raise the
 * soft limit of open files to what the fleet's connections need (and the hard one when
 * privileged). Returns 0 or CT_E_NOMEM. */
static int raise_fd_limit(size_t connections)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)connections * 2 + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
        return 0;
    }
    rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
    if (rl.rlim_max < need) {
        struct rlimit up = {need, need};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            return 0;
        }
    }
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need) {
        fprintf(stderr,
                "fleet-sim: %zu connections need %llu open files; the limit is %llu (ulimit -n)\n",
                connections, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
        return CT_E_NOMEM;
    }
    return 0;
}

/* Scenario settings under the command line's: the command line wins. */
static int apply_scenario(struct fleet *fl)
{
    char err[512];
    int rc = sim_scenario_load(fl->o.scenario, &fl->sc, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "fleet-sim: %s\n", err);
        return rc;
    }
    fl->have_scenario = true;
    if (fl->o.scale == 0 && fl->sc.rate_scale > 0) {
        fl->o.scale = fl->sc.rate_scale;
    }
    if (!fl->o.seed_set && fl->sc.has_seed) {
        fl->o.seed = fl->sc.seed;
    }
    double scale = fl->o.scale > 0 ? fl->o.scale : 1.0;
    if (fl->o.duration_s == 0) {
        fl->o.duration_s =
            fl->sc.duration_s > 0 ? fl->sc.duration_s : (double)fl->sc.sim_ms / scale / 1000.0;
    }
    fl->o.print_stats = true;
    return 0;
}

int main(int argc, char **argv)
{
    static struct fleet fl;
    char default_dir[64];
    fl.o.mode = "per-node";
    fl.o.connections = 4;
    fl.o.seed = 1;
    fl.o.inflight = 8;
    fl.o.rate = 20;
    if (parse_opts(argc, argv, &fl.o) != 0) {
        usage(stderr);
        return 2;
    }
    if (fl.o.write_registry != NULL) {
        int rc = sim_regen_write_file(fl.o.write_registry, (size_t)fl.o.nodes, fl.o.seed);
        if (rc != 0) {
            fprintf(stderr, "fleet-sim: %s: %s\n", fl.o.write_registry, ct_strerror(rc));
            return 1;
        }
        struct sim_regen_mix m;
        sim_regen_mix_of((size_t)fl.o.nodes, &m);
        fprintf(stderr,
                "fleet-sim: wrote %llu devices to %s: air %zu, water %zu, rain %zu, flood %zu, "
                "parking lots %zu, bays %zu\n",
                (unsigned long long)fl.o.nodes, fl.o.write_registry, m.air, m.water, m.rain,
                m.flood, m.lots, m.bays);
        return 0;
    }
    if (fl.o.scenario != NULL && apply_scenario(&fl) != 0) {
        return 2;
    }
    fl.o.scale = fl.o.scale > 0 ? fl.o.scale : 1.0;
    int64_t start_sim = fw_hal_wall_ms();
    if (fl.o.start != NULL) {
        if (sim_parse_iso(fl.o.start, &start_sim) != 0) {
            fprintf(stderr, "fleet-sim: --start: not an ISO 8601 time: %s\n", fl.o.start);
            return 2;
        }
    } else if (fl.have_scenario && fl.sc.has_start) {
        start_sim = fl.sc.start_ms;
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
    int rc = ct_key_read_file(fl.o.master_key_file, CT_KEY_MASTER_MIN, master, sizeof(master),
                              &mlen, NULL);
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
    sim_physics_init(&fl.phys, fl.o.seed, fl.o.scale, start_sim, fw_hal_mono_ms());
    if (fl.have_scenario && sim_scenario_apply_weather(&fl.sc, &fl.phys) != 0) {
        fprintf(stderr, "fleet-sim: too many scripted storms or haze episodes\n");
        ct_registry_free(fl.reg);
        return 2;
    }
    fl.fctx.sc = fl.have_scenario ? &fl.sc : NULL;
    fl.fctx.start_sim = start_sim;
    fl.fctx.seed = fl.o.seed;
    fw_hal_sensor_set_source(fleet_source, &fl);
    int exit_code = 1;
    if (raise_fd_limit(fl.shared ? (size_t)fl.o.connections : ct_registry_count(fl.reg)) != 0) {
        goto out;
    }
    rc = fleet_setup(&fl, master, mlen, kinds);
    if (rc != 0) {
        fprintf(stderr, "fleet-sim: setup: %s\n", ct_strerror(rc));
        goto out;
    }
    if (!fl.shared && fl.nnodes > PER_NODE_WARN) {
        fprintf(stderr, "fleet-sim: %zu MQTT clients in per-node mode; consider --mode shared\n",
                fl.nnodes);
    }
    fprintf(
        stderr, "fleet-sim: %zu nodes, %zu connections (%s), scale %g, seed %llu, state %s%s%s\n",
        fl.nnodes, fl.nconns, fl.o.mode, fl.o.scale, (unsigned long long)fl.o.seed, fl.o.state_dir,
        fl.have_scenario ? ", scenario " : "", fl.have_scenario ? fl.sc.name : "");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fleet_run(&fl, &stop_flag);
    fleet_shutdown(&fl);
    uint64_t published, acked, backlog, min_acked;
    fleet_totals(&fl, &published, &acked, &backlog, &min_acked);
    if (fl.have_scenario) {
        fprintf(stderr, "fleet-sim: faults: reboots=%llu replacements=%llu garbage=%llu\n",
                (unsigned long long)fl.reboots, (unsigned long long)fl.replacements,
                (unsigned long long)fl.garbage_sent);
    }
    printf("published=%llu acked=%llu\n", (unsigned long long)published, (unsigned long long)acked);
    fflush(stdout);
    exit_code = fl.o.count_per_node > 0 && min_acked < fl.o.count_per_node ? 1 : 0;
out:
    fleet_free(&fl);
    return exit_code;
}

/* footprint.c - program fw-footprint: one sensor node's memory use, allocations and CPU time in
 * steady state (see firmware-sensor/README.md, "Footprint").
 *
 * Starts mosquitto on a free local port (its own config in a temporary directory; stopped at the
 * end), then runs one node as sensor-node does: the app, the outbox in a temporary NVS
 * directory, the per-kind samplers over the simulated buses (fw_sensors), and the Paho transport.
 * After start-up (connected and --warmup readings acked) it counts allocations by owner (our
 * code, Paho, other libraries), RSS and CPU time over --count acked readings, and prints a
 * table. Exit 0, or 1 when the node did not finish or our code allocated in steady state. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc_count.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "ct/payload.h"
#include "fw_app.h"
#include "fw_app_model.h"
#include "fw_sensors.h"

#define DEADLINE_MS 120000

struct opts {
    enum ct_kind kind;
    unsigned long count;
    unsigned long warmup;
    unsigned long interval_ms;
    bool sync;
};

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Starts mosquitto on a free port with a config in 'dir'; returns its pid or -1. */
static pid_t broker_start(const char *dir, int *port)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        *port = free_port();
        char conf[256];
        snprintf(conf, sizeof(conf), "%s/mosquitto.conf", dir);
        FILE *f = fopen(conf, "w");
        if (*port < 0 || f == NULL) {
            if (f != NULL) {
                fclose(f);
            }
            return -1;
        }
        fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", *port);
        fclose(f);
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 2);
            execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 100 && pid > 0; i++) {
            if (port_open(*port)) {
                return pid;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                pid = -1; /* lost the port to someone else: try another */
                break;
            }
            fw_hal_sleep_ms(50);
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    return -1;
}

static void broker_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

/* VmRSS and VmHWM from /proc/self/status, kB. */
static void rss(long *now_kb, long *hwm_kb)
{
    *now_kb = *hwm_kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            *now_kb = strtol(line + 6, NULL, 10);
        } else if (strncmp(line, "VmHWM:", 6) == 0) {
            *hwm_kb = strtol(line + 6, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void dispatch(void *arg, const struct fw_tx_event *ev)
{
    fw_app_on_tx_event(arg, ev);
}

static int usage(void)
{
    fprintf(stderr, "usage: fw-footprint [--kind air|water|rain|flood|parking] [--count N]\n"
                    "                    [--warmup N] [--interval-ms N] [--sync]\n");
    return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"kind", required_argument, NULL, 'k'},   {"count", required_argument, NULL, 'c'},
        {"warmup", required_argument, NULL, 'w'}, {"interval-ms", required_argument, NULL, 'i'},
        {"sync", no_argument, NULL, 's'},         {NULL, 0, NULL, 0},
    };
    *o = (struct opts){CT_KIND_AIR, 2000, 100, 5, false};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        char *end = NULL;
        unsigned long v = optarg ? strtoul(optarg, &end, 10) : 0;
        bool num_ok = optarg && end != optarg && *end == '\0' && v > 0 && v < 100000000ul;
        switch (c) {
        case 'k':
            if (ct_kind_parse(optarg, strlen(optarg), &o->kind) != 0) {
                return usage();
            }
            break;
        case 'c':
        case 'w':
        case 'i':
            if (!num_ok) {
                return usage();
            }
            *(c == 'c' ? &o->count : c == 'w' ? &o->warmup : &o->interval_ms) = v;
            break;
        case 's':
            o->sync = true;
            break;
        default:
            return usage();
        }
    }
    return optind == argc ? 0 : usage();
}

/* Checks the attribution: a malloc here and one inside libc's strdup called from here are ours. */
static bool self_check(void)
{
    ac_set_counting(true);
    void *volatile p = malloc(24);
    char *volatile d = strdup("citytel");
    free(p);
    free(d);
    ac_set_counting(false);
    struct ac_counts ac;
    ac_get(&ac);
    return ac.calls[AC_OURS] == 2 && ac.calls[AC_PAHO] == 0;
}

/* The outbox bound per kind: readings in 7 days at the base period, the default bound, and the
 * bytes it takes on disk with a typical payload (boot, seq and ts at realistic widths). */
static void outbox_table(void)
{
    static const struct {
        enum ct_kind kind;
        const char *id;
        const char *names[8];
        double v[8];
    } k[] = {
        {CT_KIND_AIR,
         "hn-air-0001",
         {"pm25", "pm10", "no2", "so2", "o3", "co", "t", "rh"},
         {41.2, 63.0, 22.13, 11.87, 45.06, 1104.33, 29.41, 78.52}},
        {CT_KIND_WATER,
         "hn-water-0001",
         {"ph", "do", "turb", "ec", "t"},
         {7.31, 4.52, 35.12, 421.76, 26.04}},
        {CT_KIND_RAIN, "hn-rain-0001", {"tips", "mm"}, {12345, 0.4}},
        {CT_KIND_FLOOD, "hn-flood-0001", {"depth"}, {23.45}},
        {CT_KIND_PARKING, "hn-park-0001", {"capacity", "occupied"}, {120, 61}},
    };
    printf("\n%-8s %12s %14s %8s %8s %14s\n", "outbox", "7 d at base", "default bound", "payload",
           "record", "bound on disk");
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        struct ct_reading r;
        memset(&r, 0, sizeof(r));
        r.kind = k[i].kind;
        snprintf(r.id, sizeof(r.id), "%s", k[i].id);
        r.boot = 12;
        r.seq = 123456;
        r.ts_ms = 1763888400000;
        for (size_t j = 0; j < 8 && k[i].names[j] != NULL; j++) {
            ct_reading_set_num(&r, k[i].names[j], k[i].v[j]);
        }
        char mem[CT_PAYLOAD_MAX + 1];
        struct ct_buf b;
        ct_buf_init_fixed(&b, mem, sizeof(mem));
        if (ct_payload_encode(&r, &b) != 0) {
            continue;
        }
        size_t bound = fw_app_default_max_records(k[i].kind, 0);
        uint64_t base_ms = k[i].kind == CT_KIND_AIR ? 60000 : 300000;
        size_t rec = b.len + FW_OUTBOX_RECORD_OVERHEAD;
        printf("%-8s %12llu %14zu %8zu %8zu %11.2f MB\n", ct_kind_name(k[i].kind),
               (unsigned long long)(7ull * 86400000ull / base_ms), bound, b.len, rec,
               (double)bound * (double)rec / 1e6);
    }
}

struct node {
    struct fw_nvs *nvs;
    struct fw_sensors *sensors;
    struct fw_app *app;
    struct fw_tx *tx;
};

/* Runs the node until 'target' readings were acked (or the deadline). */
static bool run_until(struct node *n, uint64_t target, int64_t deadline)
{
    struct fw_app_stats st;
    for (;;) {
        int64_t now = fw_hal_mono_ms();
        int64_t next_tx = fw_tx_poll(n->tx, now, dispatch, n->app);
        int64_t next_app = fw_app_step(n->app, now);
        fw_app_get_stats(n->app, &st);
        if (st.acked >= target) {
            return true;
        }
        if (now >= deadline) {
            return false;
        }
        int64_t next = next_tx < next_app ? next_tx : next_app;
        int64_t wait = next - now > 100 ? 100 : next - now;
        if (wait > 0) {
            fw_hal_idle((uint32_t)wait);
        }
    }
}

static int node_start(struct node *n, const struct opts *o, const char *dir, int port)
{
    static struct fw_app_model model;
    fw_app_model_init(&model, o->kind, 12345);
    fw_hal_sensor_set_source(fw_app_model_read, &model);
    char path[256], broker[64];
    snprintf(path, sizeof(path), "%s/nvs", dir);
    snprintf(broker, sizeof(broker), "tcp://127.0.0.1:%d", port);
    int rc = fw_nvs_open(path, &n->nvs);
    struct fw_sensors_cfg scfg = {.kind = o->kind, .nvs = n->nvs, .sync = o->sync, .seed = 1};
    if (rc == 0) {
        rc = fw_sensors_create(&scfg, &n->sensors);
    }
    uint8_t key[CT_KEY_LEN];
    memset(key, 0x5A, sizeof(key));
    struct fw_app_cfg acfg = {
        .kind = o->kind,
        .id = "fw-footprint-0001",
        .key = key,
        .nvs = n->nvs,
        .interval_ms = (uint32_t)o->interval_ms,
        .max_records = fw_app_default_max_records(o->kind, 0), /* the bound at the real period */
        .sync = o->sync,
        .publish_status = true,
        .sampler = n->sensors ? fw_sensors_sampler(n->sensors) : NULL,
    };
    if (rc == 0) {
        rc = fw_app_create(&acfg, &n->app);
    }
    struct fw_tx_cfg tcfg = {
        .broker = broker, .client_id = "fw-footprint-0001", .max_inflight = 17};
    if (rc == 0) {
        rc = fw_tx_create(&tcfg, &n->tx);
    }
    if (rc == 0) {
        fw_app_set_tx(n->app, n->tx);
    }
    return rc;
}

static void node_stop(struct node *n)
{
    if (n->tx != NULL) {
        fw_tx_disconnect(n->tx, 2000);
    }
    fw_tx_destroy(n->tx);
    fw_app_destroy(n->app);
    fw_sensors_destroy(n->sensors);
    fw_nvs_close(n->nvs);
}

int main(int argc, char **argv)
{
    ac_init();
    if (!self_check()) {
        fprintf(stderr, "fw-footprint: allocation attribution does not work here\n");
        return 1;
    }
    struct opts o;
    int prc = parse(argc, argv, &o);
    if (prc != 0) {
        return prc;
    }
    char dir[] = "/tmp/fw-footprint-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("fw-footprint: mkdtemp");
        return 1;
    }
    int port = 0;
    pid_t broker = broker_start(dir, &port);
    struct node n = {0};
    int exit_code = 1;
    if (broker < 0) {
        fprintf(stderr, "fw-footprint: cannot start mosquitto\n");
        goto out;
    }
    ac_set_counting(true);
    int rc = node_start(&n, &o, dir, port);
    ac_set_counting(false);
    struct ac_counts boot;
    ac_get(&boot);
    if (rc != 0) {
        fprintf(stderr, "fw-footprint: node: %s\n", ct_strerror(rc));
        goto out;
    }
    long rss0, hwm0, rss1, hwm1;
    rss(&rss0, &hwm0);
    int64_t deadline = fw_hal_mono_ms() + DEADLINE_MS;
    if (!run_until(&n, o.warmup, deadline)) {
        fprintf(stderr, "fw-footprint: warm-up not acked in time\n");
        goto out;
    }
    struct fw_app_stats s0, s1;
    fw_app_get_stats(n.app, &s0);
    long rss_w, hwm_w;
    rss(&rss_w, &hwm_w);
    double cpu0 = cpu_s();
    int64_t t0 = fw_hal_mono_ms();
    ac_set_counting(true);
    bool done = run_until(&n, o.warmup + o.count, deadline);
    ac_set_counting(false);
    double cpu1 = cpu_s();
    int64_t t1 = fw_hal_mono_ms();
    rss(&rss1, &hwm1);
    fw_app_get_stats(n.app, &s1);
    struct ac_counts ac;
    ac_get(&ac);
    struct fw_sensors_stats ss;
    fw_sensors_get_stats(n.sensors, &ss);
    if (!done) {
        fprintf(stderr, "fw-footprint: only %llu readings acked in time\n",
                (unsigned long long)(s1.acked - s0.acked));
        goto out;
    }
    double msgs = (double)(s1.acked - s0.acked);
    printf("fw-footprint: kind %s, %llu readings acked after %lu warm-up readings, "
           "interval %lu ms, outbox sync %s, %.1f s\n",
           ct_kind_name(o.kind), (unsigned long long)(s1.acked - s0.acked), o.warmup, o.interval_ms,
           o.sync ? "on" : "off", (double)(t1 - t0) / 1000.0);
    printf("%-34s %12s %14s\n", "start-up (node create)", "allocations", "bytes");
    printf("%-34s %12llu %14llu\n", "our code", (unsigned long long)boot.calls[AC_OURS],
           (unsigned long long)boot.bytes[AC_OURS]);
    printf("%-34s %12llu %14llu\n", "Paho and other libraries",
           (unsigned long long)(boot.calls[AC_PAHO] + boot.calls[AC_OTHER]),
           (unsigned long long)(boot.bytes[AC_PAHO] + boot.bytes[AC_OTHER]));
    printf("%-34s %12s %14s\n", "steady state", "allocations", "bytes");
    printf("%-34s %12llu %14llu\n", "our code (app/outbox/tx/hal/drv/ct)",
           (unsigned long long)ac.calls[AC_OURS], (unsigned long long)ac.bytes[AC_OURS]);
    printf("%-34s %12llu %14llu\n", "Paho MQTTAsync", (unsigned long long)ac.calls[AC_PAHO],
           (unsigned long long)ac.bytes[AC_PAHO]);
    printf("%-34s %12llu %14llu\n", "other libraries", (unsigned long long)ac.calls[AC_OTHER],
           (unsigned long long)ac.bytes[AC_OTHER]);
    printf("%-34s %12.2f %14.1f\n", "Paho per message", (double)ac.calls[AC_PAHO] / msgs,
           (double)ac.bytes[AC_PAHO] / msgs);
    printf("%-34s %12llu\n", "frees", (unsigned long long)ac.frees);
    printf("%-34s %9ld kB\n", "VmRSS after start-up", rss0);
    printf("%-34s %9ld kB\n", "VmRSS after warm-up", rss_w);
    printf("%-34s %9ld kB\n", "VmRSS at the end", rss1);
    printf("%-34s %9ld kB\n", "VmHWM (peak)", hwm1);
    printf("%-34s %9.1f us\n", "CPU per message (all threads)", (cpu1 - cpu0) * 1e6 / msgs);
    printf("%-34s %9llu / %llu\n", "samples / sampler value errors",
           (unsigned long long)(s1.samples - s0.samples), (unsigned long long)ss.value_errors);
    /* Paho alone, connected and idle (no publishes), over one second. */
    ac_set_counting(true);
    int64_t idle_end = fw_hal_mono_ms() + 1000;
    while (fw_hal_mono_ms() < idle_end) {
        fw_tx_poll(n.tx, fw_hal_mono_ms(), dispatch, n.app);
        fw_hal_idle(50);
    }
    ac_set_counting(false);
    struct ac_counts idle;
    ac_get(&idle);
    printf("%-34s %12llu %14llu\n", "Paho idle for 1 s (no publishes)",
           (unsigned long long)idle.calls[AC_PAHO], (unsigned long long)idle.bytes[AC_PAHO]);
    outbox_table();
    ac_print_first_ours();
    exit_code = ac.calls[AC_OURS] == 0 ? 0 : 1;
out:
    node_stop(&n);
    broker_stop(broker);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "fw-footprint: could not remove %s\n", dir);
    }
    return exit_code;
}

/* tt10_bench.c - drives the TT 10/2021 outbox (col_tt10_out) alone: writes station files for N
 * stations at T consecutive 5-minute times, delivers them to the receivers given, and prints one
 * JSON line of figures. Used by tests/e2e/test_tt10_deliver.py (outages, restarts) and by
 * simulations/bench/tt10_run.py (files/s, a day's backlog).
 *
 *   tt10-bench --dir D [--receivers "URL ..."] [--stations N] [--times T] [--start-ms MS]
 *              [--until-idle | --until-written] [--max-seconds S] [--parallel P] [--batch B]
 * [--no-fsync]
 *              [--ca FILE | --insecure] [--ssh-key F] [--ssh-pub F] [--known-hosts F]
 *              [--retry-base-ms MS] [--retry-max-ms MS]
 * Exit code 0 when --until-idle was reached (or not asked for), 2 on timeout, 1 on bad usage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "col_tt10.h"
#include "col_tt10_out.h"
#include "ct/err.h"
#include "ct/registry.h"

struct bench {
    uv_loop_t *loop;
    struct col_tt10_out *out;
    struct col_tt10_fmt fmt;
    struct col_tt10_map map;
    uv_timer_t tick;
    long stations, times;
    int64_t start_ms;
    long next; /* files put so far */
    bool until_idle;
    bool until_written; /* exit once every file is written (the receivers may be down) */
    double max_s;
    double t0, t_written, t_idle;
    bool done, timed_out;
};

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

/* File 'k': station k % stations at time k / stations (time-major, as a live feed). */
static int put_file(struct bench *b, long k)
{
    struct ct_device dev;
    memset(&dev, 0, sizeof(dev));
    dev.has_tt10 = true;
    snprintf(dev.tt10_province, sizeof(dev.tt10_province), "HN");
    snprintf(dev.tt10_facility, sizeof(dev.tt10_facility), "CITYTEL");
    snprintf(dev.tt10_station, sizeof(dev.tt10_station), "KK-%05ld", k % b->stations);
    int64_t ts = b->start_ms + (k / b->stations) * 300000;
    char name[COL_TT10_NAME_MAX + 1];
    int rc = col_tt10_file_name(&b->fmt, &dev, ts, name, sizeof(name));
    if (rc != 0) {
        return rc;
    }
    static const char *const members[] = {"pm25", "pm10", "no2", "so2", "o3", "co", "t", "rh"};
    struct col_tt10_value v[8];
    for (size_t i = 0; i < 8; i++) {
        const struct col_tt10_param *p = col_tt10_map_member(&b->map, CT_KIND_AIR, members[i]);
        v[i] = (struct col_tt10_value){
            p->symbol, p->unit, 10 + fmod((double)k * 7.3 + (double)i, 90.0), COL_TT10_MEASURING};
    }
    char mem[2048];
    struct ct_buf buf;
    ct_buf_init_fixed(&buf, mem, sizeof(mem));
    rc = col_tt10_format(&b->fmt, ts, v, 8, &buf);
    if (rc != 0) {
        return rc;
    }
    return col_tt10_out_put(b->out, name, buf.p, buf.len, 0);
}

static void closed(void *arg)
{
    (void)arg;
}

static void finish(struct bench *b)
{
    b->done = true;
    uv_timer_stop(&b->tick);
    uv_close((uv_handle_t *)&b->tick, NULL);
    struct col_tt10_out_stats st;
    col_tt10_out_stats(b->out, &st);
    double t_end = now_s();
    printf("{\"written\":%llu,\"write_errors\":%llu,\"write_s\":%.3f,\"idle\":%s,"
           "\"elapsed_s\":%.3f,\"receivers\":[",
           (unsigned long long)st.written, (unsigned long long)st.write_errors,
           b->t_written > 0 ? b->t_written - b->t0 : -1.0, b->t_idle > 0 ? "true" : "false",
           t_end - b->t0);
    for (size_t i = 0; i < st.nreceivers; i++) {
        printf("%s{\"url\":\"%s\",\"delivered\":%llu,\"failures\":%llu,\"backoffs\":%llu}",
               i > 0 ? "," : "", st.r[i].url, (unsigned long long)st.r[i].delivered,
               (unsigned long long)st.r[i].failures, (unsigned long long)st.r[i].backoffs);
    }
    printf("]}\n");
    fflush(stdout);
    col_tt10_out_close(b->out, closed, NULL);
}

static void tick_cb(uv_timer_t *t)
{
    struct bench *b = t->data;
    long total = b->stations * b->times;
    while (b->next < total) {
        int rc = put_file(b, b->next);
        if (rc == CT_E_FULL) {
            break;
        }
        if (rc != 0) {
            fprintf(stderr, "tt10-bench: put failed: %s\n", ct_strerror(rc));
            b->timed_out = true;
            finish(b);
            return;
        }
        b->next++;
    }
    struct col_tt10_out_stats st;
    col_tt10_out_stats(b->out, &st);
    if (b->t_written == 0 && b->next == total && st.puts_waiting == 0 &&
        st.written + st.write_errors == (uint64_t)total) {
        b->t_written = now_s();
    }
    if (b->t_written > 0 && b->until_written) {
        finish(b);
        return;
    }
    if (b->t_written > 0 && col_tt10_out_idle(b->out)) {
        b->t_idle = now_s();
        if (b->until_idle) {
            finish(b);
            return;
        }
    }
    if (now_s() - b->t0 > b->max_s) {
        b->timed_out = b->until_idle;
        finish(b);
    }
}

int main(int argc, char **argv)
{
    struct bench b;
    memset(&b, 0, sizeof(b));
    struct col_tt10_out_cfg cfg = {
        .receivers = "",
        .ca_file = "",
        .tls_verify = true,
        .fsync = true,
        .retention_ms = 60LL * 86400 * 1000,
        .prune_interval_ms = 3600 * 1000,
        .retry_base_ms = 500,
        .retry_max_ms = 5000,
        .timeout_ms = 15000,
        .parallel = 4,
        .batch = 256,
        .max_puts = 4096,
    };
    b.stations = 10;
    b.times = 1;
    b.start_ms = 1796455800000; /* 2026-12-05 14:30 in Hanoi */
    b.max_s = 60;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--until-idle") == 0) {
            b.until_idle = true;
        } else if (strcmp(a, "--until-written") == 0) {
            b.until_written = true;
        } else if (strcmp(a, "--no-fsync") == 0) {
            cfg.fsync = false;
        } else if (strcmp(a, "--insecure") == 0) {
            cfg.tls_verify = false;
        } else if (v == NULL) {
            fprintf(stderr, "tt10-bench: %s needs a value\n", a);
            return 1;
        } else if (strcmp(a, "--dir") == 0) {
            cfg.dir = v, i++;
        } else if (strcmp(a, "--receivers") == 0) {
            cfg.receivers = v, i++;
        } else if (strcmp(a, "--ca") == 0) {
            cfg.ca_file = v, i++;
        } else if (strcmp(a, "--ssh-key") == 0) {
            cfg.ssh_private_key = v, i++;
        } else if (strcmp(a, "--ssh-pub") == 0) {
            cfg.ssh_public_key = v, i++;
        } else if (strcmp(a, "--known-hosts") == 0) {
            cfg.ssh_known_hosts = v, i++;
        } else if (strcmp(a, "--stations") == 0) {
            b.stations = strtol(v, NULL, 10), i++;
        } else if (strcmp(a, "--times") == 0) {
            b.times = strtol(v, NULL, 10), i++;
        } else if (strcmp(a, "--start-ms") == 0) {
            b.start_ms = strtoll(v, NULL, 10), i++;
        } else if (strcmp(a, "--max-seconds") == 0) {
            b.max_s = strtod(v, NULL), i++;
        } else if (strcmp(a, "--parallel") == 0) {
            cfg.parallel = (uint32_t)strtoul(v, NULL, 10), i++;
        } else if (strcmp(a, "--batch") == 0) {
            cfg.batch = (uint32_t)strtoul(v, NULL, 10), i++;
        } else if (strcmp(a, "--retry-base-ms") == 0) {
            cfg.retry_base_ms = strtoll(v, NULL, 10), i++;
        } else if (strcmp(a, "--retry-max-ms") == 0) {
            cfg.retry_max_ms = strtoll(v, NULL, 10), i++;
        } else {
            fprintf(stderr, "tt10-bench: unknown option %s\n", a);
            return 1;
        }
    }
    if (cfg.dir == NULL || b.stations < 0 || b.times < 0) {
        fprintf(stderr, "tt10-bench: --dir is required\n");
        return 1;
    }
    col_tt10_fmt_default(&b.fmt);
    char err[256] = "";
    if (col_tt10_map_parse(col_tt10_map_default_spec(), &b.map, err, sizeof(err)) != 0) {
        fprintf(stderr, "tt10-bench: %s\n", err);
        return 1;
    }
    b.loop = uv_default_loop();
    if (col_tt10_out_create(b.loop, &cfg, &b.out, err, sizeof(err)) != 0) {
        fprintf(stderr, "tt10-bench: %s\n", err);
        return 1;
    }
    b.t0 = now_s();
    uv_timer_init(b.loop, &b.tick);
    b.tick.data = &b;
    uv_timer_start(&b.tick, tick_cb, 0, 2);
    uv_run(b.loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(b.loop);
    if (rc != 0) {
        fprintf(stderr, "tt10-bench: handles left open: %s\n", uv_strerror(rc));
        return 1;
    }
    return b.timed_out ? 2 : 0;
}

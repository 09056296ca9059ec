/* fault_influx.c - program fault-influx: the scriptable fake InfluxDB (tests/fakes, library
 * ct_fake_influx) as a process for end-to-end fault tests, with a full record of what it got.
 *
 *   fault-influx --port-file F --dump D [--script S] [--arm-on-usr1] [--max-body N]
 *
 * Listens on 127.0.0.1:<ephemeral>, writes the port to F (via F.tmp and a rename), answers from
 * the script S (one response a line, format in fake_influx.h: "<status>|hang [delay=MS]
 * [retry-after=S] [body=<rest>]"; then 204 for writes and an empty result for /query). Every
 * request takes the next scripted answer, /query included: with --arm-on-usr1 the script is loaded
 * only when SIGUSR1 arrives (then D.armed is created), so that a test can let the collector's
 * start-up queries pass first. On SIGINT or SIGTERM it writes every recorded request to D as JSON
 * Lines (via D.tmp and a rename), one object a request in arrival order:
 *   {"i":0,"method":"POST","target":"/write?db=..","status":204,"t_ms":123,"gzip":true,
 *    "body":"air,device=..."}
 * "status" is the answered status, 0 for a request left hanging. "dropped" in a last line
 * {"dropped":n} counts requests beyond the record table. Then it stops. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_influx.h"
#include "ct/buf.h"

struct prog {
    struct fake_influx *f;
    const char *dump;
    const char *script;
    uv_signal_t sigint, sigterm, sigusr1;
    int exit_code;
};

static struct prog prog;

static void json_str(FILE *fp, const char *s, size_t len)
{
    struct ct_buf js;

    ct_buf_init(&js, len * 6 + 3);
    if (ct_buf_add_json_str(&js, s, len) == 0) {
        fwrite(js.p, 1, js.len, fp);
    }
    ct_buf_free(&js);
}

static int write_dump(void)
{
    char tmp[4096];
    size_t n = fake_influx_count(prog.f);
    FILE *fp;

    snprintf(tmp, sizeof(tmp), "%s.tmp", prog.dump);
    fp = fopen(tmp, "w");
    if (fp == NULL) {
        fprintf(stderr, "fault-influx: cannot write %s\n", tmp);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct fake_influx_req *r = fake_influx_req(prog.f, i);
        fprintf(fp, "{\"i\":%zu,\"method\":", i);
        json_str(fp, r->method, strlen(r->method));
        fputs(",\"target\":", fp);
        json_str(fp, r->target, strlen(r->target));
        fprintf(fp, ",\"status\":%d,\"t_ms\":%llu,\"gzip\":%s,\"gzip_bad\":%s,\"body\":", r->status,
                (unsigned long long)r->t_ms, r->gzip ? "true" : "false",
                r->gzip_bad ? "true" : "false");
        json_str(fp, r->body, r->body_len);
        fputs("}\n", fp);
    }
    fprintf(fp, "{\"dropped\":%zu}\n", fake_influx_dropped(prog.f));
    if (fclose(fp) != 0 || rename(tmp, prog.dump) != 0) {
        fprintf(stderr, "fault-influx: cannot write %s\n", prog.dump);
        return 1;
    }
    return 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    prog.exit_code = write_dump();
    fake_influx_stop(prog.f);
    uv_close((uv_handle_t *)&prog.sigint, NULL);
    uv_close((uv_handle_t *)&prog.sigterm, NULL);
    uv_close((uv_handle_t *)&prog.sigusr1, NULL);
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    size_t cap = 1u << 20;
    char *buf;
    size_t n;

    if (fp == NULL) {
        return NULL;
    }
    buf = malloc(cap + 1);
    n = buf != NULL ? fread(buf, 1, cap, fp) : 0;
    fclose(fp);
    if (buf != NULL) {
        buf[n] = '\0';
    }
    return buf;
}

static int load_script(void)
{
    char *text = read_text(prog.script);

    if (text == NULL || fake_influx_script_text(prog.f, text) != 0) {
        fprintf(stderr, "fault-influx: cannot load script %s\n", prog.script);
        free(text);
        return 1;
    }
    free(text);
    return 0;
}

static void on_usr1(uv_signal_t *s, int signum)
{
    char path[4096];
    FILE *fp;

    (void)signum;
    uv_signal_stop(s);
    if (prog.script != NULL && load_script() != 0) {
        prog.exit_code = 1;
        return;
    }
    snprintf(path, sizeof(path), "%s.armed", prog.dump);
    fp = fopen(path, "w");
    if (fp == NULL || fclose(fp) != 0) {
        prog.exit_code = 1;
    }
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    bool arm_on_usr1 = false;
    long max_body = 0;
    char tmp[4096];
    uv_loop_t *loop;
    FILE *fp;

    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--arm-on-usr1") == 0) {
            arm_on_usr1 = true;
            i--;
        } else if (i + 1 == argc) {
            fprintf(stderr, "fault-influx: %s needs a value\n", argv[i]);
            return 2;
        } else if (strcmp(argv[i], "--port-file") == 0) {
            port_file = argv[i + 1];
        } else if (strcmp(argv[i], "--script") == 0) {
            prog.script = argv[i + 1];
        } else if (strcmp(argv[i], "--dump") == 0) {
            prog.dump = argv[i + 1];
        } else if (strcmp(argv[i], "--max-body") == 0) {
            char *end;
            max_body = strtol(argv[i + 1], &end, 10);
            if (*end != '\0' || max_body < 0) {
                fprintf(stderr, "fault-influx: bad --max-body\n");
                return 2;
            }
        } else {
            fprintf(stderr, "fault-influx: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port_file == NULL || prog.dump == NULL) {
        fprintf(stderr, "usage: fault-influx --port-file F --dump D [--script S] "
                        "[--arm-on-usr1] [--max-body N]\n");
        return 2;
    }
    loop = uv_default_loop();
    if (fake_influx_start(loop, &prog.f) != 0) {
        fprintf(stderr, "fault-influx: cannot listen\n");
        return 1;
    }
    fake_influx_set_max_body(prog.f, (size_t)max_body);
    if (prog.script != NULL && !arm_on_usr1 && load_script() != 0) {
        return 1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
    fp = fopen(tmp, "w");
    if (fp == NULL || fprintf(fp, "%d\n", fake_influx_port(prog.f)) < 0 || fclose(fp) != 0 ||
        rename(tmp, port_file) != 0) {
        fprintf(stderr, "fault-influx: cannot write %s\n", port_file);
        return 1;
    }
    uv_signal_init(loop, &prog.sigint);
    uv_signal_init(loop, &prog.sigterm);
    uv_signal_start(&prog.sigint, on_signal, SIGINT);
    uv_signal_start(&prog.sigterm, on_signal, SIGTERM);
    uv_signal_init(loop, &prog.sigusr1);
    uv_signal_start(&prog.sigusr1, on_usr1, SIGUSR1);
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) != 0) {
        return 1;
    }
    return prog.exit_code;
}

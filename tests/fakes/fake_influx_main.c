/* fake-influx: the fake InfluxDB as a program, for scripts and end-to-end tests.
 *   fake-influx --port-file F [--script S] [--max-body N]
 * Listens on 127.0.0.1:<ephemeral>, writes the port to F (written to F.tmp, then renamed), answers
 * from the script file S (format in fake_influx.h), logs one line per request on stdout, and
 * stops on SIGINT or SIGTERM. */
#include "fake_influx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct prog {
    struct fake_influx *f;
    uv_signal_t sigint, sigterm;
    uv_timer_t tick; /* prints newly recorded requests */
    size_t printed;
};

static struct prog prog;

static void print_new(void)
{
    size_t n = fake_influx_count(prog.f);
    for (; prog.printed < n; prog.printed++) {
        const struct fake_influx_req *r = fake_influx_req(prog.f, prog.printed);
        printf("%s %s -> %d (%zu bytes%s)\n", r->method, r->target, r->status, r->body_len,
               r->gzip ? ", gzip" : "");
    }
    fflush(stdout);
}

static void on_tick(uv_timer_t *t)
{
    print_new();
}

static void on_signal(uv_signal_t *s, int signum)
{
    print_new();
    fake_influx_stop(prog.f);
    uv_close((uv_handle_t *)&prog.sigint, NULL);
    uv_close((uv_handle_t *)&prog.sigterm, NULL);
    uv_close((uv_handle_t *)&prog.tick, NULL);
}

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        return NULL;
    }
    size_t cap = 1 << 16;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap, fp) : 0;
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
    }
    return buf;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    const char *script = NULL;
    long max_body = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port-file") == 0) {
            port_file = argv[i + 1];
        } else if (strcmp(argv[i], "--script") == 0) {
            script = argv[i + 1];
        } else if (strcmp(argv[i], "--max-body") == 0) {
            char *end;
            max_body = strtol(argv[i + 1], &end, 10);
            if (*end != '\0' || max_body < 0) {
                fprintf(stderr, "fake-influx: bad --max-body\n");
                return 2;
            }
        } else {
            fprintf(stderr, "fake-influx: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port_file == NULL) {
        fprintf(stderr, "usage: fake-influx --port-file F [--script S] [--max-body N]\n");
        return 2;
    }
    uv_loop_t *loop = uv_default_loop();
    if (fake_influx_start(loop, &prog.f) != 0) {
        fprintf(stderr, "fake-influx: cannot listen\n");
        return 1;
    }
    fake_influx_set_max_body(prog.f, (size_t)max_body);
    if (script) {
        char *text = read_file(script);
        if (text == NULL || fake_influx_script_text(prog.f, text) != 0) {
            fprintf(stderr, "fake-influx: cannot load script %s\n", script);
            free(text);
            return 1;
        }
        free(text);
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
    FILE *fp = fopen(tmp, "w");
    if (fp == NULL || fprintf(fp, "%d\n", fake_influx_port(prog.f)) < 0 || fclose(fp) != 0 ||
        rename(tmp, port_file) != 0) {
        fprintf(stderr, "fake-influx: cannot write %s\n", port_file);
        return 1;
    }
    uv_signal_init(loop, &prog.sigint);
    uv_signal_init(loop, &prog.sigterm);
    uv_signal_start(&prog.sigint, on_signal, SIGINT);
    uv_signal_start(&prog.sigterm, on_signal, SIGTERM);
    uv_timer_init(loop, &prog.tick);
    uv_timer_start(&prog.tick, on_tick, 100, 100);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 1;
}

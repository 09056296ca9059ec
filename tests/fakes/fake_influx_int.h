/* fake_influx_int.h - private declarations shared by the fake InfluxDB's files. */
#ifndef FAKE_INFLUX_INT_H
#define FAKE_INFLUX_INT_H
#include "fake_influx.h"

#include <http_parser.h>
#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

/* A scripted response with owned strings. */
struct fake_resp_own {
    int status;
    char *headers;
    char *body;
    unsigned delay_ms;
    bool hang;
};

struct conn;

struct fake_influx {
    uv_loop_t *loop; /* the caller's, or own_loop in thread mode */
    uv_loop_t own_loop;
    bool threaded;
    uv_thread_t thread;
    uv_async_t stop_async; /* thread mode: asks the thread to stop */
    uv_sem_t ready;        /* thread mode: the listener is up (or failed) */
    int start_rc;
    uv_tcp_t listener;
    int port;
    uv_mutex_t mu; /* guards the script, the records and the counters */
    struct fake_resp_own script[FAKE_INFLUX_MAX_SCRIPT];
    size_t script_head, script_n;
    size_t max_body;
    struct fake_influx_req **reqs; /* FAKE_INFLUX_MAX_REQS slots */
    size_t n_reqs, dropped;
    unsigned active, max_active;
    struct conn *conns; /* loop thread only */
    int pending_closes; /* loop thread only */
    bool stopping;
};

void fake_lock(struct fake_influx *f);
void fake_unlock(struct fake_influx *f);
/* Copies the strings into 'a' (freeing what it held). */
void fake_resp_set(struct fake_resp_own *a, int status, const char *headers, const char *body,
                   unsigned delay_ms, bool hang);
void fake_resp_clear(struct fake_resp_own *a);
/* With the lock held: moves the next scripted response into *out; false when none. */
bool fake_script_pop(struct fake_influx *f, struct fake_resp_own *out);
/* Listener callback (fake_influx.c). */
void fake_on_connection(uv_stream_t *server, int status);
/* Closes every connection (fake_influx.c). */
void fake_close_all(struct fake_influx *f);
/* Frees the recorded requests and their table (fake_influx.c). */
void fake_free_records(struct fake_influx *f);
/* A handle of the server closed; frees the server after the last one in loop mode. */
void fake_handle_closed(struct fake_influx *f);

#endif

/* fake_influx.h - a failure-injection InfluxDB for tests: a libuv HTTP/1.1 server on
 * 127.0.0.1:<ephemeral port> that records every request and answers from a script.
 *
 * Each request is recorded (method, target = path + query, headers, body gunzipped when
 * Content-Encoding is gzip, receive time) and answered with the next scripted response, then with
 * the default (204, or 200 {"results":[{"statement_id":0}]} for /query). A scripted response may
 * carry extra headers (Retry-After), a body, a delay, or "hang": the request is read and never
 * answered (the connection stays open until the client closes it or the server stops).
 *
 * Limits: FAKE_INFLUX_MAX_REQS records (later requests are answered but not recorded, see
 * fake_influx_dropped()), FAKE_INFLUX_MAX_BODY bytes of decoded body (a bigger body, or one above
 * fake_influx_set_max_body(), is answered 413 without consuming the script).
 *
 * Two modes: fake_influx_start() runs on the caller's loop (all calls on that loop's thread);
 * fake_influx_start_thread() runs its own loop on its own thread, for tests of blocking code. The
 * query functions and the script functions are thread-safe in both modes. */
#ifndef FAKE_INFLUX_H
#define FAKE_INFLUX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define FAKE_INFLUX_MAX_REQS 4096
#define FAKE_INFLUX_MAX_HEADERS 32
#define FAKE_INFLUX_MAX_BODY (64u * 1024 * 1024)
#define FAKE_INFLUX_MAX_SCRIPT 1024

struct fake_influx; /* opaque */

struct fake_influx_header {
    char *name; /* as received */
    char *value;
};

struct fake_influx_req {
    char method[16];
    char *target; /* path and query, NUL-terminated */
    struct fake_influx_header headers[FAKE_INFLUX_MAX_HEADERS];
    size_t n_headers; /* headers beyond the limit are not recorded */
    char *body;       /* decoded body, NUL-terminated after body_len (never NULL) */
    size_t body_len;
    size_t raw_len; /* bytes on the wire */
    bool gzip;      /* the body was gzip-encoded (and decoded) */
    bool gzip_bad;  /* ... and it did not decode; body holds the raw bytes */
    uint64_t t_ms;  /* uv_hrtime() / 1e6 when the request was complete */
    int status;     /* answered status; 0 for a hang */
};

struct fake_influx_resp {
    int status;          /* HTTP status; ignored for a hang */
    const char *headers; /* extra header lines, each ending "\r\n", or NULL */
    const char *body;    /* answer body or NULL */
    unsigned delay_ms;   /* answer after this delay */
    bool hang;           /* never answer */
};

/* Starts on 'loop' (borrowed). Returns 0 or a negative CT_E_* (CT_E_NOMEM, CT_E_IO). */
int fake_influx_start(uv_loop_t *loop, struct fake_influx **out);
/* Starts on a new thread with its own loop; returns once it listens. */
int fake_influx_start_thread(struct fake_influx **out);
/* Stops. Loop mode: closes every handle and frees the server in the last close callback (run the
 * loop to finish); thread mode: stops and joins the thread and frees the server before returning.
 * Records are invalid after the call. Accepts NULL. */
void fake_influx_stop(struct fake_influx *f);

int fake_influx_port(const struct fake_influx *f);
/* Appends copies of 'n' responses to the script. Returns 0 or CT_E_FULL / CT_E_NOMEM. */
int fake_influx_script(struct fake_influx *f, const struct fake_influx_resp *r, size_t n);
/* Parses a script text, one response a line: "<status>|hang [delay=MS] [retry-after=S]
 * [body=<rest of the line>]"; '#' starts a comment line. Returns 0, CT_E_PARSE or CT_E_FULL. */
int fake_influx_script_text(struct fake_influx *f, const char *text);
/* Requests whose raw body is longer than 'n' are answered 413 (0: no limit). */
void fake_influx_set_max_body(struct fake_influx *f, size_t n);

size_t fake_influx_count(struct fake_influx *f);
/* The i-th recorded request (i < count); valid until fake_influx_stop(). */
const struct fake_influx_req *fake_influx_req(struct fake_influx *f, size_t i);
/* The value of header 'name' (case-insensitive) or NULL. */
const char *fake_influx_header(const struct fake_influx_req *r, const char *name);
/* Largest number of requests received and not yet answered at one time (hangs count). */
unsigned fake_influx_max_concurrent(struct fake_influx *f);
/* Requests not recorded because the record table was full. */
size_t fake_influx_dropped(struct fake_influx *f);

#endif

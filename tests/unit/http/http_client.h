/* http_client.h - a raw HTTP/1.1 test client on libuv, run in the server's own loop. */
#ifndef TEST_HTTP_CLIENT_H
#define TEST_HTTP_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tclient {
    uv_tcp_t tcp;
    uv_connect_t creq;
    bool connected;
    bool eof;    /* the server closed (or reset) the connection */
    bool closed; /* our handle is closed */
    char *buf;   /* everything received */
    size_t len;
    size_t cap;
};

/* One parsed response out of a client's received bytes. */
struct tresp {
    int status;
    char head[8192];  /* the header block, NUL-terminated */
    const char *body; /* points into the client buffer */
    size_t body_len;
    size_t total; /* bytes of head and body */
};

void tclient_open(struct tclient *cl, uv_loop_t *loop, uint16_t port);
void tclient_send(struct tclient *cl, const char *data, size_t len);
void tclient_close(struct tclient *cl);
/* Runs the loop until cond(arg) or the deadline (ms). Returns cond's final value. */
bool run_until(uv_loop_t *loop, bool (*cond)(void *arg), void *arg, uint64_t timeout_ms);
/* Parses the response starting at byte 'off' of the client's buffer; false when incomplete. */
bool tresp_parse(const struct tclient *cl, size_t off, struct tresp *r);
/* A header's value (case-insensitive name) copied into out, or false. */
bool tresp_header(const struct tresp *r, const char *name, char *out, size_t cap);
/* Runs the loop until n complete responses arrived (or EOF/deadline); returns how many. */
size_t await_responses(uv_loop_t *loop, struct tclient *cl, size_t n, struct tresp *out);
/* Runs the loop until everything closes, then closes it; returns uv_loop_close(). */
int loop_finish(uv_loop_t *loop);

#endif

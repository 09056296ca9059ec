/* http_int.h - the HTTP server's internal structures, shared by its files (not for other
 * modules). */
#ifndef COL_HTTP_INT_H
#define COL_HTTP_INT_H
#include <http_parser.h>
#include <stdbool.h>
#include <uv.h>

#include "col_http.h"
#include "col_obs.h"
#include "ct/buf.h"

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct route {
    char *method;
    char *path;
    size_t path_len;
    bool prefix;
    col_http_handler cb;
    void *arg;
};

struct rate_slot {
    char addr[48]; /* "" = free */
    double tokens;
    uint64_t last_ms;
};

struct col_http_req {
    struct conn *conn; /* NULL once cancelled */
    char method[16];
    char *path; /* decoded */
    size_t nquery;
    char *qname[COL_HTTP_MAX_QUERY];
    char *qvalue[COL_HTTP_MAX_QUERY];
    char *if_none_match;
    char *accept;
    char *accept_encoding;
    char *host;       /* the Host header, NULL when absent */
    char *cookie;     /* Cookie (the first one) */
    char *csrf_token; /* X-CSRF-Token */
    char *fwd_proto;  /* X-Forwarded-Proto (the first one) */
    char *fwd_host;   /* X-Forwarded-Host */
    char *forwarded;  /* Forwarded (RFC 7239) */
    char client[48];
    struct ct_buf body;
    bool head; /* HEAD: answer without the body */
};

enum hdr_pick { HDR_NONE = 0, HDR_INM, HDR_ACCEPT, HDR_AE };

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct col_http *srv;
    struct conn *prev, *next; /* the server's list */
    http_parser parser;
    char client[48];
    char *rbuf;    /* COL_HTTP_READ_CHUNK bytes for reads */
    char *pending; /* unparsed bytes kept while a request is answered; bounded by
                      max_request_bytes + COL_HTTP_READ_CHUNK (then reading stops) */
    size_t pending_len;
    /* The request being received. */
    struct ct_buf url;
    struct ct_buf field;
    struct ct_buf value;
    bool in_value;
    size_t head_bytes;
    enum hdr_pick pick;
    struct col_http_req *req; /* being received or answered */
    bool busy;                /* req is being answered (by a handler or a write) */
    bool reading;             /* uv_read_start() is in effect */
    bool closing;
    bool close_after; /* close once the answer is written */
    int error_status; /* set by parser callbacks: 413 or 431 */
    int nclosing;     /* handles still to close */
    size_t writes;    /* writes in flight */
};

struct col_http {
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listening;
    bool closing;
    bool listener_closed;
    size_t nalive; /* connections allocated and not yet freed (closing ones included) */
    char *listen;
    uint16_t port;
    uint16_t bound_port;
    size_t max_request_bytes;
    size_t max_connections;
    uint64_t timeout_ms;
    double rate;
    struct route routes[COL_HTTP_MAX_ROUTES];
    size_t nroutes;
    struct conn *conns;
    size_t nconns;
    struct rate_slot *rates; /* COL_HTTP_RATE_SLOTS */
    void (*closed_cb)(void *arg);
    void *closed_arg;
    size_t max_per_client; /* 0 = no cap */
    uint64_t counts[COL_HTTP__COUNT];
    /* Metrics in cfg->metrics (NULL without a registry), by enum col_http_count. */
    struct col_metric *m[COL_HTTP__COUNT];
};

/* Accept-Encoding allows gzip. */
bool col_http_req_accepts_gzip_value(const char *ae);
/* Token bucket: true when a request from 'addr' may pass now; else *retry_s is the wait. */
bool col_http_rate_take(struct col_http *h, const char *addr, uint64_t now_ms, unsigned *retry_s);
/* Frees a request's memory. */
void col_http_req_free(struct col_http_req *req);
/* Server side of answering: writes the bytes (owned: freed after the write) on conn. */
int col_http_conn_send(struct conn *c, char *head, size_t head_len, char *body, size_t body_len);
/* The answer of c->req is written: close, or parse pipelined bytes and read again. */
void col_http_conn_done(struct conn *c);
/* Parses received bytes (borrowed for the call); dispatches a complete request. */
void col_http_conn_feed(struct conn *c, const char *data, size_t len);
/* Closes the connection (idempotent); a request held by a handler becomes cancelled. */
void col_http_conn_close(struct conn *c);
/* Starts reading; closes the connection on failure. */
void col_http_conn_read_start(struct conn *c);
/* Stops reading (idempotent). */
void col_http_conn_read_stop(struct conn *c);
/* (Re)starts the request/idle timer for the server's timeout. */
void col_http_conn_arm_timer(struct conn *c);
/* Parser settings (parse.c). */
extern const http_parser_settings col_http_parser_settings;
/* Counts one event (and bumps its metric when registered). */
void col_http_bump(struct col_http *h, enum col_http_count which);

#endif

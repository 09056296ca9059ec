/* col_curl_uv.h - libcurl multi driven by a libuv loop.
 *
 * One struct col_curl_uv owns a CURLM, one uv_timer_t (CURLMOPT_TIMERFUNCTION) and one uv_poll_t
 * per socket that libcurl asks to watch (CURLMOPT_SOCKETFUNCTION). Transfers are started with
 * col_curl_uv_start() on a caller-owned struct col_curl_xfer, usually embedded in the caller's
 * request struct and recovered with container_of() in the done callback.
 *
 * Not thread-safe: every function, and every callback, runs on the loop thread. */
#ifndef COL_CURL_UV_H
#define COL_CURL_UV_H
#include <curl/curl.h>
#include <stddef.h>
#include <uv.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

struct col_curl_uv; /* opaque */

struct col_curl_xfer;
/* Called once on the loop thread when the transfer ends; 'rc' is libcurl's result (CURLE_OK when
 * an HTTP answer arrived, whatever its status). The easy handle has been removed from the multi
 * before the call, so the callback may free or reuse it and may start new transfers. */
typedef void (*col_curl_done_cb)(struct col_curl_xfer *xfer, CURLcode rc);

struct col_curl_xfer {
    CURL *easy;            /* owned by the caller; configured before col_curl_uv_start() */
    col_curl_done_cb done; /* set by col_curl_uv_start() */
    struct col_curl_xfer *prev, *next; /* list of active transfers; private */
};

/* Creates the glue on 'loop' (borrowed; must outlive it). Returns 0, CT_E_NOMEM or CT_E_IO (curl
 * or uv initialisation failed); on error *out is untouched. */
int col_curl_uv_create(uv_loop_t *loop, struct col_curl_uv **out);

/* Adds xfer->easy to the multi; 'done' is called from the loop when curl reports the transfer
 * finished (CURLMSG_DONE: the handle leaves the multi before the call, so once per start), and
 * not after col_curl_uv_cancel or col_curl_uv_close. Borrows 'xfer', which must stay valid until
 * done or cancel. Returns 0, CT_E_STATE (closing) or CT_E_IO (curl refused the handle); on error
 * 'done' is not called. */
int col_curl_uv_start(struct col_curl_uv *cu, struct col_curl_xfer *xfer, col_curl_done_cb done);

/* Removes an active transfer without calling its done callback. No-op if it is not active. */
void col_curl_uv_cancel(struct col_curl_uv *cu, struct col_curl_xfer *xfer);

/* Runs every active transfer once (curl_multi_socket_all) and hands finished ones to their done
 * callbacks. A stall breaker for libcurl 7.88's FTP, whose passive data connection can wait in
 * the DO_MORE state with neither a socket nor a timer to wake it under the multi-socket API
 * (tests/e2e/test_tt10_deliver.py hangs without it); the tt10 outbox calls it on a short timer
 * while uploads run. */
void col_curl_uv_run_all(struct col_curl_uv *cu);

/* Number of active transfers. */
size_t col_curl_uv_active(const struct col_curl_uv *cu);

/* Asynchronous close: cancels every active transfer (no done callbacks), cleans the multi up,
 * closes the timer and all poll handles, frees 'cu' in the last uv close callback and then calls
 * closed_cb(arg) (closed_cb may be NULL). 'cu' is invalid after the call. Accepts NULL (closed_cb
 * is then not called). */
void col_curl_uv_close(struct col_curl_uv *cu, void (*closed_cb)(void *arg), void *arg);

#endif

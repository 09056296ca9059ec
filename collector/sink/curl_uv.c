/* curl_uv.c - libcurl multi on libuv: uv_poll_t per socket, one uv_timer_t, completions through
 * curl_multi_info_read(). Modelled on curl's docs/examples/multi-uv.c, with checked allocations,
 * embedded handles recovered by container_of() and an asynchronous, counted close. */
#include "col_curl_uv.h"

#include <ct/err.h>
#include <stdbool.h>
#include <stdlib.h>

struct sock_ctx {
    uv_poll_t poll;               /* watches 'fd' for libcurl */
    curl_socket_t fd;             /* the socket libcurl gave us */
    struct col_curl_uv *cu;       /* owner */
    struct sock_ctx *prev, *next; /* owner's list of live poll handles */
};

struct col_curl_uv {
    uv_loop_t *loop;              /* borrowed */
    CURLM *multi;                 /* owned */
    uv_timer_t timer;             /* libcurl's single timeout */
    struct sock_ctx *socks;       /* live poll handles */
    struct col_curl_xfer *xfers;  /* active transfers */
    size_t active;                /* length of 'xfers' */
    unsigned pending_closes;      /* uv handles still closing */
    bool closing;                 /* col_curl_uv_close() was called */
    void (*closed_cb)(void *arg); /* called after the last handle closed */
    void *closed_arg;
};

static void maybe_free(struct col_curl_uv *cu)
{
    if (!cu->closing || cu->pending_closes != 0) {
        return;
    }
    void (*cb)(void *) = cu->closed_cb;
    void *arg = cu->closed_arg;
    free(cu);
    if (cb) {
        cb(arg);
    }
}

static void on_poll_closed(uv_handle_t *h)
{
    struct sock_ctx *sc = container_of((uv_poll_t *)h, struct sock_ctx, poll);
    struct col_curl_uv *cu = sc->cu;
    free(sc);
    cu->pending_closes--;
    maybe_free(cu);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct col_curl_uv *cu = container_of((uv_timer_t *)h, struct col_curl_uv, timer);
    cu->pending_closes--;
    maybe_free(cu);
}

static void sock_unlink_close(struct sock_ctx *sc)
{
    struct col_curl_uv *cu = sc->cu;
    if (sc->prev) {
        sc->prev->next = sc->next;
    } else {
        cu->socks = sc->next;
    }
    if (sc->next) {
        sc->next->prev = sc->prev;
    }
    uv_poll_stop(&sc->poll);
    cu->pending_closes++;
    uv_close((uv_handle_t *)&sc->poll, on_poll_closed);
}

static void xfer_unlink(struct col_curl_uv *cu, struct col_curl_xfer *x)
{
    if (x->prev) {
        x->prev->next = x->next;
    } else {
        cu->xfers = x->next;
    }
    if (x->next) {
        x->next->prev = x->prev;
    }
    x->prev = NULL;
    x->next = NULL;
    cu->active--;
}

/* Hands every finished transfer to its owner. Owners may start or cancel transfers. */
static void check_info(struct col_curl_uv *cu)
{
    CURLMsg *msg;
    int left;
    while (!cu->closing && (msg = curl_multi_info_read(cu->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(cu->multi, easy);
        if (priv == NULL) {
            continue;
        }
        struct col_curl_xfer *x = (struct col_curl_xfer *)(void *)priv;
        xfer_unlink(cu, x);
        x->done(x, rc);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_ctx *sc = container_of(p, struct sock_ctx, poll);
    struct col_curl_uv *cu = sc->cu;
    int flags = 0;
    int running;
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE) {
            flags |= CURL_CSELECT_IN;
        }
        if (events & UV_WRITABLE) {
            flags |= CURL_CSELECT_OUT;
        }
    }
    curl_multi_socket_action(cu->multi, sc->fd, flags, &running);
    check_info(cu);
}

static void on_timer(uv_timer_t *t)
{
    struct col_curl_uv *cu = container_of(t, struct col_curl_uv, timer);
    int running;
    curl_multi_socket_action(cu->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_info(cu);
}

void col_curl_uv_run_all(struct col_curl_uv *cu)
{
    if (cu == NULL || cu->closing || cu->active == 0) {
        return;
    }
    int running;
    /* Deprecated as a main driver, not removed; the only call that runs handles that wait on
     * neither a socket nor a timer. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    curl_multi_socket_all(cu->multi, &running);
#pragma GCC diagnostic pop
    check_info(cu);
}

static int cb_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct col_curl_uv *cu = userp;
    (void)multi;
    if (cu->closing) {
        return 0;
    }
    if (timeout_ms < 0) {
        uv_timer_stop(&cu->timer);
    } else {
        uv_timer_start(&cu->timer, on_timer, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

static int cb_socket(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp)
{
    struct col_curl_uv *cu = userp;
    struct sock_ctx *sc = socketp;
    (void)easy;
    if (action == CURL_POLL_REMOVE) {
        if (sc) {
            curl_multi_assign(cu->multi, s, NULL);
            sock_unlink_close(sc);
        }
        return 0;
    }
    if (cu->closing) {
        return 0;
    }
    if (sc == NULL) {
        sc = calloc(1, sizeof(*sc));
        if (sc == NULL) {
            return -1;
        }
        if (uv_poll_init_socket(cu->loop, &sc->poll, s) != 0) {
            free(sc);
            return -1;
        }
        sc->fd = s;
        sc->cu = cu;
        sc->next = cu->socks;
        if (cu->socks) {
            cu->socks->prev = sc;
        }
        cu->socks = sc;
        curl_multi_assign(cu->multi, s, sc);
    }
    int events = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT) {
        events |= UV_READABLE;
    }
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT) {
        events |= UV_WRITABLE;
    }
    if (uv_poll_start(&sc->poll, events, on_poll) != 0) {
        return -1;
    }
    return 0;
}

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int col_curl_uv_create(uv_loop_t *loop, struct col_curl_uv **out)
{
    static uv_once_t once = UV_ONCE_INIT;
    uv_once(&once, init_curl);
    struct col_curl_uv *cu = calloc(1, sizeof(*cu));
    if (cu == NULL) {
        return CT_E_NOMEM;
    }
    cu->loop = loop;
    cu->multi = curl_multi_init();
    if (cu->multi == NULL) {
        free(cu);
        return CT_E_IO;
    }
    if (uv_timer_init(loop, &cu->timer) != 0) {
        curl_multi_cleanup(cu->multi);
        free(cu);
        return CT_E_IO;
    }
    curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, cb_socket);
    curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu);
    curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, cb_timer);
    curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu);
    *out = cu;
    return 0;
}

int col_curl_uv_start(struct col_curl_uv *cu, struct col_curl_xfer *xfer, col_curl_done_cb done)
{
    if (cu->closing) {
        return CT_E_STATE;
    }
    xfer->done = done;
    curl_easy_setopt(xfer->easy, CURLOPT_PRIVATE, (char *)xfer);
    if (curl_multi_add_handle(cu->multi, xfer->easy) != CURLM_OK) {
        return CT_E_IO;
    }
    xfer->prev = NULL;
    xfer->next = cu->xfers;
    if (cu->xfers) {
        cu->xfers->prev = xfer;
    }
    cu->xfers = xfer;
    cu->active++;
    return 0;
}

void col_curl_uv_cancel(struct col_curl_uv *cu, struct col_curl_xfer *xfer)
{
    bool found = false;
    for (struct col_curl_xfer *x = cu->xfers; x; x = x->next) {
        if (x == xfer) {
            found = true;
            break;
        }
    }
    if (!found) {
        return;
    }
    curl_multi_remove_handle(cu->multi, xfer->easy);
    xfer_unlink(cu, xfer);
}

size_t col_curl_uv_active(const struct col_curl_uv *cu)
{
    return cu->active;
}

void col_curl_uv_close(struct col_curl_uv *cu, void (*closed_cb)(void *arg), void *arg)
{
    if (cu == NULL) {
        return;
    }
    while (cu->xfers) {
        col_curl_uv_cancel(cu, cu->xfers);
    }
    cu->closing = true;
    cu->closed_cb = closed_cb;
    cu->closed_arg = arg;
    /* Cleanup closes cached connections; libcurl may report CURL_POLL_REMOVE for them. */
    curl_multi_cleanup(cu->multi);
    cu->multi = NULL;
    while (cu->socks) {
        sock_unlink_close(cu->socks);
    }
    uv_timer_stop(&cu->timer);
    cu->pending_closes++;
    uv_close((uv_handle_t *)&cu->timer, on_timer_closed);
}

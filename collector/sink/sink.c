/* sink.c - the sink's state: batching, the memory limit, dispatch with backoff, answer handling
 * and the asynchronous close. HTTP details are in sink_http.c, the curl/uv glue in curl_uv.c. */
#include "col_obs.h"
#include "sink_int.h"

#include <ct/err.h>
#include <ct/gzip.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static void fifo_push(struct fifo *q, struct batch *b)
{
    b->next = NULL;
    if (q->tail) {
        q->tail->next = b;
    } else {
        q->head = b;
    }
    q->tail = b;
    q->n++;
}

struct batch *col_sink_fifo_pop(struct fifo *q)
{
    struct batch *b = q->head;
    if (b) {
        q->head = b->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        q->n--;
        b->next = NULL;
    }
    return b;
}

/* Inserts after every batch with mark_lo <= b->mark_lo, so the oldest data drains first. */
static void fifo_insert_sorted(struct fifo *q, struct batch *b)
{
    if (q->head == NULL || q->tail->mark_lo <= b->mark_lo) {
        fifo_push(q, b);
        return;
    }
    struct batch **pp = &q->head;
    while (*pp && (*pp)->mark_lo <= b->mark_lo) {
        pp = &(*pp)->next;
    }
    b->next = *pp;
    *pp = b;
    q->n++;
}

void col_sink_batch_free(struct batch *b)
{
    if (b) {
        free(b->body);
        free(b);
    }
}

static uint64_t rnd(struct col_sink *s)
{
    /* xorshift64*: jitter only, not security. */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ull;
}

/* After a backlog drains, glibc keeps the pages its batches used: they are free chunks inside
 * the heap, below its trim threshold, so the process stays at its peak size (the 10-minute memory
 * soak ended 90 MiB above the devices' flat state after a 72 MiB queue drained;
 * docs/benchmarks.md, memory). Once the sink has held an eighth of max_pending_bytes and is back
 * under a sixteenth of that peak, malloc_trim(0) hands the free pages back. It is CPU work on the
 * loop (a walk of the free chunks, a few milliseconds), done once per drained backlog; the log
 * line gives its time. test_sink_memory_trim proves when it runs (the counter); run.py outage
 * shows VmRSS. */
static void release_memory(struct col_sink *s)
{
    if (s->trim_high < s->cfg.max_pending_bytes / 8 || s->st.bytes_pending > s->trim_high / 16) {
        return;
    }
    size_t peak = s->trim_high;
    s->trim_high = s->st.bytes_pending;
#ifdef __GLIBC__
    uint64_t t0 = uv_hrtime();
    (void)malloc_trim(0);
    s->st.memory_trims++;
    col_log(COL_LOG_INFO, "sink",
            "store queue drained from %.1f MiB: free memory returned to the system in %.1f ms",
            (double)peak / (1024.0 * 1024.0), (double)(uv_hrtime() - t0) / 1e6);
#else
    (void)peak;
#endif
}

static void settle_bytes(struct col_sink *s, size_t n)
{
    s->st.bytes_pending -= n;
    release_memory(s);
    if (s->want_room && s->st.bytes_pending <= s->cfg.max_pending_bytes / 2) {
        s->want_room = false;
        if (s->cbs.on_room) {
            s->cbs.on_room(s->arg);
        }
    }
}

void col_sink_seal(struct col_sink *s)
{
    if (s->open) {
        uv_timer_stop(&s->flush_timer);
        fifo_push(&s->ready, s->open);
        s->open = NULL;
    }
}

void col_sink_on_flush_timer(uv_timer_t *t)
{
    struct col_sink *s = container_of(t, struct col_sink, flush_timer);
    col_sink_seal(s);
    col_sink_pump(s);
}

void col_sink_on_retry_timer(uv_timer_t *t)
{
    struct col_sink *s = container_of(t, struct col_sink, retry_timer);
    col_sink_pump(s);
}

/* Puts 'b' back for a retry and holds all sending for the backoff (at least retry_after_ms). */
static void retry_later(struct col_sink *s, struct batch *b, uint64_t retry_after_ms)
{
    s->st.retries++;
    fifo_insert_sorted(&s->backlog, b);
    /* Everything cut before the failure is held by the outage too: it joins the backlog, so
     * that once the store is back the ready queue holds only fresh batches. */
    struct batch *r;
    while ((r = col_sink_fifo_pop(&s->ready)) != NULL) {
        fifo_insert_sorted(&s->backlog, r);
    }
    s->fail_streak++;
    unsigned shift = s->fail_streak - 1 > 30 ? 30 : s->fail_streak - 1;
    uint64_t cap = s->cfg.retry_base_ms << shift;
    if (cap > s->cfg.retry_max_ms || cap < s->cfg.retry_base_ms) {
        cap = s->cfg.retry_max_ms;
    }
    uint64_t delay = rnd(s) % (cap + 1);
    if (delay < retry_after_ms) {
        delay = retry_after_ms;
    }
    uint64_t until = uv_now(s->loop) + delay;
    if (until > s->hold_until) {
        s->hold_until = until;
    }
    if (retry_after_ms > 0 && uv_now(s->loop) + retry_after_ms > s->server_hold_until) {
        s->server_hold_until = uv_now(s->loop) + retry_after_ms;
    }
}

static void reject(struct col_sink *s, enum col_sink_reject cls, const char *lines, size_t len,
                   size_t points, int status, const char *reason)
{
    s->st.rejects[cls] += points;
    if (s->cbs.on_reject) {
        s->cbs.on_reject(s->arg, cls, lines, len, status, reason ? reason : "");
    }
}

static size_t count_lines(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += p[i] == '\n';
    }
    return n;
}

static struct batch *batch_from(const char *p, size_t len, uint64_t mark, uint64_t born)
{
    struct batch *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    b->body = malloc(len ? len : 1);
    if (b->body == NULL) {
        free(b);
        return NULL;
    }
    memcpy(b->body, p, len);
    b->len = b->cap = len;
    b->points = count_lines(p, len);
    b->mark_lo = mark;
    b->born_ms = born;
    b->fixed = true; /* a half or a rest of a sent batch: coalescing would undo the cut */
    return b;
}

/* Halves 'b' at the line boundary nearest the middle; both halves go back to the backlog at
 * once (no hold: the store is answering). Returns false when out of memory ('b' untouched). */
static bool split(struct col_sink *s, struct batch *b)
{
    const char *mid = b->body + b->len / 2;
    const char *nl = memchr(mid, '\n', (size_t)(b->body + b->len - mid));
    if (nl == NULL || nl + 1 == b->body + b->len) {
        nl = memchr(b->body, '\n', b->len);
    }
    size_t first = (size_t)(nl + 1 - b->body);
    struct batch *a = batch_from(b->body, first, b->mark_lo, b->born_ms);
    struct batch *c = batch_from(b->body + first, b->len - first, b->mark_lo, b->born_ms);
    if (a == NULL || c == NULL) {
        col_sink_batch_free(a);
        col_sink_batch_free(c);
        return false;
    }
    s->st.splits++;
    fifo_insert_sorted(&s->backlog, a);
    fifo_insert_sorted(&s->backlog, c);
    col_sink_batch_free(b);
    return true;
}

static void req_unlink(struct col_sink *s, struct req *r)
{
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        s->reqs = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
    s->inflight--;
    if (r->backlog) {
        s->backlog_inflight--;
    }
}

void col_sink_req_free(struct req *r)
{
    if (r) {
        curl_easy_cleanup(r->xfer.easy);
        free(r->gz);
        free(r->resp);
        free(r);
    }
}

/* Hands each line of 'lines' to on_reject, one call per line; stops if a callback closed the
 * sink. */
static void reject_each(struct col_sink *s, enum col_sink_reject cls, const char *lines, size_t len,
                        int status, const char *reason)
{
    const char *p = lines;
    const char *end = lines + len;
    while (p < end && !s->closing) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
        reject(s, cls, p, n, 1, status, reason);
        p += n;
    }
}

/* The store refused data ('b' is the caller's, not in any queue): lines it names go to the
 * quarantine and the rest is written or resent; without names the batch is halved; a single
 * line refused on its own is rejected. Returns the bytes of 'b' still held (put back). */
static size_t on_refused(struct col_sink *s, struct req *r, struct batch *b, int status,
                         const char *msg)
{
    if (status == 400) {
        char *bad;
        char *rest;
        size_t bad_len;
        size_t rest_len;
        long n = col_sink_partition_named(msg, b->body, b->len, &bad, &bad_len, &rest, &rest_len);
        if (n > 0) {
            size_t held = 0;
            size_t rest_points = b->points - (size_t)n;
            if (rest_len > 0 && col_sink_is_partial(msg) && !r->resp_cut) {
                s->st.points_delivered += rest_points; /* InfluxDB wrote them */
            } else if (rest_len > 0) {
                /* Not written (a plain 400 writes nothing), or the answer was cut so the named
                 * lines may be incomplete: resend (a rewrite of a written point is harmless). */
                struct batch *again = batch_from(rest, rest_len, b->mark_lo, b->born_ms);
                if (again == NULL) {
                    free(bad);
                    free(rest);
                    retry_later(s, b, 0);
                    return b->len;
                }
                fifo_insert_sorted(&s->backlog, again);
                held = rest_len;
            }
            free(rest);
            /* The batch's bytes are settled minus 'held' by the caller; reject last, since a
             * callback may close the sink. */
            col_sink_batch_free(b);
            reject_each(s, COL_SINK_REJ_PARSE, bad, bad_len, status, msg);
            free(bad);
            return held;
        }
        free(bad);
        free(rest);
        if (n < 0) {
            retry_later(s, b, 0);
            return b->len;
        }
    }
    if (b->points > 1) {
        size_t len = b->len;
        if (!split(s, b)) {
            retry_later(s, b, 0);
        }
        return len;
    }
    reject_each(s, status == 413 ? COL_SINK_REJ_TOO_LARGE : COL_SINK_REJ_BAD_REQUEST, b->body,
                b->len, status, msg);
    col_sink_batch_free(b);
    return 0;
}

/* Classifies an HTTP answer that is not 2xx: the store's fault (true, *kind set) or the data's. */
static bool store_fault(long status, const char *msg, enum col_sink_fail *kind)
{
    if (status == 404) {
        *kind = COL_SINK_FAIL_NOT_FOUND;
        return true;
    }
    if (status == 401 || status == 403) {
        *kind = COL_SINK_FAIL_AUTH;
        return true;
    }
    *kind = COL_SINK_FAIL_STORE;
    if (status < 400 || status >= 500 || status == 408 || status == 429) {
        return true;
    }
    return status == 400 && col_sink_is_store_400(msg);
}

/* Fills 'why' for a failed answer. */
static void describe(const struct col_sink *s, enum col_sink_fail kind, long status,
                     const char *msg, char *why, size_t cap)
{
    const char *what = s->cfg.api_version == 2 ? "bucket" : "database";
    const char *name = s->cfg.api_version == 2 ? s->cfg.bucket : s->cfg.db;
    if (kind == COL_SINK_FAIL_NOT_FOUND) {
        snprintf(why, cap, "%s \"%s\" not found (HTTP 404)", what, name);
    } else if (kind == COL_SINK_FAIL_AUTH) {
        snprintf(why, cap, "HTTP %ld: check credentials%s%.120s%s", status, msg[0] ? " (" : "", msg,
                 msg[0] ? ")" : "");
    } else {
        snprintf(why, cap, "store error: HTTP %ld%s%.160s", status, msg[0] ? ": " : "", msg);
    }
}

static void on_transport_error(struct col_sink *s, struct req *r, struct batch *b, CURLcode rc,
                               uint64_t lat)
{
    char why[192];
    s->st.transport_errors++;
    /* Put back first: a callback that closes the sink then frees it with the backlog. */
    retry_later(s, b, 0);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        s->st.timeouts++;
        if (lat >= 10000) {
            snprintf(why, sizeof(why), "no answer for %llu s", (unsigned long long)lat / 1000);
        } else {
            snprintf(why, sizeof(why), "no answer for %.1f s", (double)lat / 1000.0);
        }
        col_sink_state_fail(s, COL_SINK_FAIL_TIMEOUT, why);
        return;
    }
    long oserr = 0;
    curl_easy_getinfo(r->xfer.easy, CURLINFO_OS_ERRNO, &oserr);
    snprintf(why, sizeof(why), "store unreachable: %s",
             oserr != 0 ? strerror((int)oserr) : curl_easy_strerror(rc));
    col_sink_state_fail(s, COL_SINK_FAIL_NET, why);
}

static void on_done(struct col_curl_xfer *x, CURLcode rc)
{
    struct req *r = container_of(x, struct req, xfer);
    struct col_sink *s = r->sink;
    struct batch *b = r->b;
    r->b = NULL;
    req_unlink(s, r);
    uint64_t lat = uv_now(s->loop) - r->start_ms;
    s->st.last_latency_ms = lat;
    s->st.ewma_latency_ms =
        s->st.ewma_latency_ms == 0 ? lat : (s->st.ewma_latency_ms * 7 + lat) / 8;
    long status = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(r->xfer.easy, CURLINFO_RESPONSE_CODE, &status);
    }
    size_t len = b->len;
    size_t held = 0; /* bytes of 'b' still held after the answer */
    if (rc != CURLE_OK) {
        on_transport_error(s, r, b, rc, lat);
        held = len;
    } else if (status >= 200 && status < 300) {
        s->fail_streak = 0;
        s->hold_until = s->server_hold_until; /* a Retry-After still stands */
        s->st.batches_ok++;
        s->st.points_delivered += b->points;
        s->st.bytes_delivered += b->len;
        col_sink_batch_free(b);
        col_sink_state_up(s);
    } else {
        char *msg = col_sink_error_message(r->resp ? r->resp : "", r->resp_len);
        const char *m = msg ? msg : "";
        enum col_sink_fail kind;
        if (store_fault(status, m, &kind)) {
            char why[256];
            retry_later(s, b, r->has_retry_after ? r->retry_after_ms : 0);
            held = len;
            s->st.not_found += status == 404;
            s->st.auth_errors += kind == COL_SINK_FAIL_AUTH;
            s->st.server_errors += kind == COL_SINK_FAIL_STORE;
            describe(s, kind, status, m, why, sizeof(why));
            bool first_auth = kind == COL_SINK_FAIL_AUTH && s->fail_kind != (int)kind;
            col_sink_state_fail(s, kind, why);
            if (first_auth && !s->closing && s->cbs.on_auth_error) {
                s->cbs.on_auth_error(s->arg, (int)status, m);
            }
        } else {
            /* The store judged the data: it is up. */
            s->fail_streak = 0;
            s->hold_until = s->server_hold_until; /* a Retry-After still stands */
            col_sink_state_up(s);
            if (!s->closing) {
                held = on_refused(s, r, b, (int)status, m);
            } else {
                col_sink_batch_free(b);
            }
        }
        free(msg);
    }
    col_sink_req_free(r);
    if (s->closing) {
        /* A callback closed the sink; a batch put back above was freed by the close. */
        return;
    }
    if (len > held) {
        settle_bytes(s, len - held);
    }
    if (!s->closing) {
        col_sink_pump(s);
    }
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct req *r = userp;
    size_t n = size * nmemb;
    if (r->resp == NULL) {
        r->resp = malloc(COL_SINK_RESP_MAX);
        if (r->resp == NULL) {
            return n; /* classification then works from the status alone */
        }
    }
    size_t room = COL_SINK_RESP_MAX - r->resp_len;
    size_t take = n < room ? n : room;
    r->resp_cut = r->resp_cut || take < n;
    memcpy(r->resp + r->resp_len, data, take);
    r->resp_len += take;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct req *r = userp;
    size_t n = size * nmemb;
    static const char key[] = "retry-after:";
    if (n > sizeof(key) - 1 && strncasecmp(data, key, sizeof(key) - 1) == 0) {
        uint64_t ms;
        if (col_sink_parse_retry_after(data + sizeof(key) - 1, n - (sizeof(key) - 1), &ms)) {
            r->retry_after_ms = ms;
            r->has_retry_after = true;
        }
    }
    return n;
}

/* Starts a POST of 'b'. On failure 'b' is still the caller's. */
static int start_req(struct col_sink *s, struct batch *b, bool from_backlog)
{
    struct req *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return CT_E_NOMEM;
    }
    r->sink = s;
    r->backlog = from_backlog;
    r->xfer.easy = curl_easy_init();
    if (r->xfer.easy == NULL) {
        free(r);
        return CT_E_NOMEM;
    }
    const char *body = b->body;
    size_t len = b->len;
    if (s->cfg.gzip) {
        int rc = ct_gzip(b->body, b->len, &r->gz, &r->gz_len);
        if (rc != 0) {
            col_sink_req_free(r);
            return rc;
        }
        body = r->gz;
        len = r->gz_len;
    }
    CURL *e = r->xfer.easy;
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->cfg.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->cfg.total_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    r->start_ms = uv_now(s->loop);
    r->b = b;
    int rc = col_curl_uv_start(s->cu, &r->xfer, on_done);
    if (rc != 0) {
        r->b = NULL;
        col_sink_req_free(r);
        return rc;
    }
    b->fixed = true; /* from now on its bytes are what a retry sends again */
    r->next = s->reqs;
    if (s->reqs) {
        s->reqs->prev = r;
    }
    s->reqs = r;
    s->inflight++;
    if (from_backlog) {
        s->backlog_inflight++;
    }
    s->st.requests++;
    return 0;
}

/* Merges into 'b' (just taken from 'q', never sent) the batches at the head of 'q' that were
 * never sent either, in queue order, while the sum stays within batch_max_points and
 * batch_max_bytes: one POST instead of several once small batches have queued up behind busy
 * slots (a backlog after a slow or paused store). The merged batch keeps the lowest mark and the
 * earliest birth, so the low water and the journal's commit point are as before; its lines stay
 * in queue order. A batch sent once is never merged, nor anything behind it (its retry is
 * byte-identical). Out of memory: 'b' goes as it is. test_sink_coalesce_queued. */
static void coalesce(struct col_sink *s, struct fifo *q, struct batch *b)
{
    if (b->fixed) {
        return;
    }
    size_t points = b->points;
    size_t len = b->len;
    size_t n = 0;
    for (const struct batch *c = q->head; c != NULL && !c->fixed; c = c->next) {
        if (points + c->points > s->cfg.batch_max_points || len + c->len > s->cfg.batch_max_bytes) {
            break;
        }
        points += c->points;
        len += c->len;
        n++;
    }
    if (n == 0) {
        return;
    }
    if (len > b->cap) {
        char *nb = realloc(b->body, len);
        if (nb == NULL) {
            return;
        }
        b->body = nb;
        b->cap = len;
    }
    for (; n > 0; n--) {
        struct batch *c = col_sink_fifo_pop(q);
        memcpy(b->body + b->len, c->body, c->len);
        b->len += c->len;
        b->points += c->points;
        if (c->mark_lo < b->mark_lo) {
            b->mark_lo = c->mark_lo;
        }
        if (c->born_ms < b->born_ms) {
            b->born_ms = c->born_ms;
        }
        col_sink_batch_free(c);
        s->st.coalesced++;
    }
}

/* Chooses the next batch: backlog within its slot limit, fresh batches in the reserved slot. */
static struct batch *pick(struct col_sink *s, bool *from_backlog)
{
    bool have_b = s->backlog.head != NULL;
    bool have_r = s->ready.head != NULL;
    bool use_backlog;
    if (!have_b && !have_r) {
        return NULL;
    }
    if (s->fail_streak > 0) {
        use_backlog = have_b; /* probe with the oldest failed batch */
    } else if (!have_b || !have_r) {
        use_backlog = have_b;
        if (use_backlog && s->cfg.max_inflight > 1 &&
            s->backlog_inflight >= s->cfg.max_inflight - 1) {
            return NULL; /* keep the last slot for fresh data */
        }
    } else if (s->cfg.max_inflight == 1) {
        use_backlog = !s->last_was_backlog;
    } else {
        use_backlog = s->backlog_inflight < s->cfg.max_inflight - 1;
    }
    *from_backlog = use_backlog;
    struct fifo *q = use_backlog ? &s->backlog : &s->ready;
    struct batch *b = col_sink_fifo_pop(q);
    coalesce(s, q, b);
    return b;
}

void col_sink_pump(struct col_sink *s)
{
    if (s->closing) {
        return;
    }
    uint64_t now = uv_now(s->loop);
    if (now < s->hold_until) {
        uv_timer_start(&s->retry_timer, col_sink_on_retry_timer, s->hold_until - now, 0);
        return;
    }
    for (;;) {
        unsigned cap = s->fail_streak > 0 ? 1 : s->cfg.max_inflight;
        if (s->inflight >= cap) {
            return;
        }
        bool from_backlog = false;
        struct batch *b = pick(s, &from_backlog);
        if (b == NULL) {
            return;
        }
        if (start_req(s, b, from_backlog) != 0) {
            /* Could not even start: treat like a transport failure. */
            s->st.transport_errors++;
            retry_later(s, b, 0);
            uv_timer_start(&s->retry_timer, col_sink_on_retry_timer, s->hold_until - now, 0);
            return;
        }
        s->last_was_backlog = from_backlog;
    }
}

static int add_line(struct col_sink *s, const char *p, size_t n, uint64_t mark)
{
    struct batch *b = s->open;
    if (b && (b->points >= s->cfg.batch_max_points || b->len + n + 1 > s->cfg.batch_max_bytes)) {
        col_sink_seal(s);
        b = NULL;
    }
    if (b == NULL) {
        b = calloc(1, sizeof(*b));
        if (b == NULL) {
            return CT_E_NOMEM;
        }
        b->mark_lo = mark;
        b->born_ms = uv_now(s->loop);
        s->open = b;
        uv_timer_start(&s->flush_timer, col_sink_on_flush_timer, s->cfg.flush_ms, 0);
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        if (cap > s->cfg.batch_max_bytes && b->len + n + 1 <= s->cfg.batch_max_bytes) {
            cap = s->cfg.batch_max_bytes;
        }
        char *nb = realloc(b->body, cap);
        if (nb == NULL) {
            return CT_E_NOMEM;
        }
        b->body = nb;
        b->cap = cap;
    }
    if (mark < b->mark_lo) {
        b->mark_lo = mark; /* marks may arrive in any order: a batch keeps its minimum */
    }
    memcpy(b->body + b->len, p, n);
    b->body[b->len + n] = '\n';
    b->len += n + 1;
    b->points++;
    s->st.bytes_pending += n + 1;
    if (s->st.bytes_pending > s->trim_high) {
        s->trim_high = s->st.bytes_pending;
    }
    if (b->points >= s->cfg.batch_max_points || b->len >= s->cfg.batch_max_bytes) {
        col_sink_seal(s);
    }
    return 0;
}

int col_sink_enqueue(struct col_sink *s, const char *lines, size_t len, uint64_t mark)
{
    if (s->closing) {
        return CT_E_STATE;
    }
    if (len == 0) {
        return 0;
    }
    size_t need = len + (lines[len - 1] != '\n');
    if (need > s->cfg.max_pending_bytes) {
        return CT_E_TOOBIG;
    }
    if (s->st.bytes_pending + need > s->cfg.max_pending_bytes) {
        s->st.full_refusals++;
        s->want_room = true;
        return CT_E_FULL;
    }
    const char *p = lines;
    const char *end = lines + len;
    int rc = 0;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0) {
            rc = add_line(s, p, n, mark);
        }
        p += n + 1;
    }
    col_sink_pump(s);
    return rc;
}

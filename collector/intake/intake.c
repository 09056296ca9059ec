/* intake.c - group commit of received messages to the spool, then acknowledgement. */
#include "col_intake.h"

#include <stdlib.h>
#include <string.h>

#include "col_obs.h"
#include "ct/err.h"

#define RETRY_FULL_MS 200
#define RETRY_IO_MIN_MS 1000
#define RETRY_IO_MAX_MS 30000

/* Why the subscription is paused (bits). */
#define PAUSE_FULL 0x1u    /* the spool or the file system refused the last group */
#define PAUSE_IO 0x2u      /* the last group write failed */
#define PAUSE_PENDING 0x4u /* too many messages wait to be written */

/* The group being written by the worker. */
struct intake_group {
    uv_work_t work; /* first member: the group is found from its work request */
    struct col_spool *spool;
    struct col_msg *head; /* the group's messages in order, linked by ->next */
    size_t n;
    size_t bytes;
    uint8_t *buf; /* the serialised records */
    struct col_spool_rec *recs;
    uint64_t first_seq; /* results, set by the worker */
    size_t done;
    int rc;
};

struct col_intake {
    uv_loop_t *loop;
    struct col_spool *spool;
    struct col_intake_cfg cfg;
    struct col_intake_callbacks cbs;
    void *arg;
    struct col_msg *head; /* collecting: oldest first */
    struct col_msg *tail;
    size_t count;
    size_t bytes;
    struct intake_group group; /* valid while busy */
    bool busy;                 /* a group is in the worker */
    uv_timer_t retry;          /* a refused or failed group waits for its retry */
    bool retry_armed;
    uint64_t io_backoff_ms;
    unsigned pause; /* PAUSE_* bits */
    uint64_t streak_failures;
    bool closing;
    bool timer_closed;
    void (*done_cb)(void *arg);
    void *done_arg;
    struct col_intake_stats st;
};

static void submit(struct col_intake *in);

static struct intake_group *container_of_group(uv_work_t *w)
{
    return (struct intake_group *)(void *)w;
}

static void apply_defaults(struct col_intake_cfg *c)
{
    if (c->group_max_records == 0) {
        c->group_max_records = 4096;
    }
    if (c->group_max_bytes == 0) {
        c->group_max_bytes = 4u << 20;
    }
    if (c->max_pending == 0) {
        c->max_pending = 65536;
    }
    if (c->max_pending_bytes == 0) {
        c->max_pending_bytes = 64u << 20;
    }
}

static void set_pause(struct col_intake *in, unsigned bit, bool on, const char *why)
{
    unsigned before = in->pause;

    in->pause = on ? (in->pause | bit) : (in->pause & ~bit);
    in->st.paused = in->pause != 0;
    if ((before == 0) != (in->pause == 0) && in->cbs.on_pause != NULL) {
        in->cbs.on_pause(in->arg, in->pause != 0, why);
    }
}

static void check_pending(struct col_intake *in)
{
    size_t n = in->count + (in->busy ? in->group.n : 0);
    size_t b = in->bytes + (in->busy ? in->group.bytes : 0);

    in->st.pending = n;
    in->st.pending_bytes = b;
    if (n >= in->cfg.max_pending || b >= in->cfg.max_pending_bytes) {
        set_pause(in, PAUSE_PENDING, true, "messages wait for the journal");
    } else if ((in->pause & PAUSE_PENDING) &&
               (n <= in->cfg.max_pending / 2 && b <= in->cfg.max_pending_bytes / 2)) {
        set_pause(in, PAUSE_PENDING, false, "the journal caught up");
    }
}

int col_intake_create(uv_loop_t *loop, struct col_spool *spool, const struct col_intake_cfg *cfg,
                      const struct col_intake_callbacks *cbs, void *arg, struct col_intake **out)
{
    struct col_intake *in = calloc(1, sizeof(*in));

    if (in == NULL) {
        return CT_E_NOMEM;
    }
    in->loop = loop;
    in->spool = spool;
    in->cfg = *cfg;
    apply_defaults(&in->cfg);
    in->cbs = *cbs;
    in->arg = arg;
    in->io_backoff_ms = RETRY_IO_MIN_MS;
    uv_timer_init(loop, &in->retry);
    in->retry.data = in;
    *out = in;
    return 0;
}

void col_intake_set_limits(struct col_intake *in, const struct col_intake_cfg *cfg)
{
    in->cfg = *cfg;
    apply_defaults(&in->cfg);
    check_pending(in);
}

int col_intake_add(struct col_intake *in, const char *topic, size_t topic_len, const char *sig,
                   size_t sig_len, const void *payload, size_t payload_len, int64_t recv_ms,
                   uint64_t token)
{
    struct col_msg *m;
    int rc;

    if (in->closing) {
        return CT_E_STATE;
    }
    rc = col_msg_new_bounded(topic, topic_len, sig, sig_len, payload, payload_len, recv_ms, &m);
    if (rc != 0) {
        return rc;
    }
    if (m->flags != 0) {
        in->st.cut++;
    }
    m->token = token;
    if (in->tail != NULL) {
        in->tail->next = m;
    } else {
        in->head = m;
    }
    in->tail = m;
    in->count++;
    in->bytes += col_msg_record_len(m);
    in->st.received++;
    check_pending(in);
    if (!in->busy && !in->retry_armed) {
        submit(in);
    }
    return 0;
}

/* Worker thread: serialise the group and append it. Touches only the group. */
static void work_cb(uv_work_t *w)
{
    struct intake_group *g = container_of_group(w);
    size_t off = 0;
    size_t i = 0;

    for (struct col_msg *m = g->head; m != NULL; m = m->next, i++) {
        size_t len = col_msg_record_len(m);
        col_msg_serialise(m, g->buf + off);
        g->recs[i].data = g->buf + off;
        g->recs[i].len = len;
        off += len;
    }
    g->done = 0;
    g->first_seq = 0;
    g->rc = col_spool_append_batch(g->spool, g->recs, g->n, &g->first_seq, &g->done);
}

static void retry_cb(uv_timer_t *t)
{
    struct col_intake *in = t->data;

    if (in->closing || in->busy) {
        in->retry_armed = false;
        uv_timer_stop(t);
        return;
    }
    if (in->head == NULL) {
        /* Nothing waits (a lost connection dropped it: the broker sends it again). Resume as
         * soon as a message would fit, or at once after an I/O error (the next write probes),
         * else the subscription would stay paused with nothing left to retry. */
        if ((in->pause & PAUSE_FULL) &&
            !col_spool_has_room(in->spool, 4096 + COL_SPOOL_REC_OVERHEAD)) {
            return;
        }
        in->retry_armed = false;
        uv_timer_stop(t);
        if (in->st.full_now || in->st.failing_now) {
            col_log(COL_LOG_INFO, "intake", "the journal has room again; resuming MQTT delivery");
        }
        in->st.full_now = false;
        in->st.failing_now = false;
        in->streak_failures = 0;
        set_pause(in, PAUSE_FULL | PAUSE_IO, false, "the journal has room again");
        return;
    }
    /* A full spool is polled cheaply; the write is tried only once a group would fit. */
    if ((in->pause & PAUSE_FULL) &&
        !col_spool_has_room(in->spool, col_msg_record_len(in->head) + COL_SPOOL_REC_OVERHEAD)) {
        return;
    }
    in->retry_armed = false;
    uv_timer_stop(t);
    submit(in);
}

static void arm_retry(struct col_intake *in, uint64_t ms, bool repeat)
{
    in->retry_armed = true;
    uv_timer_start(&in->retry, retry_cb, ms, repeat ? ms : 0);
}

static void finish_close(struct col_intake *in)
{
    if (in->closing && !in->busy && in->timer_closed && in->done_cb != NULL) {
        void (*done)(void *) = in->done_cb;
        in->done_cb = NULL;
        done(in->done_arg);
    }
}

/* Loop thread: the worker finished the group. */
static void after_work_cb(uv_work_t *w, int status)
{
    struct intake_group *g = container_of_group(w);
    struct col_intake *in = g->work.data;
    struct col_msg *durable = g->head;
    struct col_msg *rest = NULL;
    struct col_msg *m = g->head;
    size_t done = status == 0 ? g->done : 0;
    int rc = status == 0 ? g->rc : CT_E_STATE;

    in->busy = false;
    free(g->buf);
    free(g->recs);
    g->buf = NULL;
    g->recs = NULL;
    /* Split the group after its durable prefix. */
    if (done == 0) {
        durable = NULL;
        rest = g->head;
    } else {
        for (size_t i = 0; i < done; i++) {
            m->seq = g->first_seq + i;
            if (i + 1 == done) {
                rest = m->next;
                m->next = NULL;
            }
            m = m->next;
        }
    }
    g->head = NULL;
    if (done > 0) {
        in->st.durable += done;
        in->st.groups++;
        in->st.last_seq = g->first_seq + done - 1;
        for (m = durable; m != NULL; m = m->next) {
            if (m->token != 0 && in->cbs.on_ack != NULL && !in->closing) {
                in->cbs.on_ack(in->arg, m->token);
            }
        }
    }
    /* What did not become durable goes back in front, in order, unacknowledged. */
    if (rest != NULL) {
        struct col_msg *last = rest;
        size_t n = 1;
        size_t b = col_msg_record_len(rest);
        while (last->next != NULL) {
            last = last->next;
            n++;
            b += col_msg_record_len(last);
        }
        last->next = in->head;
        if (in->head == NULL) {
            in->tail = last;
        }
        in->head = rest;
        in->count += n;
        in->bytes += b;
    }
    if (rc == 0) {
        if (in->st.full_now || in->st.failing_now) {
            col_log(COL_LOG_INFO, "intake",
                    "the journal takes messages again after %llu refused or failed writes; "
                    "resuming MQTT delivery",
                    (unsigned long long)in->streak_failures);
        }
        in->streak_failures = 0;
        in->st.full_now = false;
        in->st.failing_now = false;
        in->io_backoff_ms = RETRY_IO_MIN_MS;
        set_pause(in, PAUSE_FULL | PAUSE_IO, false, "the journal takes messages again");
    } else if (rc == CT_E_FULL) {
        in->st.full++;
        in->streak_failures++;
        if (!in->st.full_now) {
            col_log(
                COL_LOG_ERROR, "intake",
                "spool is full (its size limit, or its file system full): holding MQTT delivery "
                "until the store takes data again "
                "(the broker keeps the messages; nothing is acknowledged until it is in "
                "the journal)");
        }
        in->st.full_now = true;
        set_pause(in, PAUSE_FULL, true, "spool is full");
    } else if (rc != CT_E_STATE) {
        in->st.io_errors++;
        in->streak_failures++;
        if (!in->st.failing_now) {
            col_log(COL_LOG_ERROR, "intake",
                    "cannot write to the journal: %s; holding MQTT delivery and retrying "
                    "(nothing is acknowledged until it is in the journal)",
                    ct_strerror(rc));
        }
        in->st.failing_now = true;
        set_pause(in, PAUSE_IO, true, "the journal cannot be written");
    }
    check_pending(in);
    if (durable != NULL && in->cbs.on_durable != NULL && !in->closing) {
        in->cbs.on_durable(in->arg, durable, done);
    } else {
        while (durable != NULL) {
            struct col_msg *next = durable->next;
            free(durable);
            durable = next;
        }
    }
    if (in->closing) {
        finish_close(in);
        return;
    }
    if (rc == CT_E_FULL) {
        arm_retry(in, RETRY_FULL_MS, true);
    } else if (rc != 0) {
        arm_retry(in, in->io_backoff_ms, false);
        in->io_backoff_ms =
            in->io_backoff_ms * 2 > RETRY_IO_MAX_MS ? RETRY_IO_MAX_MS : in->io_backoff_ms * 2;
    } else if (in->head != NULL && !in->retry_armed) {
        submit(in);
    }
}

/* Moves the front of the collecting list into the group and starts the worker. */
static void submit(struct col_intake *in)
{
    struct intake_group *g = &in->group;
    struct col_msg *m = in->head;
    struct col_msg *last = NULL;
    size_t n = 0;
    size_t bytes = 0;

    if (in->busy || m == NULL || in->closing) {
        return;
    }
    while (m != NULL && n < in->cfg.group_max_records &&
           (n == 0 || bytes + col_msg_record_len(m) <= in->cfg.group_max_bytes)) {
        bytes += col_msg_record_len(m);
        n++;
        last = m;
        m = m->next;
    }
    g->buf = malloc(bytes);
    g->recs = malloc(n * sizeof(*g->recs));
    if (g->buf == NULL || g->recs == NULL) {
        free(g->buf);
        free(g->recs);
        g->buf = NULL;
        g->recs = NULL;
        col_log(COL_LOG_ERROR, "intake", "out of memory for a group of %zu messages; retrying", n);
        arm_retry(in, RETRY_IO_MIN_MS, false);
        return;
    }
    g->head = in->head;
    g->n = n;
    g->bytes = bytes;
    in->head = m;
    last->next = NULL;
    if (in->head == NULL) {
        in->tail = NULL;
    }
    in->count -= n;
    in->bytes -= bytes;
    g->work.data = in;
    g->spool = in->spool;
    in->busy = true;
    if (uv_queue_work(in->loop, &g->work, work_cb, after_work_cb) != 0) {
        /* Cannot happen with a live loop; keep the group for a retry. */
        in->busy = false;
        after_work_cb(&g->work, UV_ECANCELED);
    }
}

void col_intake_connection_lost(struct col_intake *in)
{
    struct col_msg **pp = &in->head;

    /* Messages with a token will come again from the broker; QoS 0 ones (token 0) and the app's
     * own (COL_INTAKE_TOKEN_LOCAL) never will, so those are kept and journaled. */
    in->tail = NULL;
    while (*pp != NULL) {
        struct col_msg *m = *pp;
        if (m->token != 0 && (m->token & COL_INTAKE_TOKEN_LOCAL) == 0) {
            *pp = m->next;
            in->count--;
            in->bytes -= col_msg_record_len(m);
            in->st.dropped_stale++;
            free(m);
        } else {
            in->tail = m;
            pp = &m->next;
        }
    }
    check_pending(in);
    if (in->head == NULL && (in->pause & (PAUSE_FULL | PAUSE_IO)) && !in->busy &&
        !in->retry_armed && !in->closing) {
        arm_retry(in, RETRY_FULL_MS, true);
    }
}

void col_intake_stats(const struct col_intake *in, struct col_intake_stats *out)
{
    *out = in->st;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct col_intake *in = h->data;

    in->timer_closed = true;
    finish_close(in);
}

void col_intake_close(struct col_intake *in, void (*done)(void *arg), void *arg)
{
    if (in->closing) {
        return;
    }
    in->closing = true;
    in->done_cb = done;
    in->done_arg = arg;
    while (in->head != NULL) {
        struct col_msg *next = in->head->next;
        free(in->head);
        in->head = next;
    }
    in->tail = NULL;
    in->count = 0;
    in->bytes = 0;
    uv_close((uv_handle_t *)&in->retry, on_timer_closed);
}

void col_intake_free(struct col_intake *in)
{
    if (in == NULL) {
        return;
    }
    while (in->head != NULL) {
        struct col_msg *next = in->head->next;
        free(in->head);
        in->head = next;
    }
    free(in);
}

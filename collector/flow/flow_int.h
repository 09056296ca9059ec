/* flow_int.h - the ingest flow's state, shared by flow.c (journal order, the sink path, the
 * commit), flow_intake.c (the MQTT client and intake callbacks), flow_reject.c (rejections) and
 * flow_ckpt.c (the checkpoint) only. */
#ifndef FLOW_INT_H
#define FLOW_INT_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_console.h"
#include "col_derive.h"
#include "col_flow.h"
#include "col_quarantine.h"
#include "col_spool.h"
#include "ct/buf.h"

#ifndef container_of
/* The struct that embeds 'ptr' as its member 'member'. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#define APP_FLOW_MEM_MAX 16384         /* durable messages queued in memory for the flow */
#define APP_FLOW_MEM_BYTES (32u << 20) /* and their bytes */
#define APP_DRAIN_BATCH 2048           /* messages processed per loop turn before yielding */
#define APP_REJECT_SLOTS 4096          /* distinct (reason, device) pairs counted between flushes */
#define APP_REJECT_FLUSH_MS 10000
#define APP_COMMIT_MS 250
#define APP_OVERFLOW_MAX (16u << 20) /* derived points held while the sink is full */
#define APP_RECORD_MAX COL_FLOW_RECORD_MAX

struct app_reject_slot {
    uint8_t reason;             /* enum ct_reject */
    char device[CT_ID_MAX + 1]; /* "" when unknown */
    uint64_t count;
};

struct col_flow {
    uv_loop_t *loop;
    struct col_flow_cfg cfg;
    struct col_flow_parts parts; /* borrowed (col_flow_set_parts) */

    uv_idle_t drain_idle;    /* continues a drain that yielded */
    uv_timer_t reader_timer; /* retries a journal read that failed */
    uv_timer_t commit_timer;
    uv_timer_t reject_timer;
    int open_handles;
    void (*on_closed)(void *arg);
    void *on_closed_arg;

    /* Journal order (flow.c). */
    bool flow_started;
    uint64_t next_seq;        /* the next journal record to process */
    uint64_t durable_seq;     /* the last record the intake made durable */
    uint64_t q_next_expected; /* the seq the intake's next group starts with */
    bool behind;              /* the memory queue is incomplete: read the journal */
    struct col_msg *q_head;   /* durable messages in memory, in journal order */
    struct col_msg *q_tail;
    size_t q_count;
    size_t q_bytes;
    struct col_spool_reader *reader; /* while behind */
    uint8_t *reader_buf;             /* APP_RECORD_MAX bytes */
    bool reader_failing;
    bool reader_fresh;     /* the reader was just opened: nothing read yet */
    uint64_t replay_until; /* the last record of the journal found at start (0 once replayed) */
    uint64_t replayed;
    uint64_t sub_refused;
    unsigned store_rejects_logged;
    uint64_t rejected_cut[CT_REJ__COUNT]; /* records journaled cut, by the reason given */
    atomic_bool mqtt_connected;

    struct col_msg *held;  /* a message whose points the sink refused (full); retried on room */
    struct ct_buf held_lp; /* its encoded points */
    bool sink_full;
    uint64_t committed;  /* the journal's commit point */
    uint64_t final_upto; /* the commit target computed when the sink closed */

    /* The sink path (flow.c). */
    struct ct_buf overflow;  /* points waiting for room in the sink (bounded) */
    uint64_t overflow_mark;  /* the lowest mark in the overflow buffer (0: empty) */
    uint64_t points_dropped; /* points lost because the overflow buffer was full */

    /* The checkpoint (flow_ckpt.c). */
    uint64_t *vw; /* verdict bits of processed records after the commit point */
    size_t vw_cap;
    uint64_t vw_base; /* word index of vw[0] (bit i of word w: record 64 * w + i + 1) */
    bool vw_nomem;
    uint64_t ck_processed; /* the loaded checkpoint: P, C and verdicts */
    uint64_t ck_committed;
    uint64_t *ck_vw;
    uint64_t ck_vbase;
    uint64_t ck_nwords;
    uint64_t ck_last_p; /* P of the last checkpoint written */
    bool ckpt_busy;
    bool ckpt_failing;
    bool stopping_ckpt;
    uv_work_t ckpt_req;
    struct ct_buf ckpt_buf;
    uint64_t ckpt_p;
    uint64_t ckpt_c;
    uint64_t ckpt_at;
    int ckpt_errno;

    /* Rejections (flow_reject.c). */
    struct ct_buf lp; /* scratch for one message's points */
    struct app_reject_slot rejects[APP_REJECT_SLOTS];
    size_t nrejects;
    uint64_t reject_overflow;
    /* The log's summary of rejections since the last one (at most one line per flush period):
     * counts per reason, and the newest rejection's device and reason text as an example. */
    uint64_t rejlog_count[CT_REJ__COUNT];
    char rejlog_device[CT_ID_MAX + 1];
    char rejlog_why[160];
    enum ct_reject rejlog_reason;
    uint64_t quarantined;
};

/* flow_ckpt.c */
int flow_ckpt_load(struct col_flow *f);
void flow_ckpt_begin(struct col_flow *f, uint64_t spool_commit);
bool flow_ckpt_known(const struct col_flow *f, uint64_t seq);
bool flow_ckpt_accepted(const struct col_flow *f, uint64_t seq);
void flow_verdict_set(struct col_flow *f, uint64_t seq, bool accepted);
void flow_ckpt_commit(struct col_flow *f, uint64_t upto);
void flow_ckpt_final(struct col_flow *f, uint64_t upto);

/* flow.c */
uint64_t flow_commit_target(struct col_flow *f);
/* Processes up to a batch of messages in journal order, the held one first, now; keeps the idle
 * handle running while work remains (the sink's room callback calls it). */
void flow_drain(struct col_flow *f);
/* Schedules a drain (the idle handle: messages in journal order, from memory or the journal)
 * when the flow is started and the sink is not full. */
void flow_kick(struct col_flow *f);

/* flow_sink.c */
/* Moves the overflow buffer into the sink. Returns true when it is empty. */
bool flow_flush_overflow(struct col_flow *f);

/* flow_intake.c */
/* Frees a list of messages linked through 'next'. */
void flow_free_list(struct col_msg *m);

/* flow_reject.c */
/* Counts one rejection of 'device' ("" when unknown) for the next flush. */
void flow_count_reject(struct col_flow *f, enum ct_reject reason, const char *device);
/* reject_timer: writes the counts as points (col_flow_enqueue) and the log's summary line. */
void flow_reject_flush_cb(uv_timer_t *t);
/* Writes the rejected message and its verdict to the quarantine, when one is set. */
void flow_quarantine(struct col_flow *f, const struct col_msg *m, const struct col_verdict *v);
/* A record journaled cut to the record limits is refused with its reason, never parsed: fills *v
 * and returns true for such a record. */
bool flow_reject_cut(const struct col_msg *m, struct col_verdict *v);

#endif

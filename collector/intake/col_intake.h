/* col_intake.h - received MQTT messages made durable in groups, then acknowledged.
 *
 * The MQTT client hands every message to col_intake_add() on the loop thread and does NOT
 * acknowledge it. The intake collects messages into a group and appends the group to the spool in
 * a libuv worker (uv_queue_work: the write, and the fdatasync with spool.fsync "always", never run
 * on the loop). When the worker reports the group durable, the intake, back on the loop, calls
 * on_ack for each message in arrival order (the app sends the PUBACKs) and gives the messages,
 * now numbered, to on_durable. So a PUBACK is never sent for a message that is not in the journal
 * (proved by test_intake's test_ack_after_durable_in_order, and e2e_dur_kill)
 * (tests/e2e/test_dur_kill.py, test_dur_disk_full.py).
 *
 * While one group is being written, the next one collects: one write in flight at a time, so the
 * journal order is the arrival order and a group costs one write (and one fsync) whatever its
 * size. When the spool cannot take a group (spool.max_bytes reached, the file system's budget
 * spool.min_free_bytes reached, ENOSPC) or a write fails, the group is kept, unacknowledged, the
 * intake asks the app to pause the MQTT subscription (on_pause true: the broker keeps every later
 * message), and it retries: a full spool as soon as a commit frees room (polled every 200 ms), an
 * I/O error with a backoff from 1 s to 30 s. The first success resumes the subscription. The
 * messages waiting are bounded by max_pending_bytes / max_pending (policy when reached: pause the
 * subscription; nothing is dropped).
 *
 * Threading: every function on the loop thread; the worker touches only the group in flight.
 * Ownership: the intake owns the messages until it hands them to on_durable (the callee then owns
 * the list) or frees them (not acknowledged: after a lost connection, or at close). */
#ifndef COL_INTAKE_H
#define COL_INTAKE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_msg.h"
#include "col_spool.h"

struct col_intake_cfg {
    size_t group_max_records; /* records in one group write; default 4096 */
    size_t group_max_bytes;   /* record bytes in one group write; default 4 MiB */
    size_t max_pending;       /* messages received and not yet durable; default 65536 */
    size_t max_pending_bytes; /* their bytes; default 64 MiB */
};

/* A token with this bit is the app's own, not a broker's (a station file, docs/tt10.md): no one
 * delivers such a message again, so a lost connection keeps it (as a token 0 one), and on_ack
 * still tells the app when it is durable. MQTT tokens leave it clear: their connection
 * generation is masked below bit 63 (GEN_MASK in collector/mqtt/mqtt_int.h). */
#define COL_INTAKE_TOKEN_LOCAL (UINT64_C(1) << 63)

/* Loop thread: acknowledge the message that carried 'token' (0: nothing to acknowledge). */
typedef void (*col_intake_ack_fn)(void *arg, uint64_t token);
/* Loop thread: a list of durable messages (linked by ->next, seq set, in journal order); the
 * callee owns it. */
typedef void (*col_intake_durable_fn)(void *arg, struct col_msg *list, size_t n);
/* Loop thread: pause (true) or resume (false) the subscription; 'why' is one sentence. */
typedef void (*col_intake_pause_fn)(void *arg, bool pause, const char *why);

struct col_intake_callbacks {
    col_intake_ack_fn on_ack;
    col_intake_durable_fn on_durable;
    col_intake_pause_fn on_pause;
};

struct col_intake_stats {
    uint64_t received;      /* messages added */
    uint64_t durable;       /* messages made durable (and acknowledged) */
    uint64_t groups;        /* group writes that succeeded */
    uint64_t full;          /* group writes refused: the spool or the file system was full */
    uint64_t io_errors;     /* group writes that failed with an I/O error */
    uint64_t cut;           /* messages journaled cut to the record limits (flags set) */
    uint64_t dropped_stale; /* messages dropped unacknowledged after a lost connection */
    uint64_t pending;       /* messages waiting (collecting and in flight) */
    uint64_t pending_bytes;
    uint64_t last_seq; /* the last journal seq made durable */
    bool full_now;     /* the last write was refused for room */
    bool failing_now;  /* the last write failed with an I/O error */
    bool paused;       /* the intake holds the subscription paused */
};

struct col_intake;

/* 'loop' and 'spool' are borrowed and must outlive the intake. Returns 0 or CT_E_NOMEM. */
int col_intake_create(uv_loop_t *loop, struct col_spool *spool, const struct col_intake_cfg *cfg,
                      const struct col_intake_callbacks *cbs, void *arg, struct col_intake **out);
/* Copies the message (parts over the record limits are cut and flagged) and queues it for the
 * next group; 'token' is given back to on_ack once it is durable. Returns 0, CT_E_NOMEM (the
 * message is not acknowledged: the broker redelivers it) or CT_E_STATE (closing). */
int col_intake_add(struct col_intake *in, const char *topic, size_t topic_len, const char *sig,
                   size_t sig_len, const void *payload, size_t payload_len, int64_t recv_ms,
                   uint64_t token);
/* The connection that delivered the waiting messages is gone: their tokens are worthless and the
 * broker will deliver them again. Messages not yet written are dropped (counted dropped_stale);
 * a group already being written still becomes durable (its duplicate is dropped later by the
 * pipeline's (boot, seq) check); test_intake's test_connection_lost_drops_unwritten. */
void col_intake_connection_lost(struct col_intake *in);
/* Applies new group limits (SIGHUP). */
void col_intake_set_limits(struct col_intake *in, const struct col_intake_cfg *cfg);
void col_intake_stats(const struct col_intake *in, struct col_intake_stats *out);
/* Stops taking messages; calls done(arg) on the loop once no write is in flight (a running write
 * cannot be cancelled). Waiting messages are freed unacknowledged. Then col_intake_free. */
void col_intake_close(struct col_intake *in, void (*done)(void *arg), void *arg);
void col_intake_free(struct col_intake *in);

#endif

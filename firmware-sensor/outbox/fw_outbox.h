/* fw_outbox.h - the node's store-and-forward FIFO in non-volatile storage.
 *
 * Every encoded reading is appended (with its record number, boot and seq, a length and a CRC-32)
 * before it is sent. Records are handed out oldest first by fw_outbox_next() and removed only when
 * fw_outbox_ack() reports the broker's PUBACK. The first record not yet acked (the "acked up to"
 * pointer) and the drop counter are persisted in the blob "outbox.ack" by atomic replace.
 *
 * Storage: segment logs "obseg-<16 hex digits of the first record number>", each holding up to
 * cfg.segment_records records; a segment is removed once all its records are acked or dropped.
 * Record: u32 magic "CTOB" | u32 payload length | u64 recno | u64 boot | u64 seq | payload |
 * u32 CRC-32 (IEEE) of all preceding bytes of the record; integers little-endian.
 *
 * Power loss at any moment: on open, the last segment is scanned and cut at the first record that
 * is short, has a wrong magic, length, record number or CRC (a torn tail); a damaged record in an
 * older segment makes the rest of that segment unreadable: those records are counted as corrupt
 * and skipped. An ack that was not persisted only causes a resend (the collector drops the
 * duplicate by its (boot, seq)); a resend is byte-identical because the payload is stored encoded.
 *
 * Bound: at most cfg.max_records unacked records; appending to a full outbox drops the oldest
 * record (counted in 'dropped', persisted). Not thread-safe: one thread per outbox. */
#ifndef FW_OUTBOX_H
#define FW_OUTBOX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/schema.h"
#include "fw_hal.h"

/* Records handed out and not yet acked that the outbox can track; the sender's in-flight window
 * must not exceed it. */
#define FW_OUTBOX_ACK_WINDOW 256
#define FW_OUTBOX_SEGMENT_RECORDS_DEFAULT 256
#define FW_OUTBOX_RECORD_OVERHEAD 36 /* header 32 + CRC 4 */

struct fw_outbox_cfg {
    size_t max_records;     /* bound of unacked records (>= 1) */
    size_t segment_records; /* records per segment file; 0 = default */
    bool sync;              /* fsync each append and ack (power-loss durability) */
};

struct fw_outbox_rec {
    uint64_t recno; /* position in the FIFO, increasing */
    uint64_t boot;
    uint64_t seq;
    size_t len;                       /* payload bytes */
    char payload[CT_PAYLOAD_MAX + 1]; /* NUL-terminated copy */
};

struct fw_outbox_stats {
    uint64_t appended; /* records appended since open */
    uint64_t dropped;  /* oldest records dropped because the outbox was full (persisted) */
    uint64_t corrupt;  /* records lost to damage found while reading (since open) */
    uint64_t torn;     /* bytes cut from a torn tail at open */
    uint64_t pending;  /* records not yet acked */
    uint64_t unsent;   /* records not yet handed out by fw_outbox_next */
};

struct fw_outbox; /* opaque */

/* Opens the outbox kept in 'nvs' (borrowed; must outlive the outbox), recovering after a power
 * loss as described above. Returns 0 and *out, CT_E_INVAL, CT_E_IO, CT_E_CORRUPT (unreadable
 * ack blob is not an error: it restarts at the oldest segment) or CT_E_NOMEM. */
int fw_outbox_open(struct fw_nvs *nvs, const struct fw_outbox_cfg *cfg, struct fw_outbox **out);
/* Frees memory; the storage stays. Accepts NULL. */
void fw_outbox_close(struct fw_outbox *ob);

/* Appends one record (payload copied, len 1..CT_PAYLOAD_MAX), dropping the oldest when full.
 * *recno (may be NULL) gets its number. Durable on return when cfg.sync. Returns 0, CT_E_INVAL,
 * CT_E_TOOBIG or CT_E_IO. */
int fw_outbox_append(struct fw_outbox *ob, uint64_t boot, uint64_t seq, const void *payload,
                     size_t len, uint64_t *recno);
/* Hands out the oldest record not yet handed out into *rec. Returns 0, CT_E_NOTFOUND (nothing
 * unsent, or FW_OUTBOX_ACK_WINDOW records handed out and not acked) or CT_E_IO. Damaged records are
 * skipped (counted). */
int fw_outbox_next(struct fw_outbox *ob, struct fw_outbox_rec *rec);
/* Gives back the record the last fw_outbox_next() handed out (its publish failed): the next call
 * hands it out again. No-op when nothing was handed out since, or after a rewind or ack of it. */
void fw_outbox_unnext(struct fw_outbox *ob);
/* Makes every unacked record unsent again (after a lost connection), oldest first. */
void fw_outbox_rewind(struct fw_outbox *ob);
/* Marks record 'recno' delivered, in any order; the persisted pointer moves over the contiguous
 * acked prefix. Acking an already removed record is a no-op. Returns 0, CT_E_INVAL (never
 * appended), CT_E_RANGE (beyond the ack window) or CT_E_IO. */
int fw_outbox_ack(struct fw_outbox *ob, uint64_t recno);
/* Records not yet acked. */
uint64_t fw_outbox_pending(const struct fw_outbox *ob);
/* Records handed out and not acked (the in-flight count from the outbox's view). */
uint64_t fw_outbox_outstanding(const struct fw_outbox *ob);
void fw_outbox_get_stats(const struct fw_outbox *ob, struct fw_outbox_stats *st);

#endif

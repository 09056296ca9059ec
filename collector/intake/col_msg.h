/* col_msg.h - one received MQTT message as the collector keeps it: in the ingest queue and,
 * serialised, as a spool record.
 *
 * A message is one allocation: the header followed by the topic, the `sig` user property and the
 * payload bytes. The spool record is the serialised form of everything but `seq` (the spool
 * assigns it). Record layout (little-endian): u32 magic "CTM1", i64 recv_ms, u16 topic_len,
 * u8 sig_len, u8 flags, u32 payload_len, then topic, sig, payload. */
#ifndef COL_MSG_H
#define COL_MSG_H
#include <stddef.h>
#include <stdint.h>

#define COL_MSG_MAGIC 0x314d5443u /* "CTM1" */
#define COL_MSG_HDR 20            /* serialised header bytes */
#define COL_MSG_TOPIC_MAX 512
#define COL_MSG_SIG_MAX 128
#define COL_MSG_PAYLOAD_MAX                                                                        \
    65536 /* the broker's max_packet_size; the contract's 4096 is checked later */

/* Flags of a record. A part over its limit is journaled cut to the limit with its flag set, so
 * that the message is still acknowledged once, rejected with a reason and counted, not lost
 * without a trace nor journaled at an unbounded size (test_intake's
 * test_oversized_parts_are_cut_and_flagged). */
#define COL_MSG_TOPIC_CUT 0x02u
#define COL_MSG_SIG_CUT 0x04u
#define COL_MSG_PAYLOAD_CUT 0x08u

struct col_msg {
    struct col_msg *next; /* queue link, owned by the queue while queued */
    uint64_t seq;         /* spool sequence number (journal order) */
    uint64_t token;       /* the MQTT client's acknowledgement token (memory only) */
    int64_t recv_ms;      /* wall-clock receive time */
    uint16_t topic_len;
    uint8_t sig_len; /* 0 when the message had no `sig` user property */
    uint8_t flags;
    uint32_t payload_len;
    char data[]; /* topic, sig, payload (not NUL-terminated) */
};

static inline const char *col_msg_topic(const struct col_msg *m)
{
    return m->data;
}
static inline const char *col_msg_sig(const struct col_msg *m)
{
    return m->data + m->topic_len;
}
static inline const char *col_msg_payload(const struct col_msg *m)
{
    return m->data + m->topic_len + m->sig_len;
}
static inline size_t col_msg_record_len(const struct col_msg *m)
{
    return COL_MSG_HDR + (size_t)m->topic_len + m->sig_len + m->payload_len;
}

/* Allocates a message holding copies of the three parts. Lengths beyond the COL_MSG_*_MAX
 * limits are refused (CT_E_TOOBIG). Returns 0 and *out (caller frees with free()). */
int col_msg_new(const char *topic, size_t topic_len, const char *sig, size_t sig_len,
                const void *payload, size_t payload_len, int64_t recv_ms, struct col_msg **out);
/* Like col_msg_new, but a part over its limit is cut to the limit and flagged (COL_MSG_*_CUT)
 * instead of refused. Returns 0 or CT_E_NOMEM. */
int col_msg_new_bounded(const char *topic, size_t topic_len, const char *sig, size_t sig_len,
                        const void *payload, size_t payload_len, int64_t recv_ms,
                        struct col_msg **out);
/* Writes the spool record of 'm' into 'out' (col_msg_record_len(m) bytes). */
void col_msg_serialise(const struct col_msg *m, uint8_t *out);
/* Parses a spool record back into a new message with 'seq'. Returns 0, CT_E_CORRUPT or
 * CT_E_NOMEM; *out is the caller's (free()). */
int col_msg_parse(const uint8_t *rec, size_t len, uint64_t seq, struct col_msg **out);

#endif

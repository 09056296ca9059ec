/* col_dedup.h - per-device state: duplicate and replay detection over (boot, seq), the cached
 * device keys, and the last accepted message's facts that later stages use.
 *
 * Rules (protocol.md section 2): (boot, seq) increases strictly per device. A (boot, seq) already
 * accepted is a duplicate (dropped, counted, not an error). One older than the newest accepted by
 * more than the replay window is a replay (rejected). Within the window a sliding bitmap remembers
 * which sequence numbers were accepted, so an out-of-order resend inside the window is accepted
 * once. An older boot than the newest seen is a replay. Loop thread only. */
#ifndef COL_DEDUP_H
#define COL_DEDUP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/reject.h"
#include "ct/schema.h"
#include "ct/sig.h"

#define COL_REPLAY_WINDOW_MAX 4096

struct col_devstate {
    char id[CT_ID_MAX + 1];
    bool seen;                                 /* a message was accepted */
    uint64_t boot;                             /* newest accepted boot */
    uint64_t seq;                              /* newest accepted seq within that boot */
    uint64_t bits[COL_REPLAY_WINDOW_MAX / 64]; /* bit i: seq - i accepted */
    int64_t last_ts_ms;                        /* sampling time of the newest accepted message */
    int64_t last_recv_ms;                      /* receive time of the newest accepted message */
    bool has_tips;                             /* rain: previous cumulative tips for the mm check */
    uint64_t tips_boot;
    double tips;
    bool key_ok[2];            /* keys[i] derived from master key i */
    struct ct_sig_key keys[2]; /* prepared once per device: no key schedule per message */
    int online;                /* from the status topic: 1 online, 0 offline, -1 unknown */
    bool status_seen;          /* a status message was accepted */
    uint64_t status_boot; /* (boot, seq) of the newest accepted status: a status must be newer */
    uint64_t status_seq;
};

struct col_dedup; /* id -> struct col_devstate, open addressing, grows to a limit */

/* 'max_devices' bounds the table (CT_E_FULL beyond it). Returns 0 or CT_E_NOMEM. */
int col_dedup_create(size_t max_devices, uint32_t window, struct col_dedup **out);
/* Finds or creates the state of 'id'. Returns NULL when the table is full or out of memory.
 * The pointer stays valid until col_dedup_free (entries never move: they are allocated singly). */
struct col_devstate *col_dedup_get(struct col_dedup *d, const char *id);
/* Classifies (boot, seq) without recording it: CT_REJ_NONE (new), CT_REJ_DUPLICATE, CT_REJ_REPLAY.
 */
enum ct_reject col_dedup_check(const struct col_dedup *d, const struct col_devstate *s,
                               uint64_t boot, uint64_t seq);
/* Records (boot, seq) as accepted. Call only after col_dedup_check returned CT_REJ_NONE. */
void col_dedup_accept(struct col_dedup *d, struct col_devstate *s, uint64_t boot, uint64_t seq);
size_t col_dedup_count(const struct col_dedup *d);
/* Calls fn for every device state (the flow's checkpoint saves them; it restores them through
 * col_dedup_get). */
void col_dedup_each(const struct col_dedup *d, void (*fn)(void *arg, const struct col_devstate *s),
                    void *arg);
/* The replay window in sequence numbers (bits of struct col_devstate.bits in use). */
uint32_t col_dedup_window(const struct col_dedup *d);
void col_dedup_free(struct col_dedup *d);

#endif

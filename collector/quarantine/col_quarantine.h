/* col_quarantine.h - a bounded, rotating file of rejected raw messages, for operators only (no HTTP
 * route serves it).
 *
 * One JSON object per line (format in docs/spool.md, "Quarantine"): time, reason tag, device,
 * topic, the reason sentence and the payload, as a JSON string when it is valid UTF-8, else
 * base64 (flagged by "payload_encoding"). The live file rotates when a line would take it past
 * max_bytes: <path> becomes <path>.1, <path>.1 becomes <path>.2, ... up to <path>.<keep>; the
 * oldest is deleted (its lines are counted as expired).
 *
 * Threading: calls are serialised by one internal mutex; the collector calls it from the loop
 * thread only. Lines are written with
 * one write() each and are not fsynced: a quarantine line survives a process crash, not
 * necessarily a power loss. */
#ifndef COL_QUARANTINE_H
#define COL_QUARANTINE_H
#include <stddef.h>
#include <stdint.h>

struct col_quarantine; /* opaque; owns the open file */

/* Zero members take the documented default. */
struct col_quarantine_cfg {
    const char *path;         /* borrowed, copied: the live file; its directory must exist */
    uint64_t max_bytes;       /* size limit of each file; default 10 MiB; at least 4096 */
    unsigned keep;            /* rotated files kept; default 5 (COL_QUARANTINE_KEEP_NONE: none) */
    size_t max_payload_bytes; /* payload bytes kept per line; default 8192; longer payloads are
                                 cut (at a character boundary) and flagged "truncated":true */
};

#define COL_QUARANTINE_KEEP_NONE ((unsigned)-1) /* keep = this: rotation empties the live file */

struct col_quarantine_entry {
    uint64_t time_ms;    /* receive time, ms since the Unix epoch */
    const char *reason;  /* reason tag (ct_reject_name()); required */
    const char *device;  /* device id; NULL when unknown (written as null) */
    const char *topic;   /* NULL when none */
    const char *detail;  /* the reason sentence; NULL when none */
    const void *payload; /* raw bytes; may be NULL when payload_len is 0 */
    size_t payload_len;
};

struct col_quarantine_stats {
    uint64_t written;   /* lines written */
    uint64_t dropped;   /* lines not written: I/O error, or a line larger than max_bytes */
    uint64_t expired;   /* lines deleted with the oldest file at rotation */
    uint64_t rotations; /* rotations */
    uint64_t bytes;     /* size of the live file */
};

/* Opens (appending to) or creates the live file, counting the lines already in it and in the
 * rotated files. Returns 0, CT_E_INVAL (no path, max_bytes under 4096), CT_E_IO, CT_E_NOMEM; on
 * error *out is untouched. */
int col_quarantine_open(const struct col_quarantine_cfg *cfg, struct col_quarantine **out);

/* Formats and appends one line; copies everything it needs from *e. Returns 0, CT_E_INVAL (no
 * reason), CT_E_TOOBIG or CT_E_IO (the line is dropped and counted), CT_E_NOMEM. */
int col_quarantine_write(struct col_quarantine *q, const struct col_quarantine_entry *e);

/* Fills *st with a snapshot of the counters. */
void col_quarantine_stats(struct col_quarantine *q, struct col_quarantine_stats *st);

/* Closes the file and frees. Accepts NULL. */
void col_quarantine_close(struct col_quarantine *q);

#endif

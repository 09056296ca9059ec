/* col_tt10_in.h - incoming TT 10/2021 station files: a watched folder (the receiving FTP
 * server's upload folder), each file parsed strictly, mapped to a registry device and handed to
 * the caller as one reading with a status per value.
 *
 * In the folder (docs/tt10.md, "In"):
 *   <dir>/<name>                 uploaded by a data logger; taken once it has not changed for
 *                                settle_ms (a logger that uploads in place is never read half
 *                                written); names starting with '.' or not ending in the
 *                                extension are left alone (temporary upload names)
 *   <dir>/.done/<name>           taken, handed over and durable (see below); the same name
 *                                again is a duplicate: removed and counted, never handed over
 *                                twice (test_tt10_in)
 *   <dir>/.quarantine/<name>     refused whole, beside <name>.reason ("line N: reason")
 * Files in .done and .quarantine older than keep_ms (by mtime) are removed every
 * prune_interval_ms (a thread-pool job).
 *
 * Durability: a file is moved to .done only once the caller has made its reading durable. The
 * callback answers COL_TT10_IN_WAIT and later calls col_tt10_in_durable(in, ticket) (the app does
 * so from the intake's journal acknowledgement); until then the file stays where it was, so a
 * crash before the journal has the reading leaves the file to be taken again at the next start
 * (and a crash after it leaves both: the journal's replay and the file's second reading are one
 * measurement, stored once by the pipeline's (boot, seq) check). Proved by test_tt10_in
 * (test_tt10_in_moves_after_durable).
 * Trust: the FTP account that uploaded the file authenticates the station (there is no signature
 * in the format); the collector trusts every file in the folder.
 *
 * The folder is watched with uv_fs_event and scanned every poll_ms as well (events can be missed
 * and a settling file needs a second look). Reading, parsing and moving run on libuv's thread
 * pool; mapping to the registry and the callback on the loop thread. Loop thread only. */
#ifndef COL_TT10_IN_H
#define COL_TT10_IN_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "col_tt10.h"
#include "ct/payload.h"
#include "ct/registry.h"

/* What the callback did with a file. */
#define COL_TT10_IN_DONE 0 /* nothing to wait for (nothing to store): move it to .done now */
#define COL_TT10_IN_WAIT 1 /* handed over: col_tt10_in_durable(in, ticket) will follow */

/* One accepted file as a reading: kind and id of the device, ts the file name's time, values
 * in the file's order (only mapped symbols); status[i] is the status of values[i]. Returns
 * COL_TT10_IN_DONE, COL_TT10_IN_WAIT, or a negative CT_E_* when the reading could not be taken:
 * the file is then left in the folder and taken again at a later scan. */
typedef int (*col_tt10_in_cb)(void *arg, const struct ct_device *dev, const struct ct_reading *r,
                              const enum col_tt10_status *status, const char *file,
                              uint64_t ticket);

struct col_tt10_in_cfg {
    const char *dir;                /* copied */
    struct col_tt10_fmt fmt;        /* copied; strings must stay valid */
    const struct col_tt10_map *map; /* copied */
    int64_t settle_ms;              /* a file is taken when unchanged for this long (2000) */
    int64_t poll_ms;                /* scan period besides the events (5000) */
    uint32_t batch;                 /* files taken per scan (1..4096) */
    int64_t keep_ms;                /* .done and .quarantine keep files this long (0: forever) */
    int64_t prune_interval_ms;      /* how often they are pruned (default 1 h) */
    col_tt10_in_cb cb;
    void *arg;
};

struct col_tt10_in_stats {
    uint64_t accepted;    /* files handed over */
    uint64_t quarantined; /* files refused (parse, unknown station or symbol, unit mismatch) */
    uint64_t duplicates;  /* names already taken before */
    uint64_t scans;
    uint64_t pruned;  /* files removed from .done and .quarantine by keep_ms */
    uint64_t waiting; /* files handed over whose reading is not yet durable */
};

struct col_tt10_in;

/* 'reg' is borrowed until the next col_tt10_in_registry() or close. Creates .done and
 * .quarantine. Returns 0, CT_E_INVAL, CT_E_IO or CT_E_NOMEM (message in err). */
int col_tt10_in_create(uv_loop_t *loop, const struct col_tt10_in_cfg *cfg,
                       const struct ct_registry *reg, struct col_tt10_in **out, char *err,
                       size_t errcap);
/* The reading of the callback's 'ticket' is durable: its file may go to .done. A ticket of an
 * earlier scan or of a closed watcher is ignored. */
void col_tt10_in_durable(struct col_tt10_in *in, uint64_t ticket);
/* After a registry reload (borrowed likewise). */
void col_tt10_in_registry(struct col_tt10_in *in, const struct ct_registry *reg);
void col_tt10_in_stats(const struct col_tt10_in *in, struct col_tt10_in_stats *st);
/* Asynchronous; waits for a running job; accepts NULL. Files whose reading is not yet durable
 * stay in the folder (taken again at the next start). */
void col_tt10_in_close(struct col_tt10_in *in, void (*closed_cb)(void *arg), void *arg);

#endif

/* col_tt10_writer.h - station files from validated data: the mean of each member's accepted
 * values over each interval (tt10.interval, 5 minutes), one file per station with tt10 codes per
 * interval, handed to the outbox (col_tt10_out.h) for writing and delivery.
 *
 * The file's time is the interval's end (a 14:25:00..14:29:59 mean is written as 14:30:00, as
 * data loggers stamp their averages). Status per value: 00 when at least one value of the
 * interval passed quality control (the mean is of those), 02 (fault) when every value was
 * flagged by QC (the mean is of all of them); the writer writes no 01 (calibrating): MQTT data
 * has no calibration state. An interval is written once its end plus a grace (a quarter of
 * the interval, at least 10 s) has passed; values that arrive later for a written interval are
 * counted in 'late' and dropped.
 *
 * Restarts: an open interval lives in memory only, so it holds the journal
 * (col_tt10_writer_low_water: the lowest record of every open interval and of every file not yet
 * written; test_tt10_writer_interval_means), which the flow's commit target includes (the
 * app's low_water callback, flow_commit_target). After a stop or a crash the journal's replay feeds
 * the interval's readings again and its file is written (at once when its end + grace passed
 * while the collector was down); intervals written before the restart that the replay makes
 * again are not written or sent again (col_tt10_out_put skips names already in files/).
 * Proved by e2e_tt10_collector (the restart phase).
 *
 * Loop thread only. Devices beyond max_devices are counted and not tracked. */
#ifndef COL_TT10_WRITER_H
#define COL_TT10_WRITER_H
#include <stdint.h>
#include <uv.h>

#include "col_tt10.h"
#include "col_tt10_out.h"
#include "ct/payload.h"
#include "ct/registry.h"

struct col_tt10_writer_cfg {
    struct col_tt10_fmt fmt;        /* copied (its strings must stay valid: static or config) */
    const struct col_tt10_map *map; /* copied */
    int64_t interval_ms;            /* divides a day */
    size_t max_devices;
    int64_t grace_ms;            /* 0: a quarter of the interval, at least 10 s */
    struct col_tt10_out_cfg out; /* the outbox */
};

struct col_tt10_writer_stats {
    uint64_t files;      /* files handed to the outbox */
    uint64_t late;       /* values for intervals already written */
    uint64_t untracked;  /* readings of devices beyond max_devices */
    uint64_t put_errors; /* files the outbox refused (full or invalid) */
};

struct col_tt10_writer;

/* Returns 0, CT_E_INVAL (message in err), CT_E_IO or CT_E_NOMEM. */
int col_tt10_writer_create(uv_loop_t *loop, const struct col_tt10_writer_cfg *cfg,
                           struct col_tt10_writer **out, char *err, size_t errcap);
/* One accepted reading of 'dev' (borrowed for the call; devices without tt10 codes are ignored).
 * 'qc' is the reading's QC flag text ("pm25:spike,..."; "" when clean); 'mark' its journal
 * record (0: none, nothing held). */
void col_tt10_writer_add(struct col_tt10_writer *w, const struct ct_device *dev,
                         const struct ct_reading *r, const char *qc, uint64_t mark);
/* The lowest journal record still needed (open intervals, files not yet written), UINT64_MAX
 * when none: the journal must not be committed at or past it. */
uint64_t col_tt10_writer_low_water(const struct col_tt10_writer *w);
/* Writes every interval whose end + grace <= now_ms. Call about once a second. */
void col_tt10_writer_tick(struct col_tt10_writer *w, int64_t now_ms);
void col_tt10_writer_stats(const struct col_tt10_writer *w, struct col_tt10_writer_stats *st);
struct col_tt10_out *col_tt10_writer_outbox(struct col_tt10_writer *w);
/* Asynchronous (closes the outbox); accepts NULL. Open intervals are not written (their
 * records stay in the journal: take col_tt10_writer_low_water before closing). */
void col_tt10_writer_close(struct col_tt10_writer *w, void (*closed_cb)(void *arg), void *arg);

#endif

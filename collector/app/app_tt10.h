/* app_tt10.h - TT 10/2021 station files (app_tt10.c, docs/tt10.md): the writer of outgoing files
 * fed with accepted readings, and the watched folder of incoming files whose readings enter the
 * journal. Loop thread only. */
#ifndef APP_TT10_H
#define APP_TT10_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_config.h"
#include "col_intake.h"
#include "col_tt10_in.h"
#include "col_tt10_writer.h"
#include "ct/payload.h"
#include "ct/registry.h"

/* What the station files use. Every pointer is borrowed from the app (app.c), which keeps it
 * valid until app_tt10_free, but 'master', which is copied at create (the app may zeroise its
 * copy after). 'cfg' is the app's config (tt10.* at create). 'intake' makes an incoming file's
 * reading durable (NULL: incoming files are refused). */
struct app_tt10_parts {
    uv_loop_t *loop;
    const struct col_config *cfg;
    struct col_intake *intake;
    const uint8_t *master; /* master key, or NULL: incoming files' readings are not signed */
    size_t master_len;
    void (*on_closed)(void *arg); /* once, when the writer and the watcher are closed */
    void *arg;
};

/* Counters of incoming files, kept by app_tt10.c and read by /metrics. */
struct app_tt10_counts {
    uint64_t in_flagged; /* incoming values with status 01/02, kept out */
    uint64_t in_refused; /* incoming files the intake refused */
};

/* The station files: owns the writer and the watcher. */
struct app_tt10;

/* Creates the writer (tt10.out_dir) and the watcher (tt10.in_dir) from a copy of 'parts'; with
 * neither key set, a context that does nothing. 'reg' is borrowed until the next
 * app_tt10_registry. Returns 0 or a CT_E_* code (logged). *out is NULL only when the context
 * could not be allocated; otherwise, failure or not, app_tt10_close and app_tt10_free it (a
 * watcher opened before the writer failed is closed there). */
int app_tt10_create(const struct app_tt10_parts *parts, const struct ct_registry *reg,
                    struct app_tt10 **out);
/* The writer and the watcher, borrowed until app_tt10_close (for /metrics); NULL when off. */
struct col_tt10_writer *app_tt10_writer(const struct app_tt10 *t);
struct col_tt10_in *app_tt10_in(const struct app_tt10 *t);
/* The counters, borrowed until app_tt10_free; NULL when 't' is NULL. */
const struct app_tt10_counts *app_tt10_counts(const struct app_tt10 *t);
/* For the flow's on_reading hook: 'mark' is the reading's journal record. */
void app_tt10_add(struct app_tt10 *t, const struct ct_device *dev, const struct ct_reading *r,
                  const char *qc, uint64_t mark);
/* For the flow's low_water hook: the lowest journal record the station files still need
 * (UINT64_MAX: none, or 't' is NULL); after close, the value at close (the final commit keeps
 * the open intervals' records). */
uint64_t app_tt10_low_water(const struct app_tt10 *t);
/* For the flow's on_local_ack hook: the intake made the reading of an incoming file's ticket
 * durable. */
void app_tt10_durable(struct app_tt10 *t, uint64_t ticket);
/* Closes the intervals that are due (the derived flow's tick). */
void app_tt10_tick(struct app_tt10 *t, int64_t now_ms);
/* After a registry reload: 'reg' is borrowed until the next call or close. */
void app_tt10_registry(struct app_tt10 *t, const struct ct_registry *reg);
/* Closes the writer and the watcher, then calls parts.on_closed(arg). NULL: nothing. */
void app_tt10_close(struct app_tt10 *t);
/* After the loop ended and the flow was freed (its final commit reads app_tt10_low_water):
 * zeroises the key copy and frees 't'. NULL: nothing. */
void app_tt10_free(struct app_tt10 *t);

#endif

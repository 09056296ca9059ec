/* spool.c - open (with the defaults), commit, sync, stats and close of col_spool. The writer
 * (append, roll-over, full policies) is in spool_append.c, the room checks and the file-system
 * budget in spool_room.c, the flusher thread in spool_flush.c, recovery at open in spool_open.c,
 * the on-disk format in spool_format.c, the readers in spool_reader.c; their shared state is in
 * spool_int.h. */
#include "spool_int.h"

#include "ct/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEF_SEGMENT_BYTES (16u * 1024u * 1024u)
#define DEF_MAX_TOTAL_BYTES (1024ull * 1024u * 1024u)
#define DEF_MAX_RECORD_BYTES (16u * 1024u)
#define DEF_FSYNC_INTERVAL_MS 200u
#define DEF_COMMIT_INTERVAL_MS 1000u
#define DEF_MIN_FREE_BYTES (64ull * 1024u * 1024u)
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

static int apply_defaults(const struct col_spool_cfg *in, struct col_spool_cfg *c)
{
    *c = *in;
    if (c->dir == NULL || c->dir[0] == '\0') {
        return CT_E_INVAL;
    }
    if (c->segment_bytes == 0) {
        c->segment_bytes = DEF_SEGMENT_BYTES;
    }
    if (c->max_total_bytes == 0) {
        c->max_total_bytes = DEF_MAX_TOTAL_BYTES;
    }
    if (c->max_record_bytes == 0) {
        c->max_record_bytes = DEF_MAX_RECORD_BYTES;
    }
    if (c->fsync_interval_ms == 0) {
        c->fsync_interval_ms = DEF_FSYNC_INTERVAL_MS;
    }
    if (c->commit_interval_ms == 0) {
        c->commit_interval_ms = DEF_COMMIT_INTERVAL_MS;
    }
    if (c->min_free_bytes == 0) {
        c->min_free_bytes = DEF_MIN_FREE_BYTES;
    }
    if (c->fsync > COL_SPOOL_FSYNC_NONE || c->full > COL_SPOOL_FULL_DROP_OLDEST ||
        c->segment_bytes < SEG_HDR_LEN + REC_HDR_LEN + 1 ||
        (uint64_t)c->max_record_bytes + SEG_HDR_LEN + REC_HDR_LEN > c->segment_bytes ||
        c->max_total_bytes / 2 < c->segment_bytes) {
        return CT_E_INVAL;
    }
    return 0;
}

int col_spool_open(const struct col_spool_cfg *cfg, struct col_spool **out)
{
    struct col_spool_cfg c;
    if (cfg == NULL || out == NULL || apply_defaults(cfg, &c) != 0) {
        return CT_E_INVAL;
    }
    struct col_spool *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return CT_E_NOMEM;
    }
    int rc = CT_E_NOMEM;
    s->cur_fd = -1;
    s->dir_fd = -1;
    s->dir = strdup(c.dir);
    if (s->dir == NULL) {
        goto out_free;
    }
    s->cfg = c;
    s->cfg.dir = s->dir;
    s->w_max_recs = IOV_MAX / 2;
    s->w_iov = calloc(2 * s->w_max_recs, sizeof(*s->w_iov));
    s->w_hdrs = malloc(s->w_max_recs * REC_HDR_LEN);
    if (s->w_iov == NULL || s->w_hdrs == NULL) {
        goto out_free;
    }
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
        rc = CT_E_IO;
        goto out_free;
    }
    s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        rc = CT_E_IO;
        goto out_free;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->append_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->persist_mu, NULL);
    pthread_cond_init(&s->room_cv, &ca);
    pthread_cond_init(&s->flush_cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = col_spool_recover(s);
    if (rc != 0) {
        goto out_sync;
    }
    if (pthread_create(&s->flusher, NULL, col_spool_flusher_main, s) != 0) {
        rc = CT_E_NOMEM;
        goto out_sync;
    }
    s->flusher_started = true;
    *out = s;
    return 0;
out_sync:
    pthread_cond_destroy(&s->flush_cv);
    pthread_cond_destroy(&s->room_cv);
    pthread_mutex_destroy(&s->persist_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->append_mu);
    if (s->cur_fd >= 0) {
        close(s->cur_fd);
    }
    while (s->nseg > 0) {
        col_spool_segs_remove(s, s->nseg - 1);
    }
    free(s->segs);
out_free:
    if (s->dir_fd >= 0) {
        close(s->dir_fd);
    }
    free(s->w_hdrs);
    free(s->w_iov);
    free(s->dir);
    free(s);
    return rc;
}

/* fdatasync() of the close and sync paths; lock held or single-threaded. */
static int do_fdatasync(struct col_spool *s, int fd)
{
    s->st.fsyncs++;
    int r = s->cfg.fdatasync_fn != NULL ? s->cfg.fdatasync_fn(s->cfg.hook_arg, fd) : fdatasync(fd);
    if (r != 0) {
        s->st.io_errors++;
        col_spool_log(s, "spool: fdatasync failed: %s", strerror(errno));
        return CT_E_IO;
    }
    return 0;
}

/* Records of g above the commit point (seqs within a segment are contiguous but for skipped
 * corrupt ones, so this is exact for clean segments and an upper bound otherwise). */
uint64_t col_spool_uncommitted(const struct col_spool *s, const struct seg *g)
{
    if (g->nrec == 0 || g->last_seq <= s->commit_seq) {
        return 0;
    }
    uint64_t above = g->last_seq - s->commit_seq;
    return above < g->nrec ? above : g->nrec;
}

/* Deletes segs[0], never the newest; 'mu' held. */
void col_spool_delete_first(struct col_spool *s)
{
    char path[PATH_MAX];
    struct seg *g = &s->segs[0];
    if (col_spool_seg_path(s, g->first_seq, "", path, sizeof(path)) == 0 && unlink(path) != 0 &&
        errno != ENOENT) {
        s->st.io_errors++;
        col_spool_log(s, "spool: cannot delete %s: %s", path, strerror(errno));
    }
    s->total_bytes -= g->size;
    s->fs_valid = false; /* space was freed: sample the file system again */
    col_spool_segs_remove(s, 0);
}

int col_spool_commit(struct col_spool *s, uint64_t seq)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (seq >= s->next_seq) {
        rc = CT_E_INVAL;
        goto out_unlock;
    }
    if (seq <= s->commit_seq) {
        goto out_unlock;
    }
    s->commit_seq = seq;
    s->commit_dirty = true;
    bool freed = false;
    /* Never the newest segment here: it shows the next sequence number after a restart. When
     * it is wholly committed too, the flusher deletes it after persisting the commit point. */
    while (s->nseg >= 2 && (s->segs[0].nrec == 0 || s->segs[0].last_seq <= seq)) {
        col_spool_delete_first(s);
        freed = true;
    }
    if (col_spool_retire_due(s)) {
        s->retire_wanted = true;
        pthread_cond_broadcast(&s->flush_cv);
    }
    if (freed) {
        pthread_cond_broadcast(&s->room_cv);
    }
out_unlock:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int col_spool_sync(struct col_spool *s)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    int fd = -1;
    if (s->cur_fd >= 0 && s->dirty && s->cfg.fsync != COL_SPOOL_FSYNC_NONE) {
        fd = dup(s->cur_fd); /* synced without the lock; a roll-over cannot close it away */
        s->dirty = fd < 0;
        if (fd < 0) {
            s->st.io_errors++;
            rc = CT_E_IO;
        }
    }
    uint64_t c = s->commit_seq;
    s->commit_dirty = false;
    pthread_mutex_unlock(&s->mu);
    if (fd >= 0 && col_spool_sync_dup(s, fd, "") != 0) {
        rc = CT_E_IO;
    }
    if (col_spool_commit_persist(s, c) != 0) {
        pthread_mutex_lock(&s->mu);
        s->st.io_errors++;
        s->commit_dirty = true;
        pthread_mutex_unlock(&s->mu);
        rc = CT_E_IO;
    }
    return rc;
}

static uint64_t oldest_time(const struct col_spool *s)
{
    for (size_t i = 0; i < s->nseg; i++) {
        const struct seg *g = &s->segs[i];
        if (col_spool_uncommitted(s, g) == 0 || g->nck == 0) {
            continue;
        }
        uint32_t k = 0;
        while (k + 1 < g->nck && g->ck[k + 1].seq <= s->commit_seq + 1) {
            k++;
        }
        return g->ck[k].time_ms;
    }
    return 0;
}

void col_spool_stats(struct col_spool *s, struct col_spool_stats *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    st->records = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        st->records += col_spool_uncommitted(s, &s->segs[i]);
    }
    st->bytes = s->total_bytes;
    st->segments = s->nseg;
    st->oldest_ms = oldest_time(s);
    st->last_seq = s->next_seq - 1;
    st->commit_seq = s->commit_seq;
    pthread_mutex_unlock(&s->mu);
}

void col_spool_close(struct col_spool *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->flush_cv);
    pthread_cond_broadcast(&s->room_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->flusher_started) {
        pthread_join(s->flusher, NULL);
    }
    if (s->cur_fd >= 0) {
        if (s->dirty && s->cfg.fsync != COL_SPOOL_FSYNC_NONE) {
            do_fdatasync(s, s->cur_fd);
        }
        close(s->cur_fd);
    }
    if (s->commit_seq > s->persisted_seq) {
        col_spool_commit_persist(s, s->commit_seq);
    }
    while (s->nseg > 0) {
        col_spool_segs_remove(s, s->nseg - 1);
    }
    free(s->segs);
    pthread_cond_destroy(&s->flush_cv);
    pthread_cond_destroy(&s->room_cv);
    pthread_mutex_destroy(&s->persist_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->append_mu);
    close(s->dir_fd);
    free(s->w_hdrs);
    free(s->w_iov);
    free(s->dir);
    free(s);
}

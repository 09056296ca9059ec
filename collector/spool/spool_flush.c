/* spool_flush.c - the flusher thread of col_spool: fdatasync() every fsync_interval_ms (fsync
 * "interval"), the commit point persisted every commit_interval_ms, and the retirement of a
 * wholly committed newest segment (asked for by commit and by a refused append). */
#include "spool_int.h"

#include "ct/err.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* True when the newest segment holds records and every record is committed, and deleting it is
 * worth a new file: it is at least 1/16 of segment_bytes, or appends are refused for room. 'mu'
 * held. */
bool col_spool_retire_due(const struct col_spool *s)
{
    if (s->nseg != 1 || s->commit_seq + 1 < s->next_seq) {
        return false;
    }
    const struct seg *g = &s->segs[0];
    return g->nrec > 0 && (s->pressure || g->size >= s->cfg.segment_bytes / 16u);
}

/* Flusher: deletes the wholly committed newest segment (col_spool_retire_due()). It persists the
 * commit point first, so that after a crash the numbering still continues above the deleted records
 * (recovery takes the next seq from the commit point when no segment is left). Takes append_mu:
 * no append is in progress while the file goes away. */
static void retire_newest(struct col_spool *s)
{
    char path[PATH_MAX];
    pthread_mutex_lock(&s->append_mu);
    pthread_mutex_lock(&s->mu);
    bool due = !s->stopping && col_spool_retire_due(s);
    uint64_t c = s->commit_seq;
    pthread_mutex_unlock(&s->mu);
    if (!due) {
        goto out_unlock;
    }
    if (col_spool_commit_persist(s, c) != 0) {
        pthread_mutex_lock(&s->mu);
        s->st.io_errors++;
        s->commit_dirty = true;
        pthread_mutex_unlock(&s->mu);
        goto out_unlock;
    }
    pthread_mutex_lock(&s->mu);
    if (col_spool_retire_due(s)) {
        struct seg *g = &s->segs[0];
        if (s->cur_fd >= 0) {
            close(s->cur_fd);
            s->cur_fd = -1;
        }
        s->dirty = false;
        s->w_unsynced = false;
        if (col_spool_seg_path(s, g->first_seq, "", path, sizeof(path)) == 0 && unlink(path) != 0 &&
            errno != ENOENT) {
            s->st.io_errors++;
            col_spool_log(s, "spool: cannot delete %s: %s", path, strerror(errno));
        }
        s->total_bytes -= g->size;
        s->fs_valid = false;
        col_spool_segs_remove(s, 0);
        pthread_cond_broadcast(&s->room_cv);
    }
    pthread_mutex_unlock(&s->mu);
out_unlock:
    pthread_mutex_unlock(&s->append_mu);
}

void col_spool_deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000u);
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int col_spool_sync_dup(struct col_spool *s, int fd, const char *who)
{
    int r = -1;
    if (fd >= 0) {
        r = s->cfg.fdatasync_fn != NULL ? s->cfg.fdatasync_fn(s->cfg.hook_arg, fd) : fdatasync(fd);
    }
    int e = errno;
    if (fd >= 0) {
        close(fd);
    }
    pthread_mutex_lock(&s->mu);
    s->st.fsyncs++;
    if (r != 0) {
        s->st.io_errors++;
        s->dirty = true;
        col_spool_log(s, "spool: %sfdatasync failed: %s", who, strerror(e));
    }
    pthread_mutex_unlock(&s->mu);
    return r != 0 ? CT_E_IO : 0;
}

/* The flusher: fdatasync()s appended data every fsync_interval_ms (fsync "interval"), persists a
 * changed commit point at most every commit_interval_ms, and deletes a wholly committed newest
 * segment when commit asks (retire_newest()). It never holds the lock while it syncs: it syncs a
 * dup() of the descriptor, so a roll-over cannot close it away. */
void *col_spool_flusher_main(void *arg)
{
    struct col_spool *s = arg;
    bool interval = s->cfg.fsync == COL_SPOOL_FSYNC_INTERVAL;
    uint64_t tick = s->cfg.commit_interval_ms;
    if (interval && s->cfg.fsync_interval_ms < tick) {
        tick = s->cfg.fsync_interval_ms;
    }
    uint64_t next_fsync = col_spool_mono_ms() + s->cfg.fsync_interval_ms;
    uint64_t next_commit = col_spool_mono_ms() + s->cfg.commit_interval_ms;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        if (s->retire_wanted) {
            s->retire_wanted = false;
            pthread_mutex_unlock(&s->mu);
            retire_newest(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        uint64_t now = col_spool_mono_ms();
        if (interval && s->dirty && s->cur_fd >= 0 && now >= next_fsync) {
            int fd = dup(s->cur_fd);
            s->dirty = false;
            next_fsync = now + s->cfg.fsync_interval_ms;
            pthread_mutex_unlock(&s->mu);
            (void)col_spool_sync_dup(s, fd, "flusher ");
            pthread_mutex_lock(&s->mu);
        }
        if (s->commit_dirty && now >= next_commit) {
            uint64_t c = s->commit_seq;
            s->commit_dirty = false;
            next_commit = now + s->cfg.commit_interval_ms;
            pthread_mutex_unlock(&s->mu);
            int r = col_spool_commit_persist(s, c);
            pthread_mutex_lock(&s->mu);
            if (r != 0) {
                s->st.io_errors++;
                s->commit_dirty = true;
            }
        }
        if (s->stopping) {
            break;
        }
        struct timespec dl;
        col_spool_deadline_in(&dl, tick);
        pthread_cond_timedwait(&s->flush_cv, &s->mu, &dl);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

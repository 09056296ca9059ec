/* spool_open.c - recovery scan of the segment directory, and the persisted commit point. */
#include "spool_int.h"

#include "ct/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parses "spool-<20 digits>.seg". */
static bool seg_name(const char *name, uint64_t *seq)
{
    size_t pl = strlen(SEG_PREFIX);
    size_t sl = strlen(SEG_SUFFIX);
    if (strlen(name) != pl + 20 + sl || strncmp(name, SEG_PREFIX, pl) != 0 ||
        strcmp(name + pl + 20, SEG_SUFFIX) != 0) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = pl; i < pl + 20; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10u) {
            return false;
        }
        v = v * 10u + d;
    }
    *seq = v;
    return true;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s);
    size_t m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* Lists segment names' sequence numbers (sorted) and removes leftover temp files. */
static int list_dir(struct col_spool *s, uint64_t **out, size_t *n)
{
    int fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return CT_E_IO;
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return CT_E_IO;
    }
    uint64_t *v = NULL;
    size_t cnt = 0;
    size_t cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t seq;
        if (ends_with(e->d_name, SEG_SUFFIX ".tmp") || strcmp(e->d_name, COMMIT_TMP_NAME) == 0) {
            col_spool_log(s, "spool: removing leftover temporary file %s", e->d_name);
            unlinkat(s->dir_fd, e->d_name, 0);
            continue;
        }
        if (!seg_name(e->d_name, &seq)) {
            continue;
        }
        if (cnt == cap) {
            size_t nc = cap == 0 ? 16 : cap * 2;
            uint64_t *nv = realloc(v, nc * sizeof(*nv));
            if (nv == NULL) {
                rc = CT_E_NOMEM;
                goto out_close;
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = seq;
    }
    if (cnt > 0) {
        qsort(v, cnt, sizeof(*v), cmp_u64);
    }
out_close:
    closedir(d);
    if (rc != 0) {
        free(v);
        return rc;
    }
    *out = v;
    *n = cnt;
    return 0;
}

/* Rewrites the damaged header of a segment whose records were recovered, so that the next open
 * does not count the damage again. Failure is logged; the records stay readable either way. */
static void repair_header(struct col_spool *s, const char *path, uint64_t first_seq)
{
    uint8_t hdr[SEG_HDR_LEN];
    col_spool_seg_hdr_encode(hdr, first_seq, col_spool_now(s));
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && pwrite(fd, hdr, SEG_HDR_LEN, 0) == (ssize_t)SEG_HDR_LEN &&
              (s->cfg.fsync == COL_SPOOL_FSYNC_NONE || fdatasync(fd) == 0);
    int e = errno;
    if (fd >= 0) {
        close(fd);
    }
    if (!ok) {
        s->st.io_errors++;
        col_spool_log(s, "spool: cannot rewrite the header of %s: %s", path, strerror(e));
    }
}

/* Scans one segment file; on success appends it to s->segs (or sets it aside when its header is
 * unusable and no record in it is). *last_seq is the highest good seq seen so far in the journal
 * and is updated.
 *
 * A damaged header does not condemn the records: each carries its own sequence number and CRC,
 * and the file name carries the segment's first sequence number. So the records are scanned as
 * usual from offset SEG_HDR_LEN with the name's number as first seq (a record numbered below it,
 * or not above the journal's last, is corrupt as always); if any is intact the segment is kept,
 * counted once in corrupt_records, marked damaged (never appended to) and given a fresh header
 * (test_spool_header_damage_recovers_records). With no intact record it is renamed to .bad. */
static int scan_segment(struct col_spool *s, uint64_t name_seq, uint64_t *last_seq)
{
    char path[PATH_MAX];
    char bad[PATH_MAX];
    uint8_t hdr[SEG_HDR_LEN];
    uint64_t first_seq;
    uint64_t created;
    int rc = col_spool_seg_path(s, name_seq, "", path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        col_spool_log(s, "spool: cannot open %s: %s; skipped", path, strerror(errno));
        s->st.io_errors++;
        return 0;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        s->st.io_errors++;
        goto out_close;
    }
    bool hdr_bad = pread(fd, hdr, SEG_HDR_LEN, 0) != (ssize_t)SEG_HDR_LEN ||
                   !col_spool_seg_hdr_decode(hdr, &first_seq, &created);
    if (hdr_bad) {
        first_seq = name_seq;
    }
    if (hdr_bad && (name_seq == 0 || (uint64_t)sb.st_size <= SEG_HDR_LEN)) {
        goto out_bad;
    }
    struct seg *g = col_spool_segs_push(s);
    if (g == NULL) {
        rc = CT_E_NOMEM;
        goto out_close;
    }
    g->first_seq = first_seq;
    g->size = (uint64_t)sb.st_size;
    g->valid_end = g->size;
    g->damaged = hdr_bad;
    /* With a bad header, a scan that finds nothing must leave no trace but the one count. */
    struct col_spool_stats before = s->st;
    uint64_t last_before = *last_seq;
    struct seg_cur cur;
    rc = col_spool_cur_init(&cur, fd, SEG_HDR_LEN, g->size, s->cfg.max_record_bytes);
    if (rc != 0) {
        goto out_close;
    }
    for (;;) {
        struct rec_view v;
        enum rec_res r = col_spool_cur_next(&cur, &v);
        if (r == REC_END) {
            break;
        }
        if (r == REC_OK && (v.seq <= *last_seq || v.seq < first_seq)) {
            r = REC_CORRUPT; /* a valid frame out of order: never trust it */
        }
        if (r == REC_OK) {
            g->nrec++;
            g->last_seq = v.seq;
            *last_seq = v.seq;
            col_spool_seg_note_time(g, v.seq, v.time_ms);
            continue;
        }
        g->damaged = true;
        if (r == REC_CORRUPT) {
            s->st.corrupt_records++;
            if (!hdr_bad || g->nrec > 0) {
                col_spool_log(s, "spool: %s: corrupt region skipped; scan resumes at offset %llu",
                              path, (unsigned long long)cur.off);
            }
            continue;
        }
        if (r == REC_TORN) {
            s->st.torn_tails++;
            col_spool_log(s, "spool: %s: torn last record at offset %llu (%llu bytes) skipped",
                          path, (unsigned long long)cur.off,
                          (unsigned long long)(g->size - cur.off));
        } else {
            s->st.io_errors++;
            col_spool_log(s, "spool: %s: read error at offset %llu; rest skipped", path,
                          (unsigned long long)cur.off);
        }
        break;
    }
    col_spool_cur_free(&cur);
    if (hdr_bad && g->nrec == 0) {
        s->st = before;
        *last_seq = last_before;
        col_spool_segs_remove(s, s->nseg - 1);
        goto out_bad;
    }
    if (hdr_bad) {
        s->st.corrupt_records++;
        col_spool_log(s,
                      "spool: %s has a damaged segment header; recovered %llu records (seq %llu "
                      "to %llu) from their own frames and rewrote the header",
                      path, (unsigned long long)g->nrec, (unsigned long long)first_seq,
                      (unsigned long long)g->last_seq);
        repair_header(s, path, first_seq);
    }
    goto out_close;
out_bad:
    s->st.corrupt_records++;
    col_spool_seg_path(s, name_seq, ".bad", bad, sizeof(bad));
    col_spool_log(s, "spool: %s has no valid segment header and no intact record; renamed to .bad",
                  path);
    if (rename(path, bad) != 0) {
        s->st.io_errors++;
    }
out_close:
    close(fd);
    return rc;
}

/* True when recovery reopens segment 'g' (the newest) for appending: clean, with room. */
static bool appendable(const struct col_spool *s, const struct seg *g)
{
    return !g->damaged && g->size + REC_HDR_LEN < s->cfg.segment_bytes;
}

int col_spool_recover(struct col_spool *s)
{
    uint64_t *names = NULL;
    size_t n = 0;
    uint64_t last = 0;
    int rc = list_dir(s, &names, &n);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        rc = scan_segment(s, names[i], &last);
        if (rc != 0) {
            goto out_free;
        }
    }
    col_spool_commit_load(s, &s->commit_seq);
    s->persisted_seq = s->commit_seq;
    s->next_seq = s->commit_seq + 1;
    for (size_t i = 0; i < s->nseg; i++) {
        const struct seg *g = &s->segs[i];
        if (g->nrec > 0 && g->last_seq + 1 > s->next_seq) {
            s->next_seq = g->last_seq + 1;
        }
        /* A segment's first seq is taken even when none of its records survived: a fresh
         * segment must get a higher first seq (and file name), or readers, which order
         * segments by first seq, would never reach it. Only the newest segment, when it is
         * reopened for appending below, may still give its first seq to its first record. */
        bool reopened = i + 1 == s->nseg && appendable(s, g);
        uint64_t floor = g->first_seq;
        if (g->nrec == 0 && !reopened && floor < UINT64_MAX) {
            floor++;
        }
        if (floor > s->next_seq) {
            s->next_seq = floor;
        }
    }
    /* Drop segments wholly at or below the commit point, except the newest. */
    for (size_t i = 0; i + 1 < s->nseg;) {
        struct seg *g = &s->segs[i];
        if (g->nrec == 0 || g->last_seq <= s->commit_seq) {
            char path[PATH_MAX];
            col_spool_seg_path(s, g->first_seq, "", path, sizeof(path));
            if (unlink(path) != 0 && errno != ENOENT) {
                s->st.io_errors++;
                col_spool_log(s, "spool: cannot delete %s: %s", path, strerror(errno));
            }
            col_spool_segs_remove(s, i);
            continue;
        }
        i++;
    }
    for (size_t i = 0; i < s->nseg; i++) {
        s->total_bytes += s->segs[i].size;
    }
    /* Continue appending to a clean newest segment with room; otherwise a fresh one is made by
     * the first append. */
    s->cur_fd = -1;
    if (s->nseg > 0) {
        struct seg *g = &s->segs[s->nseg - 1];
        if (appendable(s, g)) {
            char path[PATH_MAX];
            col_spool_seg_path(s, g->first_seq, "", path, sizeof(path));
            s->cur_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
            if (s->cur_fd < 0) {
                s->st.io_errors++;
                col_spool_log(s, "spool: cannot reopen %s for appending: %s", path,
                              strerror(errno));
                /* A fresh segment follows instead: it must not take this one's first seq. */
                if (s->next_seq <= g->first_seq && g->first_seq < UINT64_MAX) {
                    s->next_seq = g->first_seq + 1;
                }
            }
        }
    }
out_free:
    free(names);
    return rc;
}

void col_spool_commit_load(struct col_spool *s, uint64_t *seq)
{
    uint8_t b[COMMIT_LEN + 1];
    *seq = 0;
    int fd = openat(s->dir_fd, COMMIT_NAME, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            s->st.io_errors++;
            col_spool_log(s, "spool: cannot read the commit point: %s; replaying everything",
                          strerror(errno));
        }
        return;
    }
    ssize_t r = pread(fd, b, sizeof(b), 0);
    close(fd);
    if (r != (ssize_t)COMMIT_LEN || memcmp(b, COMMIT_MAGIC, 8) != 0 ||
        ct_get_le32(b + 16) != col_spool_crc(0, b, 16)) {
        col_spool_log(s, "spool: commit point file is damaged; replaying everything");
        return;
    }
    *seq = ct_get_le64(b + 8);
}

int col_spool_commit_persist(struct col_spool *s, uint64_t seq)
{
    uint8_t b[COMMIT_LEN];
    int rc = 0;
    pthread_mutex_lock(&s->persist_mu);
    if (seq <= s->persisted_seq) {
        goto out_unlock;
    }
    memset(b, 0, sizeof(b));
    memcpy(b, COMMIT_MAGIC, 8);
    ct_put_le64(b + 8, seq);
    ct_put_le32(b + 16, col_spool_crc(0, b, 16));
    int fd = openat(s->dir_fd, COMMIT_TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = CT_E_IO;
        goto out_log;
    }
    ssize_t w = write(fd, b, sizeof(b));
    if (w != (ssize_t)sizeof(b) || fsync(fd) != 0) {
        close(fd);
        rc = CT_E_IO;
        goto out_log;
    }
    close(fd);
    if (renameat(s->dir_fd, COMMIT_TMP_NAME, s->dir_fd, COMMIT_NAME) != 0 ||
        fsync(s->dir_fd) != 0) {
        rc = CT_E_IO;
        goto out_log;
    }
    s->persisted_seq = seq;
    goto out_unlock;
out_log:
    col_spool_log(s, "spool: cannot persist the commit point %llu: %s", (unsigned long long)seq,
                  strerror(errno));
out_unlock:
    pthread_mutex_unlock(&s->persist_mu);
    return rc;
}

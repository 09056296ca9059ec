/* spool_reader.c - reads records in order while appends and commits go on. */
#include "spool_int.h"

#include "ct/err.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct col_spool_reader {
    struct col_spool *s; /* borrowed */
    struct seg_cur cur;  /* cur.fd is -1 between segments */
    uint64_t seg_first;  /* first_seq of the segment being read (or last read) */
    bool started;
    uint64_t want; /* next sequence number to return */
    uint64_t corrupt;
};

int col_spool_reader_open(struct col_spool *s, uint64_t from_seq, struct col_spool_reader **out)
{
    if (s == NULL || out == NULL) {
        return CT_E_INVAL;
    }
    struct col_spool_reader *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        return CT_E_NOMEM;
    }
    if (col_spool_cur_init(&rd->cur, -1, 0, 0, s->cfg.max_record_bytes) != 0) {
        free(rd);
        return CT_E_NOMEM;
    }
    rd->cur.strict = true;
    rd->s = s;
    rd->want = from_seq == 0 ? 1 : from_seq;
    *out = rd;
    return 0;
}

/* Opens the next segment that may hold rd->want. Returns 0, CT_E_NOTFOUND or CT_E_IO. */
static int open_next(struct col_spool_reader *rd)
{
    struct col_spool *s = rd->s;
    char path[PATH_MAX];
    int rc = CT_E_NOTFOUND;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nseg; i++) {
        const struct seg *g = &s->segs[i];
        if (rd->started && g->first_seq <= rd->seg_first) {
            continue;
        }
        bool last = i + 1 == s->nseg;
        if (!last && (g->nrec == 0 || g->last_seq < rd->want)) {
            continue;
        }
        rc = col_spool_seg_path(s, g->first_seq, "", path, sizeof(path));
        if (rc != 0) {
            rc = CT_E_IO;
            break;
        }
        /* Under the lock: deletion also happens under it, so the file exists. */
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = CT_E_IO;
            break;
        }
        rd->cur.fd = fd;
        rd->cur.off = SEG_HDR_LEN;
        rd->cur.end = g->valid_end;
        rd->cur.boff = 0;
        rd->cur.blen = 0;
        rd->seg_first = g->first_seq;
        rd->started = true;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* At the end of what was known of the current segment: extends it if it grew, leaves it for the
 * next one when there is one. Returns 0 (read on), CT_E_NOTFOUND (nothing more now). */
static int at_end(struct col_spool_reader *rd)
{
    struct col_spool *s = rd->s;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    size_t i = 0;
    while (i < s->nseg && s->segs[i].first_seq != rd->seg_first) {
        i++;
    }
    if (i < s->nseg && s->segs[i].valid_end > rd->cur.end) {
        rd->cur.end = s->segs[i].valid_end;
    } else if (i + 1 == s->nseg) {
        rc = CT_E_NOTFOUND; /* the newest segment: appends may still come */
    } else {
        close(rd->cur.fd);
        rd->cur.fd = -1;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int col_spool_reader_next(struct col_spool_reader *rd, void *buf, size_t cap, size_t *len,
                          uint64_t *seq)
{
    if (rd == NULL || (buf == NULL && cap > 0) || len == NULL || seq == NULL) {
        return CT_E_INVAL;
    }
    for (;;) {
        if (rd->cur.fd < 0) {
            int rc = open_next(rd);
            if (rc != 0) {
                return rc;
            }
        }
        uint64_t save = rd->cur.off;
        struct rec_view v;
        enum rec_res r = col_spool_cur_next(&rd->cur, &v);
        if (r == REC_OK && v.seq < rd->seg_first) {
            /* A record numbered below its segment's first sequence number cannot have been
             * written there: damage (recovery at open counts it the same way). */
            rd->corrupt++;
            continue;
        }
        if (r == REC_OK) {
            if (v.seq < rd->want) {
                continue;
            }
            *len = v.len;
            if (v.len > cap) {
                rd->cur.off = save;
                return CT_E_TOOBIG;
            }
            if (v.len > 0) {
                memcpy(buf, v.data, v.len);
            }
            *seq = v.seq;
            rd->want = v.seq + 1;
            return 0;
        }
        if (r == REC_CORRUPT) {
            rd->corrupt++;
            continue;
        }
        if (r == REC_IOERR) {
            return CT_E_IO;
        }
        int rc = at_end(rd);
        if (rc != 0) {
            return rc;
        }
    }
}

uint64_t col_spool_reader_corrupt(const struct col_spool_reader *rd)
{
    return rd->corrupt;
}

void col_spool_reader_close(struct col_spool_reader *rd)
{
    if (rd == NULL) {
        return;
    }
    if (rd->cur.fd >= 0) {
        close(rd->cur.fd);
    }
    col_spool_cur_free(&rd->cur);
    free(rd);
}

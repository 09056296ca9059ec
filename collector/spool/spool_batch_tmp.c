/* spool_batch_tmp.c - TEMPORARY: batch append over the single append (replaced by the spool's). */
#include "col_spool.h"
#include "ct/err.h"

int col_spool_append_batch(struct col_spool *s, const struct col_spool_rec *recs, size_t n,
                           uint64_t *first_seq, size_t *done)
{
    *done = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t seq;
        int rc = col_spool_append(s, recs[i].data, recs[i].len, &seq);
        if (rc != 0) {
            return rc;
        }
        if (i == 0) {
            *first_seq = seq;
        }
        (*done)++;
    }
    return 0;
}

bool col_spool_has_room(struct col_spool *s, size_t bytes)
{
    (void)bytes;
    return col_spool_wait_room(s, 0) == 0;
}

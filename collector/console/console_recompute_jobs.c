/* console_recompute_jobs.c - the loop part of the recompute from validated data
 * (col_console_recompute.h; docs/console.md): the waiting ranges, kept in
 * <spool.dir>/console-recompute, run from the console's tick one query at a time through the
 * app's query client, their points written through the console's journalled write path (records
 * of COL_CONSOLE_TOPIC), so a store outage or a restart loses no point. The points themselves
 * come from console_recompute.c and console_recompute_events.c (the pure part). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_console_recompute.h"
#include "col_console_recompute_events.h"
#include "col_indices_aqi_hour.h"
#include "col_obs.h"
#include "console_int.h"
#include "ct/err.h"
#include "ct/lp.h"

#define DAY_MS COL_CONSOLE_DAY_MS
#define LOCAL_OFFSET_MS COL_CONSOLE_LOCAL_OFFSET_MS
#define RETRY_MS 30000 /* a failed recompute runs again after this */

static int64_t hour_floor(int64_t ms)
{
    return col_console_floor_to(ms, COL_CONSOLE_HOUR_MS);
}

/* ---- the loop part ---- */

struct rc_run {
    struct col_console *c;
    struct col_console_rc_job job; /* a copy: the table may change while the query runs */
    int64_t first_ms, last_ms;
};

static struct col_console_rc_job *job_find(struct col_console_rc *rc, const char *id,
                                           const struct col_console_range *r)
{
    for (size_t i = 0; i < rc->n; i++) {
        struct col_console_rc_job *j = &rc->jobs[i];
        if (strcmp(j->id, id) == 0 && strcmp(j->r.param, r->param) == 0 &&
            j->r.from_ms == r->from_ms && j->r.to_ms == r->to_ms) {
            return j;
        }
    }
    return NULL;
}

static void job_remove(struct col_console_rc *rc, struct col_console_rc_job *j)
{
    size_t i = (size_t)(j - rc->jobs);

    memmove(&rc->jobs[i], &rc->jobs[i + 1], (rc->n - i - 1) * sizeof(*j));
    rc->n--;
}

/* ---- the kept jobs (<spool.dir>/console-recompute) ---- */

int col_console_recompute_text(const struct col_console_rc *rc, struct ct_buf *out)
{
    for (size_t i = 0; i < rc->n; i++) {
        const struct col_console_rc_job *j = &rc->jobs[i];
        char done[24] = "-";
        if (j->done_ms != INT64_MIN) {
            snprintf(done, sizeof(done), "%lld", (long long)j->done_ms);
        }
        if (ct_buf_printf(out, "%s %s %lld %lld %lld %s %lld", j->id, j->r.param,
                          (long long)j->r.from_ms, (long long)j->r.to_ms, (long long)j->due_ms,
                          done, (long long)j->until_ms) != 0 ||
            (j->revoked_ms > 0 && ct_buf_printf(out, " %lld", (long long)j->revoked_ms) != 0) ||
            ct_buf_adds(out, "\n") != 0) {
            return CT_E_NOMEM;
        }
    }
    return 0;
}

/* The decimal integer 'f' (the whole field) into *v; false when it is not one. */
static bool field_int(const char *f, int64_t *v)
{
    char *end;
    long long x;

    if (*f == '\0' || (*f != '-' && (*f < '0' || *f > '9'))) {
        return false;
    }
    errno = 0;
    x = strtoll(f, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *v = x;
    return true;
}

/* Parses one line into *j; NULL, or the reason it is refused. */
static const char *job_parse(char *line, struct col_console_rc_job *j)
{
    char *f[9] = {NULL};
    size_t nf = 0;
    int64_t v[6] = {0};

    for (const char *p = line; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            return "a control character";
        }
    }
    for (char *p = line; nf < 9;) {
        f[nf++] = p;
        p = strchr(p, ' ');
        if (p == NULL) {
            break;
        }
        *p++ = '\0';
    }
    if (nf != 7 && nf != 8) {
        return "not 7 or 8 fields separated by one space";
    }
    if (f[0][0] == '\0' || strlen(f[0]) > CT_ID_MAX) {
        return "a bad station id";
    }
    if (f[1][0] == '\0' || strlen(f[1]) > CT_MEMBER_NAME_MAX) {
        return "a bad parameter name";
    }
    if (!field_int(f[2], &v[0]) || !field_int(f[3], &v[1]) || !field_int(f[4], &v[2]) ||
        !field_int(f[6], &v[4])) {
        return "a time that is not an integer (ms)";
    }
    if (nf == 8 && (!field_int(f[7], &v[5]) || v[5] <= 0)) {
        return "revoked_ms not a positive integer (ms)";
    }
    if (strcmp(f[5], "-") == 0) {
        v[3] = INT64_MIN;
    } else if (!field_int(f[5], &v[3]) || hour_floor(v[3]) != v[3]) {
        return "done_ms neither - nor an hour's start";
    }
    if (v[0] > v[1]) {
        return "from_ms after to_ms";
    }
    if (hour_floor(v[4]) != v[4] || v[4] < hour_floor(v[1])) {
        return "until_ms not an hour's start at or after the range's last hour";
    }
    if (v[3] != INT64_MIN && v[3] >= v[4]) {
        return "done_ms at or after until_ms (the job had ended)";
    }
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", f[0]);
    snprintf(j->r.param, sizeof(j->r.param), "%s", f[1]);
    j->r.from_ms = v[0];
    j->r.to_ms = v[1];
    j->due_ms = v[2];
    j->done_ms = v[3];
    j->until_ms = v[4];
    j->revoked_ms = v[5];
    return NULL;
}

size_t col_console_recompute_restore(struct col_console_rc *rc, const char *text, size_t len,
                                     const char *file)
{
    char line[CT_ID_MAX + CT_MEMBER_NAME_MAX + 6 * 24 + 8];
    size_t added = 0, lineno = 0;

    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        struct col_console_rc_job j;
        const char *why = NULL;

        pos += n + 1;
        lineno++;
        if (n == 0) {
            why = "an empty line";
        } else if (n >= sizeof(line)) {
            why = "too long";
        } else {
            memcpy(line, text + pos - n - 1, n);
            line[n] = '\0';
            if (memchr(line, '\0', n) != NULL) {
                why = "a NUL byte";
            } else {
                why = job_parse(line, &j);
            }
        }
        if (why == NULL && job_find(rc, j.id, &j.r) != NULL) {
            why = "the range already waits";
        }
        if (why == NULL && rc->n == COL_CONSOLE_RECOMPUTE_JOBS) {
            why = "the table is full";
        }
        if (why != NULL) {
            col_log(COL_LOG_WARN, "console", "%s:%zu: recompute job skipped: %s", file, lineno,
                    why);
            continue;
        }
        rc->jobs[rc->n++] = j;
        added++;
    }
    return added;
}

int64_t col_console_recompute_until(int64_t to_ms)
{
    int64_t until = hour_floor(to_ms) + COL_CONSOLE_RECOMPUTE_AFTER_H * COL_CONSOLE_HOUR_MS;
    /* The local day whose daily index reads to_ms: a day's index reads its 24 hours and the 7
     * before (the O3 8-h means), so to_ms's own day, or the next one from 17:00 local on. */
    int64_t read_by = to_ms + (COL_AQI_DAY_BACK - 24) * COL_CONSOLE_HOUR_MS;
    int64_t day_last = col_console_floor_to(read_by + LOCAL_OFFSET_MS, DAY_MS) + DAY_MS -
                       LOCAL_OFFSET_MS - COL_CONSOLE_HOUR_MS;

    return day_last > until ? day_last : until;
}

/* Sets when job 'j' (its range set) runs first, and its last hour, after a decision at now_ms. */
static void schedule(const struct col_console_rc *rc, struct col_console_rc_job *j, int64_t now_ms)
{
    j->due_ms = now_ms + rc->after_ms;
    j->done_ms = INT64_MIN;
    j->until_ms = col_console_recompute_until(j->r.to_ms);
}

void col_console_recompute_add(struct col_console *c, const char *id, const char *param,
                               int64_t from_ms, int64_t to_ms, int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);
    struct col_console_rc_job *j;

    if (rc->n == COL_CONSOLE_RECOMPUTE_JOBS) {
        col_log(COL_LOG_WARN, "console",
                "recompute: %zu ranges already wait; the oldest (%s %s) is dropped", rc->n,
                rc->jobs[0].id, rc->jobs[0].r.param);
        job_remove(rc, &rc->jobs[0]);
        rc->dropped++;
    }
    j = &rc->jobs[rc->n++];
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->r.param, sizeof(j->r.param), "%s", param);
    j->r.from_ms = from_ms;
    j->r.to_ms = to_ms;
    schedule(rc, j, now_ms);
    col_console_recompute_kept(c);
}

void col_console_recompute_revoked(struct col_console *c, const char *id, const char *param,
                                   int64_t from_ms, int64_t to_ms, int64_t decided_ms,
                                   int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);
    struct col_console_range r = {.from_ms = from_ms, .to_ms = to_ms};
    struct col_console_rc_job *j;

    snprintf(r.param, sizeof(r.param), "%s", param);
    j = job_find(rc, id, &r);
    if (j == NULL) {
        col_console_recompute_add(c, id, param, from_ms, to_ms, now_ms);
        j = job_find(rc, id, &r);
    }
    if (j != NULL) {
        /* A job of the range still waiting would leave it out again: it now writes it back. */
        j->revoked_ms = decided_ms;
        schedule(rc, j, now_ms);
        col_console_recompute_kept(c);
    }
}

/* The next run of 'j' after one that wrote through 'last': the next hour close, or at once when
 * a long range has hours left that have closed. */
/* The last hour whose live points are written by now: closed recompute_after_ms ago. */
static int64_t last_closed(const struct col_console_rc *rc, int64_t now_ms)
{
    return hour_floor(now_ms - rc->after_ms) - COL_CONSOLE_HOUR_MS;
}

static void job_next(struct col_console_rc *rc, struct col_console_rc_job *j, int64_t last,
                     int64_t now_ms)
{
    int64_t closed = last_closed(rc, now_ms);

    j->done_ms = last;
    if (last >= j->until_ms) {
        job_remove(rc, j);
    } else if (last < closed) {
        j->due_ms = now_ms;
    } else {
        j->due_ms = last_closed(rc, now_ms) + 2 * COL_CONSOLE_HOUR_MS + rc->after_ms;
    }
}

/* A range of a rain gauge's tips or mm: the live rain_1h points derive writes count the range's
 * invalid amounts in their 24-h sums until this process's derive is told to take them out. Once
 * per job and process (j->adjusted, not kept: derive rebuilds its ring from the raw points, the
 * invalid ones included, at each start), after a run's answer: a range marked invalid takes the
 * amounts of its readings of the last 24 h out (sign -1), a withdrawn range puts back what this
 * process took out (sign +1); readings in another range already taken out are left to that one.
 * A range marked invalid is taken out at the first run whose hours hold all of it (its first run,
 * unless the range reaches into the hour still open).
 * The readings of the 24 h after the range then carry validated=true. Left for the job's next run
 * when derive is not ready (CT_E_AGAIN) or memory or the answer fails. */
static void rain_live(struct col_console *c, struct col_console_rc_job *j,
                      const struct col_console_recompute_in *in, const char *body, size_t len,
                      int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);
    int sign = j->revoked_ms == 0 && !j->adjusted ? -1 : j->revoked_ms > 0 && j->adjusted ? 1 : 0;
    struct col_console_range *skip;
    int64_t *ts;
    double *mm;
    size_t nskip = 0, n = 0;
    int e;

    if (sign == 0 || in->dev->kind != CT_KIND_RAIN ||
        (strcmp(j->r.param, "tips") != 0 && strcmp(j->r.param, "mm") != 0)) {
        return;
    }
    /* A range that reaches past the hours this answer read (into the open hour, or later): its
     * later readings are not in the answer yet, and the next points would claim validated sums
     * that still count them. Taken out at the first run that read the whole range. */
    if (sign < 0 && j->r.to_ms >= in->last_ms + COL_CONSOLE_HOUR_MS) {
        return;
    }
    skip = calloc(COL_CONSOLE_RECOMPUTE_JOBS, sizeof(*skip));
    ts = calloc(COL_CONSOLE_RAIN_ADJUST_MAX, sizeof(*ts));
    mm = calloc(COL_CONSOLE_RAIN_ADJUST_MAX, sizeof(*mm));
    if (skip == NULL || ts == NULL || mm == NULL) {
        goto out_free;
    }
    for (size_t i = 0; i < rc->n; i++) {
        const struct col_console_rc_job *o = &rc->jobs[i];
        if (o != j && o->adjusted && o->revoked_ms == 0 && strcmp(o->id, j->id) == 0) {
            skip[nskip++] = o->r;
        }
    }
    e = col_console_rain_amounts(in, body, len, &j->r, skip, nskip, now_ms - DAY_MS, ts, mm,
                                 COL_CONSOLE_RAIN_ADJUST_MAX, &n);
    if (e == CT_E_FULL) {
        col_log(
            COL_LOG_WARN, "console",
            "recompute: %s %s: more than %d readings; the live sums are corrected for the first %d",
            j->id, j->r.param, COL_CONSOLE_RAIN_ADJUST_MAX, COL_CONSOLE_RAIN_ADJUST_MAX);
    } else if (e != 0) {
        goto out_free;
    }
    e = col_console_rain_adjust(c, j->id, ts, mm, n, sign, j->r.to_ms + DAY_MS);
    if (e == CT_E_AGAIN) {
        goto out_free;
    }
    if (e != 0) {
        col_log(COL_LOG_WARN, "console",
                "recompute: %s %s: the live rain sums are not corrected (%s)", j->id, j->r.param,
                ct_strerror(e));
    } else {
        col_log(COL_LOG_INFO, "console",
                "recompute: %s %s: %zu invalid amount(s) %s the live 24-h rain sums", j->id,
                j->r.param, n, sign < 0 ? "taken out of" : "put back into");
    }
    j->adjusted = sign < 0;

out_free:
    free(skip);
    free(ts);
    free(mm);
}

static void on_answer(void *arg, int status, const char *body, size_t len)
{
    struct rc_run *run = arg;
    struct col_console *c = run->c;
    struct col_console_rc *rc = col_console_rc_of(c);
    const struct col_console_station *st =
        col_console_station_find(col_console_states_of(c), run->job.id);
    struct col_console_rc_job *j = job_find(rc, run->job.id, &run->job.r);
    /* The range's decision withdrawn while this run (which left the range out) was in flight: the
     * job now writes the range back from its own schedule, untouched by this answer. */
    if (j != NULL && j->revoked_ms != run->job.revoked_ms) {
        j = NULL;
    }
    struct col_console_recompute_in in = {.dev = st != NULL ? st->dev : NULL,
                                          .instance = col_console_instance(c),
                                          .window_s = rc->window_s,
                                          .first_ms = run->first_ms,
                                          .last_ms = run->last_ms,
                                          .ranges = &run->job.r,
                                          .nranges = run->job.revoked_ms > 0 ? 0 : 1,
                                          .withdrawn_ms = run->job.revoked_ms};
    struct ct_buf lp;
    int e = status == 200 && in.dev != NULL ? 0 : CT_E_IO;
    int64_t now = col_console_now_ms();

    rc->busy = false;
    ct_buf_init(&lp, 64u << 20);
    e = e ? e : col_console_recompute_lp(&in, body, len, &lp);
    /* Rain, flood and parking: their per-reading points, answered by the last two statements. */
    if (e == 0 && col_console_events_kind(in.dev->kind)) {
        e = col_console_events_lp(&in, body, len, &lp);
    }
    e = e || lp.len == 0 ? e : col_console_write(c, lp.p, lp.len);
    if (e == 0) {
        rc->written++;
        col_log(COL_LOG_INFO, "console",
                "recompute: %s %s hours %lld..%lld from the validated data (%zu bytes)",
                run->job.id, run->job.r.param, (long long)run->first_ms, (long long)run->last_ms,
                lp.len);
        if (j != NULL) {
            rain_live(c, j, &in, body, len, now);
            job_next(rc, j, run->last_ms, now);
            col_console_recompute_kept(c); /* advanced or ended */
        }
    } else {
        rc->failed++;
        col_log(COL_LOG_WARN, "console", "recompute: %s %s failed (status %d, %s); again in %d s",
                run->job.id, run->job.r.param, status, ct_strerror(e), RETRY_MS / 1000);
        if (j != NULL) {
            j->due_ms = now + RETRY_MS;
        }
    }
    ct_buf_free(&lp);
    free(run);
    col_console_maybe_closed(c);
}

/* Starts the recompute of 'j': the hours from its range's first (or from two before the last
 * written, so that a live hourly point written after ours is replaced) to the last one closed
 * recompute_after_ms ago (so that derive has written its own points of the hour first). */
static void run_job(struct col_console *c, struct col_console_rc_job *j, int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);
    const struct col_console_station *st =
        col_console_station_find(col_console_states_of(c), j->id);
    int64_t first = hour_floor(j->r.from_ms);
    int64_t last = last_closed(rc, now_ms);
    struct rc_run *run;
    struct ct_buf ql;

    if (st == NULL) {
        job_remove(rc, j); /* the station left the registry */
        col_console_recompute_kept(c);
        return;
    }
    if (j->done_ms != INT64_MIN && j->done_ms - 2 * COL_CONSOLE_HOUR_MS > first) {
        first = j->done_ms - 2 * COL_CONSOLE_HOUR_MS;
    }
    last = last < j->until_ms ? last : j->until_ms;
    int64_t max_h = col_console_recompute_hours_max(rc->window_s);
    if (last - first >= (max_h - 1) * COL_CONSOLE_HOUR_MS) {
        last = first + (max_h - 1) * COL_CONSOLE_HOUR_MS;
    }
    if (last < first) {
        j->due_ms =
            last_closed(rc, now_ms) + 2 * COL_CONSOLE_HOUR_MS + rc->after_ms; /* none closed */
        col_console_recompute_kept(c);
        return;
    }
    run = calloc(1, sizeof(*run));
    if (run == NULL) {
        j->due_ms = now_ms + RETRY_MS;
        return;
    }
    *run = (struct rc_run){.c = c, .job = *j, .first_ms = first, .last_ms = last};
    struct col_console_recompute_in in = {.dev = st->dev,
                                          .instance = "",
                                          .window_s = rc->window_s,
                                          .first_ms = first,
                                          .last_ms = last};
    ct_buf_init(&ql, 8192);
    if (col_console_store(c) == NULL || col_console_recompute_ql(&in, &ql) != 0 ||
        (col_console_events_kind(st->dev->kind) &&
         (ct_buf_adds(&ql, "; ") != 0 || col_console_events_ql(&in, &ql) != 0)) ||
        col_store_query(col_console_store(c), ql.p, on_answer, run) != 0) {
        j->due_ms = now_ms + RETRY_MS;
        rc->failed++;
        free(run);
    } else {
        rc->busy = true;
    }
    ct_buf_free(&ql);
}

void col_console_recompute_tick(struct col_console *c, int64_t now_ms)
{
    struct col_console_rc *rc = col_console_rc_of(c);

    for (size_t i = 0; i < rc->n && !rc->busy; i++) {
        if (rc->jobs[i].due_ms <= now_ms) {
            run_job(c, &rc->jobs[i], now_ms);
            return; /* one a tick: the table may have changed */
        }
    }
}

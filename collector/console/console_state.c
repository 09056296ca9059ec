/* console_state.c - station states and parameter levels (col_console_state.h). Tests:
 * tests/unit/console/test_console.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_console_state.h"
#include "ct/err.h"

#define HOUR_MS 3600000LL

static const char *const st_names[] = {"measuring", "calibrating", "fault", "silent", "offline"};
static const char *const level_names[] = {"normal", "approaching", "exceeding"};

const char *col_console_st_name(enum col_console_st st)
{
    return (unsigned)st <= COL_CONSOLE_ST_OFFLINE ? st_names[st] : "unknown";
}

bool col_console_st_parse(const char *s, enum col_console_st *out)
{
    for (int i = 0; i <= COL_CONSOLE_ST_OFFLINE; i++) {
        if (s != NULL && strcmp(s, st_names[i]) == 0) {
            *out = (enum col_console_st)i;
            return true;
        }
    }
    return false;
}

const char *col_console_level_name(enum col_console_level l)
{
    return (unsigned)l <= COL_CONSOLE_EXCEEDING ? level_names[l] : "unknown";
}

/* One "kind.param:NNh:max|min:value" entry of 'len' bytes. */
static bool parse_entry(const char *e, size_t len, struct col_console_limit *out)
{
    char buf[96];
    char *dot, *c1, *c2, *c3, *end;
    long hours;

    if (len == 0 || len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, e, len);
    buf[len] = '\0';
    dot = strchr(buf, '.');
    c1 = strchr(buf, ':');
    c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    c3 = c2 != NULL ? strchr(c2 + 1, ':') : NULL;
    if (dot == NULL || c3 == NULL || dot > c1) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    if (ct_kind_parse(buf, (size_t)(dot - buf), &out->kind) != 0 ||
        (size_t)(c1 - dot - 1) > CT_MEMBER_NAME_MAX || c1 == dot + 1) {
        return false;
    }
    memcpy(out->param, dot + 1, (size_t)(c1 - dot - 1));
    hours = strtol(c1 + 1, &end, 10);
    if (end != c2 - 1 || *end != 'h' || (hours != 1 && hours != 8 && hours != 24)) {
        return false;
    }
    out->avg_h = (uint32_t)hours;
    if (strncmp(c2 + 1, "max:", 4) == 0) {
        out->bound = COL_CONSOLE_MAX;
    } else if (strncmp(c2 + 1, "min:", 4) == 0) {
        out->bound = COL_CONSOLE_MIN;
    } else {
        return false;
    }
    out->value = strtod(c3 + 1, &end);
    if (end == c3 + 1 || !(out->value > 0 && out->value < 1e9)) {
        return false;
    }
    if (*end == ':') { /* an explicit "approaching" threshold, before the limit */
        const char *a = end + 1;
        out->approach_at = strtod(a, &end);
        return end != a && *end == '\0' &&
               (out->bound == COL_CONSOLE_MAX
                    ? out->approach_at > 0 && out->approach_at < out->value
                    : out->approach_at > out->value && out->approach_at < 1e9);
    }
    return *end == '\0';
}

int col_console_limits_parse(const char *spec, struct col_console_limits *out, char *err,
                             size_t errcap)
{
    out->n = 0;
    for (const char *p = spec; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (out->n == COL_CONSOLE_LIMITS_MAX || !parse_entry(p, len, &out->v[out->n])) {
            snprintf(err, errcap,
                     "console.limits: bad entry \"%.*s\" (want kind.param:1h|8h|24h:max|min:value,"
                     " at most %d)",
                     (int)(len < 60 ? len : 60), p, COL_CONSOLE_LIMITS_MAX);
            return CT_E_PARSE;
        }
        out->n++;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

void col_console_states_free(struct col_console_states *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].params);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int cmp_station(const void *a, const void *b)
{
    const struct col_console_station *x = a, *y = b;
    return strcmp(x->dev->id, y->dev->id);
}

int col_console_states_build(struct col_console_states *out, const struct ct_registry *reg,
                             const struct col_console_limits *limits,
                             const struct col_console_states *old)
{
    size_t n = ct_registry_count(reg);
    struct col_console_states s = {.limits = limits};

    s.v = calloc(n != 0 ? n : 1, sizeof(*s.v));
    if (s.v == NULL) {
        return CT_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct col_console_station *st = &s.v[s.n++];
        st->dev = ct_registry_at(reg, i);
        for (size_t k = 0; k < limits->n; k++) {
            st->nparams += limits->v[k].kind == st->dev->kind;
        }
        if (st->nparams > 0) {
            st->params = calloc(st->nparams, sizeof(*st->params));
            if (st->params == NULL) {
                col_console_states_free(&s);
                return CT_E_NOMEM;
            }
        }
        for (size_t k = 0, j = 0; k < limits->n; k++) {
            if (limits->v[k].kind == st->dev->kind) {
                st->params[j++].limit = &limits->v[k];
            }
        }
        const struct col_console_station *was =
            old != NULL ? col_console_station_find((struct col_console_states *)old, st->dev->id)
                        : NULL;
        if (was != NULL) {
            st->state = was->state;
            st->since_ms = was->since_ms;
            st->last_seen_ms = was->last_seen_ms;
            st->silent = was->silent;
            st->offline = was->offline;
            st->staff = was->staff;
            st->staff_since_ms = was->staff_since_ms;
            memcpy(st->staff_by, was->staff_by, sizeof(st->staff_by));
            memcpy(st->staff_why, was->staff_why, sizeof(st->staff_why));
            for (size_t j = 0; j < st->nparams; j++) {
                for (size_t m = 0; m < was->nparams; m++) {
                    const struct col_console_limit *a = st->params[j].limit;
                    const struct col_console_limit *b = was->params[m].limit;
                    if (strcmp(a->param, b->param) == 0 && a->avg_h == b->avg_h) {
                        const struct col_console_limit *keep = a;
                        st->params[j] = was->params[m];
                        st->params[j].limit = keep;
                    }
                }
            }
        }
    }
    qsort(s.v, s.n, sizeof(*s.v), cmp_station);
    *out = s;
    return 0;
}

struct col_console_station *col_console_station_find(struct col_console_states *s, const char *id)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[mid].dev->id, id);
        if (c == 0) {
            return &s->v[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

void col_console_states_reading(struct col_console_states *s, const struct ct_reading *r,
                                int64_t now_ms)
{
    struct col_console_station *st = col_console_station_find(s, r->id);
    int64_t hour = r->ts_ms / HOUR_MS;

    if (st == NULL) {
        return;
    }
    st->last_seen_ms = now_ms;
    for (size_t j = 0; j < st->nparams; j++) {
        struct col_console_param *p = &st->params[j];
        for (size_t k = 0; k < r->n; k++) {
            if (r->values[k].type == CT_VT_BOOL || strcmp(r->values[k].name, p->limit->param)) {
                continue;
            }
            size_t b = (size_t)(hour % COL_CONSOLE_HOURS);
            if (p->hour[b] != hour) {
                p->hour[b] = hour;
                p->sum[b] = 0;
                p->count[b] = 0;
            }
            p->sum[b] += r->values[k].num;
            p->count[b]++;
            p->last = r->values[k].num;
        }
    }
}

void col_console_states_status(struct col_console_states *s, const char *id, bool online,
                               int64_t now_ms)
{
    struct col_console_station *st = col_console_station_find(s, id);

    (void)now_ms;
    if (st != NULL) {
        st->offline = !online;
    }
}

int col_console_states_staff(struct col_console_states *s, const char *id, enum col_console_st st,
                             const char *by, const char *why, int64_t now_ms)
{
    struct col_console_station *x = col_console_station_find(s, id);

    if (x == NULL) {
        return CT_E_NOTFOUND;
    }
    if (st != COL_CONSOLE_ST_MEASURING && st != COL_CONSOLE_ST_CALIBRATING &&
        st != COL_CONSOLE_ST_FAULT) {
        return CT_E_INVAL;
    }
    if (st != x->staff) {
        x->staff_since_ms = st != COL_CONSOLE_ST_MEASURING ? now_ms : 0;
    }
    x->staff = st;
    snprintf(x->staff_by, sizeof(x->staff_by), "%s", by != NULL ? by : "");
    snprintf(x->staff_why, sizeof(x->staff_why), "%s", why != NULL ? why : "");
    /* the state itself changes at the next tick */
    return 0;
}

bool col_console_param_mean(const struct col_console_param *p, int64_t now_ms, double *mean)
{
    int64_t now_h = now_ms / HOUR_MS;
    int64_t first = (now_ms - (int64_t)p->limit->avg_h * HOUR_MS) / HOUR_MS;
    double sum = 0;
    uint64_t count = 0;

    for (size_t b = 0; b < COL_CONSOLE_HOURS; b++) {
        if (p->count[b] > 0 && p->hour[b] >= first && p->hour[b] <= now_h) {
            sum += p->sum[b];
            count += p->count[b];
        }
    }
    if (count == 0) {
        return false;
    }
    *mean = sum / (double)count;
    return true;
}

static enum col_console_level level_of(const struct col_console_limit *l, double mean,
                                       double approach)
{
    double at;

    if (l->bound == COL_CONSOLE_MAX) {
        at = l->approach_at > 0 ? l->approach_at : approach * l->value;
        return mean > l->value ? COL_CONSOLE_EXCEEDING
               : mean >= at    ? COL_CONSOLE_APPROACHING
                               : COL_CONSOLE_NORMAL;
    }
    at = l->approach_at > 0 ? l->approach_at : l->value / approach;
    return mean < l->value ? COL_CONSOLE_EXCEEDING
           : mean <= at    ? COL_CONSOLE_APPROACHING
                           : COL_CONSOLE_NORMAL;
}

void col_console_states_clear_silent(struct col_console_states *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->v[i].silent = false;
    }
}

void col_console_states_mark_silent(struct col_console_states *s, const char *id)
{
    struct col_console_station *st = col_console_station_find(s, id);

    if (st != NULL) {
        st->silent = true;
    }
}

void col_console_states_tick(struct col_console_states *s, int64_t now_ms)
{
    double approach = s->limits->approach;

    for (size_t i = 0; i < s->n; i++) {
        struct col_console_station *st = &s->v[i];
        enum col_console_st want;
        want = st->staff != COL_CONSOLE_ST_MEASURING ? st->staff
               : st->silent                          ? COL_CONSOLE_ST_SILENT
               : st->offline                         ? COL_CONSOLE_ST_OFFLINE
                                                     : COL_CONSOLE_ST_MEASURING;
        if (st->staff != COL_CONSOLE_ST_MEASURING) {
            /* a staff state began when staff set it, also before a restart */
            if (st->staff_since_ms == 0) {
                st->staff_since_ms = now_ms; /* set without a time */
            }
            st->state = want;
            st->since_ms = st->staff_since_ms;
        } else if (want != st->state || st->since_ms == 0) {
            st->state = want;
            st->since_ms = now_ms;
        }
        for (size_t j = 0; j < st->nparams; j++) {
            struct col_console_param *p = &st->params[j];
            double mean;
            bool known = col_console_param_mean(p, now_ms, &mean);
            enum col_console_level lv =
                known ? level_of(p->limit, mean, approach) : COL_CONSOLE_NORMAL;
            if (lv != p->level) {
                p->level = lv;
                p->level_since_ms = now_ms;
            }
            /* One alert per exceedance: raised when it begins, ended only by a mean seen at or
             * under the limit (no data, as after a restart, ends nothing). */
            if (lv == COL_CONSOLE_EXCEEDING && !p->alerted) {
                p->alerted = true;
                p->alerted_ms = now_ms;
                s->alerts_changed = true;
                if (s->on_exceed != NULL) {
                    s->on_exceed(s->exceed_arg, st, p, mean, now_ms);
                }
            } else if (known && lv != COL_CONSOLE_EXCEEDING && p->alerted) {
                p->alerted = false;
                s->alerts_changed = true;
            }
        }
    }
}

int col_console_alerts_text(const struct col_console_states *s, struct ct_buf *out)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct col_console_station *st = &s->v[i];
        for (size_t j = 0; j < st->nparams; j++) {
            const struct col_console_param *p = &st->params[j];
            if (p->alerted &&
                ct_buf_printf(out, "%s %s %u %lld\n", st->dev->id, p->limit->param,
                              (unsigned)p->limit->avg_h, (long long)p->alerted_ms) != 0) {
                return CT_E_NOMEM;
            }
        }
    }
    return 0;
}

size_t col_console_alerts_restore(struct col_console_states *s, const char *text, size_t len)
{
    char line[CT_ID_MAX + CT_MEMBER_NAME_MAX + 64];
    char id[CT_ID_MAX + 1];
    char param[33];
    unsigned avg_h;
    long long since;
    size_t marked = 0;

    _Static_assert(CT_ID_MAX == 64, "the sscanf width below");
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        if (n < sizeof(line)) {
            memcpy(line, text + pos, n);
            line[n] = '\0';
        } else {
            line[0] = '\0';
        }
        pos += n + 1;
        struct col_console_station *st = NULL;
        if (sscanf(line, "%64s %32s %u %lld", id, param, &avg_h, &since) == 4) {
            st = col_console_station_find(s, id);
        }
        for (size_t j = 0; st != NULL && j < st->nparams; j++) {
            struct col_console_param *p = &st->params[j];
            if (strcmp(p->limit->param, param) == 0 && p->limit->avg_h == avg_h) {
                p->alerted = true;
                p->alerted_ms = since;
                marked++;
            }
        }
    }
    return marked;
}

int col_console_staff_text(const struct col_console_states *s, struct ct_buf *out)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct col_console_station *st = &s->v[i];
        char why[sizeof(st->staff_why)];
        if (st->staff == COL_CONSOLE_ST_MEASURING) {
            continue;
        }
        memcpy(why, st->staff_why, sizeof(why));
        for (char *w = why; *w != '\0'; w++) {
            if ((unsigned char)*w < 0x20 || *w == 0x7f) {
                *w = ' '; /* one line per station */
            }
        }
        if (ct_buf_printf(out, "%s %s %lld %s %s\n", st->dev->id, col_console_st_name(st->staff),
                          (long long)st->staff_since_ms, st->staff_by[0] ? st->staff_by : "-",
                          why) != 0) {
            return CT_E_NOMEM;
        }
    }
    return 0;
}

size_t col_console_staff_restore(struct col_console_states *s, const char *text, size_t len)
{
    char line[CT_ID_MAX + 256];
    char id[CT_ID_MAX + 1];
    char state[16];
    char by[33];
    long long since;
    int why_at;
    size_t set = 0;
    enum col_console_st st;

    _Static_assert(CT_ID_MAX == 64, "the sscanf width below");
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        if (n < sizeof(line)) {
            memcpy(line, text + pos, n);
            line[n] = '\0';
        } else {
            line[0] = '\0';
        }
        pos += n + 1;
        why_at = -1;
        if (sscanf(line, "%64s %15s %lld %32s %n", id, state, &since, by, &why_at) != 4 ||
            why_at < 0 || !col_console_st_parse(state, &st) ||
            (st != COL_CONSOLE_ST_CALIBRATING && st != COL_CONSOLE_ST_FAULT) || since <= 0) {
            continue;
        }
        struct col_console_station *x = col_console_station_find(s, id);
        if (x != NULL) {
            x->staff = st;
            x->staff_since_ms = since;
            snprintf(x->staff_by, sizeof(x->staff_by), "%s", strcmp(by, "-") ? by : "");
            snprintf(x->staff_why, sizeof(x->staff_why), "%s", line + why_at);
            set++;
        }
    }
    return set;
}

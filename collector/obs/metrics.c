/* metrics.c - counters and gauges with fixed label sets, rendered as Prometheus text 0.0.4.
 *
 * All arrays are allocated by col_metrics_create() for 'max_series' entries, so handles never
 * move. A series keeps its label set pre-rendered and escaped ("{reason=\"bad_sig\"}"), so
 * rendering only formats numbers. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "col_obs.h"
#include "ct/err.h"

struct family {
    char *name;
    char *help;
    enum col_metric_type type;
    size_t nlabels;
    char *label_names[COL_METRICS_MAX_LABELS];
};

struct col_metric {
    atomic_llong value;
    enum col_metric_type type;
    size_t family; /* index into families */
    char *labels;  /* "" or "{a=\"x\",b=\"y\"}", escaped */
};

struct col_metrics {
    size_t max;
    size_t nseries;
    size_t nfamilies;
    struct col_metric *series;
    struct family *families;
};

int col_metrics_create(size_t max_series, struct col_metrics **out)
{
    if (out == NULL || max_series == 0 || max_series > 65536) {
        return CT_E_INVAL;
    }
    struct col_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return CT_E_NOMEM;
    }
    m->series = calloc(max_series, sizeof(*m->series));
    m->families = calloc(max_series, sizeof(*m->families));
    if (m->series == NULL || m->families == NULL) {
        col_metrics_destroy(m);
        return CT_E_NOMEM;
    }
    m->max = max_series;
    *out = m;
    return 0;
}

static void family_clear(struct family *f)
{
    free(f->name);
    free(f->help);
    for (size_t i = 0; i < f->nlabels; i++) {
        free(f->label_names[i]);
    }
    memset(f, 0, sizeof(*f));
}

void col_metrics_destroy(struct col_metrics *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->nseries; i++) {
        free(m->series[i].labels);
    }
    for (size_t i = 0; i < m->nfamilies; i++) {
        family_clear(&m->families[i]);
    }
    free(m->series);
    free(m->families);
    free(m);
}

static bool name_valid(const char *s, bool colon_ok)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > COL_METRICS_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

/* Escapes a label value: backslash, double quote and newline. */
static int add_escaped(struct ct_buf *b, const char *s, bool quote)
{
    int rc = 0;
    for (const char *p = s; *p != '\0' && rc == 0; p++) {
        if (*p == '\\') {
            rc = ct_buf_adds(b, "\\\\");
        } else if (*p == '\n') {
            rc = ct_buf_adds(b, "\\n");
        } else if (*p == '"' && quote) {
            rc = ct_buf_adds(b, "\\\"");
        } else {
            rc = ct_buf_add(b, p, 1);
        }
    }
    return rc;
}

static int render_labels(const char *const *labels, size_t npairs, char **out)
{
    struct ct_buf b;
    ct_buf_init(
        &b, (COL_METRICS_NAME_MAX + 2 * COL_METRICS_VALUE_MAX + 4) * COL_METRICS_MAX_LABELS + 3);
    int rc = npairs > 0 ? ct_buf_adds(&b, "{") : 0;
    for (size_t i = 0; i < npairs && rc == 0; i++) {
        rc = ct_buf_printf(&b, "%s%s=\"", i > 0 ? "," : "", labels[2 * i]);
        if (rc == 0) {
            rc = add_escaped(&b, labels[2 * i + 1], true);
        }
        if (rc == 0) {
            rc = ct_buf_adds(&b, "\"");
        }
    }
    if (rc == 0 && npairs > 0) {
        rc = ct_buf_adds(&b, "}");
    }
    if (rc != 0) {
        ct_buf_free(&b);
        return rc;
    }
    *out = npairs > 0 ? ct_buf_take(&b, NULL) : strdup("");
    return *out == NULL ? CT_E_NOMEM : 0;
}

/* Checks the label array; returns the number of pairs or -1. */
static long count_pairs(const char *const *labels)
{
    long n = 0;
    if (labels == NULL) {
        return 0;
    }
    while (labels[2 * n] != NULL) {
        if (n == COL_METRICS_MAX_LABELS || !name_valid(labels[2 * n], false) ||
            strncmp(labels[2 * n], "__", 2) == 0 || labels[2 * n + 1] == NULL ||
            strlen(labels[2 * n + 1]) > COL_METRICS_VALUE_MAX) {
            return -1;
        }
        for (long k = 0; k < n; k++) {
            if (strcmp(labels[2 * k], labels[2 * n]) == 0) {
                return -1;
            }
        }
        n++;
    }
    return n;
}

static int family_add(struct col_metrics *m, enum col_metric_type type, const char *name,
                      const char *help, const char *const *labels, size_t npairs)
{
    struct family *f = &m->families[m->nfamilies];
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help);
    int rc = f->name == NULL || f->help == NULL ? CT_E_NOMEM : 0;
    for (size_t i = 0; i < npairs && rc == 0; i++) {
        f->label_names[i] = strdup(labels[2 * i]);
        f->nlabels = i + 1;
        rc = f->label_names[i] == NULL ? CT_E_NOMEM : 0;
    }
    if (rc != 0) {
        family_clear(f);
        return rc;
    }
    m->nfamilies++;
    return 0;
}

static bool family_matches(const struct family *f, enum col_metric_type type, const char *help,
                           const char *const *labels, size_t npairs)
{
    if (f->type != type || strcmp(f->help, help) != 0 || f->nlabels != npairs) {
        return false;
    }
    for (size_t i = 0; i < npairs; i++) {
        if (strcmp(f->label_names[i], labels[2 * i]) != 0) {
            return false;
        }
    }
    return true;
}

int col_metrics_register(struct col_metrics *m, enum col_metric_type type, const char *name,
                         const char *help, const char *const *labels, struct col_metric **out)
{
    long npairs = count_pairs(labels);
    if (m == NULL || out == NULL || !name_valid(name, true) || help == NULL ||
        strlen(help) > COL_METRICS_HELP_MAX || npairs < 0 ||
        (type != COL_METRIC_COUNTER && type != COL_METRIC_GAUGE &&
         type != COL_METRIC_GAUGE_MILLI)) {
        return CT_E_INVAL;
    }
    size_t fam = m->nfamilies;
    for (size_t i = 0; i < m->nfamilies; i++) {
        if (strcmp(m->families[i].name, name) == 0) {
            fam = i;
            break;
        }
    }
    if (fam < m->nfamilies &&
        !family_matches(&m->families[fam], type, help, labels, (size_t)npairs)) {
        return CT_E_INVAL;
    }
    char *rendered = NULL;
    int rc = render_labels(labels, (size_t)npairs, &rendered);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < m->nseries; i++) {
        if (m->series[i].family == fam && strcmp(m->series[i].labels, rendered) == 0) {
            free(rendered);
            *out = &m->series[i];
            return CT_E_EXISTS;
        }
    }
    if (m->nseries == m->max) {
        free(rendered);
        return CT_E_FULL;
    }
    if (fam == m->nfamilies) {
        rc = family_add(m, type, name, help, labels, (size_t)npairs);
        if (rc != 0) {
            free(rendered);
            return rc;
        }
    }
    struct col_metric *s = &m->series[m->nseries++];
    atomic_init(&s->value, 0);
    s->type = type;
    s->family = fam;
    s->labels = rendered;
    *out = s;
    return 0;
}

void col_metric_inc(struct col_metric *s)
{
    atomic_fetch_add_explicit(&s->value, 1, memory_order_relaxed);
}

void col_metric_add(struct col_metric *s, uint64_t n)
{
    atomic_fetch_add_explicit(&s->value, (long long)n, memory_order_relaxed);
}

void col_metric_set(struct col_metric *s, int64_t v)
{
    if (s->type != COL_METRIC_COUNTER) {
        atomic_store_explicit(&s->value, (long long)v, memory_order_relaxed);
    }
}

void col_metric_gauge_add(struct col_metric *s, int64_t delta)
{
    if (s->type != COL_METRIC_COUNTER) {
        atomic_fetch_add_explicit(&s->value, (long long)delta, memory_order_relaxed);
    }
}

int64_t col_metric_value(const struct col_metric *s)
{
    return (int64_t)atomic_load_explicit(&((struct col_metric *)s)->value, memory_order_relaxed);
}

int col_metrics_render(const struct col_metrics *m, struct ct_buf *out)
{
    int rc = 0;
    for (size_t f = 0; f < m->nfamilies && rc == 0; f++) {
        const struct family *fam = &m->families[f];
        rc = ct_buf_printf(out, "# HELP %s ", fam->name);
        if (rc == 0) {
            rc = add_escaped(out, fam->help, false);
        }
        if (rc == 0) {
            rc = ct_buf_printf(out, "\n# TYPE %s %s\n", fam->name,
                               fam->type == COL_METRIC_COUNTER ? "counter" : "gauge");
        }
        for (size_t i = 0; i < m->nseries && rc == 0; i++) {
            const struct col_metric *s = &m->series[i];
            if (s->family != f) {
                continue;
            }
            long long v = col_metric_value(s);
            if (s->type == COL_METRIC_COUNTER) {
                rc = ct_buf_printf(out, "%s%s %llu\n", fam->name, s->labels, (unsigned long long)v);
            } else if (s->type == COL_METRIC_GAUGE_MILLI) {
                unsigned long long a = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
                rc = ct_buf_printf(out, "%s%s %s%llu.%03llu\n", fam->name, s->labels,
                                   v < 0 ? "-" : "", a / 1000, a % 1000);
            } else {
                rc = ct_buf_printf(out, "%s%s %lld\n", fam->name, s->labels, v);
            }
        }
    }
    return rc;
}

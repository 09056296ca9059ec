/* derive_test.h - shared fixtures of the col_derive tests: a registry, a capture of emitted line
 * protocol and alerts, readings and line lookups. */
#ifndef DERIVE_TEST_H
#define DERIVE_TEST_H
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "col_derive.h"
#include "ct/buf.h"
#include "ct/err.h"
#include "ct/payload.h"
#include "ct/registry.h"

/* 2026-11-23 10:00:00 UTC (17:00 in Hanoi). */
#define T0 ((int64_t)1795428000000)
#define MIN_MS ((int64_t)60000)
#define HOUR_MS_T ((int64_t)3600000)

static const char registry_text[] =
    "{\"id\":\"hn-air-0001\",\"kind\":\"air\",\"name\":\"Trạm Ngọc Hà\",\"lat\":21.03,"
    "\"lon\":105.83,\"district\":\"Ba Đình\",\"ward\":\"Ngọc Hà\",\"interval_s\":60}\n"
    "{\"id\":\"hn-rain-0001\",\"kind\":\"rain\",\"name\":\"Mưa Hoàn Kiếm\",\"lat\":21.02,"
    "\"lon\":105.85,\"district\":\"Hoàn Kiếm\",\"ward\":\"Hàng Bạc\",\"mm_per_tip\":0.2}\n"
    "{\"id\":\"hn-flood-0001\",\"kind\":\"flood\",\"name\":\"Ngập Phạm Văn Đồng\",\"lat\":21.05,"
    "\"lon\":105.78,\"district\":\"Bắc Từ Liêm\",\"ward\":\"Cổ Nhuế\"}\n"
    "{\"id\":\"hn-park-lot1\",\"kind\":\"parking\",\"name\":\"Bãi Lý Thường Kiệt\",\"lat\":21.02,"
    "\"lon\":105.85,\"district\":\"Hoàn Kiếm\",\"ward\":\"Cửa Nam\",\"mode\":\"lot\","
    "\"capacity\":50}\n"
    "{\"id\":\"hn-park-lot2\",\"kind\":\"parking\",\"name\":\"Bãi Tràng Tiền\",\"lat\":21.02,"
    "\"lon\":105.85,\"district\":\"Hoàn Kiếm\",\"ward\":\"Tràng Tiền\",\"mode\":\"lot\","
    "\"capacity\":40}\n"
    "{\"id\":\"hn-park-b1\",\"kind\":\"parking\",\"name\":\"Ô 1\",\"lat\":21.02,\"lon\":105.85,"
    "\"district\":\"Hoàn Kiếm\",\"ward\":\"Tràng "
    "Tiền\",\"mode\":\"bay\",\"lot\":\"hn-park-lot2\"}\n"
    "{\"id\":\"hn-park-b2\",\"kind\":\"parking\",\"name\":\"Ô 2\",\"lat\":21.02,\"lon\":105.85,"
    "\"district\":\"Hoàn Kiếm\",\"ward\":\"Tràng "
    "Tiền\",\"mode\":\"bay\",\"lot\":\"hn-park-lot2\"}\n"
    "{\"id\":\"hn-water-0001\",\"kind\":\"water\",\"name\":\"Hồ Tây\",\"lat\":21.05,"
    "\"lon\":105.82,\"district\":\"Tây Hồ\",\"ward\":\"Quảng An\"}\n"
    "{\"id\":\"hn-air-0099\",\"kind\":\"air\",\"name\":\"Trạm nội bộ\",\"lat\":21.03,"
    "\"lon\":105.83,\"district\":\"Ba Đình\",\"ward\":\"Ngọc Hà\",\"interval_s\":60,"
    "\"public\":false}\n";

struct cap {
    struct ct_buf lp;
    uint64_t last_mark; /* mark of the last on_points call */
    uint64_t min_mark;  /* lowest mark seen (0 before any call) */
    int calls;
    int alerts;
    char topic[8][256];
    char payload[8][1024];
};

static inline int cap_points(void *arg, const char *lp, size_t len, uint64_t mark)
{
    struct cap *c = arg;

    /* Marks may go back: a window's points carry the lowest mark of their readings. */
    c->last_mark = mark;
    if (c->calls == 0 || mark < c->min_mark) {
        c->min_mark = mark;
    }
    c->calls++;
    assert_int_equal(ct_buf_add(&c->lp, lp, len), 0);
    return 0;
}

static inline void cap_alert(void *arg, const char *topic, const char *payload, size_t len)
{
    struct cap *c = arg;

    if (c->alerts < 8) {
        snprintf(c->topic[c->alerts], sizeof(c->topic[0]), "%s", topic);
        snprintf(c->payload[c->alerts], sizeof(c->payload[0]), "%.*s", (int)len, payload);
    }
    c->alerts++;
}

struct fx {
    struct ct_registry *reg;
    struct col_derive *d;
    struct cap cap;
};

static inline void fx_open(struct fx *f, struct col_derive_cfg *cfg)
{
    char err[256];
    struct col_derive_emit emit = {cap_points, cap_alert, &f->cap};

    memset(f, 0, sizeof(*f));
    ct_buf_init(&f->cap.lp, 16u << 20);
    if (ct_registry_parse(registry_text, sizeof(registry_text) - 1, "test", &f->reg, err, 256) !=
        0) {
        fail_msg("registry: %s", err);
    }
    if (cfg->instance == NULL) {
        cfg->instance = "c1";
    }
    assert_int_equal(col_derive_create(cfg, &emit, &f->d), 0);
    assert_int_equal(col_derive_registry(f->d, f->reg), 0);
}

static inline void fx_close(struct fx *f)
{
    col_derive_free(f->d);
    ct_registry_free(f->reg);
    ct_buf_free(&f->cap.lp);
}

static inline const struct ct_device *dev_of(const struct fx *f, const char *id)
{
    const struct ct_device *d = ct_registry_find(f->reg, id, strlen(id));

    assert_non_null(d);
    return d;
}

/* A reading with n name/value pairs (NAN values are skipped). */
static inline void reading(struct ct_reading *r, const struct ct_device *dev, uint64_t boot,
                           int64_t ts, int n, ...)
{
    va_list ap;

    memset(r, 0, sizeof(*r));
    r->kind = dev->kind;
    snprintf(r->id, sizeof(r->id), "%s", dev->id);
    r->boot = boot;
    r->ts_ms = ts;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *name = va_arg(ap, const char *);
        double v = va_arg(ap, double);
        if (!isnan(v)) {
            assert_int_equal(ct_reading_set_num(r, name, v), 0);
        }
    }
    va_end(ap);
}

/* Number of captured lines starting with 'prefix'. */
static inline int count_lines(const struct cap *c, const char *prefix)
{
    int n = 0;
    const char *p = c->lp.p;

    while (p != NULL && *p != '\0') {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            n++;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    return n;
}

/* Copies the k-th (0-based; -1 = last) captured line starting with 'prefix' into out, without
 * its newline. Returns false when there is none. */
static inline bool line_of(const struct cap *c, const char *prefix, int k, char *out, size_t cap)
{
    int n = count_lines(c, prefix);
    int want = k < 0 ? n + k : k;
    const char *p = c->lp.p;
    int i = 0;

    if (want < 0 || want >= n) {
        return false;
    }
    while (p != NULL && *p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) == 0 && i++ == want) {
            snprintf(out, cap, "%.*s", (int)len, p);
            return true;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    return false;
}

#endif

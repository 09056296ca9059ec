/* storeq.c - runs selections on the store: InfluxQL as is, or a VictoriaMetrics export reduced
 * to the InfluxDB answer (storeq_vm.c). Loop thread only. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col_store.h"
#include "col_storeq.h"
#include "ct/err.h"

#define QUERY_MAX 8192

struct vm_query {
    struct col_storeq_sel sel[COL_STOREQ_SEL_MAX];
    size_t n;
    int64_t now_ms;
    col_storeq_cb cb;
    void *arg;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_vm_answer(void *arg, int status, const char *body, size_t len)
{
    struct vm_query *q = arg;
    char *json = NULL;

    if (status != 200) {
        q->cb(q->arg, status, body, len);
    } else {
        int rc = col_storeq_vm_answer(q->sel, q->n, q->now_ms, body, len, &json);
        if (rc != 0) {
            q->cb(q->arg, rc, NULL, 0);
        } else {
            q->cb(q->arg, 200, json, strlen(json));
        }
    }
    free(json);
    free(q);
}

int col_storeq_query(struct col_store *st, enum col_storeq_kind kind,
                     const struct col_storeq_sel *sel, size_t n, col_storeq_cb cb, void *arg)
{
    char text[QUERY_MAX];
    int rc;

    if (st == NULL || sel == NULL || n == 0 || n > COL_STOREQ_SEL_MAX || cb == NULL) {
        return CT_E_INVAL;
    }
    if (kind == COL_STOREQ_INFLUXDB) {
        rc = col_storeq_influxql(sel, n, text, sizeof(text));
        return rc != 0 ? rc : col_store_query(st, text, cb, arg);
    }
    if (kind != COL_STOREQ_VICTORIAMETRICS) {
        return CT_E_INVAL;
    }
    struct vm_query *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        return CT_E_NOMEM;
    }
    memcpy(q->sel, sel, n * sizeof(*sel));
    q->n = n;
    q->now_ms = wall_ms();
    q->cb = cb;
    q->arg = arg;
    rc = col_storeq_vm_request(sel, n, q->now_ms, text, sizeof(text));
    if (rc == 0) {
        rc = col_store_get(st, text, on_vm_answer, q);
    }
    if (rc != 0) {
        free(q);
    }
    return rc;
}

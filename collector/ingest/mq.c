/* mq.c - bounded, locked message queue from Paho's thread to the loop thread. */
#include "col_mq.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "ct/err.h"

static size_t msg_bytes(const struct col_msg *m)
{
    return (size_t)m->topic_len + m->sig_len + m->payload_len + sizeof(*m);
}

int col_mq_init(struct col_mq *q, size_t max_count, size_t max_bytes, uv_async_t *wake)
{
    pthread_condattr_t attr;

    q->head = NULL;
    q->tail = NULL;
    q->count = 0;
    q->bytes = 0;
    q->max_count = max_count > 0 ? max_count : 1;
    q->max_bytes = max_bytes > 0 ? max_bytes : 1;
    q->waits = 0;
    q->refused = 0;
    q->wake = wake;
    q->closed = false;
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        return CT_E_NOMEM;
    }
    if (pthread_condattr_init(&attr) != 0) {
        goto out_destroy_lock;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_cond_init(&q->room, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        goto out_destroy_lock;
    }
    pthread_condattr_destroy(&attr);
    return 0;

out_destroy_lock:
    pthread_mutex_destroy(&q->lock);
    return CT_E_NOMEM;
}

static bool has_room(const struct col_mq *q, size_t need)
{
    /* An empty queue always takes one message, so a message larger than max_bytes cannot wedge it.
     */
    return q->count == 0 || (q->count < q->max_count && q->bytes + need <= q->max_bytes);
}

int col_mq_push(struct col_mq *q, struct col_msg *m, unsigned wait_ms)
{
    size_t need = msg_bytes(m);
    struct timespec deadline;
    bool was_empty;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&q->lock);
    if (!q->closed && !has_room(q, need)) {
        q->waits++;
        while (!q->closed && !has_room(q, need)) {
            if (pthread_cond_timedwait(&q->room, &q->lock, &deadline) == ETIMEDOUT) {
                break;
            }
        }
    }
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return CT_E_STATE;
    }
    if (!has_room(q, need)) {
        q->refused++;
        pthread_mutex_unlock(&q->lock);
        return CT_E_FULL;
    }
    m->next = NULL;
    was_empty = q->head == NULL;
    if (q->tail != NULL) {
        q->tail->next = m;
    } else {
        q->head = m;
    }
    q->tail = m;
    q->count++;
    q->bytes += need;
    pthread_mutex_unlock(&q->lock);
    if (was_empty && q->wake != NULL) {
        uv_async_send(q->wake);
    }
    return 0;
}

struct col_msg *col_mq_pop(struct col_mq *q, size_t max)
{
    struct col_msg *first;
    struct col_msg *last = NULL;
    size_t n = 0;

    pthread_mutex_lock(&q->lock);
    first = q->head;
    for (struct col_msg *m = q->head; m != NULL && n < max; m = m->next) {
        last = m;
        n++;
        q->bytes -= msg_bytes(m);
    }
    if (last != NULL) {
        q->head = last->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        last->next = NULL;
        q->count -= n;
        pthread_cond_broadcast(&q->room);
    } else {
        first = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    return first;
}

size_t col_mq_count(struct col_mq *q)
{
    size_t n;

    pthread_mutex_lock(&q->lock);
    n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void col_mq_close(struct col_mq *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->lock);
}

void col_mq_destroy(struct col_mq *q)
{
    struct col_msg *m = q->head;

    while (m != NULL) {
        struct col_msg *next = m->next;
        free(m);
        m = next;
    }
    q->head = NULL;
    q->tail = NULL;
    pthread_cond_destroy(&q->room);
    pthread_mutex_destroy(&q->lock);
}

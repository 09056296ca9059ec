/* col_mq.h - the bounded, locked queue that carries messages from Paho's thread to the loop.
 *
 * Producers (Paho's callback thread) push; the loop thread pops. The queue is bounded by a
 * message count and a byte count. Policy when full: col_mq_push() waits up to 'wait_ms' for room
 * (so Paho's thread, and through it the broker, is held back) and then returns CT_E_FULL; the
 * caller decides (the collector returns 0 from Paho's callback so that Paho redelivers it).
 * Each push that makes the queue non-empty wakes the loop through the uv_async_t given at init
 * (uv_async_send is the only libuv call made from another thread). */
#ifndef COL_MQ_H
#define COL_MQ_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "col_msg.h"

struct col_mq {
    pthread_mutex_t lock;
    pthread_cond_t room;  /* signalled when the loop pops */
    struct col_msg *head; /* oldest */
    struct col_msg *tail; /* newest */
    size_t count;         /* messages queued */
    size_t bytes;         /* payload+topic+sig bytes queued */
    size_t max_count;     /* hard limit of count */
    size_t max_bytes;     /* hard limit of bytes */
    uint64_t waits;       /* pushes that had to wait for room */
    uint64_t refused;     /* pushes refused after waiting */
    uv_async_t *wake;     /* borrowed; signalled on push */
    bool closed;          /* no more pushes accepted */
};

/* 'wake' is borrowed and must outlive the queue. Returns 0 or CT_E_NOMEM. */
int col_mq_init(struct col_mq *q, size_t max_count, size_t max_bytes, uv_async_t *wake);
/* Any thread. Takes ownership of 'm' on success (0); on CT_E_FULL or CT_E_STATE (closed) the
 * caller keeps it. */
int col_mq_push(struct col_mq *q, struct col_msg *m, unsigned wait_ms);
/* Loop thread. Pops up to 'max' messages in order as a NULL-terminated list; the caller owns
 * them. Returns NULL when empty. */
struct col_msg *col_mq_pop(struct col_mq *q, size_t max);
size_t col_mq_count(struct col_mq *q);
/* Refuses further pushes and wakes waiting producers. */
void col_mq_close(struct col_mq *q);
/* Frees queued messages and the lock. */
void col_mq_destroy(struct col_mq *q);

#endif

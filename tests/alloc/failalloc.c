/* failalloc.c - an LD_PRELOAD shim that fails one chosen allocation and tracks the blocks
 * allocated while it is armed.
 *
 * It overrides malloc, calloc, realloc and free (and the aligned allocators) over glibc's
 * __libc_* functions. Nothing is counted until the program calls ct_failalloc_start() (the
 * start marker; a program that is not preloaded finds the weak symbol NULL and skips it). From
 * then on every successful-looking allocation request is numbered 1, 2, ...; request number N,
 * where N is the environment variable CT_FAIL_ALLOC_AT read at the start marker, returns NULL
 * (with errno ENOMEM). Blocks allocated while armed are remembered in a fixed table until freed;
 * ct_failalloc_stop() disarms and returns how many are still live (leaked by the code under
 * test). CT_FAIL_ALLOC_TRACE=N prints a backtrace at allocation N and, at the stop marker,
 * the allocation numbers of the live blocks (to find a leak). Single-threaded use: the driver
 * calls only pure modules between the markers. */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);

void *memalign(size_t align, size_t n);
void ct_failalloc_start(void);
size_t ct_failalloc_stop(void);
unsigned long ct_failalloc_count(void);

#define SLOTS (1u << 18) /* live blocks tracked while armed */
#define TOMB ((void *)1)

static bool g_armed;
static unsigned long g_count;
static unsigned long g_fail_at;
static size_t g_live;
static bool g_overflow;
static void *g_table[SLOTS];
static unsigned long g_index[SLOTS]; /* allocation number of each tracked block */
static unsigned long g_trace_at;     /* CT_FAIL_ALLOC_TRACE: print a backtrace at this number */
static bool g_in_trace;

static size_t slot_of(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0xed5ad4bbu;
    x ^= x >> 11;
    return (size_t)(x & (SLOTS - 1));
}

static void track(void *p)
{
    size_t i = slot_of(p);
    for (size_t k = 0; k < SLOTS; k++, i = (i + 1) & (SLOTS - 1)) {
        if (g_table[i] == NULL || g_table[i] == TOMB) {
            g_table[i] = p;
            g_index[i] = g_count;
            g_live++;
            return;
        }
    }
    g_overflow = true;
}

static bool untrack(void *p)
{
    size_t i = slot_of(p);
    for (size_t k = 0; k < SLOTS; k++, i = (i + 1) & (SLOTS - 1)) {
        if (g_table[i] == NULL) {
            return false;
        }
        if (g_table[i] == p) {
            g_table[i] = TOMB;
            g_live--;
            return true;
        }
    }
    return false;
}

/* True when this request must fail. */
static bool next_fails(void)
{
    if (!g_armed) {
        return false;
    }
    g_count++;
    if (g_trace_at != 0 && g_count == g_trace_at && !g_in_trace) {
        void *frames[32];
        g_in_trace = true;
        int n = backtrace(frames, 32);
        backtrace_symbols_fd(frames, n, 2);
        g_in_trace = false;
    }
    return g_fail_at != 0 && g_count == g_fail_at;
}

void ct_failalloc_start(void)
{
    const char *s = getenv("CT_FAIL_ALLOC_AT");
    char *end = NULL;
    g_fail_at = s != NULL ? strtoul(s, &end, 10) : 0;
    if (s != NULL && (end == s || *end != '\0')) {
        g_fail_at = 0;
    }
    const char *t = getenv("CT_FAIL_ALLOC_TRACE");
    g_trace_at = t != NULL ? strtoul(t, NULL, 10) : 0;
    if (g_trace_at != 0) {
        void *warm[1];
        backtrace(warm, 1); /* loads the unwinder before counting starts */
    }
    memset(g_table, 0, sizeof(g_table));
    g_live = 0;
    g_count = 0;
    g_overflow = false;
    g_armed = true;
}

size_t ct_failalloc_stop(void)
{
    g_armed = false;
    if (getenv("CT_FAIL_ALLOC_TRACE") != NULL) {
        for (size_t i = 0; i < SLOTS; i++) {
            if (g_table[i] != NULL && g_table[i] != TOMB) {
                fprintf(stderr, "failalloc: live block %p from allocation %lu\n", g_table[i],
                        g_index[i]);
            }
        }
    }
    return g_overflow ? (size_t)-1 : g_live;
}

unsigned long ct_failalloc_count(void)
{
    return g_count;
}

void *malloc(size_t n)
{
    if (next_fails()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_malloc(n);
    if (p != NULL && g_armed) {
        track(p);
    }
    return p;
}

void *calloc(size_t n, size_t m)
{
    if (next_fails()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_calloc(n, m);
    if (p != NULL && g_armed) {
        track(p);
    }
    return p;
}

void *realloc(void *old, size_t n)
{
    if (old != NULL && n == 0) {
        if (g_armed) {
            untrack(old);
        }
        __libc_free(old);
        return NULL;
    }
    if (next_fails()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_realloc(old, n);
    if (p != NULL && g_armed) {
        bool was = old != NULL && untrack(old);
        if (old == NULL || was) {
            track(p);
        }
    }
    return p;
}

void free(void *p)
{
    if (p != NULL && g_armed) {
        untrack(p);
    }
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    if (next_fails()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_memalign(align, n);
    if (p != NULL && g_armed) {
        track(p);
    }
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

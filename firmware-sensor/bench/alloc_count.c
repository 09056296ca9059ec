/* alloc_count.c - the counting allocator of fw-footprint (see alloc_count.h). */
#define _GNU_SOURCE
#include "alloc_count.h"

#include <execinfo.h>
#include <link.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

#define MAX_RANGES 8
#define DEPTH 24

struct range {
    uintptr_t lo, hi;
};

struct obj {
    struct range r[MAX_RANGES];
    int n;
};

static struct obj exe, libc, paho;
static atomic_bool counting;
static _Thread_local bool in_hook;
static _Atomic uint64_t calls[AC__COUNT], bytes[AC__COUNT], frees;
static atomic_bool have_first;
static void *first[DEPTH];
static int first_n;

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    int *index = data;
    struct obj *o = NULL;
    if (*index == 0) {
        o = &exe; /* the first object is the executable */
    } else if (strstr(info->dlpi_name, "/libc.so") != NULL) {
        o = &libc;
    } else if (strstr(info->dlpi_name, "libpaho-mqtt3") != NULL) {
        o = &paho;
    }
    (*index)++;
    if (o == NULL) {
        return 0;
    }
    for (int i = 0; i < info->dlpi_phnum && o->n < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            o->r[o->n].lo = info->dlpi_addr + ph->p_vaddr;
            o->r[o->n].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
            o->n++;
        }
    }
    return 0;
}

static bool in(const struct obj *o, uintptr_t a)
{
    for (int i = 0; i < o->n; i++) {
        if (a >= o->r[i].lo && a < o->r[i].hi) {
            return true;
        }
    }
    return false;
}

void ac_init(void)
{
    int index = 0;
    dl_iterate_phdr(phdr_cb, &index);
    void *f[4];
    in_hook = true;
    backtrace(f, 4); /* loads the unwinder now, not inside a counted allocation */
    in_hook = false;
}

void ac_set_counting(bool on)
{
    if (on) {
        for (int i = 0; i < AC__COUNT; i++) {
            atomic_store(&calls[i], 0);
            atomic_store(&bytes[i], 0);
        }
        atomic_store(&frees, 0);
        atomic_store(&have_first, false);
    }
    atomic_store(&counting, on);
}

void ac_get(struct ac_counts *out)
{
    for (int i = 0; i < AC__COUNT; i++) {
        out->calls[i] = atomic_load(&calls[i]);
        out->bytes[i] = atomic_load(&bytes[i]);
    }
    out->frees = atomic_load(&frees);
}

void ac_print_first_ours(void)
{
    if (!atomic_load(&have_first)) {
        return;
    }
    fprintf(stderr, "fw-footprint: first allocation by our code in steady state:\n");
    backtrace_symbols_fd(first, first_n, 2);
}

__attribute__((noinline)) static void count(size_t size)
{
    if (!atomic_load_explicit(&counting, memory_order_relaxed) || in_hook) {
        return;
    }
    in_hook = true;
    void *f[DEPTH];
    int n = backtrace(f, DEPTH);
    enum ac_owner who = AC_OTHER;
    for (int i = 2; i < n; i++) { /* 0: count, 1: the hook */
        uintptr_t a = (uintptr_t)f[i];
        if (in(&libc, a)) {
            continue;
        }
        who = in(&exe, a) ? AC_OURS : (in(&paho, a) ? AC_PAHO : AC_OTHER);
        break;
    }
    atomic_fetch_add(&calls[who], 1);
    atomic_fetch_add(&bytes[who], size);
    if (who == AC_OURS && !atomic_exchange(&have_first, true)) {
        memcpy(first, f, sizeof(f[0]) * (size_t)n);
        first_n = n;
    }
    in_hook = false;
}

void *malloc(size_t size)
{
    count(size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count(n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count(size);
    return __libc_realloc(p, size);
}

void free(void *p)
{
    if (p != NULL && atomic_load_explicit(&counting, memory_order_relaxed)) {
        atomic_fetch_add(&frees, 1);
    }
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    count(size);
    void *p = __libc_memalign(align, size);
    if (p == NULL) {
        return 12; /* ENOMEM */
    }
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    count(size);
    return __libc_memalign(align, size);
}

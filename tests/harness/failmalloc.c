/* failmalloc.c - malloc, calloc and realloc over glibc's __libc_* that fail on request (see
 * ct_failmalloc.h). In a sanitizer build only the arm/disarm functions exist and do nothing. */
#include "ct_failmalloc.h"

#include <stddef.h>
#include <stdlib.h>

static unsigned long g_fail_at; /* 0: nothing fails */
static unsigned long g_count;

void ct_failmalloc_arm(unsigned long n)
{
    g_count = 0;
    g_fail_at = n;
}

void ct_failmalloc_disarm(void)
{
    g_fail_at = 0;
}

#if CT_FAILMALLOC
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static int next_fails(void)
{
    return g_fail_at != 0 && ++g_count == g_fail_at;
}

void *malloc(size_t n)
{
    return next_fails() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    return next_fails() ? NULL : __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    return next_fails() ? NULL : __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

/* ct_failmalloc.h - fail the N-th allocation of a unit test (malloc, calloc and realloc).
 *
 * A test binary that links tests/harness/failmalloc.c gets malloc, calloc and realloc that fail
 * the allocation numbered 'n' after ct_failmalloc_arm(n), counting from that call, until
 * ct_failmalloc_disarm(). Outside a sanitizer build only: ASan owns malloc, so there
 * CT_FAILMALLOC is 0 and the tests that need it skip (tests/alloc runs the same idea over whole
 * programs). Not thread-safe: for single-threaded unit tests. */
#ifndef CT_FAILMALLOC_H
#define CT_FAILMALLOC_H

#if defined(__SANITIZE_ADDRESS__)
#define CT_FAILMALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CT_FAILMALLOC 0
#endif
#endif
#ifndef CT_FAILMALLOC
#define CT_FAILMALLOC 1
#endif

/* Makes the n-th allocation from now return NULL (n >= 1). */
void ct_failmalloc_arm(unsigned long n);
/* No allocation fails any more. */
void ct_failmalloc_disarm(void);

#endif

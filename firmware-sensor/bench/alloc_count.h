/* alloc_count.h - a counting allocator interposed in the fw-footprint program.
 *
 * alloc_count.c defines malloc, calloc, realloc, free, posix_memalign and aligned_alloc in the
 * executable, so every allocation of the process (our statically linked code, Paho, libc itself)
 * goes through it and on to glibc's __libc_* functions. While counting is on, each allocation is
 * attributed by walking the caller's stack (backtrace) to the first frame outside libc: the
 * executable (our code: app, outbox, transport, HAL, drivers, common), Paho, or another library.
 * Thread-safe (atomic counters); Paho's threads are counted too. */
#ifndef ALLOC_COUNT_H
#define ALLOC_COUNT_H
#include <stdbool.h>
#include <stdint.h>

enum ac_owner { AC_OURS = 0, AC_PAHO, AC_OTHER, AC__COUNT };

struct ac_counts {
    uint64_t calls[AC__COUNT]; /* malloc/calloc/realloc/memalign calls */
    uint64_t bytes[AC__COUNT]; /* bytes requested */
    uint64_t frees;
};

/* Finds the address ranges of the executable, libc and Paho and warms up backtrace(). Call once
 * at the start of main. */
void ac_init(void);
/* Starts or stops attribution counting (counting starts from zero at each start). */
void ac_set_counting(bool on);
void ac_get(struct ac_counts *out);
/* The first allocation attributed to our code while counting, as a backtrace printed to stderr
 * (for finding it); prints nothing when there was none. */
void ac_print_first_ours(void);

#endif

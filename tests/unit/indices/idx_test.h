/* idx_test.h - cmocka includes and a tolerance assertion that prints both sides. */
#ifndef IDX_TEST_H
#define IDX_TEST_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Fails unless |got - want| <= tol (NAN never passes). */
#define assert_near(got, want, tol)                                                                \
    do {                                                                                           \
        double got_ = (got);                                                                       \
        double want_ = (want);                                                                     \
        if (!(fabs(got_ - want_) <= (tol))) {                                                      \
            fail_msg("%s = %.9g, want %.9g +- %g", #got, got_, want_, (double)(tol));              \
        }                                                                                          \
    } while (0)

#endif

/* tt10_int.h - helpers shared by the tt10 module's files. Not a public header. */
#ifndef TT10_INT_H
#define TT10_INT_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Writes the message into err (when given) and returns CT_E_PARSE. */
int tt10_errf(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t tt10_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Removes the regular files of 'dir' last modified before 'before' (symbolic links and folders
 * are left alone); returns how many. Blocking: thread-pool jobs only. */
uint64_t tt10_prune_dir(const char *dir, time_t before);

#endif

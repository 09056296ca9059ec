/* log.c - the leveled log: one bounded line per call, one fwrite. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "col_obs.h"
#include "ct/err.h"

static atomic_int log_level = COL_LOG_INFO;
static FILE *log_stream; /* NULL = stderr */

void col_log_set_level(enum col_log_level level)
{
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

enum col_log_level col_log_get_level(void)
{
    return (enum col_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

bool col_log_enabled(enum col_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

const char *col_log_level_name(enum col_log_level level)
{
    return (unsigned)level < 4u ? level_names[level] : "?";
}

int col_log_level_parse(const char *name, enum col_log_level *level)
{
    static const char *const lower[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (name != NULL && strcmp(name, lower[i]) == 0) {
            *level = (enum col_log_level)i;
            return 0;
        }
    }
    return CT_E_INVAL;
}

void col_log_set_stream(FILE *stream)
{
    log_stream = stream;
}

int64_t col_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void col_log(enum col_log_level level, const char *module, const char *fmt, ...)
{
    if (!col_log_enabled(level)) {
        return;
    }
    char line[COL_LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int head =
        snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%.32s] ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000L, col_log_level_name(level), module != NULL ? module : "-");
    if (head < 0 || (size_t)head >= sizeof(line)) {
        return;
    }
    /* Room for the message, leaving 1 byte for the newline (and the NUL). */
    size_t room = sizeof(line) - 1 - (size_t)head;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + head, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    size_t len = (size_t)head + ((size_t)n < room ? (size_t)n : room - 1);
    if ((size_t)n >= room) {
        memcpy(line + len - 3, "...", 3);
    }
    for (size_t i = (size_t)head; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f) {
            line[i] = '?';
        }
    }
    line[len++] = '\n';
    FILE *f = log_stream != NULL ? log_stream : stderr;
    fwrite(line, 1, len, f);
    fflush(f);
}

/* col_tt10.h - the national station-file format of TT 10/2021/TT-BTNMT (docs/tt10.md): pure
 * encoder and strict parser, no I/O.
 *
 * A file holds one station's values at one measurement time. Its name is
 * <province>_<facility>_<station>_<yyyyMMddHHmmss><ext>, and each line is
 * symbol SEP value SEP unit SEP yyyyMMddHHmmss SEP status EOL, times in local (Vietnam) time.
 * Every detail (separators, end of line, decimals, UTC offset, extension, status codes) comes from
 * struct col_tt10_fmt, filled from the config (tt10.* keys); col_tt10_fmt_default() gives the
 * values vendors and data loggers use. Functions here allocate only through the caller's ct_buf;
 * safe on any thread. */
#ifndef COL_TT10_H
#define COL_TT10_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct/buf.h"
#include "ct/registry.h"
#include "ct/schema.h"

#define COL_TT10_SYMBOL_MAX 32  /* bytes of a parameter symbol */
#define COL_TT10_UNIT_MAX 32    /* bytes of a unit */
#define COL_TT10_LINES_MAX 64   /* parameters in one file; more is a bad file */
#define COL_TT10_FILE_MAX 16384 /* bytes of one file; larger is a bad file */
#define COL_TT10_NAME_MAX 160   /* bytes of a file name we write or accept */
#define COL_TT10_MAP_MAX 64     /* entries of the parameter map */
#define COL_TT10_ERR_MAX 160    /* an err buffer of this size holds any message */

enum col_tt10_status {
    COL_TT10_MEASURING = 0, /* "00" */
    COL_TT10_CALIBRATING,   /* "01" */
    COL_TT10_FAULT,         /* "02" */
    COL_TT10_STATUS__COUNT
};

/* Every format detail. Strings are borrowed (the config's) and must outlive the use. */
struct col_tt10_fmt {
    int utc_offset_min; /* local time = UTC + this (Vietnam: 420) */
    char field_sep;     /* between the five fields ('\t') */
    char name_sep;      /* between the codes and the time in the file name ('_') */
    const char *eol;    /* end of each line ("\r\n"), 1..2 bytes */
    const char *ext;    /* file-name extension (".txt") */
    int decimals;       /* digits after the point in values we write (0..6) */
    const char *status[COL_TT10_STATUS__COUNT]; /* "00", "01", "02" */
    bool accept_bom;                            /* parser: a leading UTF-8 BOM is skipped */
    bool accept_lf;                             /* parser: a bare "\n" also ends a line */
};

/* One row of the parameter map: our (kind, member) <-> the file's (symbol, unit). */
struct col_tt10_param {
    enum ct_kind kind;
    char member[CT_MEMBER_NAME_MAX + 1];
    char symbol[COL_TT10_SYMBOL_MAX + 1];
    char unit[COL_TT10_UNIT_MAX + 1];
};

struct col_tt10_map {
    size_t n;
    struct col_tt10_param p[COL_TT10_MAP_MAX];
};

/* One parameter line. */
struct col_tt10_line {
    char symbol[COL_TT10_SYMBOL_MAX + 1];
    char unit[COL_TT10_UNIT_MAX + 1];
    double value;
    int64_t ts_ms; /* UTC */
    enum col_tt10_status status;
};

/* A parsed file (name and content). */
struct col_tt10_file {
    char province[CT_TT10_CODE_MAX + 1];
    char facility[CT_TT10_CODE_MAX + 1];
    char station[CT_TT10_CODE_MAX + 1];
    int64_t ts_ms; /* the name's time, UTC */
    size_t n;
    struct col_tt10_line lines[COL_TT10_LINES_MAX];
};

/* The values data loggers use: UTC+7, TAB, '_', CRLF, ".txt", 2 decimals, 00/01/02, BOM
 * accepted, bare LF refused. */
void col_tt10_fmt_default(struct col_tt10_fmt *fmt);

/* The default map (docs/tt10.md lists it): the string col_tt10_map_parse() takes. Static. */
const char *col_tt10_map_default_spec(void);
/* Parses "kind.member=SYMBOL:unit,..." (whitespace around entries ignored, kept inside a symbol;
 * unit may be empty). Strict: the member must exist in the schema; a (kind, symbol) twice is an
 * error. A member may have several symbols (aliases read from incoming files); the first is the
 * one written. Returns 0 or CT_E_PARSE with a message naming the entry in err. */
int col_tt10_map_parse(const char *spec, struct col_tt10_map *out, char *err, size_t errcap);
/* Borrowed rows of 'map', or NULL. */
const struct col_tt10_param *col_tt10_map_member(const struct col_tt10_map *map, enum ct_kind kind,
                                                 const char *member);
const struct col_tt10_param *col_tt10_map_symbol(const struct col_tt10_map *map, enum ct_kind kind,
                                                 const char *symbol);

/* Local time of 'ms' (UTC, rounded down to the second) as yyyyMMddHHmmss plus NUL. Returns 0 or
 * CT_E_RANGE (before year 1970 or after 9999 locally). */
int col_tt10_time_format(int64_t ms, int utc_offset_min, char out[15]);
/* Parses exactly 14 digits of a valid local date and time; *ms is UTC. Returns 0 or CT_E_PARSE. */
int col_tt10_time_parse(const char *s, size_t len, int utc_offset_min, int64_t *ms);

/* Writes the file name of device 'dev' (which must have tt10 codes) at 'ts_ms' into out.
 * Returns 0, CT_E_INVAL (no codes) or CT_E_TOOBIG. */
int col_tt10_file_name(const struct col_tt10_fmt *fmt, const struct ct_device *dev, int64_t ts_ms,
                       char *out, size_t cap);

/* One value to write; the strings are borrowed. */
struct col_tt10_value {
    const char *symbol;
    const char *unit;
    double value; /* finite */
    enum col_tt10_status status;
};

/* Appends the lines of 'n' values at 'ts_ms' to 'out' (deterministic bytes: the golden files in
 * tests/data/tt10 pin them, test_tt10_format). Returns 0, CT_E_INVAL (a non-finite value, a
 * symbol or unit with a separator or control byte) or the buffer's CT_E_TOOBIG / CT_E_NOMEM. */
int col_tt10_format(const struct col_tt10_fmt *fmt, int64_t ts_ms, const struct col_tt10_value *v,
                    size_t n, struct ct_buf *out);

/* Parses a file name (no directory). Fills the codes and ts_ms of *f (n = 0). Returns 0 or
 * CT_E_PARSE with the reason in err. */
int col_tt10_parse_name(const struct col_tt10_fmt *fmt, const char *name, size_t len,
                        struct col_tt10_file *f, char *err, size_t errcap);
/* Parses the content strictly into f->lines (the name's fields are left alone): valid UTF-8,
 * every line ended, five fields, a known status, a finite number, a valid time, no symbol twice,
 * at least one line. Returns 0, or CT_E_PARSE with *line (1-based; 0 for the file as a whole)
 * and the reason in err. */
int col_tt10_parse(const struct col_tt10_fmt *fmt, const char *text, size_t len,
                   struct col_tt10_file *f, size_t *line, char *err, size_t errcap);

#endif

/* layers_priv.h - shared internals of col_layers (not installed, not for other modules). */
#ifndef COL_LAYERS_PRIV_H
#define COL_LAYERS_PRIV_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_layers.h"

/* One public station (or lot) of a layer being built. */
#define COL_LAYERS_INVALID_MAX 16 /* invalid ranges kept per station; more withhold all */

struct col_layers_station {
    const struct ct_device *dev; /* borrowed from the source */
    cJSON *feature;              /* owned until detached by the caller */
    cJSON *props;                /* borrowed from 'feature' */
    int64_t t_raw;               /* time of the latest raw row, -1 when none */
    int64_t t_index;             /* time of the latest index row, -1 when none */
    int64_t t_ms;                /* resulting time of the feature, -1 when none */
    /* Ranges staff marked invalid in the console (console_decision), for withholding. */
    struct {
        char param[16];
        int64_t from_ms, to_ms;
    } inval[COL_LAYERS_INVALID_MAX];
    size_t ninval;
    bool inval_overflow; /* more than COL_LAYERS_INVALID_MAX: every value is withheld */
    bool validated;      /* the newest index point was recomputed from validated data */
    /* The newest point of each derived measurement (col_layers_meas[kind][1 + k]; one for every
     * kind today, [1] kept for a second): its time (-1 when none) and its field validated (-1
     * absent, 0 false, 1 true; console_recompute*.c). */
    int64_t t_der[2];
    int valid_der[2];
};

struct col_layers_build {
    struct col_layers_station *st; /* owned */
    size_t n;
};

/* Builds the stations of one layer (features complete with properties). On error the build is
 * left empty. Free with col_layers_build_free (accepts an empty or half-built build). */
int col_layers_build_stations(const struct col_layers_src *src, enum ct_kind kind,
                              struct col_layers_build *b);
void col_layers_build_free(struct col_layers_build *b);

/* Prints 'json' unformatted into a malloc'd string (*out); frees nothing. CT_E_NOMEM. */
int col_layers_print(const cJSON *json, char **out);

/* RFC 3339 / ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm)) of 'len' bytes to ms since
 * the epoch. Returns 0 or CT_E_PARSE. */
int col_layers_time_parse(const char *s, size_t len, int64_t *ms);
/* Formats 'ms' as "YYYY-MM-DDTHH:MM:SSZ" (".fffZ" when ms is not whole seconds). */
void col_layers_time_format(int64_t ms, char buf[COL_LAYERS_ISO_MAX]);

/* Measurements read per layer (NULL-padded); index 0 is the raw kind measurement. */
extern const char *const col_layers_meas[CT_KIND__COUNT][3];

/* Adds the band properties of a finished feature (col_layers_band) to 'props'; and the
 * "legend" member of a layer to 'fc'. 0 or CT_E_NOMEM. */
int col_layers_band_apply(enum ct_kind kind, cJSON *props);
int col_layers_legend_add(enum ct_kind kind, cJSON *fc);

/* The selection of the ranges staff marked invalid (console_decision rows with action invalid,
 * tags station and param, columns from, to and revoked) decided in the last 'window_s' seconds.
 * */
void col_layers_decisions_sel(uint32_t window_s, char unit, struct col_storeq_sel *sel);

/* The columns of a decisions series that matter here (-1 when missing). */
struct col_layers_deccols {
    int from, to, revoked;
};
void col_layers_decision_cols(const cJSON *cols, struct col_layers_deccols *dc);
/* The range of one decision row into *from_ms, *to_ms; false when the row has none or was
 * withdrawn in the console (revoked = true: its values are valid again; test_layers_revoked).
 * The rows are filtered here, not in the query: InfluxQL compares a missing field as false. */
bool col_layers_decision_range(const struct col_layers_deccols *dc, const cJSON *row,
                               int64_t *from_ms, int64_t *to_ms);

/* The hours before and after an index's (or a history value's) time whose data it is computed
 * from, per layer: air_aqi at the hour's end reads 12 hours back (the PM NowCast), water_wqi
 * one hour back; history buckets of raw or point-in-time values the hour after their start. */
void col_layers_index_window(enum ct_kind kind, bool history, int64_t t, int64_t *from,
                             int64_t *to);

/* Whether a device belongs to the public layer of 'kind'. */
bool col_layers_dev_public(const struct ct_device *dev, enum ct_kind kind);

#endif

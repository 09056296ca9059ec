/* derive_int.h - col_derive's internal state, shared by its source files. */
#ifndef DERIVE_INT_H
#define DERIVE_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_derive.h"
#include "col_indices.h"
#include "col_indices_rain_gauge.h"
#include "ct/buf.h"
#include "ct/lp.h"

#define DV_STR 128 /* copied name, district, ward: bytes incl. NUL (cut on UTF-8) */
#define DV_MEMBERS CT_MAX_VALUES
#define AGG_PENDING 4  /* open windows per device and aggregate */
#define AGG_DONE 32    /* emitted windows remembered per device (for late parts) */
#define HIST_HOURS 36  /* hourly means kept per air/water station */
#define HIST_MEMBERS 6 /* tracked members: air pm25 pm10 o3 co so2 no2; water ph do t cod nh4 */
#define HOUR_MS ((int64_t)3600000)
#define DAY_MS ((int64_t)86400000)
#define LOCAL_OFFSET_MS ((int64_t)7 * HOUR_MS) /* Asia/Ho_Chi_Minh, no DST */
#define OUT_LIMIT ((size_t)1 << 20)
/* A window past its close is written once its readings pause this long (arrival time). */
#define AGG_SETTLE_MS ((int64_t)1000)

struct agg_metric {
    char name[CT_MEMBER_NAME_MAX + 1];
    double min;
    double max;
    double sum;
    int64_t count;
};

/* An open window. Its metrics are allocated when it opens, one per member of the device's
 * kind (ct_schema_members), and freed when it is written: a device holds memory only for the
 * windows it has open (about 0.4 KiB each for air), not for AGG_PENDING full windows
 * (run.py memory: 100 000 devices). */
struct agg_win {
    bool used;
    int64_t start_ms;
    unsigned part;     /* 0 on time, >= 1 late part */
    uint64_t low_mark; /* lowest spool mark held */
    int64_t opened_ms; /* arrival time of its first reading */
    int64_t added_ms;  /* arrival time of its latest reading */
    size_t n;
    size_t cap;
    struct agg_metric *m; /* owned; cap entries while used, NULL otherwise */
};

struct agg {
    int64_t win_ms;
    struct agg_win pend[AGG_PENDING];
    int64_t done_start[AGG_DONE]; /* INT64_MIN = empty */
    unsigned done_part[AGG_DONE]; /* last part emitted */
    size_t done_next;
};

struct qc_member {
    char name[CT_MEMBER_NAME_MAX + 1];
    bool has_last;
    double last;
    int64_t last_ts;
    int64_t since_ts; /* first ts of the current run of equal values */
    double *ring;     /* cfg.qc_window values, inside the qc_state's allocation */
    size_t n;
    size_t next;
};

/* One allocation per device (col_derive_qc_new): the header, cap members (the kind's member
 * count) and their rings of cfg.qc_window values each, so a device's QC state is sized by its
 * kind and the configured window, not by the largest of either. */
struct qc_state {
    size_t n;
    size_t cap;
    struct qc_member m[];
};

struct hist {
    int64_t start[HIST_HOURS]; /* hour start ms; INT64_MIN = empty */
    double sum[HIST_HOURS][HIST_MEMBERS];
    uint32_t cnt[HIST_HOURS][HIST_MEMBERS]; /* readings in the hour (saturating) */
};

struct air_state {
    struct hist h;
    int last_level; /* VN level 1..6 of the last hourly AQI, 0 unknown */
};

struct flood_st {
    struct col_flood_station bands; /* the station's table (cfg points into it) */
    struct col_flood_state st;
};

/* A rain gauge's live state: the steps shared with the console's recompute, and what the
 * console's corrections told it (col_derive_rain_adjust). */
struct rain_st {
    struct col_rain_gauge g; /* interval amounts, the 24-h ring */
    int64_t
        validated_until_ms; /* readings at or before this carry validated=true; INT64_MIN none */
    int64_t rebuilt_s; /* newest hour end the rebuild restored (each hour's sum sits in the hour's
                          last slot); INT64_MIN none */
};

struct dv {
    bool used;
    char id[CT_ID_MAX + 1];
    enum ct_kind kind;
    char name[DV_STR];
    char district[DV_STR];
    char ward[DV_STR];
    bool is_public; /* the registry's `public`: false keeps its alerts off the public topic */
    int64_t interval_ms;
    int64_t last_seen_ms; /* arrival of the newest reading, 0 none */
    bool stale;
    int online; /* -1 unknown, 0 offline, 1 online */
    struct agg agg[2];
    size_t nagg;
    struct qc_state *qc;    /* air, water, flood */
    struct air_state *air;  /* air, water (hourly history) */
    struct rain_st *rain;   /* rain */
    struct flood_st *flood; /* flood */
    int bay;                /* parking bay: -1 unknown, 0 free, 1 occupied */
    char bay_lot[CT_ID_MAX + 1];
};

struct lot {
    bool used;
    char id[CT_ID_MAX + 1];
    char district[DV_STR];
    char ward[DV_STR];
    int64_t capacity; /* the lot's registered capacity, -1 when not in the registry */
    bool has_counter; /* the lot's own counter has reported */
    int64_t nbays;    /* bays registered for the lot */
    int64_t occupied; /* bays currently occupied (latest states) */
    int64_t seen;     /* bays seen reporting (capacity when the registry lists none) */
};

struct col_derive {
    struct col_derive_cfg cfg;
    char instance[64];
    struct col_derive_emit emit;
    struct dv *dv;
    size_t ndv;
    size_t *index; /* open addressing: dv index + 1, 0 empty */
    size_t index_cap;
    struct lot *lots;
    size_t nlots;
    uint64_t last_mark; /* highest mark added: the mark of points derived from no record */
    uint64_t cur_mark;  /* lowest mark of the records behind the points being built now */
    uint64_t out_mark;  /* lowest cur_mark of the points in 'out', UINT64_MAX when empty */
    struct ct_buf out;
    struct col_derive_stats st;
    char meas[16]; /* suffix of the window's aggregate measurement: "1m", "5m", "1h", "30s" */
};

/* derive.c */
struct dv *col_derive_dv_find(struct col_derive *d, const char *id);
struct dv *col_derive_dv_get(struct col_derive *d, const char *id, enum ct_kind kind);
struct lot *col_derive_lot(struct col_derive *d, const char *id);
void col_derive_dv_copy_names(struct dv *v, const struct ct_device *dev);
void col_derive_emit_flush(struct col_derive *d);
void col_derive_emit_point(struct col_derive *d, const char *meas, const struct ct_lp_tag *tags,
                           size_t ntags, const struct ct_lp_field *f, size_t nf, int64_t ts);
void col_derive_copy_str(char *dst, size_t cap, const char *src);
void col_derive_fld_int(struct ct_lp_field *f, const char *k, int64_t v);
void col_derive_fld_f(struct ct_lp_field *f, const char *k, double v);
void col_derive_fld_b(struct ct_lp_field *f, const char *k, bool v);
void col_derive_fld_s(struct ct_lp_field *f, const char *k, const char *v);
int64_t col_derive_floor_div(int64_t a, int64_t b);

/* derive_agg.c */
void col_derive_agg_init(struct agg *a, int64_t win_ms);
void col_derive_agg_add(struct col_derive *d, struct dv *v, size_t ai, const struct ct_reading *r,
                        uint64_t mark, int64_t now_ms);
void col_derive_agg_tick(struct col_derive *d, struct dv *v, int64_t now_ms);
uint64_t col_derive_agg_low(const struct dv *v);
/* Frees the open windows' metrics (the windows are dropped, not written). */
void col_derive_agg_release(struct agg *a);

/* derive_hour.c */
int col_derive_hist_member(enum ct_kind kind, const char *name);
void col_derive_hist_set(struct hist *h, enum ct_kind kind, int64_t start_ms,
                         const struct agg_win *w, bool merge);
void col_derive_hist_put(struct hist *h, int64_t start_ms, int member, double sum, int64_t count);
void col_derive_hour_closed(struct col_derive *d, struct dv *v, const struct agg_win *w);

/* derive_events.c */
void col_derive_rain_add(struct col_derive *d, struct dv *v, const struct ct_device *dev,
                         const struct ct_reading *r);
void col_derive_flood_add(struct col_derive *d, struct dv *v, const struct ct_device *dev,
                          const struct ct_reading *r);
void col_derive_parking_add(struct col_derive *d, struct dv *v, const struct ct_device *dev,
                            const struct ct_reading *r);
int col_derive_flood_setup(struct flood_st *f, const struct ct_device *dev);
void col_derive_station_point(struct col_derive *d, struct dv *v, int64_t now_ms);
void col_derive_alert(struct col_derive *d, const struct dv *v, const char *type, int64_t ts,
                      int level, const char *label_vi, const char *label_en, double value);

/* derive_qc.c */
/* A QC state for a device of 'kind' keeping 'window' values per member; NULL without memory.
 * Freed with free(). */
struct qc_state *col_derive_qc_new(enum ct_kind kind, size_t window);
void col_derive_qc_run(struct col_derive *d, struct dv *v, const struct ct_reading *r,
                       struct col_derive_qc *out);

#endif

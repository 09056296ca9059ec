/* aqi_cli.c - `collector aqi <vn|us> <pollutant> <averaging> <value>...`: one AQI as JSON. */
#include "col_indices.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_IO 1
#define CLI_EXIT_USAGE 2

static const char *const usage = "usage: collector aqi <vn|us> <pm25|pm10|o3|co|so2|no2> "
                                 "<1h|8h|24h|nowcast> <value>... (nowcast: 12 hourly means, "
                                 "newest first, '-' for a missing hour)\n";

static int parse_avg(const char *s, enum col_aqi_avg *out)
{
    static const char *const names[] = {"1h", "8h", "24h", "nowcast"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum col_aqi_avg)i;
            return 0;
        }
    }
    return -1;
}

/* A plain decimal number >= 0 (no hex, inf or nan). Returns 0, or -1 when malformed. */
static int parse_value(const char *s, double *out)
{
    const char *p;
    char *end = NULL;
    double v;

    if (*s == '\0') {
        return -1;
    }
    for (p = s; *p != '\0'; p++) {
        if (strchr("0123456789.eE+-", *p) == NULL) {
            return -1;
        }
    }
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0.0) {
        return -1;
    }
    *out = v;
    return 0;
}

static int print_result(FILE *out, enum col_aqi_scheme scheme, const struct col_aqi_sub *s)
{
    int rc;

    if (s->aqi == COL_AQI_NONE) {
        rc = fprintf(out, "{\"aqi\":null,\"category\":null,\"color\":null}\n");
    } else {
        rc = fprintf(out, "{\"aqi\":%d,\"category\":\"%s\",\"color\":\"%s\"}\n", s->aqi,
                     col_aqi_category_name(scheme, s->aqi, scheme == COL_AQI_VN),
                     col_aqi_color(s->aqi));
    }
    if (rc < 0 || fflush(out) != 0 || ferror(out)) {
        return CLI_EXIT_IO;
    }
    return CLI_EXIT_OK;
}

int col_indices_aqi_cli(int argc, char **argv, FILE *out, FILE *err)
{
    double values[COL_AQI_NOWCAST_HOURS];
    enum col_aqi_scheme scheme;
    enum col_aqi_pollutant p;
    enum col_aqi_avg avg;
    struct col_aqi_sub sub;
    int want;
    int i;
    double c;

    if (argc < 5 || argv == NULL) {
        fprintf(err, "collector aqi: missing arguments\n%s", usage);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "vn") == 0) {
        scheme = COL_AQI_VN;
    } else if (strcmp(argv[1], "us") == 0) {
        scheme = COL_AQI_US;
    } else {
        fprintf(err, "collector aqi: bad scheme '%s' (expected vn or us)\n%s", argv[1], usage);
        return CLI_EXIT_USAGE;
    }
    if (col_aqi_pollutant_parse(argv[2], &p) != 0) {
        fprintf(err,
                "collector aqi: bad pollutant '%s' (expected pm25, pm10, o3, co, so2 or no2)\n%s",
                argv[2], usage);
        return CLI_EXIT_USAGE;
    }
    if (parse_avg(argv[3], &avg) != 0) {
        fprintf(err, "collector aqi: bad averaging '%s' (expected 1h, 8h, 24h or nowcast)\n%s",
                argv[3], usage);
        return CLI_EXIT_USAGE;
    }
    want = avg == COL_AQI_AVG_NOWCAST ? COL_AQI_NOWCAST_HOURS : 1;
    if (argc - 4 != want) {
        fprintf(err, "collector aqi: averaging '%s' takes %d value%s, got %d\n%s", argv[3], want,
                want == 1 ? "" : "s", argc - 4, usage);
        return CLI_EXIT_USAGE;
    }
    for (i = 0; i < want; i++) {
        const char *s = argv[4 + i];

        if (avg == COL_AQI_AVG_NOWCAST && strcmp(s, "-") == 0) {
            values[i] = NAN;
            continue;
        }
        if (parse_value(s, &values[i]) != 0) {
            fprintf(err, "collector aqi: bad value '%s' (argument %d): expected a number >= 0%s\n",
                    s, 4 + i, avg == COL_AQI_AVG_NOWCAST ? " or '-'" : "");
            return CLI_EXIT_USAGE;
        }
    }
    if (avg == COL_AQI_AVG_NOWCAST) {
        c = col_aqi_nowcast(values, COL_AQI_NOWCAST_HOURS, COL_AQI_NOWCAST_MIN_WEIGHT);
    } else {
        c = values[0];
    }
    if (isnan(c)) {
        sub.aqi = COL_AQI_NONE;
    } else if (scheme == COL_AQI_VN) {
        (void)col_aqi_vn_sub(p, avg, c, &sub);
    } else {
        (void)col_aqi_us_sub(p, avg, c, &sub);
    }
    return print_result(out, scheme, &sub);
}

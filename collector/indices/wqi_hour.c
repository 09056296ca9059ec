/* wqi_hour.c - the hourly water index's inputs and fields (col_indices_wqi_hour.h). */
#include <math.h>
#include <string.h>

#include "col_indices_wqi_hour.h"

void col_wqi_hour_clear(struct col_wqi_in *in)
{
    *in = (struct col_wqi_in){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
}

bool col_wqi_hour_set(struct col_wqi_in *in, const char *name, double mean)
{
    double *slot = strcmp(name, "ph") == 0    ? &in->ph
                   : strcmp(name, "do") == 0  ? &in->do_mg_l
                   : strcmp(name, "t") == 0   ? &in->temp_c
                   : strcmp(name, "cod") == 0 ? &in->cod_mg_l
                   : strcmp(name, "nh4") == 0 ? &in->nh4_mg_l
                                              : NULL;

    if (slot == NULL) {
        return false;
    }
    *slot = mean;
    return true;
}

size_t col_wqi_hour_fields(const struct col_wqi_result *r,
                           struct ct_lp_field f[COL_WQI_HOUR_FIELDS])
{
    if (r->wqi == COL_WQI_NONE) {
        return 0;
    }
    memset(f, 0, COL_WQI_HOUR_FIELDS * sizeof(*f));
    f[0].key = "wqi";
    f[0].type = CT_LP_INT;
    f[0].i = r->wqi;
    f[1].key = "category_vi";
    f[1].type = CT_LP_STRING;
    f[1].s = col_wqi_category_name(r->wqi, true);
    f[2].key = "category_en";
    f[2].type = CT_LP_STRING;
    f[2].s = col_wqi_category_name(r->wqi, false);
    f[3].key = "color";
    f[3].type = CT_LP_STRING;
    f[3].s = col_wqi_color(r->wqi);
    f[4].key = "preliminary";
    f[4].type = CT_LP_BOOL;
    f[4].b = r->preliminary;
    return COL_WQI_HOUR_FIELDS;
}

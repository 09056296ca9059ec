/* col_indices_wqi.h - a preliminary Vietnam water quality index (VN_WQI, Decision
 * 1460/QD-TCMT, 2019) from what the station probes measure, optionally completed with lab
 * results. The sub-index tables and the formula follow the implementation cited in
 * docs/indices.md (the decision's own text was not reached: to be verified). */
#ifndef COL_INDICES_WQI_H
#define COL_INDICES_WQI_H

#include <stdbool.h>

/* The WQI value when it cannot be computed. */
#define COL_WQI_NONE (-1)

/* Sub-indices (q, 10..100) by piecewise-linear interpolation between the table's points (BP ->
 * q below), with the fixed values outside. Each returns NAN for a NAN or negative input. */

/* pH: 5.5/6/8.5/9 -> 50/100/100/50; below 5.5 or above 9: 10. */
double col_wqi_sub_ph(double ph);
/* DO saturation, mg/L, at temp_c degC: 14.652 - 0.41022T + 0.0079910T^2 - 0.000077774T^3. */
double col_wqi_do_sat(double temp_c);
/* DO % saturation: 20/50/75/88/112/125/150/200 -> 25/50/75/100/100/75/50/25; outside: 10. */
double col_wqi_sub_do_pct(double pct_sat);
/* DO mg/L at temp_c: col_wqi_sub_do_pct(100 * do_mg_l / col_wqi_do_sat(temp_c)). */
double col_wqi_sub_do(double do_mg_l, double temp_c);
/* COD mg/L: below 10: 100; 10/15/30/50/150 -> 100/75/50/25/10; above: 10. */
double col_wqi_sub_cod(double mg_l);
/* N-NH4 mg/L: below 0.3: 100; 0.3/0.6/0.9/5 -> 75/50/25/10; above: 10. */
double col_wqi_sub_nh4(double mg_l);
/* BOD5 mg/L: below 4: 100; 4/6/15/25/50 -> 100/75/50/25/10; above: 10. */
double col_wqi_sub_bod5(double mg_l);
/* Coliform MPN/100 mL: below 2500: 100; 2500/5000/7500/10000 -> 100/75/50/25; above: 10. */
double col_wqi_sub_coliform(double mpn);

/* Inputs, NAN = not available. Probes: pH, DO, temperature, COD, N-NH4. Lab: BOD5, coliform and
 * the group II (pesticides) and III (metals) indices computed by the lab's tables. TSS and
 * turbidity are not in the 1460 tables and do not enter the index. */
struct col_wqi_in {
    double ph;
    double do_mg_l; /* dissolved oxygen; needs temp_c */
    double temp_c;
    double cod_mg_l;
    double nh4_mg_l; /* N-NH4 */
    double bod5_mg_l;
    double coliform_mpn; /* per 100 mL */
    double wqi_ii;       /* group II index 0..100 */
    double wqi_iii;      /* group III index 0..100 */
};

struct col_wqi_result {
    int wqi;          /* rounded half up, or COL_WQI_NONE when group IV is empty */
    double exact;     /* unrounded; NAN when NONE */
    int groups;       /* groups present of I..V */
    bool preliminary; /* a lab parameter (BOD5, coliform, group II or III) is missing */
    bool full_method; /* the referenced implementation's rule holds: group IV and >= 3 groups */
};

/* WQI = (WQI_I/100)(WQI_II/100)(WQI_III/100) * [WQI_IV^2 * WQI_V]^(1/3), or without group V
 * (...)*WQI_IV; WQI_IV (DO, BOD5, COD, N-NH4) and WQI_V (coliform) arithmetic means; a missing
 * group I, II or III counts as 100. Always computed when group IV has a value, even below the
 * implementation's 3-group minimum (then full_method is false). Returns 0 or CT_E_INVAL (NULL),
 * or CT_E_RANGE for a group II/III index outside 0..100. */
int col_wqi_compute(const struct col_wqi_in *in, struct col_wqi_result *out);

/* Category index 0..5 of a WQI: 91-100, 76-90, 51-75, 26-50, 10-25, < 10; -1 for NONE or > 100. */
int col_wqi_category(int wqi);
/* Category name (Vietnamese or English) and colour "#RRGGBB"; static, NULL when undefined. */
const char *col_wqi_category_name(int wqi, bool vietnamese);
const char *col_wqi_color(int wqi);

#endif

/* col_indices.h - the collector's derived indices: air quality (VN_AQI, US EPA AQI), rain
 * accumulations and terms, flood depth bands, a preliminary water quality index and parking.
 *
 * Everything here is pure computation over values passed in: no I/O (except the operator's
 * check command, which writes to the streams it is given), no allocation, no globals except
 * const tables. Functions keep no state of their own, so any thread may call them; a state struct
 * (rain ring, flood station) must not be used from two threads at once. Rules, tables and sources:
 * docs/indices.md. */
#ifndef COL_INDICES_H
#define COL_INDICES_H

#include <stdio.h>

#include "col_indices_aqi.h"
#include "col_indices_flood.h"
#include "col_indices_parking.h"
#include "col_indices_rain.h"
#include "col_indices_wqi.h"

/* The operator's check command `collector aqi <vn|us> <pollutant> <averaging> <value>...`.
 * main passes the arguments after the program name: argv[0] is "aqi" (only used in messages),
 * argv[1] the scheme, argv[2] the pollutant (pm25 pm10 o3 co so2 no2), argv[3] the averaging
 * (1h 8h 24h nowcast), then one value, or twelve hourly means newest first for nowcast ("-" =
 * missing hour). Values are in the scheme's unit (vn: ug/m3; us: ug/m3 PM, ppm O3/CO, ppb
 * SO2/NO2). Prints one line `{"aqi":110,"category":"Kém","color":"#FF7E00"}` to 'out', with
 * "aqi":null,"category":null,"color":null where the scheme does not define the combination or the
 * NowCast has too few hours. Returns 0 on success, 2 on a bad argument (one message naming it on
 * 'err'), 1 when writing to 'out' fails. Borrows the streams; does not close them. */
int col_indices_aqi_cli(int argc, char **argv, FILE *out, FILE *err);

#endif

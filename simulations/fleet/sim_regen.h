/* sim_regen.h - fleet-sim's registry generator: N devices of all five kinds across Hanoi's 30
 * pre-2025 districts, written as JSON Lines that ct_registry_load accepts.
 *
 * Mix (exact counts, largest remainder): 40 % air, 10 % water, 10 % rain, 15 % flood, 25 %
 * parking, of which 40 % lot counters and 60 % bay sensors; every kind has at least one device
 * when N >= 6, and bays only exist with a lot. Districts are drawn with weights (urban quận 5,
 * Sơn Tây 1.5, huyện 1), so the 12 urban districts hold about 3/4 of the fleet; coordinates are
 * scattered (Gaussian, 1.2 km urban, 4 km rural) around the district's reference point; bays sit
 * within ~50 m of their lot, in its district and ward. Public names are Vietnamese (UTF-8):
 * "Trạm quan trắc <ward>", "Trạm quan trắc nước <lake/river>", "Trạm đo mưa <ward>", "Điểm đo ngập
 * <street>", "Bãi đỗ xe <street>" / "Bãi đỗ xe chợ <ward>" / "Bãi đỗ xe khu dân cư <ward>" by the
 * lot's character (sim_lot_character_of, which the parking model uses too), "Ô đỗ <n> - <lot>".
 * Ids: hn-air-00001, hn-water-.., hn-rain-.., hn-flood-.., hn-park-.. (lots), hn-bay-.. (bays).
 * Everything is a function of (N, seed). */
#ifndef SIM_REGEN_H
#define SIM_REGEN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_NDISTRICTS 30
#define SIM_DISTRICT_NAMES 8
#define SIM_REGEN_MAX_NODES 1000000

struct sim_district {
    const char *name;
    bool urban;                              /* one of the 12 quận */
    double lat, lon;                         /* reference point */
    const char *wards[SIM_DISTRICT_NAMES];   /* NULL-terminated when shorter */
    const char *streets[SIM_DISTRICT_NAMES]; /* NULL-terminated when shorter */
    const char *waters[SIM_DISTRICT_NAMES];  /* lakes and rivers; NULL-terminated */
};

extern const struct sim_district sim_districts[SIM_NDISTRICTS];

/* Device counts per kind for n devices: air, water, rain, flood, lots, bays. */
struct sim_regen_mix {
    size_t air, water, rain, flood, lots, bays;
};
void sim_regen_mix_of(size_t n, struct sim_regen_mix *mix);

/* Writes n devices (1..SIM_REGEN_MAX_NODES) to f. Returns 0, CT_E_INVAL or CT_E_IO. */
int sim_regen_write(FILE *f, size_t n, uint64_t seed);
/* Same into the file at 'path' (replaced). */
int sim_regen_write_file(const char *path, size_t n, uint64_t seed);

#endif

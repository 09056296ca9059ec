/* schema.c - THE table of kinds, measurement members, units and ranges (protocol.md section 2).
 * Every other module asks this table; no other file repeats a range or a member name. */
#include "ct/schema.h"

#include <string.h>

#include "ct/err.h"

static const char *const kind_names[CT_KIND__COUNT] = {
    [CT_KIND_AIR] = "air",     [CT_KIND_WATER] = "water",     [CT_KIND_RAIN] = "rain",
    [CT_KIND_FLOOD] = "flood", [CT_KIND_PARKING] = "parking",
};

#define M(k, n, u, t, lo, hi, opt, vi, en)                                                         \
    {                                                                                              \
        .kind = (k), .name = (n), .unit = (u), .type = (t), .min = (lo), .max = (hi),              \
        .optional_probe = (opt), .label_vi = (vi), .label_en = (en)                                \
    }

static const struct ct_member air_members[] = {
    M(CT_KIND_AIR, "pm25", "ug/m3", CT_VT_NUMBER, 0, 2000, false, "Bụi mịn PM2.5",
      "Fine particulate matter PM2.5"),
    M(CT_KIND_AIR, "pm10", "ug/m3", CT_VT_NUMBER, 0, 2000, false, "Bụi PM10",
      "Particulate matter PM10"),
    M(CT_KIND_AIR, "no2", "ug/m3", CT_VT_NUMBER, 0, 5000, false, "Nitơ điôxít (NO₂)",
      "Nitrogen dioxide (NO2)"),
    M(CT_KIND_AIR, "so2", "ug/m3", CT_VT_NUMBER, 0, 5000, false, "Lưu huỳnh điôxít (SO₂)",
      "Sulphur dioxide (SO2)"),
    M(CT_KIND_AIR, "o3", "ug/m3", CT_VT_NUMBER, 0, 5000, false, "Ôzôn (O₃)", "Ozone (O3)"),
    M(CT_KIND_AIR, "co", "ug/m3", CT_VT_NUMBER, 0, 200000, false, "Cacbon monoxit (CO)",
      "Carbon monoxide (CO)"),
    M(CT_KIND_AIR, "t", "degC", CT_VT_NUMBER, -20, 60, false, "Nhiệt độ", "Temperature"),
    M(CT_KIND_AIR, "rh", "%", CT_VT_NUMBER, 0, 100, false, "Độ ẩm tương đối", "Relative humidity"),
};

static const struct ct_member water_members[] = {
    M(CT_KIND_WATER, "ph", "pH", CT_VT_NUMBER, 0, 14, false, "Độ pH", "pH"),
    M(CT_KIND_WATER, "do", "mg/L", CT_VT_NUMBER, 0, 25, false, "Oxy hòa tan (DO)",
      "Dissolved oxygen (DO)"),
    M(CT_KIND_WATER, "turb", "NTU", CT_VT_NUMBER, 0, 4000, false, "Độ đục", "Turbidity"),
    M(CT_KIND_WATER, "ec", "uS/cm", CT_VT_NUMBER, 0, 200000, false, "Độ dẫn điện",
      "Electrical conductivity"),
    M(CT_KIND_WATER, "t", "degC", CT_VT_NUMBER, 0, 50, false, "Nhiệt độ nước", "Water temperature"),
    M(CT_KIND_WATER, "nh4", "mg/L", CT_VT_NUMBER, 0, 10000, true, "Amoni (NH₄⁺)",
      "Ammonium (NH4+)"),
    M(CT_KIND_WATER, "cod", "mg/L", CT_VT_NUMBER, 0, 10000, true, "Nhu cầu oxy hóa học (COD)",
      "Chemical oxygen demand (COD)"),
    M(CT_KIND_WATER, "tss", "mg/L", CT_VT_NUMBER, 0, 10000, true, "Tổng chất rắn lơ lửng (TSS)",
      "Total suspended solids (TSS)"),
};

static const struct ct_member rain_members[] = {
    M(CT_KIND_RAIN, "tips", "count", CT_VT_INT, 0, 4294967295.0, false, "Số lần lật gầu",
      "Tipping-bucket count"),
    M(CT_KIND_RAIN, "mm", "mm", CT_VT_NUMBER, 0, 500, false, "Lượng mưa", "Rainfall"),
};

static const struct ct_member flood_members[] = {
    M(CT_KIND_FLOOD, "depth", "cm", CT_VT_NUMBER, 0, 500, false, "Độ sâu ngập", "Flood depth"),
};

static const struct ct_member parking_members[] = {
    M(CT_KIND_PARKING, "capacity", "spaces", CT_VT_INT, 0, 10000, false, "Sức chứa", "Capacity"),
    M(CT_KIND_PARKING, "occupied", "spaces", CT_VT_INT, 0, 10000, false, "Số chỗ đã đỗ",
      "Occupied spaces"),
};

#undef M

struct kind_table {
    const struct ct_member *members;
    size_t count;
};

static const struct kind_table tables[CT_KIND__COUNT] = {
    [CT_KIND_AIR] = {air_members, sizeof(air_members) / sizeof(air_members[0])},
    [CT_KIND_WATER] = {water_members, sizeof(water_members) / sizeof(water_members[0])},
    [CT_KIND_RAIN] = {rain_members, sizeof(rain_members) / sizeof(rain_members[0])},
    [CT_KIND_FLOOD] = {flood_members, sizeof(flood_members) / sizeof(flood_members[0])},
    [CT_KIND_PARKING] = {parking_members, sizeof(parking_members) / sizeof(parking_members[0])},
};

const char *ct_kind_name(enum ct_kind kind)
{
    if ((unsigned)kind >= (unsigned)CT_KIND__COUNT) {
        return NULL;
    }
    return kind_names[kind];
}

int ct_kind_parse(const char *name, size_t len, enum ct_kind *kind)
{
    if (name == NULL) {
        return CT_E_NOTFOUND;
    }
    for (int k = 0; k < CT_KIND__COUNT; k++) {
        size_t n = strlen(kind_names[k]);
        if (n == len && memcmp(kind_names[k], name, len) == 0) {
            if (kind != NULL) {
                *kind = (enum ct_kind)k;
            }
            return 0;
        }
    }
    return CT_E_NOTFOUND;
}

const struct ct_member *ct_schema_members(enum ct_kind kind, size_t *count)
{
    if ((unsigned)kind >= (unsigned)CT_KIND__COUNT) {
        if (count != NULL) {
            *count = 0;
        }
        return NULL;
    }
    if (count != NULL) {
        *count = tables[kind].count;
    }
    return tables[kind].members;
}

const struct ct_member *ct_schema_find(enum ct_kind kind, const char *name, size_t len)
{
    size_t n = 0;
    const struct ct_member *ms = ct_schema_members(kind, &n);
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (strlen(ms[i].name) == len && memcmp(ms[i].name, name, len) == 0) {
            return &ms[i];
        }
    }
    return NULL;
}

bool ct_schema_in_range(const struct ct_member *m, double v)
{
    /* NaN compares false both ways, so it is never in range. */
    return m != NULL && v >= m->min && v <= m->max;
}

bool ct_device_id_valid(const char *id, size_t len)
{
    if (id == NULL || len == 0 || len > CT_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

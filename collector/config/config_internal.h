/* config_internal.h - helpers shared by the config engine's files (not for other modules). */
#ifndef COL_CONFIG_INTERNAL_H
#define COL_CONFIG_INTERNAL_H
#include <stdint.h>

#include "col_config.h"

/* "<n>ms|s|m|h|d" -> milliseconds. Returns 0, CT_E_PARSE or CT_E_RANGE (overflow). */
int col_config_parse_duration(const char *s, int64_t *ms);
/* "<n>B|KiB|MiB|GiB|TiB" -> bytes. Returns 0, CT_E_PARSE or CT_E_RANGE (overflow). */
int col_config_parse_size(const char *s, int64_t *bytes);
/* Index of 'v' in the choices "a|b|c", or -1. */
int col_config_enum_index(const char *choices, const char *v);
/* Stores key k's value given in the text syntax into cfg (a string is copied, the old one
 * freed). Returns 0, CT_E_INVAL (wrong syntax or range) or CT_E_NOMEM. */
int col_config_set_text(const struct col_cfg_key *k, struct col_config *cfg, const char *s);

#endif

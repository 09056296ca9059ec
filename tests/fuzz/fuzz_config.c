/* fuzz_config.c - col_config_parse() on hostile JSON: no crash, no leak; a config it accepts
 * passes col_config_check(), every key formats, and it differs from itself in no key. */
#include <stdint.h>
#include <string.h>

#include "col_config.h"
#include "ct/err.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_config cfg;
    char err[COL_CONFIG_ERR_MAX];
    err[0] = '\0';
    int rc = col_config_parse((const char *)data, size, "fuzz.json", &cfg, err, sizeof(err));
    FZ_CHECK(rc == 0 || rc == CT_E_PARSE || rc == CT_E_INVAL || rc == CT_E_NOMEM, "rc %d", rc);
    FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "err unterminated");
    if (rc != 0) {
        FZ_CHECK(err[0] != '\0' || rc == CT_E_NOMEM, "error %d without a message", rc);
        col_config_free(&cfg);
        return 0;
    }
    char cerr[COL_CONFIG_ERR_MAX];
    FZ_CHECK(col_config_check(&cfg, cerr, sizeof(cerr)) == 0, "accepted config fails check: %s",
             cerr);
    size_t nkeys = 0;
    const struct col_cfg_key *keys = col_config_keys(&nkeys);
    for (size_t i = 0; i < nkeys; i++) {
        char val[COL_CONFIG_STRING_MAX * 6 + 16];
        rc = col_config_format_value(&keys[i], &cfg, val, sizeof(val));
        FZ_CHECK(rc == 0, "format of %s failed: %d", keys[i].name, rc);
        FZ_CHECK(col_config_key_equal(&keys[i], &cfg, &cfg), "%s differs from itself",
                 keys[i].name);
        if (keys[i].type == COL_CFG_STRING) {
            char *const *s = (char *const *)(const void *)((const char *)&cfg + keys[i].offset);
            FZ_CHECK(*s != NULL, "string %s is NULL", keys[i].name);
        }
    }
    struct col_config_diff diff;
    col_config_diff(&cfg, &cfg, &diff);
    FZ_CHECK(diff.nrefused == 0 && diff.napply == 0, "self diff not empty");
    col_config_free(&cfg);
    return 0;
}

/* fuzz_topic.c - ct_topic_parse() on hostile bytes: a parsed topic formats back to the same
 * bytes; and a (type, kind, id) built from the input that formats must parse back to itself. */
#include <stdint.h>
#include <string.h>

#include "ct/err.h"
#include "ct/topic.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ct_topic t;
    int rc = ct_topic_parse((const char *)data, size, &t);
    FZ_CHECK(rc == 0 || rc == CT_E_PARSE, "parse rc %d", rc);
    if (rc == 0) {
        FZ_CHECK(ct_device_id_valid(t.id, strlen(t.id)), "invalid id accepted '%s'", t.id);
        char out[CT_TOPIC_MAX + 1];
        rc = ct_topic_format(t.type, t.kind, t.id, out, sizeof(out));
        FZ_CHECK(rc == 0, "format of a parsed topic failed: %d", rc);
        FZ_CHECK(strlen(out) == size && memcmp(out, data, size) == 0, "'%.*s' formats back as '%s'",
                 (int)size, (const char *)data, out);
    }

    /* The other direction: the input as an id. */
    if (size < 2) {
        return 0;
    }
    enum ct_topic_type type = (enum ct_topic_type)(data[0] % 3);
    enum ct_kind kind = (enum ct_kind)(data[1] % CT_KIND__COUNT);
    char id[128];
    size_t n = size - 2 < sizeof(id) - 1 ? size - 2 : sizeof(id) - 1;
    memcpy(id, data + 2, n);
    id[n] = '\0';
    char out[CT_TOPIC_MAX + 1];
    rc = ct_topic_format(type, kind, id, out, sizeof(out));
    FZ_CHECK(rc == 0 || rc == CT_E_INVAL || rc == CT_E_TOOBIG, "format rc %d", rc);
    if (rc == 0) {
        struct ct_topic back;
        rc = ct_topic_parse(out, strlen(out), &back);
        FZ_CHECK(rc == 0, "formatted topic '%s' does not parse", out);
        FZ_CHECK(back.type == type && back.kind == kind && strcmp(back.id, id) == 0,
                 "'%s' parses to something else", out);
    } else {
        FZ_CHECK(!ct_device_id_valid(id, strlen(id)) || rc == CT_E_TOOBIG,
                 "valid id '%s' refused: %d", id, rc);
    }
    return 0;
}

/* msg.c - the collector's message record: allocation and (de)serialisation. */
#include "col_msg.h"

#include <stdlib.h>
#include <string.h>

#include "ct/err.h"
#include "ct/bytes.h"

int col_msg_new(const char *topic, size_t topic_len, const char *sig, size_t sig_len,
                const void *payload, size_t payload_len, int64_t recv_ms, struct col_msg **out)
{
    struct col_msg *m;

    if (topic_len > COL_MSG_TOPIC_MAX || sig_len > COL_MSG_SIG_MAX ||
        payload_len > COL_MSG_PAYLOAD_MAX) {
        return CT_E_TOOBIG;
    }
    m = malloc(sizeof(*m) + topic_len + sig_len + payload_len);
    if (m == NULL) {
        return CT_E_NOMEM;
    }
    m->next = NULL;
    m->seq = 0;
    m->token = 0;
    m->recv_ms = recv_ms;
    m->topic_len = (uint16_t)topic_len;
    m->sig_len = (uint8_t)sig_len;
    m->flags = 0;
    m->payload_len = (uint32_t)payload_len;
    if (topic_len > 0) {
        memcpy(m->data, topic, topic_len);
    }
    if (sig_len > 0) {
        memcpy(m->data + topic_len, sig, sig_len);
    }
    if (payload_len > 0) {
        memcpy(m->data + topic_len + sig_len, payload, payload_len);
    }
    *out = m;
    return 0;
}

int col_msg_new_bounded(const char *topic, size_t topic_len, const char *sig, size_t sig_len,
                        const void *payload, size_t payload_len, int64_t recv_ms,
                        struct col_msg **out)
{
    uint8_t flags = 0;
    int rc;

    if (topic_len > COL_MSG_TOPIC_MAX) {
        topic_len = COL_MSG_TOPIC_MAX;
        flags |= COL_MSG_TOPIC_CUT;
    }
    if (sig_len > COL_MSG_SIG_MAX) {
        sig_len = COL_MSG_SIG_MAX;
        flags |= COL_MSG_SIG_CUT;
    }
    if (payload_len > COL_MSG_PAYLOAD_MAX) {
        payload_len = COL_MSG_PAYLOAD_MAX;
        flags |= COL_MSG_PAYLOAD_CUT;
    }
    rc = col_msg_new(topic, topic_len, sig, sig_len, payload, payload_len, recv_ms, out);
    if (rc == 0) {
        (*out)->flags = flags;
    }
    return rc;
}

void col_msg_serialise(const struct col_msg *m, uint8_t *out)
{
    size_t body = (size_t)m->topic_len + m->sig_len + m->payload_len;

    ct_put_le32(out, COL_MSG_MAGIC);
    ct_put_le64(out + 4, (uint64_t)m->recv_ms);
    ct_put_le16(out + 12, m->topic_len);
    out[14] = m->sig_len;
    out[15] = m->flags;
    ct_put_le32(out + 16, m->payload_len);
    memcpy(out + COL_MSG_HDR, m->data, body);
}

int col_msg_parse(const uint8_t *rec, size_t len, uint64_t seq, struct col_msg **out)
{
    uint16_t topic_len;
    uint8_t sig_len;
    uint32_t payload_len;
    int rc;

    if (len < COL_MSG_HDR || ct_get_le32(rec) != COL_MSG_MAGIC) {
        return CT_E_CORRUPT;
    }
    topic_len = ct_get_le16(rec + 12);
    sig_len = rec[14];
    payload_len = ct_get_le32(rec + 16);
    if ((size_t)COL_MSG_HDR + topic_len + sig_len + payload_len != len) {
        return CT_E_CORRUPT;
    }
    rc = col_msg_new((const char *)rec + COL_MSG_HDR, topic_len,
                     (const char *)rec + COL_MSG_HDR + topic_len, sig_len,
                     rec + COL_MSG_HDR + topic_len + sig_len, payload_len,
                     (int64_t)ct_get_le64(rec + 4), out);
    if (rc == CT_E_TOOBIG) {
        return CT_E_CORRUPT;
    }
    if (rc == 0) {
        (*out)->seq = seq;
        (*out)->flags = rec[15];
    }
    return rc;
}

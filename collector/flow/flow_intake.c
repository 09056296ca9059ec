/* flow_intake.c - the flow's side of the MQTT client and the intake: a message from the broker
 * goes to the intake (not acknowledged here: the intake acknowledges it once it is in the
 * journal), the connection's events, the intake's ack and pause callbacks, and the durable groups
 * the intake hands over (queued in memory in journal order, or the flow falls behind and reads
 * the journal; flow.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow_int.h"
#include "col_obs.h"
#include "ct/err.h"
#include "ct/lp.h"

/* Loop thread: a message from the broker. It is not acknowledged here: the intake acknowledges
 * it once it is in the journal. */
void col_flow_on_mqtt_msg(void *arg, const struct col_mqtt_msg *m)
{
    struct col_flow *f = arg;
    int rc;

    rc = col_intake_add(f->parts.intake, m->topic, m->topic_len, m->sig, m->sig_len, m->payload,
                        m->payload_len, col_now_ms(), m->token);
    if (rc == CT_E_NOMEM) {
        /* Not acknowledged; PUBACKs go out in order, so nothing after it could be either:
         * reconnect and let the broker deliver it again. */
        col_log(COL_LOG_ERROR, "ingest", "out of memory for a message; reconnecting");
        col_mqtt_reconnect(f->parts.mqtt, "out of memory");
    }
}

void col_flow_on_mqtt_event(void *arg, enum col_mqtt_event ev, const char *why)
{
    struct col_flow *f = arg;

    switch (ev) {
    case COL_MQTT_UP:
        atomic_store(&f->mqtt_connected, true);
        col_log(COL_LOG_INFO, "ingest", "subscribed: %s", why);
        break;
    case COL_MQTT_DOWN:
        if (atomic_exchange(&f->mqtt_connected, false)) {
            col_log(COL_LOG_WARN, "ingest", "MQTT connection down: %s", why);
        }
        if (f->parts.intake != NULL) {
            col_intake_connection_lost(f->parts.intake);
        }
        break;
    case COL_MQTT_SUB_REFUSED:
        f->sub_refused++;
        col_log(COL_LOG_ERROR, "ingest", "ALERT: subscription refused or downgraded: %s", why);
        break;
    }
}

static void intake_ack(void *arg, uint64_t token)
{
    struct col_flow *f = arg;

    if (token & COL_INTAKE_TOKEN_LOCAL) { /* not from the broker: a station file's reading */
        if (f->cfg.on_local_ack != NULL) {
            f->cfg.on_local_ack(f->cfg.arg, token & ~COL_INTAKE_TOKEN_LOCAL);
        }
        return;
    }
    if (f->parts.mqtt != NULL) {
        col_mqtt_ack(f->parts.mqtt, token);
    }
}

static void intake_pause(void *arg, bool pause, const char *why)
{
    struct col_flow *f = arg;

    if (f->parts.mqtt == NULL) {
        return;
    }
    if (pause) {
        col_log(COL_LOG_WARN, "ingest", "MQTT delivery paused: %s (the broker keeps the messages)",
                why);
        col_mqtt_pause(f->parts.mqtt);
    } else {
        col_log(COL_LOG_INFO, "ingest", "MQTT delivery resumed: %s", why);
        col_mqtt_resume(f->parts.mqtt);
    }
}

void flow_free_list(struct col_msg *m)
{
    while (m != NULL) {
        struct col_msg *next = m->next;
        free(m);
        m = next;
    }
}

/* Loop thread: a group is durable (and acknowledged). */
static void intake_durable(void *arg, struct col_msg *list, size_t n)
{
    struct col_flow *f = arg;
    struct col_msg *last = list;
    size_t bytes = 0;

    for (struct col_msg *m = list; m != NULL; m = m->next) {
        bytes += col_msg_record_len(m);
        last = m;
    }
    f->durable_seq = last->seq;
    if (f->behind || f->q_count + n > APP_FLOW_MEM_MAX || f->q_bytes + bytes > APP_FLOW_MEM_BYTES ||
        list->seq != f->q_next_expected) {
        /* They are in the journal: the reader takes them from there. */
        f->behind = true;
        flow_free_list(list);
    } else {
        if (f->q_tail != NULL) {
            f->q_tail->next = list;
        } else {
            f->q_head = list;
        }
        f->q_tail = last;
        f->q_count += n;
        f->q_bytes += bytes;
    }
    f->q_next_expected = last->seq + 1;
    flow_kick(f);
}

int col_flow_create_intake(struct col_flow *f, struct col_spool *spool, struct col_intake **out)
{
    struct col_intake_cfg ic = {
        .group_max_records = f->cfg.group_max_records,
        .group_max_bytes = f->cfg.group_max_bytes,
    };
    struct col_intake_callbacks cbs = {intake_ack, intake_durable, intake_pause};

    f->parts.spool = spool;
    return col_intake_create(f->loop, spool, &ic, &cbs, f, out);
}

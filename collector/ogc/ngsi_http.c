/* ngsi_http.c - GET /ngsi-ld/v1/entities (query) and /ngsi-ld/v1/entities/<id> (retrieve):
 * gathers the entities of each layer asked for from the provider, one layer after the other,
 * keeps those that match, then pages them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_obs.h"
#include "ct/err.h"
#include "ogc_int.h"

#define ROOT "/ngsi-ld/v1/entities"
#define CTX_LINK                                                                                   \
    "Link: <https://smartdatamodels.org/context.jsonld>; "                                         \
    "rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"\r\n"

struct ngsi_req {
    struct col_ogc *o;
    struct col_http_req *req;
    struct col_ngsi_query q;
    cJSON *matched; /* entities that passed the filters, in layer then registry order */
    int next_kind;  /* the next layer to gather */
    bool ld;        /* answer application/ld+json (else application/json with a Link) */
    bool one;       /* retrieve one entity (404 when none) */
};

static void send_problem(struct col_http_req *req, int status, const char *type, const char *detail)
{
    char *doc = NULL;
    if (col_ngsi_problem_doc(type, col_http_reason(status), detail, &doc) != 0) {
        col_http_respond_error(req, status);
        return;
    }
    ogc_send(req, status, "application/json", doc, NULL);
    free(doc);
}

static void finish(struct ngsi_req *r, int status, const char *type, const char *detail)
{
    if (status != 200) {
        send_problem(r->req, status, type, detail);
    }
    col_ngsi_query_free(&r->q);
    cJSON_Delete(r->matched);
    free(r);
}

static void respond(struct ngsi_req *r)
{
    int total = cJSON_GetArraySize(r->matched);
    cJSON *page = cJSON_CreateArray();
    char headers[256] = "";
    char *doc = NULL;

    if (r->one && total == 0) {
        cJSON_Delete(page);
        finish(r, 404, "ResourceNotFound", "no public entity with this id");
        return;
    }
    for (int i = 0; page && i < total; i++) {
        if ((uint32_t)i < r->q.offset || (uint32_t)i - r->q.offset >= r->q.limit) {
            continue;
        }
        cJSON *e = cJSON_DetachItemFromArray(r->matched, (int)r->q.offset);
        if (!r->ld) {
            cJSON_DeleteItemFromObjectCaseSensitive(e, "@context");
        }
        cJSON_AddItemToArray(page, e);
    }
    if (page && r->one) {
        doc = cJSON_PrintUnformatted(cJSON_GetArrayItem(page, 0));
    } else if (page) {
        doc = cJSON_PrintUnformatted(page);
    }
    cJSON_Delete(page);
    if (doc == NULL) {
        finish(r, 500, "InternalError", "out of memory");
        return;
    }
    snprintf(headers, sizeof(headers), "%s", r->ld ? "" : CTX_LINK);
    if (r->q.count) {
        size_t used = strlen(headers);
        snprintf(headers + used, sizeof(headers) - used, "NGSILD-Results-Count: %d\r\n", total);
    }
    ogc_send(r->req, 200, r->ld ? "application/ld+json" : "application/json", doc, headers);
    free(doc);
    finish(r, 200, NULL, NULL);
}

static void gather(struct ngsi_req *r);

static void on_layer(void *ctx, const struct col_layers_src *src)
{
    struct ngsi_req *r = ctx;
    cJSON *all = src ? cJSON_CreateArray() : NULL;
    int rc = src == NULL ? CT_E_AGAIN : all == NULL ? CT_E_NOMEM : 0;

    rc = rc ? rc : col_layers_ngsi_entities(src, (enum ct_kind)r->next_kind, all);
    if (rc != 0) {
        cJSON_Delete(all);
        finish(r, 503, "InternalError", "the store has not answered yet");
        return;
    }
    cJSON *e;
    while ((e = cJSON_DetachItemFromArray(all, 0)) != NULL) {
        if (col_ngsi_match(&r->q, e)) {
            cJSON_AddItemToArray(r->matched, e);
        } else {
            cJSON_Delete(e);
        }
    }
    cJSON_Delete(all);
    r->next_kind++;
    gather(r);
}

/* Asks the provider for the next layer of the query, or answers when none is left. The
 * provider may call on_layer at once (a cached layer): the recursion is at most
 * CT_KIND__COUNT deep. */
static void gather(struct ngsi_req *r)
{
    while (r->next_kind < CT_KIND__COUNT && !(r->q.kinds & (1u << r->next_kind))) {
        r->next_kind++;
    }
    if (r->next_kind == CT_KIND__COUNT) {
        respond(r);
        return;
    }
    if (r->o->p.layer(r->o->p.arg, (enum ct_kind)r->next_kind, on_layer, r) != 0) {
        finish(r, 503, "InternalError", "the layer is not available");
    }
}

/* Accept: application/ld+json -> JSON-LD; application/json, * / *, none -> JSON; else 406. */
static int negotiate(const char *accept, bool *ld)
{
    *ld = false;
    if (accept == NULL || strstr(accept, "application/json") || strstr(accept, "*/*") ||
        strstr(accept, "application/*")) {
        *ld = accept != NULL && strstr(accept, "application/ld+json") != NULL &&
              !strstr(accept, "application/json");
        return 0;
    }
    if (strstr(accept, "application/ld+json")) {
        *ld = true;
        return 0;
    }
    return CT_E_INVAL;
}

void ogc_on_ngsi(struct col_http_req *req, void *arg)
{
    struct col_ogc *o = arg;
    const char *path = col_http_req_path(req);
    const char *rest = path + strlen(ROOT);
    const char *names[COL_HTTP_MAX_QUERY];
    const char *values[COL_HTTP_MAX_QUERY];
    size_t n = col_http_req_nquery(req);
    struct col_ngsi_problem pb;
    bool ld;

    if (*rest != '\0' && (*rest != '/' || strchr(rest + 1, '/') != NULL)) {
        send_problem(req, 404, "ResourceNotFound", "no such resource");
        return;
    }
    if (negotiate(col_http_req_accept(req), &ld) != 0) {
        send_problem(req, 406, "NotAcceptable",
                     "entities are offered as application/json and application/ld+json");
        return;
    }
    struct ngsi_req *r = calloc(1, sizeof(*r));
    cJSON *matched = cJSON_CreateArray();
    if (r == NULL || matched == NULL) {
        free(r);
        cJSON_Delete(matched);
        send_problem(req, 500, "InternalError", "out of memory");
        return;
    }
    r->o = o;
    r->req = req;
    r->ld = ld;
    r->matched = matched;
    if (rest[0] == '/' && rest[1] != '\0') {
        /* Retrieve: the id names the layer; no query parameters but the ignored options. */
        const char *id = rest + 1;
        enum ct_kind kind;
        col_ngsi_query_parse(names, values, 0, &r->q, &pb);
        if (strlen(id) >= sizeof(r->q.ids[0]) || col_ngsi_id_kind(id, &kind) != 0) {
            finish(r, 404, "ResourceNotFound", "no public entity with this id");
            return;
        }
        r->one = true;
        r->q.kinds = 1u << kind;
        r->q.nids = 1;
        memcpy(r->q.ids[0], id, strlen(id) + 1);
        gather(r);
        return;
    }
    if (rest[0] == '/') {
        finish(r, 400, "BadRequestData", "an entity id is empty");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        values[i] = col_http_req_query_at(req, i, &names[i]);
    }
    if (col_ngsi_query_parse(names, values, n, &r->q, &pb) != 0) {
        finish(r, 400, pb.type, pb.detail);
        return;
    }
    gather(r);
}

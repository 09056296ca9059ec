/* ogc_int.h - internals shared by col_ogc's files (not for other modules). */
#ifndef OGC_INT_H
#define OGC_INT_H
#include "col_ogc.h"

#define OGC_URL_MAX 1024 /* longest base URL */

struct col_ogc {
    struct col_ogc_provider p;
    char base_url[OGC_URL_MAX / 2]; /* ogc.base_url; "" = from the request */
};

/* Sends a JSON document (compressed, ETagged, CORS open, cached 30 s). */
void ogc_send(struct col_http_req *req, int status, const char *type, const char *doc,
              const char *extra_headers);
/* GET /ngsi-ld/v1/entities[/<id>] (ngsi_http.c). */
void ogc_on_ngsi(struct col_http_req *req, void *arg);

#endif

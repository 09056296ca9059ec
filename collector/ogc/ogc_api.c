/* ogc_api.c - the OpenAPI 3.0 definition (service-desc) and the HTML page (service-doc) of the
 * OGC API - Features endpoints. The definition lists every path the API serves, which is what
 * the conformance class oas30 asks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_ogc.h"
#include "ct/err.h"

/* The definition without its server URL (set per request). Kept in one literal so that it reads
 * like the document a client gets. */
static const char openapi_json[] =
    "{\"openapi\":\"3.0.3\","
    "\"info\":{\"title\":\"citytel - Hanoi city sensors (OGC API - Features)\","
    "\"version\":\"1.0.0\",\"description\":\"Latest public values of the air, water, rain, "
    "street flooding and parking stations of Hanoi. Coordinates are CRS84 (lon, lat).\"},"
    "\"servers\":[{\"url\":\"\"}],"
    "\"paths\":{"
    "\"/\":{\"get\":{\"summary\":\"Landing page\",\"operationId\":\"getLandingPage\","
    "\"responses\":{\"200\":{\"description\":\"Links to the API\",\"content\":{"
    "\"application/json\":{}}}}}},"
    "\"/conformance\":{\"get\":{\"summary\":\"Conformance classes\","
    "\"operationId\":\"getConformanceDeclaration\",\"responses\":{\"200\":{\"description\":"
    "\"The conformance classes\",\"content\":{\"application/json\":{}}}}}},"
    "\"/api\":{\"get\":{\"summary\":\"This definition\",\"operationId\":\"getAPI\","
    "\"responses\":{\"200\":{\"description\":\"OpenAPI 3.0\",\"content\":{"
    "\"application/vnd.oai.openapi+json;version=3.0\":{}}}}}},"
    "\"/api.html\":{\"get\":{\"summary\":\"API documentation\",\"operationId\":\"getAPIDoc\","
    "\"responses\":{\"200\":{\"description\":\"HTML\",\"content\":{\"text/html\":{}}}}}},"
    "\"/collections\":{\"get\":{\"summary\":\"The layers\",\"operationId\":\"getCollections\","
    "\"responses\":{\"200\":{\"description\":\"The five layers\",\"content\":{"
    "\"application/json\":{}}}}}},"
    "\"/collections/{collectionId}\":{\"get\":{\"summary\":\"One layer\","
    "\"operationId\":\"describeCollection\","
    "\"parameters\":[{\"$ref\":\"#/components/parameters/collectionId\"}],"
    "\"responses\":{\"200\":{\"description\":\"The layer\",\"content\":{"
    "\"application/json\":{}}},\"404\":{\"$ref\":\"#/components/responses/NotFound\"}}}},"
    "\"/collections/{collectionId}/items\":{\"get\":{\"summary\":\"The layer's stations\","
    "\"operationId\":\"getFeatures\",\"parameters\":["
    "{\"$ref\":\"#/components/parameters/collectionId\"},"
    "{\"name\":\"limit\",\"in\":\"query\",\"required\":false,\"style\":\"form\","
    "\"explode\":false,\"schema\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,"
    "\"default\":100}},"
    "{\"name\":\"offset\",\"in\":\"query\",\"required\":false,\"schema\":{\"type\":"
    "\"integer\",\"minimum\":0,\"default\":0}},"
    "{\"name\":\"bbox\",\"in\":\"query\",\"required\":false,\"style\":\"form\","
    "\"explode\":false,\"schema\":{\"type\":\"array\",\"minItems\":4,\"maxItems\":4,"
    "\"items\":{\"type\":\"number\"}}},"
    "{\"name\":\"bbox-crs\",\"in\":\"query\",\"required\":false,\"schema\":{\"type\":"
    "\"string\",\"enum\":[\"http://www.opengis.net/def/crs/OGC/1.3/CRS84\"]}},"
    "{\"name\":\"crs\",\"in\":\"query\",\"required\":false,\"schema\":{\"type\":\"string\","
    "\"enum\":[\"http://www.opengis.net/def/crs/OGC/1.3/CRS84\"]}},"
    "{\"name\":\"datetime\",\"in\":\"query\",\"required\":false,\"schema\":{\"type\":"
    "\"string\"}},"
    "{\"name\":\"f\",\"in\":\"query\",\"required\":false,\"schema\":{\"type\":\"string\","
    "\"enum\":[\"json\",\"geojson\"]}}],"
    "\"responses\":{\"200\":{\"description\":\"A GeoJSON FeatureCollection\",\"content\":{"
    "\"application/geo+json\":{}}},\"400\":{\"$ref\":\"#/components/responses/"
    "InvalidParameter\"},\"404\":{\"$ref\":\"#/components/responses/NotFound\"}}}},"
    "\"/collections/{collectionId}/items/{featureId}\":{\"get\":{\"summary\":\"One station\","
    "\"operationId\":\"getFeature\",\"parameters\":["
    "{\"$ref\":\"#/components/parameters/collectionId\"},"
    "{\"name\":\"featureId\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":"
    "\"string\"}}],"
    "\"responses\":{\"200\":{\"description\":\"A GeoJSON Feature\",\"content\":{"
    "\"application/geo+json\":{}}},\"404\":{\"$ref\":\"#/components/responses/NotFound\"}}}}"
    "},"
    "\"components\":{"
    "\"parameters\":{\"collectionId\":{\"name\":\"collectionId\",\"in\":\"path\","
    "\"required\":true,\"schema\":{\"type\":\"string\",\"enum\":[\"air\",\"water\","
    "\"rain\",\"flood\",\"parking\"]}}},"
    "\"schemas\":{\"exception\":{\"type\":\"object\",\"required\":[\"code\"],"
    "\"properties\":{\"code\":{\"type\":\"string\"},\"description\":{\"type\":"
    "\"string\"}}}},"
    "\"responses\":{"
    "\"InvalidParameter\":{\"description\":\"A query parameter is not valid\",\"content\":{"
    "\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/exception\"}}}},"
    "\"NotFound\":{\"description\":\"No such collection or feature\",\"content\":{"
    "\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/exception\"}}}}}}}";

int col_ogc_openapi(const char *base, char **out)
{
    *out = NULL;
    cJSON *doc = cJSON_Parse(openapi_json);
    cJSON *servers = doc ? cJSON_GetObjectItemCaseSensitive(doc, "servers") : NULL;
    cJSON *server = cJSON_GetArrayItem(servers, 0);
    cJSON *url = server ? cJSON_CreateString(base) : NULL;
    if (!url || !cJSON_ReplaceItemInObjectCaseSensitive(server, "url", url)) {
        cJSON_Delete(url);
        cJSON_Delete(doc);
        return CT_E_NOMEM;
    }
    *out = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return *out ? 0 : CT_E_NOMEM;
}

int col_ogc_doc_html(const char *base, char **out)
{
    static const char fmt[] =
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
        "<title>citytel OGC API - Features</title></head><body>\n"
        "<h1>Dữ liệu quan trắc Hà Nội / Hanoi city sensors</h1>\n"
        "<p>OGC API - Features (Part 1, GeoJSON, CRS84). Thêm vào QGIS hoặc GDAL bằng địa chỉ "
        "/ add to QGIS or GDAL with: <code>%s</code></p>\n<ul>\n"
        "<li><a href=\"%s\">%s</a> – landing page</li>\n"
        "<li><a href=\"%s/conformance\">/conformance</a></li>\n"
        "<li><a href=\"%s/api\">/api</a> – OpenAPI 3.0 (JSON)</li>\n"
        "<li><a href=\"%s/collections\">/collections</a> – air, water, rain, flood, parking"
        "</li>\n"
        "<li>/collections/{layer}/items?bbox=minLon,minLat,maxLon,maxLat&amp;limit=&amp;"
        "offset=&amp;datetime=</li>\n"
        "<li>/collections/{layer}/items/{station id}</li>\n</ul>\n</body></html>\n";
    char safe[1100];
    /* The base comes from the Host header (checked to plain host characters) and a fixed path,
     * so it holds nothing HTML would interpret. */
    snprintf(safe, sizeof(safe), "%s", base);
    int n = snprintf(NULL, 0, fmt, safe, safe, safe, safe, safe, safe);
    *out = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!*out) {
        return CT_E_NOMEM;
    }
    snprintf(*out, (size_t)n + 1, fmt, safe, safe, safe, safe, safe, safe);
    return 0;
}

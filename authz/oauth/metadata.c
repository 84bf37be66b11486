/*
 * metadata.c: RFC 8414 authorization server metadata (served at the four
 * discovery URLs of SPEC §2, one document) and the tenant's JWK Set. Both are
 * rendered once per tenant snapshot and answered from memory.
 */
#include "http/routes.h"
#include "cache.h"

#include <stdlib.h>
#include <string.h>

enum hres req_tenant(struct req *r)
{
    if (r->tenant)
        return H_DONE;
    struct tenant *t = NULL;
    if (cache_tenant(r, r->params[0], &t) == H_BLOCK)
        return H_BLOCK;
    r->tenant = t;
    if (!t && !r->db_down)
        resp_error(r, 404, "not_found", "no such tenant");
    return H_DONE;
}

enum hres h_metadata(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    resp_json(r, 200, strdup(r->tenant->metadata_json));
    resp_header(r, "Cache-Control", "public, max-age=60");
    resp_header(r, "Access-Control-Allow-Origin", "*");
    return H_DONE;
}

enum hres h_jwks(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    resp_set(r, 200, "application/jwk-set+json", strdup(r->tenant->jwks_json),
             strlen(r->tenant->jwks_json));
    resp_header(r, "Cache-Control", "public, max-age=60");
    resp_header(r, "Access-Control-Allow-Origin", "*");
    return H_DONE;
}

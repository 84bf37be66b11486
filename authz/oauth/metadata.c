/*
 * metadata.c: RFC 8414 authorization server metadata (served at the four
 * discovery URLs of SPEC §2, one document) and the tenant's JWK Set. Both are
 * rendered once per tenant snapshot and answered from memory, also while
 * the database is down for a tenant loaded before (cache_public_doc).
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
    if (!cache_tenant(&r->tx, r->can_block, r->params[0], &t))
        return H_BLOCK;
    r->tenant = t;
    if (!t && !r->tx.down)
        resp_error(r, 404, "not_found", "no such tenant");
    return H_DONE;
}

/* The document of the request's tenant: from its snapshot, or, while the
 * database cannot be reached, as last loaded (public documents: a stale one
 * serves resource servers better than a 503). NULL: no such tenant, or
 * never seen while the database is down (r->tx.down still says 503). */
static char *tenant_public_doc(struct req *r, enum public_doc which)
{
    if (r->tenant)
        return strdup(which == PUBLIC_JWKS ? r->tenant->jwks_json : r->tenant->metadata_json);
    if (!r->tx.down)
        return NULL;
    char *doc = cache_public_doc(r->params[0], which);
    if (doc)
        r->tx.down = false;
    return doc;
}

enum hres h_metadata(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    char *doc = tenant_public_doc(r, PUBLIC_METADATA);
    if (!doc)
        return H_DONE;
    resp_json(r, 200, doc);
    resp_header(r, "Cache-Control", "public, max-age=60");
    resp_header(r, "Access-Control-Allow-Origin", "*");
    return H_DONE;
}

enum hres h_jwks(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    char *doc = tenant_public_doc(r, PUBLIC_JWKS);
    if (!doc)
        return H_DONE;
    resp_set(r, 200, "application/jwk-set+json", doc, strlen(doc));
    resp_header(r, "Cache-Control", "public, max-age=60");
    resp_header(r, "Access-Control-Allow-Origin", "*");
    return H_DONE;
}

/*
 * people.c: what token exchange and session grants need to know about a
 * person: who they are (by id or username), their own scopes, and what they
 * consented to a given agent.
 */
#include "storage/store.h"
#include "storage/db.h"
#include "http/http.h"

#include <string.h>

static int arr(struct req *r, const char *lit, const char ***out)
{
    /* text[] literal of scope tokens and URIs (no quotes needed for scope
     * tokens; URIs may be quoted) */
    *out = NULL;
    if (!lit || lit[0] != '{')
        return 0;
    int cap = 1;
    for (const char *p = lit; *p; p++)
        if (*p == ',')
            cap++;
    const char **v = arena_alloc(r->arena, sizeof(char *) * (size_t)(cap + 1));
    int n = 0;
    const char *p = lit + 1;
    while (*p && *p != '}') {
        struct strbuf sb;
        sb_init(&sb);
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                sb_putc(&sb, *p++);
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != '}')
                sb_putc(&sb, *p++);
        }
        v[n++] = arena_strdup(r->arena, sb.buf ? sb.buf : "");
        sb_free(&sb);
        if (*p == ',')
            p++;
    }
    *out = v;
    return n;
}

int person_find(struct req *r, const char *tenant_id, const char *id, const char *username,
                struct person *out)
{
    memset(out, 0, sizeof *out);
    const char *v[3] = {tenant_id, id, username};
    PGresult *res = db_q(r,
                         "SELECT id, username, scopes::text FROM users WHERE tenant_id = $1 AND "
                         "(($2::text IS NOT NULL AND id::text = $2) OR "
                         "($3::text IS NOT NULL AND username = $3))",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->id = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
    out->username = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
    out->nscopes = arr(r, PQgetvalue(res, 0, 2), &out->scopes);
    return 1;
}

int consent_find(struct req *r, const char *tenant_id, const char *user_id, const char *client_id,
                 const char ***scopes, int *nscopes, const char ***resources, int *nresources)
{
    const char *v[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(r,
                         "SELECT scopes::text, resources::text FROM consents WHERE tenant_id = $1 "
                         "AND user_id = $2::uuid AND client_id = $3",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    *nscopes = arr(r, PQgetvalue(res, 0, 0), scopes);
    *nresources = arr(r, PQgetvalue(res, 0, 1), resources);
    return 1;
}

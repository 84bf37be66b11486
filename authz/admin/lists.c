/*
 * lists.c: the lists of SPEC §13, keyset-paged as the audit list is (SPEC
 * §7: `limit` 1–1000, default 100, anything else 400; `cursor` the opaque
 * position of the last row of the previous page, `next_cursor` null on the
 * last page):
 *
 *   GET /admin/v1/tenants                        (root only)
 *   GET /admin/v1/tenants/{t}/users?status=
 *   GET /admin/v1/tenants/{t}/clients?owner=&status=
 *
 * Oldest first. A cursor is base64url("<microseconds>:<uuid>"), a position
 * and nothing else: the statements are bounded by the tenant in the path
 * (storage/lists.c), so a cursor taken from another tenant's list shows
 * nothing of that tenant. A malformed cursor, limit or filter is a 400
 * problem and reads nothing.
 */
#include "admin/admin.h"
#include "util/text.h"
#include "admin/body.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "storage/db.h"
#include "storage/lists.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool admin_bigint_ok(const char *digits)
{
    size_t n = strlen(digits);
    return n >= 1 && (n < 19 || (n == 19 && strcmp(digits, "9223372036854775807") <= 0));
}

bool admin_list_cursor(const char *cursor, struct arena *a, const char **us, const char **id)
{
    char buf[128];
    ssize_t n = b64url_decode(cursor, strlen(cursor), buf, sizeof buf - 1);
    if (n < 3)
        return false;
    buf[n] = '\0';
    if (strlen(buf) != (size_t)n)
        return false; /* a NUL inside */
    char *colon = strchr(buf, ':');
    if (!colon || colon == buf || colon - buf > 19)
        return false;
    *colon = '\0';
    for (char *p = buf; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    if (!admin_bigint_ok(buf) || !text_uuid(colon + 1, true))
        return false;
    *us = arena_strdup(a, buf);
    *id = arena_strdup(a, colon + 1);
    return true;
}

/* limit and cursor of a list call; false when answered (400) */
static bool page_params(struct req *r, long *limit, const char **cur_us, const char **cur_id)
{
    const char *l = req_query_param(r, "limit");
    const char *c = req_query_param(r, "cursor");
    if ((!l && req_query_has(r, "limit")) || (!c && req_query_has(r, "cursor"))) {
        admin_problem(r, 400, !l && req_query_has(r, "limit") ? "malformed or empty limit"
                                                             : "malformed or empty cursor");
        return false;
    }
    *limit = AUTHZ_AUDIT_PAGE_DEFAULT;
    if (l) {
        char *end;
        *limit = strtol(l, &end, 10);
        if (*end || end == l || *limit < 1 || *limit > AUTHZ_AUDIT_PAGE_MAX) {
            admin_problem(r, 400, "limit must be a whole number from 1 to 1000");
            return false;
        }
    }
    *cur_us = *cur_id = NULL;
    if (c && !admin_list_cursor(c, r->arena, cur_us, cur_id)) {
        admin_problem(r, 400, "malformed cursor");
        return false;
    }
    return true;
}

/* a filter: absent (NULL), or present and well-formed; false when answered */
static bool filter(struct req *r, const char *name, const char **out)
{
    *out = req_query_param(r, name);
    if ((!*out && req_query_has(r, name)) || (*out && !**out)) {
        admin_problem(r, 400, arena_sprintf(r->arena, "malformed or empty %s", name));
        return false;
    }
    return true;
}

static bool status_filter(struct req *r, const char **status)
{
    if (!filter(r, "status", status))
        return false;
    if (*status && strcmp(*status, "active") != 0 && strcmp(*status, "disabled") != 0) {
        admin_problem(r, 400, "status must be active or disabled");
        return false;
    }
    return true;
}

static bool get_only(struct req *r)
{
    if (r->method != M_GET) {
        admin_problem(r, 405, "method not allowed here");
        resp_header(r, "Allow", "GET, HEAD");
        return false;
    }
    return admin_no_body(r);
}

void admin_tenants_list(struct req *r, const struct caller *who)
{
    (void)who; /* the router lets only the root operator here */
    long limit;
    const char *us, *id;
    if (!get_only(r) || !page_params(r, &limit, &us, &id))
        return;
    PGresult *res = store_tenants_page(&r->tx, us, id, (int)limit + 1);
    if (res)
        admin_page_answer(r, res, "tenants", (int)limit, ':');
}

void admin_users_list(struct req *r, const struct admin_call *c)
{
    const struct tenant *t = c->t;
    long limit;
    const char *us, *id, *status;
    if (!page_params(r, &limit, &us, &id) || !status_filter(r, &status))
        return;
    PGresult *res = store_users_page(&r->tx, t->id, status, us, id, (int)limit + 1);
    if (res)
        admin_page_answer(r, res, "users", (int)limit, ':');
}

void admin_clients_list(struct req *r, const struct admin_call *c)
{
    const struct tenant *t = c->t;
    long limit;
    const char *us, *id, *status, *owner;
    if (!page_params(r, &limit, &us, &id) || !status_filter(r, &status) ||
        !filter(r, "owner", &owner))
        return;
    PGresult *res = store_clients_page(&r->tx, t->id, owner, status, us, id, (int)limit + 1);
    if (res)
        admin_page_answer(r, res, "clients", (int)limit, ':');
}

/*
 * body.h: how every call of the tenant admin API reads its JSON body (SPEC
 * §7, §9). A call that takes a body describes it with a table of members
 * (name, JSON types, required or read-only, a check of the value); the
 * reader refuses a member the table does not name with a 400 naming it (and
 * the member it probably meant), and likewise a read-only member, a wrong
 * type, a missing required member or a bad value, before anything is
 * written. A call that takes no body accepts none, or `{}`, and refuses
 * anything else the same way.
 *
 * A statement PostgreSQL refuses is answered here too: 409 for a unique
 * violation, 400 for any other constraint or data error, each naming the
 * member the broken constraint guards; PostgreSQL's own message never
 * reaches the client.
 */
#ifndef AUTHZ_ADMIN_BODY_H
#define AUTHZ_ADMIN_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct arena;
struct req;

/* The JSON types a member may have (a set). */
enum {
    BT_STRING = 1 << 0,
    BT_INTEGER = 1 << 1,
    BT_BOOLEAN = 1 << 2,
    BT_ARRAY = 1 << 3,
    BT_OBJECT = 1 << 4,
    BT_NULL = 1 << 5,
    BT_ANY = (1 << 6) - 1,
};

enum {
    BM_REQUIRED = 1 << 0,  /* present and not null */
    BM_READ_ONLY = 1 << 1, /* known, but the server sets it: refused */
};

struct body_member {
    const char *name;
    unsigned types; /* BT_* */
    unsigned flags; /* BM_* */
    /* NULL when v (of an accepted type other than null) is a good value;
     * else what is wrong with it, completing "<name> ...", e.g. "must be 8
     * to 1024 characters". NULL check: every value of the types is good. */
    const char *(*check)(json_t *v);
    /* other names people write for it, space-separated, for the
     * did-you-mean hint (e.g. "scope" for allowed_scopes); may be NULL */
    const char *aka;
};

/* The members of one call's body. */
struct body_spec {
    const struct body_member *members;
    size_t n;
};
#define BODY_SPEC(table) {table, sizeof table / sizeof table[0]}

/* What is wrong with the object b under spec, as a problem detail naming
 * the member (in a), or NULL when spec accepts it. */
const char *body_check(struct arena *a, const struct body_spec *spec, json_t *b);
/* The member of spec an unknown name probably meant (a near miss, or one
 * of its aka names), or NULL. */
const char *body_suggest(const struct body_spec *spec, const char *name);

/* The request body as a JSON object spec accepts, or NULL with the 400
 * answer set. The caller decrefs it. */
json_t *admin_read_body(struct req *r, const struct body_spec *spec);
/* For a call that takes no body: true when there is none (or only white
 * space), or it is `{}`; else false with the 400 answer set. */
bool admin_no_body(struct req *r);

/* The member of spec a refused statement's constraint (default PostgreSQL
 * names: <table>_<columns>_check/_key/_fkey) or column names; else
 * fallback (may be NULL). */
const char *body_db_field(const struct body_spec *spec, const char *table, const char *constraint,
                          const char *column, const char *fallback);
/* After a statement of the open transaction failed: rolls it back and
 * answers 409 (unique violation) or 400 (other constraint or data errors)
 * naming the member (field when the constraint names none of spec's), 500
 * for other failures; nothing when the database is down (503 follows). */
void admin_tx_refused(struct req *r, const struct body_spec *spec, const char *field);

#endif

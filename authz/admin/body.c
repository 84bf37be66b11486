/*
 * body.c: the one reader of admin API request bodies (see body.h). The
 * checks are pure functions of a member table and a parsed object, so that
 * every call refuses the same things with the same words: an unknown member
 * (SPEC §9: "refused with 400 naming it, on every call"), a read-only one, a
 * wrong type, a missing required one, a bad value. Refused statements are
 * mapped to the member their constraint guards, from the diagnostics
 * PostgreSQL returns with the error, never from its message.
 */
#include "admin/body.h"
#include "admin/admin.h"
#include "http/http.h"
#include "storage/db.h"
#include "util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A member name echoed in a detail: at most this many bytes of it. */
#define ECHO_MAX 64
/* Names longer than this are nobody's near miss. */
#define SUGGEST_MAX 64

/* ---------------------------------------------------------------- */
/* the member table                                                  */

static const struct body_member *member_find(const struct body_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->n; i++)
        if (!strcmp(spec->members[i].name, name))
            return &spec->members[i];
    return NULL;
}

static int tolower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Optimal string alignment distance (Levenshtein with transpositions),
 * ASCII case folded; both strings at most SUGGEST_MAX bytes. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned short d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (unsigned short)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (unsigned short)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower_ascii(a[i - 1]), cb = tolower_ascii(b[j - 1]);
            int best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower_ascii(b[j - 2]) && tolower_ascii(a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = (unsigned short)best;
        }
    }
    return d[la][lb];
}

/* true when name is one of the space-separated words of aka */
static bool aka_has(const char *aka, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = aka; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncasecmp(p, name, n))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

const char *body_suggest(const struct body_spec *spec, const char *name)
{
    if (strlen(name) > SUGGEST_MAX)
        return NULL;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < spec->n; i++) {
        const struct body_member *m = &spec->members[i];
        if (m->flags & BM_READ_ONLY)
            continue;
        if (aka_has(m->aka, name))
            return m->name;
        if (strlen(m->name) > SUGGEST_MAX)
            continue;
        size_t d = edit_distance(name, m->name);
        /* a near miss: at most two edits, and few for the name's length
         * ("url" for "uri", not "id" for "uri") */
        if (d <= 2 && d * 3 <= strlen(m->name) && d < best_d) {
            best = m->name;
            best_d = d;
        }
    }
    return best;
}

/* ---------------------------------------------------------------- */
/* checking an object                                                */

static unsigned type_of(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return BT_STRING;
    case JSON_INTEGER: return BT_INTEGER;
    case JSON_TRUE:
    case JSON_FALSE: return BT_BOOLEAN;
    case JSON_ARRAY: return BT_ARRAY;
    case JSON_OBJECT: return BT_OBJECT;
    case JSON_NULL: return BT_NULL;
    default: return 0; /* a real: no member takes one */
    }
}

/* "a string", "an integer or null", "a string, an array or null" */
static const char *types_text(struct arena *a, unsigned types)
{
    static const struct {
        unsigned bit;
        const char *text;
    } names[] = {{BT_STRING, "a string"}, {BT_INTEGER, "an integer"},
                 {BT_BOOLEAN, "true or false"}, {BT_ARRAY, "an array"},
                 {BT_OBJECT, "an object"}, {BT_NULL, "null"}};
    const char *out = "";
    size_t left = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (types & names[i].bit)
            left++;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(types & names[i].bit))
            continue;
        left--;
        out = arena_sprintf(a, "%s%s%s", out, names[i].text,
                            left == 0 ? "" : left == 1 ? " or " : ", ");
    }
    return out;
}

/* A member name from the client, quoted for a detail: at most ECHO_MAX
 * bytes, cut at a character boundary (jansson gave valid UTF-8). */
static const char *echo_name(struct arena *a, const char *name)
{
    size_t n = strlen(name);
    if (n <= ECHO_MAX)
        return arena_sprintf(a, "\"%s\"", name);
    n = ECHO_MAX;
    while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
        n--;
    return arena_sprintf(a, "\"%s…\"", arena_strndup(a, name, n));
}

/* The names a call takes, for the detail of an unknown member. */
static const char *known_names(struct arena *a, const struct body_spec *spec)
{
    const char *out = "";
    for (size_t i = 0; i < spec->n; i++)
        if (!(spec->members[i].flags & BM_READ_ONLY))
            out = arena_sprintf(a, "%s%s%s", out, *out ? ", " : "", spec->members[i].name);
    return out;
}

static const char *unknown_detail(struct arena *a, const struct body_spec *spec, const char *key)
{
    const char *hint = body_suggest(spec, key);
    if (hint)
        return arena_sprintf(a, "unknown member %s (did you mean \"%s\"?)", echo_name(a, key), hint);
    if (spec->n == 0)
        return arena_sprintf(a, "unknown member %s: this call takes no body (send none, or {})",
                             echo_name(a, key));
    return arena_sprintf(a, "unknown member %s (this call takes %s)", echo_name(a, key),
                         known_names(a, spec));
}

/* What is wrong with member m's value v (present, maybe null), or NULL. */
static const char *member_detail(struct arena *a, const struct body_member *m, json_t *v)
{
    if (json_is_null(v) && (m->flags & BM_REQUIRED))
        return arena_sprintf(a, "%s is required", m->name);
    if (!(type_of(v) & m->types))
        return arena_sprintf(a, "%s must be %s", m->name, types_text(a, m->types));
    if (json_is_null(v) || !m->check)
        return NULL;
    const char *why = m->check(v);
    return why ? arena_sprintf(a, "%s %s", m->name, why) : NULL;
}

const char *body_check(struct arena *a, const struct body_spec *spec, json_t *b)
{
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v)
    {
        const struct body_member *m = member_find(spec, key);
        if (!m)
            return unknown_detail(a, spec, key);
        if (m->flags & BM_READ_ONLY)
            return arena_sprintf(a, "%s is read-only", m->name);
    }
    for (size_t i = 0; i < spec->n; i++) {
        const struct body_member *m = &spec->members[i];
        v = json_object_get(b, m->name);
        if (!v) {
            if (m->flags & BM_REQUIRED)
                return arena_sprintf(a, "%s is required", m->name);
            continue;
        }
        const char *why = member_detail(a, m, v);
        if (why)
            return why;
    }
    return NULL;
}

/* ---------------------------------------------------------------- */
/* reading the request                                               */

/* The body parsed as JSON (duplicate members refused; jansson refuses
 * invalid UTF-8 and \u0000), or NULL with why set. */
static json_t *parse(struct req *r, const char **why)
{
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        *why = arena_sprintf(r->arena, "malformed JSON: %s", je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *why = "the body must be a JSON object";
        return NULL;
    }
    return j;
}

json_t *admin_read_body(struct req *r, const struct body_spec *spec)
{
    if (r->body_len == 0) {
        admin_problem(r, 400, "a JSON object body is required");
        return NULL;
    }
    const char *why = NULL;
    json_t *b = parse(r, &why);
    if (b && !(why = body_check(r->arena, spec, b)))
        return b;
    json_decref(b);
    admin_problem(r, 400, why);
    return NULL;
}

/* true when the body is empty or only JSON white space (RFC 8259 §2) */
static bool body_blank(const struct req *r)
{
    for (size_t i = 0; i < r->body_len; i++)
        if (!strchr(" \t\r\n", r->body[i]) || r->body[i] == '\0')
            return false;
    return true;
}

bool admin_no_body(struct req *r)
{
    if (body_blank(r))
        return true;
    static const struct body_spec none = {NULL, 0};
    const char *why = NULL;
    json_t *b = parse(r, &why);
    if (!b) {
        admin_problem(r, 400, "this call takes no body (send none, or {})");
        return false;
    }
    why = body_check(r->arena, &none, b);
    json_decref(b);
    if (!why)
        return true;
    admin_problem(r, 400, why);
    return false;
}

/* ---------------------------------------------------------------- */
/* refused statements                                                */

/* The member of spec (not a read-only one) named by cols, the column part
 * of a constraint name: exactly, or as its last column
 * ("tenant_id_username" -> username). */
static const char *member_in(const struct body_spec *spec, const char *cols, size_t n)
{
    for (size_t i = 0; i < spec->n; i++) {
        if (spec->members[i].flags & BM_READ_ONLY)
            continue; /* not the client's to give */
        const char *m = spec->members[i].name;
        size_t l = strlen(m);
        if (l == n && !strncmp(cols, m, n))
            return m;
        if (l < n && cols[n - l - 1] == '_' && !strncmp(cols + n - l, m, l))
            return m;
    }
    return NULL;
}

const char *body_db_field(const struct body_spec *spec, const char *table, const char *constraint,
                          const char *column, const char *fallback)
{
    size_t tl = table ? strlen(table) : 0;
    if (spec && constraint && tl && !strncmp(constraint, table, tl) && constraint[tl] == '_') {
        /* <table>_<columns>_<kind>: drop the kind (check, check1, key, fkey, excl) */
        const char *cols = constraint + tl + 1;
        const char *kind = strrchr(cols, '_');
        const char *m = kind ? member_in(spec, cols, (size_t)(kind - cols)) : NULL;
        if (m)
            return m;
    }
    const char *m = spec && column && *column ? member_in(spec, column, strlen(column)) : NULL;
    return m && !strcmp(m, column) ? m : fallback;
}

/* The 400 detail for a data or constraint error of class 22 / 23. */
static const char *refusal_text(const char *sqlstate)
{
    if (!strcmp(sqlstate, "23502"))
        return "is required";
    if (!strcmp(sqlstate, "23503"))
        return "names nothing that exists";
    if (!strcmp(sqlstate, "22001"))
        return "is too long";
    if (!strcmp(sqlstate, "22003"))
        return "is out of range";
    if (!strncmp(sqlstate, "23", 2))
        return "is not an allowed value";
    return "is not a valid value";
}

void admin_tx_refused(struct req *r, const struct body_spec *spec, const char *field)
{
    struct db_failure f;
    db_last_failure(&r->tx, &f);
    /* copies: the rollback below is the next statement on r */
    const char *ss = arena_strdup(r->arena, f.sqlstate);
    const char *name = body_db_field(spec, f.table, f.constraint, f.column, field);
    name = name ? arena_strdup(r->arena, name) : "a member of the body";
    db_rollback(&r->tx);
    if (r->tx.down)
        return;
    if (!strcmp(ss, "23505"))
        admin_problem(r, 409, arena_sprintf(r->arena, "%s: this value is taken already", name));
    else if (!strncmp(ss, "23", 2) || !strncmp(ss, "22", 2))
        admin_problem(r, 400, arena_sprintf(r->arena, "%s %s", name, refusal_text(ss)));
    else
        admin_problem(r, 500, "the change could not be stored");
}

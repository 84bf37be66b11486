/*
 * scope.c: scope parsing and set operations, and the resource indicator
 * syntax check. Pure functions: the unit tests exercise them directly.
 */
#include "policy/scope.h"
#include "policy/uri.h"
#include "util/arena.h"

#include <string.h>
#include <strings.h>

static bool scope_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

bool scope_token_valid(const char *s)
{
    if (!s || !*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!scope_char(*p))
            return false;
    return true;
}

int scope_parse(struct arena *a, const char *s, struct scopeset *set)
{
    set->n = 0;
    set->v = NULL;
    if (!s)
        return 0;
    size_t len = strlen(s);
    if (len > AUTHZ_SCOPE_MAX)
        return -1;
    int cap = 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ' ')
            cap++;
    set->v = arena_alloc(a, sizeof(char *) * (size_t)cap);
    const char *p = s;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if (n == 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!scope_char((unsigned char)p[i]))
                return -1;
        char *tok = arena_strndup(a, p, n);
        if (!scope_has(set, tok))
            set->v[set->n++] = tok;
        if (!sp)
            break;
        p = sp + 1;
        if (*p == '\0')
            return -1; /* trailing space */
    }
    return 0;
}

bool scope_has(const struct scopeset *s, const char *tok)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], tok) == 0)
            return true;
    return false;
}

bool scope_subset(const struct scopeset *sub, const struct scopeset *sup)
{
    for (int i = 0; i < sub->n; i++)
        if (!scope_has(sup, sub->v[i]))
            return false;
    return true;
}

struct scopeset scope_intersect(struct arena *ar, const struct scopeset *a, const struct scopeset *b)
{
    struct scopeset r;
    r.n = 0;
    r.v = arena_alloc(ar, sizeof(char *) * (size_t)(a->n + 1));
    for (int i = 0; i < a->n; i++)
        if (scope_has(b, a->v[i]))
            r.v[r.n++] = a->v[i];
    return r;
}

char *scope_join(struct arena *a, const struct scopeset *s)
{
    size_t len = 1;
    for (int i = 0; i < s->n; i++)
        len += strlen(s->v[i]) + 1;
    char *out = arena_alloc(a, len);
    char *p = out;
    for (int i = 0; i < s->n; i++) {
        if (i)
            *p++ = ' ';
        size_t l = strlen(s->v[i]);
        memcpy(p, s->v[i], l);
        p += l;
    }
    *p = '\0';
    return out;
}

int scope_drop_unissued(struct scopeset *s)
{
    int dropped = 0;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], "openid") || !strcmp(s->v[i], "offline_access")) {
            /* keep the order of the rest */
            memmove(&s->v[i], &s->v[i + 1], sizeof(char *) * (size_t)(s->n - i - 1));
            s->n--;
            i--;
            dropped++;
        }
    return dropped;
}

struct scopeset scope_minus(struct arena *ar, const struct scopeset *a, const struct scopeset *b)
{
    struct scopeset out;
    out.v = arena_alloc(ar, sizeof(char *) * (size_t)(a->n + 1));
    out.n = 0;
    for (int i = 0; i < a->n; i++)
        if (!scope_has(b, a->v[i]))
            out.v[out.n++] = a->v[i];
    return out;
}

struct scopeset scope_from_list(char *const *v, int n)
{
    struct scopeset s = {(const char **)v, n};
    return s;
}

const char *resource_narrow(const char *const *requested, int nrequested,
                            const char *const *granted, int ngranted, const char *fallback,
                            const char **why)
{
    if (nrequested > 1) {
        *why = "ask for one resource per access token";
        return NULL;
    }
    if (nrequested == 1) {
        for (int i = 0; i < ngranted; i++)
            if (strcmp(granted[i], requested[0]) == 0)
                return granted[i];
        *why = "resource was not part of the grant";
        return NULL;
    }
    return ngranted > 0 ? granted[0] : fallback;
}

bool resource_uri_valid(const char *uri)
{
    /* RFC 8707 §2: "The value of the resource parameter MUST be an absolute
     * URI, as specified by Section 4.3 of [RFC3986] ... It MUST NOT include
     * a fragment component." One parser (policy/uri.h) for its syntax. */
    struct uri u;
    const char *why;
    if (!uri || strlen(uri) > AUTHZ_URI_MAX || uri_parse(uri, &u, &why) < 0 || u.has_fragment)
        return false;
    if (*u.rest == '\0' && !u.has_authority)
        return false; /* "https:": nothing after the scheme */
    /* RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid */
    if ((u.scheme.n == 4 || u.scheme.n == 5) && strncasecmp(u.scheme.p, "https", u.scheme.n) == 0 &&
        u.host.n == 0)
        return false;
    return true;
}

/*
 * fuzz_details.c: libFuzzer target for task details (RFC 9396
 * authorization_details of type mcp_tools, SPEC §12), authz/policy/details.c:
 * the one validator every endpoint uses (authorize, bc-authorize, the token
 * endpoint) and the set operations that keep exchange and refresh narrowing.
 *
 * Input: the parameter's value. Invariants checked besides "no crash":
 * - what is accepted with the tenant context is accepted without it, and
 *   names only the context's resources;
 * - an accepted set is normalized: at least one entry, locations sorted and
 *   unique, each with 1..AUTHZ_DETAILS_TOOLS_MAX valid tool names, sorted and
 *   unique;
 * - its JSON form reads back as the same set (details_json is a fixpoint);
 * - d ⊆ d, d ∩ d = d, d ∪ d = d, d restricted to its own locations = d, and
 *   every (location, tool) it lists is allowed by it.
 */
#include "fuzz_common.h"

#include "policy/details.h"
#include "util/arena.h"
#include "util/limits.h"

static const char *RES[] = {"https://mcp.example.test/", "https://files.example.test/api"};

static void check_normalized(const struct details *d)
{
    FZ_CHECK(d->n >= 1 && d->n <= AUTHZ_DETAILS_LOCATIONS_MAX, "n=%d", d->n);
    for (int i = 0; i < d->n; i++) {
        if (i)
            FZ_CHECK(strcmp(d->v[i - 1].location, d->v[i].location) < 0, "locations not sorted/unique");
        const struct scopeset *t = &d->v[i].tools;
        FZ_CHECK(t->n >= 1 && t->n <= AUTHZ_DETAILS_TOOLS_MAX, "tools n=%d", t->n);
        for (int k = 0; k < t->n; k++) {
            FZ_CHECK(details_tool_name_valid(t->v[k]), "bad tool name %s", t->v[k]);
            if (k)
                FZ_CHECK(strcmp(t->v[k - 1], t->v[k]) < 0, "tools not sorted/unique");
            FZ_CHECK(details_allows(d, d->v[i].location, t->v[k]), "not allowed by itself");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = fz_strndup(data, n);
    struct arena *a = arena_new();
    const struct details_ctx ctx = {RES, 2, NULL, 0};
    struct details d, free_d;
    const char *why = NULL;
    int with = details_parse(a, s, &ctx, &d, &why);
    int without = details_parse(a, s, NULL, &free_d, &why);
    if (with == 0) {
        FZ_CHECK(without == 0, "accepted with a context, refused without: %s", why);
        check_normalized(&d);
        for (int i = 0; i < d.n; i++)
            FZ_CHECK(!strcmp(d.v[i].location, RES[0]) || !strcmp(d.v[i].location, RES[1]),
                     "location %s is not a resource", d.v[i].location);
        char *j = details_json(a, &d);
        FZ_CHECK(j != NULL, "no JSON for an accepted set");
        struct details again;
        FZ_CHECK(details_parse(a, j, &ctx, &again, &why) == 0, "own JSON refused: %s (%s)", j, why);
        FZ_CHECK(!strcmp(details_json(a, &again), j), "JSON is not a fixpoint: %s", j);
        FZ_CHECK(details_read(a, j, &again) == 0 && !strcmp(details_json(a, &again), j), "read differs");
        struct details x;
        FZ_CHECK(details_subset(&d, &d), "not a subset of itself");
        details_intersect(a, &d, &d, &x);
        FZ_CHECK(!strcmp(details_json(a, &x), j), "d ∩ d differs");
        details_union(a, &d, &d, &x);
        FZ_CHECK(!strcmp(details_json(a, &x), j), "d ∪ d differs");
        const char **locs = arena_alloc(a, sizeof(char *) * (size_t)d.n);
        for (int i = 0; i < d.n; i++)
            locs[i] = d.v[i].location;
        details_restrict(a, &d, locs, d.n, &x);
        FZ_CHECK(!strcmp(details_json(a, &x), j), "restricted to its own locations differs");
    } else {
        FZ_CHECK(why != NULL, "refused without a reason");
    }
    if (without == 0)
        check_normalized(&free_d);
    arena_free(a);
    free(s);
    return 0;
}

/*
 * delegation.c: act-claim nesting and may_act checks (RFC 8693 §4.1, §4.4).
 * Pure functions over jansson values; the unit tests drive them directly.
 */
#include "policy/delegation.h"
#include "util/arena.h"

#include <string.h>

int act_depth(const json_t *act)
{
    int n = 0;
    while (act) {
        if (!json_is_object(act) || !json_is_string(json_object_get(act, "sub")) || n >= 64)
            return -1;
        n++;
        act = json_object_get(act, "act");
    }
    return n;
}

json_t *act_nest(const char *actor_sub, const char *wid_iss, const char *wid_sub,
                 const json_t *prev)
{
    json_t *a = json_object();
    json_object_set_new(a, "sub", json_string(actor_sub));
    if (wid_iss && wid_sub)
        json_object_set_new(a, "wid", json_pack("{s:s, s:s}", "iss", wid_iss, "sub", wid_sub));
    if (prev)
        json_object_set_new(a, "act", json_deep_copy(prev));
    return a;
}

int act_chain(struct arena *ar, const json_t *act, const char ***out)
{
    int n = act_depth(act);
    if (n < 0)
        n = 0;
    const char **v = arena_alloc(ar, sizeof(char *) * (size_t)(n + 1));
    int i = 0;
    while (act && i < n) {
        v[i++] = arena_strdup(ar, json_string_value(json_object_get(act, "sub")));
        act = json_object_get(act, "act");
    }
    *out = v;
    return i;
}

bool may_act_allows(const json_t *may_act, const char *actor_sub, const char *actor_iss)
{
    if (!may_act)
        return true;
    if (!json_is_object(may_act))
        return false;
    const char *sub = json_string_value(json_object_get(may_act, "sub"));
    const json_t *iss = json_object_get(may_act, "iss");
    if (!sub || !actor_sub || strcmp(sub, actor_sub) != 0)
        return false;
    if (iss && (!json_is_string(iss) || !actor_iss || strcmp(json_string_value(iss), actor_iss) != 0))
        return false;
    return true;
}

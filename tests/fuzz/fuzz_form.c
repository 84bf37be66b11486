/*
 * fuzz_form.c: libFuzzer target for the application/x-www-form-urlencoded
 * parser (authz/http/form.c) that every token, introspection, revocation,
 * backchannel and sign-in body goes through, and for the encoders whose
 * output carries what the parser returns (JSON strings of error and audit
 * bodies, PostgreSQL array literals, scope strings).
 *
 * Input: a request body, as sent. Invariants checked besides "no crash, no
 * sanitizer report":
 * - an accepted body has no NUL byte (raw or %00) and only valid UTF-8;
 * - every parameter name is non-empty; a non-repeatable name appears once;
 * - form_get / form_present / form_get_all agree with the parsed list;
 * - sb_json_str() of every value is a JSON string that decodes to the value,
 *   and of any bytes at all a valid JSON string (U+FFFD for broken UTF-8);
 * - scope_parse() / scope_join() round-trip on the scope parameter.
 */
#include "fuzz_common.h"

#include <jansson.h>

#include "http/form.h"
#include "policy/scope.h"
#include "storage/pgarray.h"
#include "util/arena.h"

static void check_json_string(const char *v)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_putc(&sb, '[');
    sb_json_str(&sb, v);
    sb_putc(&sb, ']');
    json_error_t je;
    json_t *j = json_loads(sb.buf, 0, &je);
    FZ_CHECK(j != NULL, "sb_json_str produced JSON that does not parse: %s (%s)", sb.buf, je.text);
    const char *back = json_string_value(json_array_get(j, 0));
    FZ_CHECK(back && strcmp(back, v) == 0, "sb_json_str does not round-trip: %s", sb.buf);
    json_decref(j);
    sb_free(&sb);

    /* a PostgreSQL array element: quoted, so no unescaped quote may remain */
    sb_init(&sb);
    pgarray_append_elem(&sb, v);
    FZ_CHECK(sb.buf && sb.buf[0] == '"' && sb.len >= 2 && sb.buf[sb.len - 1] == '"',
             "pgarray_append_elem is not a quoted element: %s", sb.buf ? sb.buf : "(null)");
    for (size_t i = 1; i + 1 < sb.len; i++) {
        if (sb.buf[i] == '\\') {
            i++;
            continue;
        }
        FZ_CHECK(sb.buf[i] != '"', "pgarray_append_elem left an unescaped quote: %s", sb.buf);
    }
    sb_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the raw bytes as a JSON string (error details quote client input):
     * always valid JSON, the same string when the input is UTF-8 */
    {
        char *raw = fz_strndup(data, size);
        struct strbuf sb;
        sb_init(&sb);
        sb_json_str(&sb, raw);
        json_t *j = json_loadb(sb.buf, sb.len, JSON_DECODE_ANY, NULL);
        FZ_CHECK(json_is_string(j), "sb_json_str of raw bytes is not a JSON string: %s", sb.buf);
        if (utf8_valid(raw, strlen(raw)))
            FZ_CHECK(!strcmp(json_string_value(j), raw), "sb_json_str changed valid UTF-8");
        json_decref(j);
        sb_free(&sb);
        free(raw);
    }

    struct arena *a = arena_new();
    struct form f;
    const char *why = NULL;
    int rc = form_parse(a, (const char *)data, size, &f, &why);
    if (rc != 0) {
        FZ_CHECK(rc == -1 && why && *why, "form_parse failed without a reason (rc %d)", rc);
        arena_free(a);
        return 0;
    }
    FZ_CHECK(memchr(data, '\0', size) == NULL, "a body with a NUL byte was accepted");
    FZ_CHECK(f.n >= 0 && f.n <= 256, "parameter count %d", f.n);
    for (int i = 0; i < f.n; i++) {
        const char *name = f.params[i].name, *value = f.params[i].value;
        FZ_CHECK(name && *name, "empty parameter name accepted");
        FZ_CHECK(value != NULL, "parameter %s has no value", name);
        FZ_CHECK(utf8_valid(name, strlen(name)), "name is not UTF-8");
        FZ_CHECK(utf8_valid(value, strlen(value)), "value of %s is not UTF-8", name);
        FZ_CHECK(form_present(&f, name), "form_present(%s) false", name);
        bool rep = !strcmp(name, "resource") || !strcmp(name, "audience");
        if (!rep) {
            for (int k = i + 1; k < f.n; k++)
                FZ_CHECK(strcmp(f.params[k].name, name) != 0, "%s accepted twice", name);
            const char *got = form_get(&f, name);
            FZ_CHECK(value[0] ? got == value : got == NULL, "form_get(%s) disagrees", name);
        }
        const char **all;
        int n = form_get_all(a, &f, name, &all);
        int want = 0;
        for (int k = 0; k < f.n; k++)
            if (!strcmp(f.params[k].name, name) && f.params[k].value[0])
                want++;
        FZ_CHECK(n == want, "form_get_all(%s) = %d, want %d", name, n, want);
        for (int k = 0; k < n; k++)
            FZ_CHECK(all[k] && all[k][0], "form_get_all(%s)[%d] empty", name, k);
        check_json_string(name);
        check_json_string(value);
    }

    /* the scope parameter, as the token endpoint reads it */
    const char *scope = form_get(&f, "scope");
    if (scope) {
        struct scopeset ss;
        if (scope_parse(a, scope, &ss) == 0) {
            char *joined = scope_join(a, &ss);
            struct scopeset again;
            FZ_CHECK(scope_parse(a, joined, &again) == 0 && again.n == ss.n,
                     "scope_join(scope_parse(%s)) = %s does not parse back the same", scope, joined);
            for (int i = 0; i < ss.n; i++)
                FZ_CHECK(scope_has(&again, ss.v[i]), "scope %s lost", ss.v[i]);
            FZ_CHECK(scope_subset(&ss, &again) && scope_subset(&again, &ss), "subset");
        }
    }

    /* the whole body as one component (how Basic credentials are decoded) */
    char *one = form_decode(a, (const char *)data, size);
    if (one)
        FZ_CHECK(utf8_valid(one, strlen(one)), "form_decode returned invalid UTF-8");
    arena_free(a);
    return 0;
}

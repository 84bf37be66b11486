/*
 * clients.c: what the consent and approval pages say about the client that
 * asks (SPEC §11): a client that described itself (a self-registered RFC
 * 7591 client, or a client ID metadata document) is marked unverified,
 * with the host it lives on, since its name is its own claim; a client
 * whose every redirect URI is on a loopback host gets a warning (the code
 * goes to a program on the person's own computer); and scopes are shown
 * with the words their resources give them (scope_descriptions), not only
 * their raw names.
 */
#include "web/web.h"
#include "policy/cimd.h"
#include "policy/uri.h"
#include "util/arena.h"
#include "cache.h"

#include <string.h>

const char *web_url_host(struct arena *a, const char *url)
{
    struct uri u;
    const char *why;
    if (!url || uri_parse(url, &u, &why) < 0 || !u.has_authority || u.host.n == 0)
        return NULL;
    char *h = arena_strndup(a, u.host.p, u.host.n);
    for (char *p = h; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return h;
}

static bool all_loopback(const struct client *c)
{
    if (c->redirect_uris.n == 0)
        return false;
    for (int i = 0; i < c->redirect_uris.n; i++) {
        struct uri u;
        const char *why;
        if (uri_endpoint_check(c->redirect_uris.v[i], &u, &why) < 0 ||
            !uri_host_loopback(u.host.p, u.host.n))
            return false;
    }
    return true;
}

const char *web_client_notice(struct req *r, const struct client *c, const char *redirect_uri)
{
    struct strbuf sb;
    sb_init(&sb);
    if (c->cimd || c->dynamic) {
        /* the host the client's identity rests on: its document's, or for
         * a self-registered client the one the person is sent back to */
        const char *host = c->cimd ? c->cimd_host
                                   : web_url_host(r->arena, redirect_uri ? redirect_uri
                                                  : c->redirect_uris.n ? c->redirect_uris.v[0]
                                                                       : NULL);
        sb_puts(&sb, "<p id=\"unverified\" class=\"unverified\"><strong>Unverified "
                     "application.</strong> ");
        sb_puts(&sb, c->cimd ? "It describes itself in a document at "
                             : "It registered itself; it is at ");
        sb_puts(&sb, "<strong id=\"client-host\">");
        web_escape_into(&sb, host ? host : "an unknown host");
        sb_puts(&sb, "</strong>. Its name is its own claim: only continue if you trust that "
                     "host.</p>\n");
    }
    if (c->cimd ? c->cimd_loopback_only : all_loopback(c)) {
        sb_puts(&sb, "<p id=\"loopback-warning\" class=\"warning\">Every address this "
                     "application can send you back to is on this computer (localhost). "
                     "Continue only if you started it yourself, here.</p>\n");
    }
    char *out = arena_strdup(r->arena, sb.buf ? sb.buf : "");
    sb_free(&sb);
    return out;
}

void web_scope_item(struct req *r, struct strbuf *sb, const char *cls, const char *scope,
                    const char *const *resources, int nresources)
{
    const char *d = r->tenant ? tenant_scope_description(r->tenant, scope, resources, nresources)
                              : NULL;
    sb_printf(sb, "<li class=\"%s\">", cls);
    if (d) {
        sb_puts(sb, "<span class=\"scope-description\">");
        web_escape_into(sb, d);
        sb_puts(sb, "</span> ");
    }
    sb_puts(sb, "<code>");
    web_escape_into(sb, scope);
    sb_puts(sb, "</code></li>\n");
}

const char *web_client_notice_by_id(struct req *r, const char *client_id)
{
    if (cimd_client_id_is_url(client_id)) {
        /* a client ID metadata document: unverified, at its URL's host */
        struct strbuf sb;
        sb_init(&sb);
        sb_puts(&sb, "<p class=\"unverified\"><strong>Unverified application.</strong> It "
                     "describes itself in a document at <strong class=\"client-host\">");
        const char *host = web_url_host(r->arena, client_id);
        web_escape_into(&sb, host ? host : "an unknown host");
        sb_puts(&sb, "</strong>.</p>\n");
        char *out = arena_strdup(r->arena, sb.buf);
        sb_free(&sb);
        return out;
    }
    struct client *c = NULL;
    if (!r->tenant || !cache_client(&r->tx, r->can_block, r->tenant, client_id, &c) || !c)
        return "";
    const char *out = web_client_notice(r, c, NULL);
    client_release(c);
    return out;
}

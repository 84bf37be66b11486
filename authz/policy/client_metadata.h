/*
 * client_metadata.h: the one check of client metadata (RFC 7591 §2), for
 * both callers that write clients: the tenant admin API (SPEC §3, §7) and
 * dynamic client registration (RFC 7591; SPEC §3). Pure: a JSON document
 * in, the accepted values or an RFC 7591 §3.2.2 error naming the field out.
 *
 * Who asks is a profile. A field has one rule whoever asks; the profile
 * says which fields a caller may set (the others it sends are ignored:
 * RFC 7591 §2 "The authorization server MUST ignore any client metadata
 * sent by the client that it does not understand"; or refused, where
 * ignoring would mislead), which values of an enumerated field it may use
 * (SPEC §3: "A dynamically registered client may use only the
 * authorization code and refresh grants"), and which rules between fields
 * apply to it. The table is in client_metadata.c.
 */
#ifndef AUTHZ_CLIENT_METADATA_H
#define AUTHZ_CLIENT_METADATA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct arena;

/* Who asks (a bit each, so that the table can name several). */
enum cm_profile {
    CM_ADMIN = 1 << 0,    /* the tenant admin API: RFC 7591 metadata and SPEC §3's fields */
    CM_REGISTER = 1 << 1, /* RFC 7591 dynamic registration, by anyone under an open policy */
};

/* RFC 7591 §3.2.2 error codes */
#define CM_INVALID_REDIRECT_URI "invalid_redirect_uri"
#define CM_INVALID_CLIENT_METADATA "invalid_client_metadata"

/* A list of strings in the arena. */
struct cm_list {
    const char **v;
    int n;
};

/* What a document registers, defaults filled in. Strings live in the arena;
 * NULL is "none". A field the profile does not take stays NULL / empty /
 * false. */
struct client_metadata {
    /* both profiles */
    const char *token_endpoint_auth_method;
    const char *client_name;
    struct cm_list grant_types, response_types, redirect_uris;
    const char *jwks;     /* compact JSON text of the JWK Set */
    const char *jwks_uri; /* admin only: registration refuses it */
    /* CM_ADMIN: SPEC §3 "Admin-created clients carry, besides RFC 7591
     * metadata ..." and OpenID CIBA Core §4 */
    struct cm_list allowed_scopes, allowed_resources, can_act_for, introspects;
    bool may_impersonate;
    const char *backchannel_token_delivery_mode;
    const char *backchannel_client_notification_endpoint;
    /* CM_REGISTER: the rest of RFC 7591 §2, kept and echoed */
    const char *client_uri, *logo_uri, *tos_uri, *policy_uri;
    const char *scope; /* normalized: duplicates dropped */
    struct cm_list contacts;
    const char *software_id, *software_version;
};

/* Why a document was refused: code is one of CM_INVALID_*, field the
 * member at fault, desc a sentence naming it (an error_description). */
struct cm_error {
    const char *code, *field, *desc;
};

/* The caller: its profile and, for CM_ADMIN, whether a URI is one of the
 * tenant's resources (allowed_resources, introspects; NULL: any is). */
struct cm_caller {
    enum cm_profile profile;
    bool (*resource_known)(const void *ctx, const char *uri);
    const void *ctx;
};

/* Checks doc (a JSON object; a null member counts as absent) for who and
 * fills *out. 0, or -1 with *err. */
int client_metadata_check(struct arena *a, const struct cm_caller *who, json_t *doc,
                          struct client_metadata *out, struct cm_error *err);

/* The token_endpoint_auth_method authenticates with a secret the server
 * generates (client_secret_basic, client_secret_post). */
bool client_method_has_secret(const char *method);

/* The rule of one entry of a list: a non-empty string of at most max_bytes
 * that ok accepts (NULL: any); what says what it must be ("a scope token"). */
struct cm_entry_rule {
    bool (*ok)(const char *s);
    size_t max_bytes;
    const char *what;
};
/* A scope token (RFC 6749 §3.3), as in allowed_scopes and people's and
 * resources' scopes */
extern const struct cm_entry_rule CM_SCOPE_TOKEN;

/* The list rule of the table, also for the other plural-named members of
 * the admin API (SPEC §3: "a JSON array of strings"): v is an array of at
 * most max distinct entries, each following rule. 0 with *out, or -1 with
 * *why, a sentence naming field (or field[i]). */
int cm_string_list(struct arena *a, json_t *v, const char *field, const struct cm_entry_rule *rule,
                   size_t max, struct cm_list *out, const char **why);

#endif

/*
 * client_auth.c: client authentication at the token endpoint.
 * RFC 6749 §2.3.1: client_secret_basic (HTTP Basic with form-urlencoded id
 * and secret) and client_secret_post (client_id and client_secret in the
 * body); §2.3: "The client MUST NOT use more than one authentication method
 * in each request." Public clients (none) identify themselves by client_id
 * alone. A client may only use the method it registered
 * (token_endpoint_auth_method, RFC 7591 §2). Secrets are compared as keyed
 * hashes in constant time. private_key_jwt (RFC 7523 client assertions) is
 * verified in client_assertion.c.
 *
 * Clients are found with client_find (oauth/cimd.c): a registered client,
 * or, for a client_id that is a URL, the client its metadata document
 * describes (SPEC §11); a refused document is invalid_client with a
 * description saying what was wrong with it.
 *
 * A workload identity JWT (Kubernetes, SPIFFE, CI OIDC) that a trust
 * policy of use "actor" maps to a client is accepted as that client's
 * client_assertion (SPEC §11): secretless agents. It is told from the
 * client's own assertion by its issuer: RFC 7523 §3 has a client sign its
 * own (iss = sub = client_id), a workload token comes from another issuer.
 */
#include "oauth/oauth.h"
#include "storage/db.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "crypto/jwt.h"
#include "oauth/client_assertion.h"
#include "usage.h"
#include "oauth/cimd.h"
#include "oauth/trust_verify.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 6749 §5.2 invalid_client, with its client_auth.failed audit row.
 * description: what the client is told (NULL: only that authentication
 * failed; the reason goes to the audit row only). */
static void fail_described(struct req *r, const char *claimed_id, const char *reason,
                           const char *description)
{
    struct audit_event *e = audit_add(r, "client_auth.failed", false);
    e->client_id = claimed_id;
    e->reason = reason;
    resp_oauth_error(r, 401, "invalid_client",
                     description ? description : "client authentication failed");
    char *h = arena_sprintf(r->arena, "Basic realm=\"%s\"", r->tenant->issuer);
    resp_header(r, "WWW-Authenticate", h);
}

static void fail(struct req *r, const char *claimed_id, const char *reason, bool basic)
{
    (void)basic;
    fail_described(r, claimed_id, reason, NULL);
}

/* The client id names: H_BLOCK, or H_DONE with *out, or with the failure
 * answered (unknown client; a refused client metadata document, described). */
static enum hres find_client(struct req *r, const char *id, struct client **out)
{
    const char *why = NULL;
    if (client_find(r, id, out, &why) == H_BLOCK)
        return H_BLOCK;
    if (r->tx.down || *out)
        return H_DONE;
    if (why)
        /* SPEC §11: "invalid_client with a description saying what was
         * wrong with the document" */
        fail_described(r, id, why, why);
    else
        fail(r, id, "unknown client", false);
    return H_DONE;
}

/* SPEC §11: a workload JWT of an issuer that a trust policy (use "actor")
 * names is accepted as the client_assertion of the client the policy maps
 * to (maps_to_client), registered with private_key_jwt. Workload tokens
 * may be presented again while valid (SPEC §4.4): no single-use jti. */
static enum hres workload_authenticate(struct req *r, const struct form *f, const char *body_id,
                                       const char *assertion)
{
    /* RFC 7523 §2.2: "The value of the client_assertion_type parameter MUST
     * be urn:ietf:params:oauth:client-assertion-type:jwt-bearer." */
    const char *type = form_get(f, "client_assertion_type");
    if (!type || strcmp(type, CLIENT_ASSERTION_TYPE_JWT) != 0) {
        fail(r, body_id,
             "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
             false);
        return H_DONE;
    }
    struct trust_result tr;
    if (trust_verify(r, assertion, "actor", &tr) == H_BLOCK)
        return H_BLOCK;
    if (r->tx.down)
        return H_DONE;
    if (!tr.ok) {
        fail(r, body_id,
             arena_sprintf(r->arena, "workload client_assertion: %s",
                           tr.why ? tr.why : "no trust policy accepts it"),
             false);
        return H_DONE;
    }
    json_decref(tr.claims);
    /* RFC 7521 §4.2: client_id, when sent, identifies the client the
     * assertion authenticates */
    if (body_id && strcmp(body_id, tr.client_id) != 0) {
        fail(r, body_id, "client_id differs from the client the workload identity maps to", false);
        return H_DONE;
    }
    struct client *c = NULL;
    if (find_client(r, tr.client_id, &c) == H_BLOCK)
        return H_BLOCK;
    if (!c)
        return H_DONE;
    /* RFC 7591 §2: the client uses the method it registered; a JWT
     * assertion is private_key_jwt's */
    if (strcmp(c->auth_method, "private_key_jwt") != 0) {
        client_release(c);
        fail(r, tr.client_id,
             "a workload identity authenticates only clients registered with private_key_jwt",
             false);
        return H_DONE;
    }
    r->client = c;
    return H_DONE;
}

/* Decodes an Authorization: Basic value into id and secret (RFC 6749
 * §2.3.1: both form-urlencoded before base64). */
static int parse_basic(struct req *r, const char *hdr, char **id, char **secret)
{
    if (strncasecmp(hdr, "Basic ", 6) != 0)
        return -1;
    const char *b = hdr + 6;
    while (*b == ' ')
        b++;
    size_t bl = strlen(b);
    if (bl == 0 || bl > 4096 || bl % 4 != 0)
        return -1;
    unsigned char *raw = arena_alloc(r->arena, bl);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b, (int)bl);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts padding bytes as data */
    if (bl >= 1 && b[bl - 1] == '=')
        n--;
    if (bl >= 2 && b[bl - 2] == '=')
        n--;
    if (memchr(raw, '\0', (size_t)n))
        return -1;
    char *colon = memchr(raw, ':', (size_t)n);
    if (!colon)
        return -1;
    *id = form_decode(r->arena, (char *)raw, (size_t)(colon - (char *)raw));
    *secret = form_decode(r->arena, colon + 1, (size_t)n - (size_t)(colon + 1 - (char *)raw));
    if (!*id || !*secret || !**id)
        return -1;
    return 0;
}

/* RFC 7523 §2.2 / §3 (private_key_jwt): the client is the one the
 * client_id parameter names, or, without it, the assertion's sub (read
 * before verification only to find the client; RFC 7523 §3 item 2.B: "the
 * subject MUST be the client_id"). client_assertion_verify() then checks
 * the assertion against that client's registered keys. */
static enum hres assertion_authenticate(struct req *r, const struct form *f, const char *body_id,
                                        const char *assertion)
{
    struct jwt j;
    const char *why = NULL;
    if (jwt_parse(assertion, strlen(assertion), &j, &why) < 0) {
        fail(r, body_id, why, false);
        return H_DONE;
    }
    const char *sub = jwt_claim_str(j.claims, "sub");
    const char *iss = jwt_claim_str(j.claims, "iss");
    /* RFC 7523 §3 items 1 and 2.B: a client's own assertion has iss = sub =
     * its client_id; any other issuer's JWT can only be a workload identity */
    bool own = sub && iss && !strcmp(sub, iss);
    char *id = sub ? arena_strdup(r->arena, sub) : NULL;
    char *issuer = iss ? arena_strdup(r->arena, iss) : NULL;
    jwt_free(&j);
    if (!own && sub && issuer) {
        /* a workload identity only when a trust policy of use actor names
         * its issuer; otherwise it is a client's assertion that is wrong,
         * and client_assertion_verify says how */
        struct trust_set *ts = NULL;
        if (trust_policies(r, &ts) == H_BLOCK)
            return H_BLOCK;
        if (!ts)
            return H_DONE; /* r->tx.down */
        bool workload = false;
        for (int i = 0; i < ts->n && !workload; i++)
            workload = ts->v[i].for_actor && !strcmp(ts->v[i].issuer, issuer);
        trust_set_release(ts);
        if (workload)
            return workload_authenticate(r, f, body_id, assertion);
    }
    if (!id || !*id) {
        fail(r, body_id, "the assertion's sub is not the client_id", false);
        return H_DONE;
    }
    /* RFC 7521 §4.2: client_id, when sent, identifies the client the
     * assertion authenticates */
    if (body_id && strcmp(body_id, id) != 0) {
        fail(r, body_id, "client_id differs from the assertion's sub", false);
        return H_DONE;
    }
    if (strlen(id) > 255) {
        fail(r, NULL, "client_id too long", false);
        return H_DONE;
    }
    struct client *c = NULL;
    if (find_client(r, id, &c) == H_BLOCK)
        return H_BLOCK;
    if (!c)
        return H_DONE;
    bool ok = false;
    if (client_assertion_verify(r, c, form_get(f, "client_assertion_type"), assertion, &why, &ok) ==
        H_BLOCK) {
        client_release(c);
        return H_BLOCK;
    }
    if (!ok) {
        client_release(c);
        if (!r->tx.down)
            fail(r, id, why, false);
        return H_DONE;
    }
    usage_note(c->client_id, NULL);
    r->client = c;
    return H_DONE;
}

enum hres client_authenticate(struct req *r, const struct form *f)
{
    /* a handler re-run on a database worker authenticates again */
    if (r->client) {
        client_release(r->client);
        r->client = NULL;
    }
    const char *hdr = req_header(r, "authorization");
    const char *body_id = form_get(f, "client_id");
    const char *body_secret = form_get(f, "client_secret");
    const char *assertion = form_get(f, "client_assertion");
    char *id = NULL, *secret = NULL;
    const char *method;
    bool basic = false;

    if (hdr) {
        if (parse_basic(r, hdr, &id, &secret) < 0) {
            fail(r, NULL, "malformed Authorization header", true);
            return H_DONE;
        }
        basic = true;
        method = "client_secret_basic";
        /* RFC 6749 §2.3: one method per request */
        if (body_secret || assertion) {
            resp_oauth_error(r, 400, "invalid_request",
                             "use exactly one client authentication method");
            return H_DONE;
        }
        if (body_id && strcmp(body_id, id) != 0) {
            resp_oauth_error(r, 400, "invalid_request",
                             "client_id in the body differs from the authenticated client");
            return H_DONE;
        }
    } else if (assertion) {
        if (body_secret) {
            resp_oauth_error(r, 400, "invalid_request",
                             "use exactly one client authentication method");
            return H_DONE;
        }
        return assertion_authenticate(r, f, body_id, assertion);
    } else if (body_secret) {
        if (!body_id) {
            resp_oauth_error(r, 400, "invalid_request", "client_secret without client_id");
            return H_DONE;
        }
        id = (char *)body_id;
        secret = (char *)body_secret;
        method = "client_secret_post";
    } else if (body_id) {
        id = (char *)body_id;
        method = "none";
    } else {
        fail(r, NULL, "no client authentication", false);
        return H_DONE;
    }

    if (strlen(id) > 255) {
        fail(r, NULL, "client_id too long", basic);
        return H_DONE;
    }
    struct client *c = NULL;
    if (find_client(r, id, &c) == H_BLOCK)
        return H_BLOCK;
    if (!c)
        return H_DONE;
    /* RFC 7591 §2: the client uses the method it registered */
    if (strcmp(c->auth_method, method) != 0) {
        client_release(c);
        fail(r, id, "authentication method does not match the registered one", basic);
        return H_DONE;
    }
    const char *secret_id = NULL;
    if (secret) {
        /* SPEC §13 rotation: "both work until the previous one expires":
         * every secret of the client is compared (each in constant time),
         * and one past its expires_at no longer counts */
        char hash[CRYPTO_SECRET_HASH_HEX + 1];
        crypto_secret_hash(g_secret_pepper, secret, strlen(secret), hash);
        /* to the microsecond: a secret stops at its expires_at, not at the
         * whole second nearest to it */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        for (int i = 0; i < c->nsecrets; i++)
            if (ct_streq(hash, c->secrets[i].hash) &&
                (c->secrets[i].expires_at == 0 || c->secrets[i].expires_at > now))
                secret_id = c->secrets[i].id;
        if (!secret_id) {
            client_release(c);
            fail(r, id, "wrong client secret", basic);
            return H_DONE;
        }
    }
    /* SPEC §13 last_used_at, written in batches (usage.h) */
    usage_note(c->client_id, secret_id);
    r->client = c;
    return H_DONE;
}

/*
 * limits.h: every fixed limit of authz in one visible block (OpenBSD
 * httpd.h's habit), each with what it bounds and why. Code uses these
 * names, never the bare number. A limit an operator may change is a config
 * key (config.c, etc/authzd.conf); its default is named here.
 *
 * It lives in util/ rather than beside main.c: with -I authz on the command
 * line, a top-level authz/limits.h would shadow the C library's <limits.h>.
 *
 * Lengths are bytes unless a comment says characters (code points).
 */
#ifndef AUTHZ_LIMITS_H
#define AUTHZ_LIMITS_H

/* Makes a string of a numeric limit, for config.c's default values. */
#define AUTHZ_STR_(x) #x
#define AUTHZ_STR(x) AUTHZ_STR_(x)

/* ---- requests: defaults of the config keys ---- */
#define AUTHZ_MAX_BODY_BYTES_DEFAULT 65536   /* max_body_bytes: a form or JSON body */
#define AUTHZ_MAX_HEADER_BYTES_DEFAULT 16384 /* max_header_bytes: request line + headers */
#define AUTHZ_MAX_ACT_DEPTH_DEFAULT 5        /* max_act_depth: RFC 8693 act nesting */
/* Header fields in one request head (more: 431), whatever max_header_bytes
 * allows: bounds the linear header lookups of every handler. */
#define AUTHZ_HTTP_HEADER_FIELDS_MAX 100
/* Argon2id cost of people's passwords (argon2_t_cost, argon2_m_cost_kib,
 * argon2_parallelism; RFC 9106 §4's second recommended option) */
#define AUTHZ_ARGON2_T_COST_DEFAULT 3
#define AUTHZ_ARGON2_M_COST_KIB_DEFAULT 65536
#define AUTHZ_ARGON2_PARALLELISM_DEFAULT 1

/* ---- tokens ---- */
/* Any token a client sends (access, refresh, subject, actor, assertion,
 * initial access token): longer is refused before it is parsed. */
#define AUTHZ_TOKEN_MAX 16384
/* An act claim nested deeper than this is malformed, whatever
 * max_act_depth allows (it bounds the recursion over it). */
#define AUTHZ_ACT_NESTING_MAX 64
/* A scope string (RFC 6749 §3.3) in any request. */
#define AUTHZ_SCOPE_MAX 4096
/* One scope-token where the admin API takes a list of them. */
#define AUTHZ_SCOPE_TOKEN_MAX 200
/* A client_id in a request (a CIMD client_id URL included). */
#define AUTHZ_CLIENT_ID_MAX 255
/* The description of one scope (resources' scope_descriptions), in
 * characters, shown on the consent and approval pages. */
#define AUTHZ_SCOPE_DESCRIPTION_MAX 200

/* ---- URIs ---- */
/* Any URI authz stores or fetches (redirect URIs, resources, jwks_uri,
 * webhooks): 2000 bytes, what browsers and proxies reliably carry. */
#define AUTHZ_URI_MAX 2000
/* return_to of the sign-in page: a path on this issuer. */
#define AUTHZ_RETURN_TO_MAX 4096
/* Resource indicators in one authorization request (RFC 8707). */
#define AUTHZ_AUTHORIZE_RESOURCES_MAX 16
/* Query parameters of one authorization request. */
#define AUTHZ_AUTHORIZE_PARAMS_MAX 64

/* ---- client metadata (RFC 7591 registration) ---- */
#define AUTHZ_CLIENT_REDIRECT_URIS_MAX 50
#define AUTHZ_CLIENT_TEXT_MAX 200            /* client_name, software_id/_version */
#define AUTHZ_CLIENT_CONTACTS_MAX 10
#define AUTHZ_CLIENT_CONTACT_MAX 320         /* one contact: an e-mail address */
#define AUTHZ_CLIENT_SCOPE_MAX 2000          /* the registered scope string */
#define AUTHZ_CLIENT_JWKS_KEYS_MAX 20        /* keys of a registered jwks */
#define AUTHZ_CLIENT_JWKS_BYTES_MAX 32768    /* a registered jwks, serialised */

/* ---- task details (RFC 9396 authorization_details, type mcp_tools;
 * policy/details.c) ---- */
#define AUTHZ_DETAILS_BYTES_MAX 8192         /* the parameter as sent */
#define AUTHZ_DETAILS_ENTRIES_MAX 16         /* objects in the array */
#define AUTHZ_DETAILS_LOCATIONS_MAX 16       /* locations of one entry, and in all */
#define AUTHZ_DETAILS_TOOLS_MAX 64           /* tools of one location */
#define AUTHZ_DETAILS_TOOL_MAX 128           /* characters of a tool name (MCP) */
/* ---- client ID metadata documents (CIMD, SPEC §11) ---- */
/* A document is fetched within 5 s and is at most 16 KiB of JSON. */
#define AUTHZ_CIMD_TIMEOUT_MS 5000
#define AUTHZ_CIMD_MAX_BYTES (16 * 1024)
/* Kept by its Cache-Control, at least a minute and at most a day. */
#define AUTHZ_CIMD_TTL_MIN 60
#define AUTHZ_CIMD_TTL_MAX 86400
/* A refused document is not fetched again for this many seconds (so that
 * naming one over and over cannot make authzd fetch it over and over). */
#define AUTHZ_CIMD_FAIL_TTL 10
/* Documents kept in memory; the least recently used goes first. */
#define AUTHZ_CIMD_CACHE_MAX 10000
/* cimd_hosts of a tenant, and one host glob. */
#define AUTHZ_CIMD_HOSTS_MAX 200
#define AUTHZ_CIMD_HOST_GLOB_MAX 253
/* Threads that make outbound fetches for requests (runtime/fetchers.c), so
 * that a slow document holds neither an event loop nor a database
 * connection. */
#define AUTHZ_FETCH_THREADS 4

/* ---- refresh under concurrency (SPEC §11) ---- */
/* refresh_retry_window, seconds: 0 (default, off) to this. */
#define AUTHZ_REFRESH_RETRY_WINDOW_MAX 60

/* ---- CIBA (OpenID CIBA Core) ---- */
/* binding_message: the task shown to the person, printable. */
#define AUTHZ_BINDING_MESSAGE_MAX 500
/* client_notification_token of a ping-mode request. */
#define AUTHZ_NOTIFICATION_TOKEN_MAX 1024
/* requested_expiry, seconds: its default and its ceiling. */
#define AUTHZ_CIBA_EXPIRY_DEFAULT 300
#define AUTHZ_CIBA_EXPIRY_MAX 3600

/* ---- people ---- */
#define AUTHZ_USERNAME_MAX 200               /* characters, as the admin API allows */
#define AUTHZ_PASSWORD_MAX 1024              /* longer is refused before Argon2 runs */
/* Failed sign-ins remembered for this many seconds, and how many are
 * allowed in that window per username and per source address before the
 * sign-in page answers 429 without running Argon2. */
#define AUTHZ_SIGNIN_WINDOW 900
#define AUTHZ_SIGNIN_USER_LIMIT 5
#define AUTHZ_SIGNIN_SOURCE_LIMIT 20

/* ---- trust policies (SPEC §7) ---- */
#define AUTHZ_TRUST_JWKS_BYTES_MAX (64 * 1024)  /* an inline jwks, serialised */
#define AUTHZ_TRUST_CLAIMS_MAX 50               /* required_claims members */
#define AUTHZ_TRUST_CLAIM_NAME_MAX 200
#define AUTHZ_TRUST_CLAIM_VALUE_MAX 1000

/* ---- lists and pages ---- */
/* Elements of one array member of an admin API body. */
#define AUTHZ_ADMIN_ARRAY_MAX 200
/* Admin API pages: the audit page's default and ceiling, the sessions page. */
#define AUTHZ_AUDIT_PAGE_DEFAULT 100
#define AUTHZ_AUDIT_PAGE_MAX 1000
#define AUTHZ_SESSIONS_PAGE 100
/* Requests and sessions shown on the approvals web page. */
#define AUTHZ_APPROVALS_LIST_MAX 100

/* ---- in-memory caches ---- */
/* Real clients kept in the client cache (cache.c); a client past it is
 * loaded from the database on every request. */
#define AUTHZ_CACHE_CLIENTS_MAX 100000
/* Unknown client_ids remembered, so that guessing costs no queries; the
 * oldest is forgotten first. Counted apart from real clients. */
#define AUTHZ_CACHE_UNKNOWN_CLIENTS_MAX 10000
/* People and consents cached (cache.c). */
#define AUTHZ_CACHE_KV_MAX 200000
/* Verified access tokens cached by introspection (expired ones are
 * evicted when it is full). */
#define AUTHZ_CACHE_TOKENS_MAX 20000

/* SPEC §13 last_used_at: uses are gathered in memory and written at most
 * this often (seconds), in one statement, and at drain; at most so many
 * clients and secrets wait at once (a use beyond is dropped: the next one
 * after the write records it). */
#define AUTHZ_USAGE_FLUSH_SECONDS 60
#define AUTHZ_USAGE_PENDING_MAX 20000
/* SPEC §13 secret rotation: previous_expires_in, 0 to 30 days */
#define AUTHZ_SECRET_OVERLAP_MAX 2592000
/* SPEC §13 leak reports: items of one report */
#define AUTHZ_LEAK_ITEMS_MAX 100
/* SPEC §12 (AuthZEN PDP): an MCP tool name (MCP: 1 to 128 characters of
 * A-Z a-z 0-9 _ - .), the evaluations of one batch request, the tools of
 * one resource's catalog, the pairs of one tenant's drift baselines kept
 * in memory (beyond it decisions read the database). */
#define AUTHZ_TOOL_NAME_MAX 128
#define AUTHZ_PDP_BATCH_MAX 64
#define AUTHZ_TOOLS_PER_RESOURCE_MAX 1000
#define AUTHZ_BASELINE_PAIRS_MAX 100000

#endif

// RFC 8693 token exchange (SPEC §4.4) as an agent performs it: oauth4webapi's
// generic token endpoint request (v3's name for the "generic grant request")
// for the happy paths, raw forms for the refusals, and jose checks of what
// comes back.

import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { okJson } from './checks.mjs';
import { postForm } from './http.mjs';
import { insecure, agentClientBody, RESOURCE_SCOPES, RESOURCE } from './fixture.mjs';

const enc = encodeURIComponent;

export const GT_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TT_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TT_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TT_REFRESH = 'urn:ietf:params:oauth:token-type:refresh_token';
export const TT_ID = 'urn:ietf:params:oauth:token-type:id_token';

/**
 * An agent client able to act for people: client_credentials (its own actor
 * token) and token exchange, secret_basic by default.
 */
export async function createAgent(t, overrides = {}) {
  const body = agentClientBody({
    client_name: 'exchange agent',
    grant_types: ['client_credentials', GT_EXCHANGE],
    allowed_scopes: [...RESOURCE_SCOPES],
    allowed_resources: [RESOURCE],
    ...overrides,
  });
  const c = okJson(await t.admin.call('POST', `/tenants/${enc(t.slug)}/clients`, body), 201);
  assert.equal(typeof c.client_id, 'string', `created agent has a client_id: ${JSON.stringify(c)}`);
  return { ...body, ...c };
}

/** A resource server: authenticates with client_credentials and introspects tokens for `resources`. */
export async function createResourceServer(t, resources = [RESOURCE], overrides = {}) {
  return createAgent(t, {
    client_name: 'resource server',
    grant_types: ['client_credentials'],
    introspects: resources,
    ...overrides,
  });
}

function authOf(client, auth) {
  if (auth) return auth;
  if (client.token_endpoint_auth_method === 'client_secret_post') return oauth.ClientSecretPost(client.client_secret);
  return oauth.ClientSecretBasic(client.client_secret);
}

/**
 * An exchange through oauth4webapi (genericTokenEndpointRequest +
 * processGenericTokenEndpointResponse). `params` are the RFC 8693 §2.1
 * parameters; arrays give repeated parameters. Returns the processed body.
 */
export async function exchange(t, client, params, { auth } = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const x of [v].flat()) body.append(k, x);
  }
  const res = await oauth.genericTokenEndpointRequest(
    t.as,
    { client_id: client.client_id },
    authOf(client, auth),
    GT_EXCHANGE,
    body,
    insecure,
  );
  const copy = res.clone();
  try {
    return await oauth.processGenericTokenEndpointResponse(t.as, { client_id: client.client_id }, res);
  } catch (e) {
    const text = await copy.text().catch(() => '');
    const shown = Object.fromEntries(
      [...body].map(([k, v]) => [k, /token$/.test(k) ? `${v.slice(0, 24)}…` : v]),
    );
    throw new Error(
      `oauth4webapi token exchange at ${t.as.token_endpoint} by ${client.client_id} with ${JSON.stringify(shown)} ` +
        `failed: ${e.code || ''} ${e.message}${e.error ? ` (error=${e.error})` : ''}\n  response: ${res.status} ` +
        `${res.headers.get('content-type')}\n  body: ${text.slice(0, 600)}`,
      { cause: e },
    );
  }
}

/** A raw exchange POST (Basic auth as `client`); `pairs` are [name, value] pairs added to the grant_type. */
export function exchangeRaw(t, client, pairs, opts = {}) {
  return postForm(t.as.token_endpoint, [['grant_type', GT_EXCHANGE], ...pairs], {
    basic: [client.client_id, client.client_secret],
    ...opts,
  });
}

/** Subject (person) and actor (agent) pairs for exchangeRaw. */
export function stPairs(subjectToken, actorToken, extra = [], types = {}) {
  const p = [
    ['subject_token', subjectToken],
    ['subject_token_type', types.subject ?? TT_ACCESS],
  ];
  if (actorToken !== undefined && actorToken !== null) {
    p.push(['actor_token', actorToken], ['actor_token_type', types.actor ?? TT_ACCESS]);
  }
  return [...p, ...extra];
}

/**
 * RFC 8693 §2.2.1 response checks, then RFC 9068 verification with jose
 * against the tenant's JWKS (typ at+jwt, ES256, iss, aud). Returns the claims.
 */
export async function checkExchanged(t, body, { audience, what = 'exchanged token' } = {}) {
  const shown = JSON.stringify({ ...body, access_token: body.access_token ? '…' : undefined });
  assert.equal(body.issued_token_type, TT_ACCESS, `${what}: RFC 8693 §2.2.1 issued_token_type is REQUIRED: ${shown}`);
  assert.equal(String(body.token_type).toLowerCase(), 'bearer', `${what}: token_type Bearer: ${shown}`);
  assert.ok(typeof body.expires_in === 'number' && body.expires_in > 0, `${what}: expires_in: ${shown}`);
  assert.equal(typeof body.scope, 'string', `${what}: scope in the response: ${shown}`);
  assert.equal(body.refresh_token, undefined, `${what}: exchanged tokens get no refresh token (SPEC §4.4): ${shown}`);
  const header = jose.decodeProtectedHeader(body.access_token);
  assert.equal(header.typ, 'at+jwt', `${what}: JWT header typ at+jwt: ${JSON.stringify(header)}`);
  let verified;
  try {
    verified = await t.verify(body.access_token, { audience: audience ?? t.issuer });
  } catch (e) {
    assert.fail(
      `${what}: jose jwtVerify against ${t.as.jwks_uri} (typ at+jwt, iss ${t.issuer}, aud ${audience ?? t.issuer}) ` +
        `rejected it: ${e.code || ''} ${e.message}; claims ${JSON.stringify(jose.decodeJwt(body.access_token))}`,
    );
  }
  const p = verified.payload;
  assert.equal(p.scope, body.scope, `${what}: the scope claim equals the response's scope: ${JSON.stringify(p)}`);
  return p;
}

/** The actor subs of an act claim, current actor first. */
export function actChain(act) {
  const out = [];
  for (let a = act; a; a = a.act) out.push(a.sub);
  return out;
}

export function decode(jwt) {
  return jose.decodeJwt(jwt);
}

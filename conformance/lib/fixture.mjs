// A fresh tenant per test file, built only through the admin API, with a
// registered resource and confidential clients, discovered the way a real
// client discovers it (oauth4webapi), plus token helpers.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { Admin } from './admin.mjs';
import { issuerFor } from './env.mjs';
import { postForm } from './http.mjs';

export const RESOURCE = 'https://mcp.example.test/';
export const RESOURCE_SCOPES = ['tools:read', 'tools:call'];
export const OTHER_RESOURCE = 'https://files.example.test/api';
export const OTHER_SCOPES = ['files:read'];

// http:// issuers (loopback development) need this flag in oauth4webapi v3;
// over https (AUTHZ_BASE_URL https://..., as scripts/test's TLS run) it is
// left out, so that run proves the suite needs no insecure requests.
export const insecure = /^https:/i.test(process.env.AUTHZ_BASE_URL || '')
  ? {}
  : { [oauth.allowInsecureRequests]: true };

/** A random, valid tenant slug: [a-z0-9][a-z0-9-]{0,62}. */
export function randomSlug(prefix = 'ct') {
  return `${prefix}-${randomBytes(6).toString('hex')}`.slice(0, 63);
}

export function agentClientBody(overrides = {}) {
  return {
    client_name: 'conformance agent',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
    allowed_scopes: [...RESOURCE_SCOPES, 'admin'],
    allowed_resources: [RESOURCE],
    ...overrides,
  };
}

/** oauth4webapi discovery of a tenant issuer (checks issuer equality). */
export async function discover(issuer, algorithm = 'oauth2') {
  const iss = new URL(issuer);
  const res = await oauth.discoveryRequest(iss, { algorithm, ...insecure });
  const copy = res.clone();
  try {
    return await oauth.processDiscoveryResponse(iss, res);
  } catch (e) {
    const text = await copy.text().catch(() => '');
    throw new Error(
      `oauth4webapi discovery (${algorithm}) of ${issuer} failed: ${e.message}\n  response: ${res.status} ` +
        `${res.headers.get('content-type')} from ${res.url}\n  body: ${text.slice(0, 500)}`,
      { cause: e },
    );
  }
}

/**
 * Create a tenant with RESOURCE and OTHER_RESOURCE and three clients:
 *  basic      client_secret_basic, allowed tools:read tools:call admin, RESOURCE
 *  post       client_secret_post,  same ceiling
 *  readonly   client_secret_basic, allowed tools:read only, RESOURCE only
 */
export async function createTenant(prefix = 'ct', { admin = new Admin() } = {}) {
  const slug = randomSlug(prefix);
  const tenant = await admin.mustCreateTenant({ slug, display_name: `conformance ${prefix}` });
  await admin.mustCreateResource(slug, { uri: RESOURCE, scopes: RESOURCE_SCOPES });
  await admin.mustCreateResource(slug, { uri: OTHER_RESOURCE, scopes: OTHER_SCOPES });
  const clients = {
    basic: await admin.mustCreateClient(slug, agentClientBody({ client_name: 'basic agent' })),
    post: await admin.mustCreateClient(
      slug,
      agentClientBody({ client_name: 'post agent', token_endpoint_auth_method: 'client_secret_post' }),
    ),
    readonly: await admin.mustCreateClient(
      slug,
      agentClientBody({ client_name: 'read-only agent', allowed_scopes: ['tools:read'] }),
    ),
  };
  for (const [name, c] of Object.entries(clients)) {
    assert.equal(typeof c.client_id, 'string', `created client ${name} has a client_id: ${JSON.stringify(c)}`);
    assert.equal(typeof c.client_secret, 'string', `created client ${name} has a client_secret: ${JSON.stringify(c)}`);
  }
  const issuer = issuerFor(slug);
  const as = await discover(issuer);
  return new Tenant({ slug, issuer, as, tenant, clients, admin });
}

export class Tenant {
  constructor({ slug, issuer, as, tenant, clients, admin }) {
    Object.assign(this, { slug, issuer, as, tenant, clients, admin });
  }

  get tokenEndpoint() {
    return this.as.token_endpoint;
  }

  /** Raw client_credentials POST with Basic auth; `extra` are additional [name, value] pairs. */
  ccRaw(client, extra = []) {
    return postForm(this.tokenEndpoint, [['grant_type', 'client_credentials'], ...extra], {
      basic: [client.client_id, client.client_secret],
    });
  }

  /** client_credentials through oauth4webapi. `method` is 'basic' or 'post'. */
  async cc(client, params = {}, method = 'basic') {
    const auth =
      method === 'post' ? oauth.ClientSecretPost(client.client_secret) : oauth.ClientSecretBasic(client.client_secret);
    const res = await oauth.clientCredentialsGrantRequest(
      this.as,
      { client_id: client.client_id },
      auth,
      new URLSearchParams(params),
      insecure,
    );
    const headers = res.headers;
    const copy = res.clone();
    let body;
    try {
      body = await oauth.processClientCredentialsResponse(this.as, { client_id: client.client_id }, res);
    } catch (e) {
      const text = await copy.text().catch(() => '');
      throw new Error(
        `oauth4webapi client_credentials (${method}) at ${this.tokenEndpoint} with ${JSON.stringify(params)} ` +
          `for client ${client.client_id} failed: ${e.message}\n  response: ${res.status} ` +
          `${headers.get('content-type')} cache-control=${headers.get('cache-control')}\n  body: ${text.slice(0, 500)}`,
        { cause: e },
      );
    }
    return { body, headers, status: res.status };
  }

  /** An access token string, via oauth4webapi. */
  async accessToken(client, params = {}, method = 'basic') {
    return (await this.cc(client, params, method)).body.access_token;
  }

  /** A fresh (uncached) remote JWK Set for this tenant. */
  jwks() {
    return jose.createRemoteJWKSet(new URL(this.as.jwks_uri), { cooldownDuration: 0, cacheMaxAge: 0 });
  }

  /** jose verification with the RFC 9068 profile. */
  async verify(jwt, { audience } = {}) {
    return jose.jwtVerify(jwt, this.jwks(), {
      typ: 'at+jwt',
      issuer: this.issuer,
      audience: audience ?? this.issuer,
      algorithms: ['ES256'],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
    });
  }
}

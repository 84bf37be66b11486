// Issue 3 (a): the @modelcontextprotocol/sdk client completes the whole MCP
// authorization against authzd with no special code, starting from an MCP
// server (mcp/server.mjs) that publishes RFC 9728 metadata naming the authzd
// issuer and checks every token with the JWKS.
//
// What the SDK does by itself: the 401's resource_metadata -> protected
// resource metadata -> RFC 8414 discovery of the issuer -> RFC 7591 dynamic
// registration (tenant registration_policy open) -> PKCE S256 authorization
// request with resource = the MCP server's URL -> code redemption -> tool
// call -> refresh (rotation) when the access token has expired.
// What the provider below does, as a person with a browser would: sign in and
// approve consent (plain HTTP, lib/useragent.mjs), then hand the code back;
// the test calls transport.finishAuth(code) and reconnects, as the SDK's
// documentation has applications do.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { createTenant, RESOURCE } from '../lib/fixture.mjs';
import { createUser, patchTenant, introspect } from '../lib/codeflow.mjs';
import { okJson, audList, scopeSet } from '../lib/checks.mjs';
import { get } from '../lib/http.mjs';
import { UserAgent, drive, callbackMatcher, describeTrail } from '../lib/useragent.mjs';
import { startMcpServer } from '../mcp/server.mjs';

const MCP_SCOPES = ['tools:read', 'tools:call'];
const TTL = 5; // seconds: short enough to force a refresh within the test

let t;
let mcp;
before(async () => {
  t = await createTenant('mcp');
  mcp = await startMcpServer({ issuer: t.issuer, scopesSupported: MCP_SCOPES });
  await t.admin.mustCreateResource(t.slug, { uri: mcp.url, scopes: MCP_SCOPES });
  okJson(await patchTenant(t, { registration_policy: 'open', access_token_ttl: TTL }));
});
after(async () => {
  await mcp?.close();
});

/**
 * An OAuthClientProvider as an MCP host application writes one, except that
 * redirectToAuthorization signs the person in and approves consent over plain
 * HTTP instead of opening a browser.
 */
class ConformanceProvider {
  constructor({ person, authMethod = 'none', redirectUrl = 'http://127.0.0.1:33418/oauth/callback' }) {
    this.person = person;
    this._redirectUrl = redirectUrl;
    this._metadata = {
      client_name: `conformance MCP client (${authMethod})`,
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: authMethod,
    };
    this.registrations = [];
    this.savedTokens = [];
    this.authorizationUrls = [];
    this.invalidations = [];
    this.drives = [];
    this.code = undefined;
  }
  get redirectUrl() {
    return this._redirectUrl;
  }
  get clientMetadata() {
    return this._metadata;
  }
  state() {
    this._state = randomBytes(16).toString('base64url');
    return this._state;
  }
  clientInformation() {
    return this._client;
  }
  saveClientInformation(info) {
    this._client = info;
    this.registrations.push(info);
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
    this.savedTokens.push(tokens);
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
  invalidateCredentials(scope) {
    this.invalidations.push(scope);
    if (scope === 'all' || scope === 'client') this._client = undefined;
    if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this._verifier = undefined;
  }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizationUrls.push(new URL(authorizationUrl));
    const result = await drive(new UserAgent(), authorizationUrl, {
      isCallback: callbackMatcher(this._redirectUrl),
      username: this.person.username,
      password: this.person.password,
      decision: 'approve',
    });
    this.drives.push(result);
    if (result.kind !== 'callback') {
      throw new Error(`sign-in and consent for ${authorizationUrl} did not come back to ${this._redirectUrl}: ${result.kind}\n    ${describeTrail(result)}`);
    }
    const q = result.callback.searchParams;
    if (q.get('error')) throw new Error(`authorization error at the callback: ${result.callback.href}`);
    if (q.get('state') !== this._state) throw new Error(`callback state ${q.get('state')} is not the request's ${this._state}: ${result.callback.href}`);
    if (q.get('iss') !== t.issuer) throw new Error(`callback iss (RFC 9207) ${q.get('iss')} is not ${t.issuer}: ${result.callback.href}`);
    this.code = q.get('code');
    if (!this.code) throw new Error(`no code at the callback: ${result.callback.href}`);
  }
}

/** Connect as an MCP host does: the first attempt ends in the authorization; finishAuth; connect again. */
async function connectWithAuth(provider) {
  const first = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider });
  const c1 = new Client({ name: 'authz-conformance', version: '1.0.0' });
  try {
    await c1.connect(first);
    assert.fail('the first connect without a token should end in the authorization (UnauthorizedError)');
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) {
      throw new Error(`MCP client authorization against ${t.issuer} failed before the redirect came back: ${e.message}`, { cause: e });
    }
  } finally {
    await first.close().catch(() => {});
  }
  assert.ok(provider.code, 'the provider got a code from the authorization');
  try {
    await first.finishAuth(provider.code);
  } catch (e) {
    throw new Error(`transport.finishAuth (code redemption at the token endpoint) failed: ${e.message}`, { cause: e });
  }
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider });
  const client = new Client({ name: 'authz-conformance', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function echo(client, text) {
  const r = await client.callTool({ name: 'echo', arguments: { text } });
  assert.ok(!r.isError, `tool echo answered an error: ${JSON.stringify(r)}`);
  assert.deepEqual(r.content, [{ type: 'text', text }], `echo result: ${JSON.stringify(r)}`);
  return r;
}

test('the MCP server itself: PRM document, 401 challenge, and tokens not meant for it are refused', async () => {
  const prm = await get(mcp.prmUrl);
  assert.equal(prm.status, 200, prm.describe());
  assert.equal(prm.json.resource, mcp.url);
  assert.deepEqual(prm.json.authorization_servers, [t.issuer]);

  const noTok = await fetch(mcp.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(noTok.status, 401);
  assert.match(noTok.headers.get('www-authenticate') || '', /^Bearer .*resource_metadata="[^"]+"/);

  // A valid token of this issuer, but for another audience: refused.
  const other = await t.accessToken(t.clients.basic, { scope: 'tools:read', resource: RESOURCE });
  const wrongAud = await fetch(mcp.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${other}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(wrongAud.status, 401, 'a token whose aud is another resource is refused by the MCP server');
  assert.match(wrongAud.headers.get('www-authenticate') || '', /error="invalid_token"/);
});

test('MCP SDK client, public client (none): discovery from the 401, dynamic registration, PKCE, sign-in and consent, tool call, refresh', async (tt) => {
  // The person may only read: asking for tools:read tools:call yields tools:read.
  const person = await createUser(t, { scopes: ['tools:read'] });
  const provider = new ConformanceProvider({ person, authMethod: 'none' });

  const { client } = await connectWithAuth(provider);
  tt.after(() => client.close().catch(() => {}));

  // Dynamic registration happened, as a public client.
  assert.equal(provider.registrations.length, 1, `one dynamic registration: ${JSON.stringify(provider.registrations)}`);
  const reg = provider.registrations[0];
  assert.equal(typeof reg.client_id, 'string', `registration answer has client_id: ${JSON.stringify(reg)}`);
  assert.equal(reg.client_secret, undefined, `a public (none) client gets no secret: ${JSON.stringify(reg)}`);

  // The SDK's authorization request: PKCE S256, resource = the MCP server, scope from the PRM.
  assert.equal(provider.authorizationUrls.length, 1);
  const areq = provider.authorizationUrls[0].searchParams;
  assert.equal(areq.get('code_challenge_method'), 'S256');
  assert.equal(areq.get('resource'), mcp.url);
  assert.equal(provider.authorizationUrls[0].origin + provider.authorizationUrls[0].pathname, t.as.authorization_endpoint);
  assert.ok(provider.drives[0].pages.login, 'the person saw the sign-in page');
  assert.ok(provider.drives[0].pages.consent, 'the person saw the consent page');
  // SPEC §11 / issue 13: a self-registered client is marked unverified, with
  // its host (its redirect URI's), and its loopback-only redirect URIs warned of
  assert.match(provider.drives[0].pages.consent.text, /id="unverified"[^>]*>.*registered itself/s);
  assert.match(provider.drives[0].pages.consent.text, /id="client-host">127\.0\.0\.1</);
  assert.match(provider.drives[0].pages.consent.text, /id="loopback-warning"/);

  // Tokens: bound to the MCP server, narrowed to what the person may do.
  assert.equal(provider.savedTokens.length, 1);
  const tok1 = provider.savedTokens[0];
  assert.equal(typeof tok1.refresh_token, 'string', `a refresh token is issued: ${JSON.stringify({ ...tok1, access_token: '…' })}`);
  assert.match(tok1.token_type, /^bearer$/i);
  const c1 = jose.decodeJwt(tok1.access_token);
  assert.deepEqual(audList(c1.aud), [mcp.url], `aud is the MCP server: ${JSON.stringify(c1)}`);
  assert.equal(c1.sub, person.id, `sub is the person's id: ${JSON.stringify(c1)}`);
  assert.equal(c1.client_id, reg.client_id);
  assert.deepEqual([...scopeSet(c1.scope)], ['tools:read'], `a read-only person's token has tools:read only: ${JSON.stringify(c1)}`);
  assert.equal(c1.exp - c1.iat, TTL, `access_token_ttl ${TTL} applies: ${JSON.stringify(c1)}`);

  // The tool call goes through with the token the MCP server verified.
  const r1 = await echo(client, 'hello through authz');
  const seen1 = mcp.requests.filter((r) => r.status === 200 && r.claims);
  assert.ok(seen1.length >= 1, 'the MCP server accepted a verified token');
  assert.equal(seen1.at(-1).claims.jti, c1.jti);
  assert.equal(r1._meta?.sub, person.id, `the tool saw the person as sub: ${JSON.stringify(r1)}`);

  // Force a refresh: wait until the access token has expired, call again.
  const wait = (c1.exp + 1) * 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const before401 = mcp.requests.length;
  await echo(client, 'hello again after refresh');

  const later = mcp.requests.slice(before401);
  assert.ok(
    later.some((r) => r.status === 401 && /exp/i.test(r.error || '')),
    `the MCP server refused the expired token: ${JSON.stringify(later.map(({ claims, ...r }) => r))}`,
  );
  assert.equal(provider.authorizationUrls.length, 1, 'no new sign-in: the SDK refreshed');
  assert.equal(provider.savedTokens.length, 2, `the SDK saved refreshed tokens once: ${provider.savedTokens.length}`);
  const tok2 = provider.savedTokens[1];
  assert.notEqual(tok2.access_token, tok1.access_token, 'a new access token');
  assert.equal(typeof tok2.refresh_token, 'string', 'the refresh answer carries a refresh token (rotation)');
  assert.notEqual(tok2.refresh_token, tok1.refresh_token, 'the refresh token was rotated');
  const c2 = jose.decodeJwt(tok2.access_token);
  assert.deepEqual(audList(c2.aud), [mcp.url], `refreshed token keeps aud: ${JSON.stringify(c2)}`);
  assert.equal(c2.sub, person.id);
  assert.deepEqual([...scopeSet(c2.scope)], ['tools:read'], `refreshed token keeps the scope: ${JSON.stringify(c2)}`);
  const ok2 = later.filter((r) => r.status === 200 && r.claims);
  assert.ok(ok2.length >= 1 && ok2.at(-1).claims.jti === c2.jti, 'the retried call used the refreshed token');
});

test('MCP SDK client, confidential client (client_secret_basic) registered dynamically: tool call with both scopes', async (tt) => {
  const person = await createUser(t, { scopes: MCP_SCOPES });
  const provider = new ConformanceProvider({ person, authMethod: 'client_secret_basic' });
  const { client } = await connectWithAuth(provider);
  tt.after(() => client.close().catch(() => {}));

  const reg = provider.registrations[0];
  assert.equal(typeof reg.client_secret, 'string', `a confidential client gets a secret: ${JSON.stringify({ ...reg, client_secret: reg.client_secret && '…' })}`);
  const tok = provider.savedTokens[0];
  const claims = jose.decodeJwt(tok.access_token);
  assert.deepEqual([...scopeSet(claims.scope)].sort(), [...MCP_SCOPES].sort(), `scope: ${JSON.stringify(claims)}`);
  assert.deepEqual(audList(claims.aud), [mcp.url]);
  await echo(client, 'confidential');

  // The dynamically registered client can introspect its own token (SPEC §5).
  const me = { client_id: reg.client_id, client_secret: reg.client_secret, token_endpoint_auth_method: 'client_secret_basic' };
  const info = await introspect(t, me, tok.access_token);
  assert.equal(info.active, true, `introspection by the token's own client: ${JSON.stringify(info)}`);
  assert.equal(info.sub, person.id);
  assert.equal(info.client_id, reg.client_id);
});

// Issue 13 (SPEC §11): client ID metadata documents (CIMD) and step-up,
// through the MCP TypeScript SDK's client (@modelcontextprotocol/sdk 1.x,
// `clientMetadataUrl`) with no special code: discovery from the 401, CIMD
// (no registration), PKCE, sign-in, consent, tool call, refresh.
//
// The SDK takes only an https clientMetadataUrl, so the test serves the
// document over https on 127.0.0.1 with a certificate of a CA it makes
// (openssl), and starts an authzd of its own (lib/authzd.mjs, on a fresh
// database next to the shared one) that trusts that CA (SSL_CERT_FILE) and
// whose public_url is on loopback (SPEC §11: loopback documents are allowed
// only then). Every fixture then talks to that authzd.
//
// Also: what the consent page says about such a client (unverified, its
// host, the loopback warning, scope descriptions), step-up consent (only the
// new scope asked; the stored consent becomes the union), and bad documents
// (too large, slow, redirecting, not JSON, wrong client_id, a private
// address, policy off / allowlist) refused as invalid_client with a
// description, nothing stored.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client as Client2, StreamableHTTPClientTransport as Transport2 } from '@modelcontextprotocol/client';
import { Authzd, freshDatabase, dropDatabase, freePort } from '../lib/authzd.mjs';
import { createTenant } from '../lib/fixture.mjs';
import { createUser, patchTenant, consents, auditEvents } from '../lib/codeflow.mjs';
import { okJson } from '../lib/checks.mjs';
import { get, postForm } from '../lib/http.mjs';
import { UserAgent, drive, callbackMatcher, describeTrail, pageText } from '../lib/useragent.mjs';
import { startMcpServer } from '../mcp/server.mjs';

const SCOPES = ['tools:read', 'tools:call'];
const TTL = 5;
const REDIRECT = 'http://127.0.0.1:33419/oauth/callback';

let dir, db, authzd, docs, t, mcp;
const saved = {};

/** A CA and a certificate for 127.0.0.1 signed by it, made with openssl. */
function makeCerts(d) {
  const o = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  o(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(d, 'ca.key'),
    '-out', join(d, 'ca.pem'), '-days', '1', '-subj', '/CN=cimd test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  o(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(d, 'doc.key'),
    '-out', join(d, 'doc.csr'), '-subj', '/CN=127.0.0.1']);
  execFileSync('bash', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > ${join(d, 'ext')}`]);
  o(['x509', '-req', '-in', join(d, 'doc.csr'), '-CA', join(d, 'ca.pem'), '-CAkey', join(d, 'ca.key'), '-set_serial', '7',
    '-days', '1', '-out', join(d, 'doc.pem'), '-extfile', join(d, 'ext')]);
}

/**
 * The documents' https server: `docs.set(path, handler)`; `docs.url(path)`;
 * `docs.hits[path]` counts the GETs.
 */
async function startDocServer(d) {
  const routes = new Map();
  const hits = {};
  const server = https.createServer({ key: readFileSync(join(d, 'doc.key')), cert: readFileSync(join(d, 'doc.pem')) }, (req, res) => {
    const path = req.url.split('?')[0];
    hits[path] = (hits[path] || 0) + 1;
    const h = routes.get(path);
    if (!h) {
      res.writeHead(404).end();
      return;
    }
    h(req, res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${server.address().port}`;
  return {
    hits,
    url: (p) => `${origin}${p}`,
    set: (p, h) => routes.set(p, h),
    json: (p, body, headers = {}) =>
      routes.set(p, (req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=300', ...headers });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      }),
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

function docFor(url, over = {}) {
  return {
    client_id: url,
    client_name: 'CIMD conformance client',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...over,
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authz-cimd-'));
  makeCerts(dir);
  docs = await startDocServer(dir);
  db = await freshDatabase();
  authzd = new Authzd({ name: 'cimd', port: await freePort(), ...db, env: { SSL_CERT_FILE: join(dir, 'ca.pem') } });
  await authzd.start();
  // every fixture below talks to this authzd
  saved.base = process.env.AUTHZ_BASE_URL;
  saved.token = process.env.AUTHZ_ROOT_TOKEN;
  process.env.AUTHZ_BASE_URL = authzd.url;
  process.env.AUTHZ_ROOT_TOKEN = db.rootToken;
  t = await createTenant('cimd');
  mcp = await startMcpServer({ issuer: t.issuer, scopesSupported: SCOPES });
  okJson(await t.admin.call('POST', `/tenants/${t.slug}/resources`, {
    uri: mcp.url,
    scopes: SCOPES,
    scope_descriptions: { 'tools:read': 'See the tools and what they return', 'tools:call': 'Run tools for you' },
  }), 201);
  okJson(await patchTenant(t, { access_token_ttl: TTL }));
});
after(async () => {
  await mcp?.close();
  await docs?.close();
  await authzd?.stop();
  if (saved.base !== undefined) process.env.AUTHZ_BASE_URL = saved.base;
  if (saved.token !== undefined) process.env.AUTHZ_ROOT_TOKEN = saved.token;
  if (db) await dropDatabase(db.name).catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** An OAuthClientProvider with a clientMetadataUrl, as an MCP host writes one. */
class CimdProvider {
  constructor({ person, metadataUrl }) {
    Object.assign(this, { person, metadataUrl });
    this.savedTokens = [];
    this.authorizationUrls = [];
    this.drives = [];
    this.registered = [];
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadataUrl() {
    return this.metadataUrl;
  }
  get clientMetadata() {
    return docFor(this.metadataUrl);
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
    this.registered.push(info);
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tok) {
    this._tokens = tok;
    this.savedTokens.push(tok);
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
  async redirectToAuthorization(u) {
    this.authorizationUrls.push(new URL(u));
    const result = await drive(this.ua ?? (this.ua = new UserAgent()), u, {
      isCallback: callbackMatcher(REDIRECT),
      username: this.person.username,
      password: this.person.password,
      decision: 'approve',
    });
    this.drives.push(result);
    if (result.kind !== 'callback') throw new Error(`authorization did not come back: ${result.kind}\n${describeTrail(result)}`);
    const q = result.callback.searchParams;
    if (q.get('error')) throw new Error(`authorization error: ${result.callback.href}`);
    assert.equal(q.get('iss'), t.issuer, 'RFC 9207 iss on the callback');
    this.code = q.get('code');
    this.callback = q;
  }
}

async function connectWithAuth(provider) {
  const first = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider });
  const c1 = new Client({ name: 'cimd-conformance', version: '1.0.0' });
  await assert.rejects(c1.connect(first), (e) => e instanceof UnauthorizedError);
  await first.close().catch(() => {});
  await first.finishAuth(provider.code);
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider });
  const client = new Client({ name: 'cimd-conformance', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

test('metadata says client_id_metadata_document_supported and offline_access', () => {
  assert.equal(t.as.client_id_metadata_document_supported, true);
  assert.ok(t.as.scopes_supported.includes('offline_access'), JSON.stringify(t.as.scopes_supported));
});

test('the MCP SDK client with a clientMetadataUrl: discovery, CIMD, PKCE, sign-in, consent, tool call, refresh', async (tt) => {
  const url = docs.url('/clients/mcp-host.json');
  docs.json('/clients/mcp-host.json', docFor(url));
  const person = await createUser(t, { scopes: SCOPES });
  const provider = new CimdProvider({ person, metadataUrl: url });
  const client = await connectWithAuth(provider);
  tt.after(() => client.close().catch(() => {}));

  assert.equal(provider.registered.length, 1);
  assert.equal(provider.registered[0].client_id, url, 'the SDK used the URL as its client_id (no registration)');
  const areq = provider.authorizationUrls[0].searchParams;
  assert.equal(areq.get('client_id'), url);
  assert.equal(areq.get('code_challenge_method'), 'S256');
  assert.equal(areq.get('resource'), mcp.url);

  // the consent page: unverified, the document's host, the loopback
  // warning, scope descriptions
  const consent = provider.drives[0].pages.consent;
  assert.ok(consent, 'the person saw the consent page');
  const text = pageText(consent.text);
  assert.match(consent.text, /id="unverified"/);
  assert.match(text, /Unverified application/);
  assert.match(consent.text, /id="client-host">127\.0\.0\.1</);
  assert.match(consent.text, /id="loopback-warning"/, 'every redirect URI is loopback: warned');
  assert.match(text, /See the tools and what they return/);
  assert.match(text, /Run tools for you/);

  const tok = provider.savedTokens[0];
  assert.equal(typeof tok.refresh_token, 'string', 'a refresh token, offline_access asked or not');
  const c = jose.decodeJwt(tok.access_token);
  assert.equal(c.client_id, url);
  assert.equal(c.sub, person.id);
  assert.equal(c.aud, mcp.url);

  const r1 = await client.callTool({ name: 'echo', arguments: { text: 'via CIMD' } });
  assert.equal(r1.content[0].text, 'via CIMD');
  const wait = (c.exp + 1) * 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const r2 = await client.callTool({ name: 'echo', arguments: { text: 'after refresh' } });
  assert.equal(r2.content[0].text, 'after refresh');
  assert.equal(provider.savedTokens.length, 2, 'the SDK refreshed');
  assert.notEqual(provider.savedTokens[1].refresh_token, tok.refresh_token, 'rotated');
  assert.equal(docs.hits['/clients/mcp-host.json'], 1, 'the document was fetched once (cached by Cache-Control)');

  const rows = await auditEvents(t, { event: 'code.issued' });
  assert.equal(rows[0].client_id, url, 'audited under its URL as client_id');
});

test('step-up: consent asks only for the new scope, and the stored consent becomes the union', async () => {
  const url = docs.url('/clients/stepup.json');
  docs.json('/clients/stepup.json', docFor(url));
  const person = await createUser(t, { scopes: SCOPES });
  const ua = new UserAgent();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
  const authUrl = (scope) => {
    const u = new URL(t.as.authorization_endpoint);
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: url, redirect_uri: REDIRECT, scope, state: 's',
      code_challenge: challenge, code_challenge_method: 'S256', resource: mcp.url })) u.searchParams.set(k, v);
    return u.href;
  };
  const opts = { isCallback: callbackMatcher(REDIRECT), username: person.username, password: person.password };
  let r = await drive(ua, authUrl('tools:read'), opts);
  assert.equal(r.kind, 'callback', describeTrail(r));
  assert.ok(r.pages.consent);
  // asked again for the same: no consent page
  r = await drive(ua, authUrl('tools:read offline_access'), opts);
  assert.equal(r.kind, 'callback', describeTrail(r));
  assert.equal(r.pages.consent, null, 'a subset of the stored consent (offline_access is not a permission) is not asked again');
  // more: only the new scope is asked for
  r = await drive(ua, authUrl('tools:read tools:call'), { ...opts, stopAt: 'consent' });
  assert.equal(r.kind, 'stopped', describeTrail(r));
  const html = r.res.text;
  const asked = html.split('id="scopes"')[1].split('</ul>')[0];
  assert.match(asked, /tools:call/);
  assert.doesNotMatch(asked, /tools:read/, 'only the new scope is asked for');
  assert.match(html, /id="already-allowed"[\s\S]*tools:read/, 'what was allowed before is listed apart');
  const button = r.form.button('decision', 'approve');
  const res = await ua.submit(r.form, {}, button);
  assert.ok([302, 303].includes(res.status), res.describe());
  const list = await consents(t, { client_id: url });
  const one = list.find((c) => c.subject === person.id || c.user_id === person.id) ?? list[0];
  assert.deepEqual([...one.scopes].sort(), ['tools:call', 'tools:read'], `the union is stored: ${JSON.stringify(list)}`);
});

test("the SDK's insufficient_scope step-up (@modelcontextprotocol/client 2.x): re-authorization with the union, consent asks only the new scope", async (tt) => {
  // an MCP server whose metadata offers tools:read only: the first
  // authorization asks for that
  const small = await startMcpServer({ issuer: t.issuer, scopesSupported: ['tools:read'] });
  tt.after(() => small.close());
  okJson(await t.admin.call('POST', `/tenants/${t.slug}/resources`, { uri: small.url, scopes: SCOPES }), 201);
  const url = docs.url('/clients/sdk-stepup.json');
  docs.json('/clients/sdk-stepup.json', docFor(url));
  const person = await createUser(t, { scopes: SCOPES });
  const provider = new CimdProvider({ person, metadataUrl: url });
  const first = new Transport2(new URL(small.url), { authProvider: provider });
  const c1 = new Client2({ name: 'cimd-stepup', version: '1.0.0' });
  await assert.rejects(c1.connect(first));
  assert.ok(provider.callback, 'the first authorization came back');
  await first.finishAuth(provider.callback);
  const asked1 = provider.authorizationUrls[0].searchParams.get('scope').split(' ');
  assert.ok(asked1.includes('tools:read') && !asked1.includes('tools:call'), asked1.join(' '));
  let transport = new Transport2(new URL(small.url), { authProvider: provider });
  let client = new Client2({ name: 'cimd-stepup', version: '1.0.0' });
  await client.connect(transport);
  tt.after(() => client.close().catch(() => {}));
  assert.equal(jose.decodeJwt(provider.tokens().access_token).scope, 'tools:read');
  // run needs tools:call: 403 insufficient_scope; the SDK re-authorizes
  provider.callback = undefined;
  await assert.rejects(client.callTool({ name: 'run', arguments: { task: 'x' } }));
  assert.equal(provider.authorizationUrls.length, 2, 'the SDK re-authorized');
  assert.deepEqual(provider.authorizationUrls[1].searchParams.get('scope').split(' ').filter((x) => x !== 'offline_access').sort(),
    ['tools:call', 'tools:read'], 'the second authorization asks for the union');
  const consent = provider.drives[1].pages.consent;
  assert.ok(consent, 'a consent page for the new scope');
  const asked = consent.text.split('id="scopes"')[1].split('</ul>')[0];
  assert.match(asked, /tools:call/);
  assert.doesNotMatch(asked, /tools:read/, 'only the new scope is asked');
  assert.ok(!provider.drives[1].pages.login, 'still signed in');
  await transport.finishAuth(provider.callback);
  transport = new Transport2(new URL(small.url), { authProvider: provider });
  client = new Client2({ name: 'cimd-stepup', version: '1.0.0' });
  await client.connect(transport);
  const r = await client.callTool({ name: 'run', arguments: { task: 'the report' } });
  assert.equal(r.content[0].text, 'ran the report');
  const list = await consents(t, { client_id: url });
  assert.deepEqual([...list[0].scopes].sort(), ['tools:call', 'tools:read'], 'the stored consent is the union');
});

test('an error redirect from the authorization endpoint carries iss (RFC 9207)', async () => {
  const url = docs.url('/clients/iss.json');
  docs.json('/clients/iss.json', docFor(url));
  const u = new URL(t.as.authorization_endpoint);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: url, redirect_uri: REDIRECT, state: 'x',
    code_challenge: 'short', code_challenge_method: 'S256' })) u.searchParams.set(k, v);
  const r = await get(u.href);
  assert.ok([302, 303].includes(r.status), r.describe());
  const loc = new URL(r.header('location'));
  assert.equal(loc.searchParams.get('error'), 'invalid_request');
  assert.equal(loc.searchParams.get('iss'), t.issuer);
});

// ---------------------------------------------------------------- bad documents

const big = 'x'.repeat(17 * 1024);
const BAD = [
  ['too large', (u) => docs.json(u.path, JSON.stringify({ ...docFor(u.url), pad: big })), /16 KiB|too large|larger/i],
  ['not JSON', (u) => docs.json(u.path, '<html>hello</html>'), /JSON/],
  ['with another client_id', (u) => docs.json(u.path, docFor('https://elsewhere.example.test/c.json')), /client_id/],
  ['redirecting', (u) => docs.set(u.path, (req, res) => res.writeHead(302, { Location: docs.url('/clients/mcp-host.json') }).end()), /redirect/i],
  ['answering 404', (u) => docs.set(u.path, (req, res) => res.writeHead(404).end()), /404|status/i],
  ['slow (over 5 s)', (u) => docs.set(u.path, (req, res) => setTimeout(() => res.writeHead(200).end('{}'), 7000)), /time|slow|5 s/i],
  ['without redirect_uris', (u) => docs.json(u.path, docFor(u.url, { redirect_uris: undefined })), /redirect_uris/],
  ['with client_secret_basic', (u) => docs.json(u.path, docFor(u.url, { token_endpoint_auth_method: 'client_secret_basic' })), /token_endpoint_auth_method/],
];

let n = 0;
for (const [name, setup, why] of BAD) {
  test(`a document ${name} is refused as invalid_client with a description; nothing stored`, { timeout: 30000 }, async () => {
    const path = `/clients/bad-${++n}.json`;
    const url = docs.url(path);
    setup({ path, url });
    const started = Date.now();
    // at the token endpoint: invalid_client with the description
    const r = await postForm(t.tokenEndpoint, [['grant_type', 'authorization_code'], ['code', 'x'], ['client_id', url],
      ['redirect_uri', REDIRECT], ['code_verifier', 'v'.repeat(43)]]);
    assert.equal(r.status, 401, r.describe());
    assert.equal(r.json.error, 'invalid_client');
    assert.match(r.json.error_description, why, r.describe());
    assert.ok(Date.now() - started < 6500, 'the fetch stops at 5 s');
    // at the authorization endpoint: an error page (not a redirect to an
    // unverified redirect URI)
    const u = new URL(t.as.authorization_endpoint);
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: url, redirect_uri: REDIRECT, state: 'x',
      code_challenge: 'A'.repeat(43), code_challenge_method: 'S256' })) u.searchParams.set(k, v);
    const a = await get(u.href);
    assert.equal(a.status, 400, a.describe());
    assert.match(pageText(a.text), /invalid_client/);
    // nothing stored: no client of that id
    const c = await t.admin.getClient(t.slug, url);
    assert.equal(c.status, 404, c.describe());
  });
}

test('a document on a private address is refused', async () => {
  const url = 'https://10.1.2.3/clients/x.json';
  const r = await postForm(t.tokenEndpoint, [['grant_type', 'refresh_token'], ['refresh_token', 'x'], ['client_id', url]]);
  assert.equal(r.status, 401, r.describe());
  assert.equal(r.json.error, 'invalid_client');
  assert.match(r.json.error_description, /private|refused/i);
});

test('cimd_policy off and allowlist', async () => {
  const url = docs.url('/clients/policy.json');
  docs.json('/clients/policy.json', docFor(url));
  const tryIt = () => postForm(t.tokenEndpoint, [['grant_type', 'refresh_token'], ['refresh_token', 'x'], ['client_id', url]]);
  okJson(await patchTenant(t, { cimd_policy: 'off' }));
  let r = await tryIt();
  assert.equal(r.status, 401, r.describe());
  assert.equal(r.json.error, 'invalid_client');
  const md = await get(`${authzd.url}/.well-known/oauth-authorization-server/t/${t.slug}`);
  assert.equal(md.json.client_id_metadata_document_supported, false);
  okJson(await patchTenant(t, { cimd_policy: 'allowlist', cimd_hosts: ['*.example.test'] }));
  r = await tryIt();
  assert.equal(r.status, 401, r.describe());
  assert.match(r.json.error_description, /not one this tenant accepts/);
  okJson(await patchTenant(t, { cimd_policy: 'allowlist', cimd_hosts: ['127.0.0.1'] }));
  r = await tryIt();
  assert.equal(r.status, 400, `an allowed document: the refresh token is what is wrong now\n${r.describe()}`);
  assert.equal(r.json.error, 'invalid_grant');
  okJson(await patchTenant(t, { cimd_policy: 'open', cimd_hosts: [] }));
  r = await patchTenant(t, { cimd_policy: 'sometimes' });
  assert.equal(r.status, 400, r.describe());
});

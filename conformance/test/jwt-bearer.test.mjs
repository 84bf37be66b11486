// Issue 13 (SPEC §11): the JWT bearer grant (RFC 7523 §2.1) with its two
// profiles, through real clients:
//
// - Enterprise-managed authorization: the MCP TypeScript SDK's
//   CrossAppAccessProvider (@modelcontextprotocol/client, ID-JAG leg 2)
//   connects to an MCP server protected by authz with an ID-JAG minted by a
//   test IdP key (jose) under a trust policy of use "id-jag", and calls a
//   tool. Bad ID-JAGs (wrong typ, aud, client_id, replayed jti, expired,
//   unknown issuer, person unknown, scope beyond the person's) are refused
//   with the RFC error and a token.issued audit row with success false.
// - Workload identity (secretless agent): a client registered with
//   private_key_jwt and no keys of its own gets tokens with a workload JWT
//   (Kubernetes-shaped) at the jwt-bearer grant with no client
//   authentication, and as its client_assertion at the token endpoint
//   (client_credentials, token exchange) and at CIBA (bc-authorize and the
//   poll).
// - Metadata advertises both; an ID-JAG token ends when its trust policy is
//   replaced or deleted.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { Client, StreamableHTTPClientTransport, CrossAppAccessProvider } from '@modelcontextprotocol/client';
import { createTenant, RESOURCE, agentClientBody } from '../lib/fixture.mjs';
import { createUser, auditEvents, introspect, expectInactive } from '../lib/codeflow.mjs';
import { okJson } from '../lib/checks.mjs';
import { postForm } from '../lib/http.mjs';
import { keyPair, jwksOf, sign, k8sClaims, K8S_ISSUER, mustPutPolicy, putPolicy, deletePolicy } from '../lib/workload.mjs';
import { CIBA_GRANT, createApprover, mustDecide } from '../lib/ciba.mjs';
import { GT_EXCHANGE, TT_ACCESS, createResourceServer } from '../lib/exchange.mjs';
import { startMcpServer } from '../mcp/server.mjs';

const GT_JWT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CAT_JWT = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const IDP = 'https://idp.example.test/enterprise';
const enc = encodeURIComponent;

let t, mcp, idpKey, otherKey, app, person, narrow, wlKey, agent, approver;

before(async () => {
  t = await createTenant('jwtb');
  mcp = await startMcpServer({ issuer: t.issuer, scopesSupported: ['tools:read', 'tools:call'] });
  await t.admin.mustCreateResource(t.slug, { uri: mcp.url, scopes: ['tools:read', 'tools:call'] });
  idpKey = await keyPair('ES256');
  otherKey = await keyPair('ES256');
  await mustPutPolicy(t, 'enterprise-idp', {
    issuer: IDP,
    jwks: jwksOf(idpKey),
    audience: t.issuer,
    use: ['id-jag'],
    user_claim: 'email',
  });
  app = okJson(
    await t.admin.call('POST', `/tenants/${enc(t.slug)}/clients`, agentClientBody({
      client_name: 'enterprise chat app',
      grant_types: [GT_JWT],
      allowed_scopes: ['tools:read', 'tools:call'],
      allowed_resources: [mcp.url, RESOURCE],
    })),
    201,
  );
  person = await createUser(t, { username: 'alice@example.test', scopes: ['tools:read', 'tools:call'] });
  narrow = await createUser(t, { username: 'bob@example.test', scopes: ['tools:read'] });

  // the secretless agent: private_key_jwt with no keys of its own; a
  // Kubernetes service account maps to it
  wlKey = await keyPair('ES256');
  agent = okJson(
    await t.admin.call('POST', `/tenants/${enc(t.slug)}/clients`, agentClientBody({
      client_name: 'secretless agent',
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: [GT_JWT, 'client_credentials', GT_EXCHANGE, CIBA_GRANT],
      allowed_scopes: ['tools:read', 'tools:call'],
      allowed_resources: [RESOURCE],
      backchannel_token_delivery_mode: 'poll',
    })),
    201,
  );
  assert.equal(agent.client_secret, undefined, 'a private_key_jwt client has no secret');
  await mustPutPolicy(t, 'cluster', {
    issuer: K8S_ISSUER,
    jwks: jwksOf(wlKey),
    audience: t.issuer,
    use: ['actor'],
    maps_to_client: agent.client_id,
    subject_pattern: 'system:serviceaccount:agents:*',
  });
  approver = await createApprover(t);
});
after(async () => {
  await mcp?.close();
});

/** An ID-JAG as the enterprise IdP would mint it (RFC 8693 exchange output). */
function idJag(over = {}, header = {}, key = idpKey) {
  return sign(
    key,
    {
      iss: IDP,
      sub: `idp|${randomUUID()}`,
      email: person.username,
      aud: t.issuer,
      client_id: app.client_id,
      jti: randomUUID(),
      exp: '+300',
      iat: '-1',
      resource: mcp.url,
      scope: 'tools:read tools:call',
      ...over,
    },
    { typ: 'oauth-id-jag+jwt', ...header },
  );
}

function jwtBearer(assertion, { basic = [app.client_id, app.client_secret], extra = [] } = {}) {
  return postForm(t.tokenEndpoint, [['grant_type', GT_JWT], ['assertion', assertion], ...extra], basic ? { basic } : {});
}

test('metadata advertises the jwt-bearer grant and the ID-JAG profile', () => {
  assert.ok(t.as.grant_types_supported.includes(GT_JWT), JSON.stringify(t.as.grant_types_supported));
  assert.deepEqual(t.as.authorization_grant_profiles_supported, ['urn:ietf:params:oauth:grant-profile:id-jag']);
});

test("the SDK's CrossAppAccessProvider gets a token with an ID-JAG and calls a tool", async () => {
  const seen = [];
  const provider = new CrossAppAccessProvider({
    assertion: async (ctx) => {
      seen.push(ctx);
      return idJag({ resource: ctx.resourceUrl, aud: ctx.authorizationServerUrl.replace(/\/+$/, '') });
    },
    clientId: app.client_id,
    clientSecret: app.client_secret,
    expectedIssuer: t.issuer,
  });
  const client = new Client({ name: 'xaa-conformance', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider });
  await client.connect(transport);
  const out = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
  assert.equal(out.content[0].text, 'hello');
  assert.equal(seen.length, 1, 'one ID-JAG was asked for');
  assert.equal(seen[0].resourceUrl, mcp.url);
  const tok = provider.tokens();
  assert.equal(tok.refresh_token, undefined, 'SPEC §11: no refresh token');
  const claims = jose.decodeJwt(tok.access_token);
  assert.equal(claims.sub, person.id, 'the token is the mapped person');
  assert.equal(claims.aud, mcp.url);
  assert.equal(claims.client_id, app.client_id);
  assert.equal(out._meta.sub, person.id);
  await client.close();
  const ok = (await auditEvents(t, { event: 'token.issued' })).find(
    (e) => e.outcome === 'success' && e.details?.profile === 'id-jag' && e.subject === person.id,
  );
  assert.ok(ok, 'a token.issued row with profile id-jag');
  assert.equal(ok.details.policy, 'enterprise-idp');
});

test('ID-JAG scope is requested ∩ assertion ∩ person ∩ client', async () => {
  let r = await jwtBearer(await idJag({ email: narrow.username }), { extra: [['scope', 'tools:read tools:call']] });
  assert.equal(r.status, 200, r.describe());
  assert.equal(r.json.scope, 'tools:read');
  r = await jwtBearer(await idJag({ scope: 'tools:call' }), { extra: [['scope', 'tools:read']] });
  assert.equal(r.status, 400, r.describe());
  assert.equal(r.json.error, 'invalid_scope');
});

const BAD = [
  ['wrong typ', () => idJag({}, { typ: 'JWT' }), 'invalid_grant'],
  ['aud another server', () => idJag({ aud: 'https://other-as.example.test' }), 'invalid_grant'],
  ['client_id another client', () => idJag({ client_id: 'someone-else' }), 'invalid_grant'],
  ['expired', () => idJag({ exp: '-600', iat: '-900' }), 'invalid_grant'],
  ['unknown issuer', () => idJag({ iss: 'https://evil.example.test' }), 'invalid_grant'],
  ['signed by another key', () => idJag({}, {}, otherKey), 'invalid_grant'],
  ['person unknown', () => idJag({ email: 'nobody@example.test' }), 'invalid_grant'],
  ['scope beyond the person', () => idJag({ email: narrow.username, scope: 'tools:call' }), 'invalid_scope'],
  ['no jti', () => idJag({ jti: null }), 'invalid_grant'],
  ['resource not of this tenant', () => idJag({ resource: 'https://nowhere.example.test/mcp' }), 'invalid_grant'],
  ['no scope', () => idJag({ scope: null }), 'invalid_grant'],
];
for (const [name, make, error] of BAD) {
  test(`a bad ID-JAG (${name}) is refused with ${error} and an audit row`, async () => {
    const before = (await auditEvents(t, { event: 'token.issued' })).filter((e) => e.outcome !== 'success').length;
    const r = await jwtBearer(await make());
    assert.equal(r.status, 400, r.describe());
    assert.equal(r.json.error, error, r.describe());
    assert.equal(typeof r.json.error_description, 'string');
    assert.equal(r.json.access_token, undefined);
    const rows = (await auditEvents(t, { event: 'token.issued' })).filter((e) => e.outcome !== 'success');
    assert.equal(rows.length, before + 1, 'one more refusal row');
    assert.equal(rows[0].details.grant_type, GT_JWT);
  });
}

test('a replayed ID-JAG jti is refused', async () => {
  const a = await idJag();
  let r = await jwtBearer(a);
  assert.equal(r.status, 200, r.describe());
  r = await jwtBearer(a);
  assert.equal(r.status, 400, r.describe());
  assert.equal(r.json.error, 'invalid_grant');
  assert.match(r.json.error_description, /jti/);
});

test('an ID-JAG needs client authentication, and the right client', async () => {
  let r = await jwtBearer(await idJag(), { basic: null });
  assert.equal(r.status, 401, r.describe());
  assert.equal(r.json.error, 'invalid_client');
  r = await jwtBearer(await idJag(), { basic: [app.client_id, 'wrong secret'] });
  assert.equal(r.status, 401, r.describe());
  // the assertion parameter twice, or missing
  r = await postForm(t.tokenEndpoint, [['grant_type', GT_JWT]], { basic: [app.client_id, app.client_secret] });
  assert.equal(r.status, 400, r.describe());
  assert.equal(r.json.error, 'invalid_request');
  const a = await idJag();
  r = await postForm(t.tokenEndpoint, [['grant_type', GT_JWT], ['assertion', a], ['assertion', a]], {
    basic: [app.client_id, app.client_secret],
  });
  assert.equal(r.status, 400, r.describe());
  assert.equal(r.json.error, 'invalid_request');
  // a resource parameter other than the assertion's
  r = await jwtBearer(await idJag(), { extra: [['resource', RESOURCE]] });
  assert.equal(r.status, 400, r.describe());
  assert.equal(r.json.error, 'invalid_target');
});

// ---------------------------------------------------------------- workload identity

function workloadJwt(over = {}) {
  return sign(wlKey, k8sClaims({ aud: t.issuer, serviceAccount: 'summariser', ...over }));
}
const asAssertion = (jwt) => [['client_assertion_type', CAT_JWT], ['client_assertion', jwt]];

test('a secretless agent gets a token with its workload JWT and no client authentication', async () => {
  const r = await postForm(t.tokenEndpoint, [['grant_type', GT_JWT], ['assertion', await workloadJwt()], ['resource', RESOURCE]]);
  assert.equal(r.status, 200, r.describe());
  const c = jose.decodeJwt(r.json.access_token);
  assert.equal(c.client_id, agent.client_id);
  assert.equal(c.sub, agent.client_id, 'issued as client credentials would be');
  assert.equal(c.aud, RESOURCE);
  assert.equal(r.json.refresh_token, undefined);
});

test('a workload JWT of another service account, or expired, is refused', async () => {
  for (const over of [{ serviceAccount: 'x', namespace: 'other' }, { exp: '-600', iat: '-900' }]) {
    const r = await postForm(t.tokenEndpoint, [['grant_type', GT_JWT], ['assertion', await workloadJwt(over)]]);
    assert.equal(r.status, 400, r.describe());
    assert.equal(r.json.error, 'invalid_grant');
  }
  // and as a client_assertion: invalid_client
  const r = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials'], ...asAssertion(await workloadJwt({ exp: '-600', iat: '-900' }))]);
  assert.equal(r.status, 401, r.describe());
  assert.equal(r.json.error, 'invalid_client');
});

test('the workload JWT is the agent client_assertion: client_credentials, exchange, CIBA', async () => {
  // client_credentials
  let r = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials'], ['resource', RESOURCE], ...asAssertion(await workloadJwt())]);
  assert.equal(r.status, 200, r.describe());
  assert.equal(jose.decodeJwt(r.json.access_token).client_id, agent.client_id);

  // CIBA: bc-authorize and the poll, each authenticated by the workload JWT
  r = await postForm(t.as.backchannel_authentication_endpoint, [
    ['login_hint', person.username],
    ['scope', 'tools:read'],
    ['resource', RESOURCE],
    ['binding_message', 'summarise the inbox'],
    ...asAssertion(await workloadJwt()),
  ]);
  assert.equal(r.status, 200, r.describe());
  const authReqId = r.json.auth_req_id;
  await mustDecide(t, await approver.token(), authReqId, 'approve', person.username);
  r = await postForm(t.tokenEndpoint, [['grant_type', CIBA_GRANT], ['auth_req_id', authReqId], ...asAssertion(await workloadJwt())]);
  assert.equal(r.status, 200, r.describe());
  const session = r.json.access_token;
  assert.equal(jose.decodeJwt(session).sub, person.id);

  // token exchange of that session token, the agent authenticated the same way
  r = await postForm(t.tokenEndpoint, [
    ['grant_type', GT_EXCHANGE],
    ['subject_token', session],
    ['subject_token_type', TT_ACCESS],
    ['actor_token', await workloadJwt()],
    ['actor_token_type', 'urn:ietf:params:oauth:token-type:jwt'],
    ['resource', RESOURCE],
    ['scope', 'tools:read'],
    ...asAssertion(await workloadJwt()),
  ]);
  assert.equal(r.status, 200, r.describe());
  const ex = jose.decodeJwt(r.json.access_token);
  assert.equal(ex.sub, person.id);
  assert.equal(ex.client_id, agent.client_id);
});

test('a workload client_assertion with another client_id, or the wrong type, is refused', async () => {
  let r = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials'], ['client_id', app.client_id], ...asAssertion(await workloadJwt())]);
  assert.equal(r.status, 401, r.describe());
  assert.equal(r.json.error, 'invalid_client');
  r = await postForm(t.tokenEndpoint, [
    ['grant_type', 'client_credentials'],
    ['client_assertion_type', 'urn:example:other'],
    ['client_assertion', await workloadJwt()],
  ]);
  assert.equal(r.status, 401, r.describe());
  // the agent has no secret: Basic with anything fails
  r = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials']], { basic: [agent.client_id, 'x'] });
  assert.equal(r.status, 401, r.describe());
});

test('an ID-JAG token rests on its trust policy: replacing or deleting the policy ends it', async () => {
  const rs = await createResourceServer(t, [mcp.url]);
  const policy = {
    issuer: IDP,
    jwks: jwksOf(idpKey),
    audience: t.issuer,
    use: ['id-jag'],
    user_claim: 'email',
  };
  let r = await jwtBearer(await idJag());
  assert.equal(r.status, 200, r.describe());
  const first = r.json.access_token;
  assert.equal((await introspect(t, rs, first)).active, true);
  // replaced (same content): tokens issued before end, new ones live
  await mustPutPolicy(t, 'enterprise-idp', policy);
  await expectInactive(t, rs, first, 'a token issued under the replaced policy');
  await new Promise((res) => setTimeout(res, 1100)); // a new iat second
  r = await jwtBearer(await idJag());
  assert.equal(r.status, 200, r.describe());
  const second = r.json.access_token;
  assert.equal((await introspect(t, rs, second)).active, true, 'a token under the new policy lives');
  // deleted: its tokens end, and no ID-JAG of that issuer is accepted
  const d = await deletePolicy(t, 'enterprise-idp');
  assert.equal(d.status, 204, d.describe());
  await expectInactive(t, rs, second, 'a token issued under the deleted policy');
  r = await jwtBearer(await idJag());
  assert.equal(r.status, 400, r.describe());
  assert.equal(r.json.error, 'invalid_grant');
  await mustPutPolicy(t, 'enterprise-idp', policy);
});

test('trust policies with use id-jag: bad bodies are 400 problems and store nothing', async () => {
  const base = { issuer: 'https://idp2.example.test', jwks: jwksOf(idpKey), audience: t.issuer };
  for (const [what, body] of [
    ['id-jag without user_claim', { ...base, use: ['id-jag'] }],
    ['id-jag twice', { ...base, use: ['id-jag', 'id-jag'], user_claim: 'email' }],
    ['an unknown use', { ...base, use: ['id-jag', 'idjag'], user_claim: 'email' }],
    ['four uses', { ...base, use: ['actor', 'subject', 'id-jag', 'actor'], user_claim: 'email', maps_to_client: agent.client_id }],
  ]) {
    const r = await putPolicy(t, 'bad-idjag', body);
    assert.equal(r.status, 400, `${what}: ${r.describe()}`);
    assert.equal(r.contentType, 'application/problem+json');
  }
  const g = await t.admin.call('GET', `/tenants/${enc(t.slug)}/trust-policies/bad-idjag`);
  assert.equal(g.status, 404, 'nothing stored');
  // all three uses at once is fine
  const ok = await putPolicy(t, 'all-uses', { ...base, use: ['actor', 'subject', 'id-jag'], user_claim: 'email', maps_to_client: agent.client_id });
  assert.equal(ok.status, 201, ok.describe());
  assert.deepEqual(ok.json.use, ['actor', 'subject', 'id-jag']);
});

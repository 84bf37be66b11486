// bench/soak.mjs: the mixed part of the soak (bench/soak.sh): every grant
// (authorization code + refresh through the real sign-in and consent pages,
// client credentials, token exchange, CIBA with the approval callback),
// introspection, revocation and admin reads, in parallel loops until
// SOAK_SECONDS pass. Prints one JSON line of counts by kind and status; any
// answer other than the intended ones is counted as an error.
import { Admin } from '../conformance/lib/admin.mjs';
import { createTenant, RESOURCE } from '../conformance/lib/fixture.mjs';
import { createUser, createCodeClient, personTokens, refresh } from '../conformance/lib/codeflow.mjs';

const seconds = Number(process.env.SOAK_SECONDS || 600);
const until = Date.now() + seconds * 1000;
const counts = {};
const errors = [];
function count(kind, status, ok) {
  const k = `${kind} ${status}`;
  counts[k] = (counts[k] || 0) + 1;
  if (!ok && errors.length < 20) errors.push(k);
}

const admin = new Admin();
const t = await createTenant('soak', { admin });
const agent = t.clients.basic;
const enc = encodeURIComponent;
const basic = (c) => 'Basic ' + Buffer.from(`${enc(c.client_id)}:${enc(c.client_secret)}`).toString('base64');

async function post(url, client, form) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json };
}

const user = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
const web = await createCodeClient(t);
const x = await admin.call('POST', `/tenants/${t.slug}/clients`, {
  client_name: 'soak agent', grant_types: ['client_credentials', 'refresh_token',
    'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:openid:params:grant-type:ciba'],
  allowed_scopes: ['tools:read', 'tools:call', 'approvals:decide'], allowed_resources: [RESOURCE],
  introspects: [RESOURCE], can_act_for: [user.username],
});
const xa = x.json;
const T = t.as.token_endpoint;

async function loop(name, fn) {
  while (Date.now() < until) {
    try { await fn(); } catch (e) { count(name, 'exception', false); if (errors.length < 20) errors.push(`${name}: ${e.message}`); }
  }
}

// the approval system's token lives access_token_ttl: it asks for a new one per approval
const decider = async () => (await post(T, xa, { grant_type: 'client_credentials', scope: 'approvals:decide' })).json.access_token;
let person = null;

await Promise.all([
  loop('code+refresh', async () => {
    const { tokens } = await personTokens(t, web, user);
    person = tokens.access_token;
    count('code', 200, true);
    let rt = tokens.refresh_token;
    for (let i = 0; i < 5; i++) {
      const r = await refresh(t, web, rt);
      rt = r.refresh_token;
      count('refresh', 200, true);
    }
    const rv = await post(t.as.revocation_endpoint, web, { token: rt });
    count('revoke', rv.status, rv.status === 200);
  }),
  loop('cc+exchange+introspect', async () => {
    const cc = await post(T, xa, { grant_type: 'client_credentials', resource: RESOURCE });
    count('client_credentials', cc.status, cc.status === 200);
    if (person) {
      const ex = await post(T, xa, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: person,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', actor_token: cc.json.access_token,
        actor_token_type: 'urn:ietf:params:oauth:token-type:access_token', resource: RESOURCE,
      });
      // a person token may expire or be revoked (its family) between loops: 400 is intended then
      count('exchange', ex.status, ex.status === 200 || (ex.status === 400 && ex.json?.error === 'invalid_request'));
      if (ex.status === 200) {
        const it = await post(t.as.introspection_endpoint, xa, { token: ex.json.access_token });
        // active, or inactive when the person's family was revoked meanwhile
        count('introspect', it.status, it.status === 200 && typeof it.json?.active === 'boolean');
      }
    }
  }),
  loop('ciba', async () => {
    const bc = await post(t.as.backchannel_authentication_endpoint, xa, {
      login_hint: user.username, scope: 'tools:read', resource: RESOURCE, binding_message: 'soak task', session_ttl: '600',
    });
    count('bc-authorize', bc.status, bc.status === 200);
    const d = await fetch(`${t.issuer}/approvals/${bc.json.auth_req_id}/decision`, {
      method: 'POST', headers: { authorization: `Bearer ${await decider()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve', approver: user.username }),
    });
    count('decision', d.status, d.status === 200);
    const tk = await post(T, xa, { grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: bc.json.auth_req_id });
    count('ciba-token', tk.status, tk.status === 200);
  }),
  loop('admin', async () => {
    for (const p of [`/tenants/${t.slug}`, `/tenants/${t.slug}/clients`, `/tenants/${t.slug}/audit?limit=50`,
      `/tenants/${t.slug}/sessions`, `/tenants/${t.slug}/consents`]) {
      const r = await admin.call('GET', p);
      count('admin-read', r.status, r.status === 200);
    }
    await new Promise((res) => setTimeout(res, 100));
  }),
]);
const total = Object.values(counts).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ seconds, total, counts, errors }));

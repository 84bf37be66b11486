// Issue 15 item 5: the operator console, {public_url}/console/ (SPEC §13),
// in a real browser (Debian's chromium driven by playwright-core, as the
// approval pages' tests): the root operator signs in with the root token,
// lists a tenant's agents (the one without an owner flagged), opens one and
// sees the chart of its decisions, disables it (it gets invalid_client at
// once), finds that in the audit view with the filters, revokes a session
// and disables a person; a tenant administrator signs in through the
// tenant's sign-in page and sees only that tenant. Screenshots go to
// conformance/screenshots/console-*.png.
//
// A browser-less part (lib/useragent.mjs) checks the rules a browser would
// not break by itself: the page headers and cookie attributes of SPEC §4.1,
// CSRF (a POST without or with a wrong token is 403 and changes nothing), a
// wrong root token refused, the CSRF token of a signed-out console worth
// nothing, a person without admin refused, a tenant admin confined to its
// tenant and signed out when admin is taken from them.
//
// CHROMIUM_PATH overrides /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { baseUrl, rootToken } from '../lib/env.mjs';
import { jsonRequest } from '../lib/http.mjs';
import { okJson } from '../lib/checks.mjs';
import { createTenant, agentClientBody } from '../lib/fixture.mjs';
import { createUser, auditEvents } from '../lib/codeflow.mjs';
import { createCibaAgent, createApprover, approvedSession, listSessions } from '../lib/ciba.mjs';
import { UserAgent, parseForms, pageText, isRedirect, locationOf, drive } from '../lib/useragent.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url));
const CONSOLE = `${baseUrl()}/console`;
const enc = encodeURIComponent;
const admin = (path, opts = {}) => jsonRequest(opts.method ?? 'GET', `${baseUrl()}/admin/v1${path}`, { token: rootToken(), ...opts });

let t;
let other;
let owner;
let context;
let userDataDir;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  t = await createTenant('console');
  other = await createTenant('console-other');
  owner = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  userDataDir = mkdtempSync(join(tmpdir(), 'authz-chromium-console-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    ignoreHTTPSErrors: baseUrl().startsWith('https:'), // the test CA of scripts/test's TLS stage
  });
});

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

/** The SPEC §4.1 page headers. */
function assertPageHeaders(h, what) {
  const desc = `${what} headers: ${JSON.stringify(h)}`;
  assert.match(h['content-security-policy'] || '', /default-src 'none'/, `${what} sends a CSP without scripts: ${desc}`);
  assert.match(h['content-security-policy'] || '', /frame-ancestors 'none'/, desc);
  assert.equal((h['x-frame-options'] || '').toUpperCase(), 'DENY', desc);
  assert.match(h['cache-control'] || '', /(^|[\s,])no-store($|[\s,])/i, desc);
}

async function clientStatus(tenant, clientId) {
  return okJson(await admin(`/tenants/${tenant.slug}/clients/${clientId}`)).status;
}

/** client_credentials for `c` until it fails (or `ms` pass): the status seen. */
async function ccStatus(tenant, c) {
  return (await tenant.ccRaw(c, [['scope', 'tools:read']])).status;
}

// ---------------------------------------------------------------- in Chromium

test('chromium: the root operator signs in, lists agents, opens the chart, disables an agent and finds it in the audit view', async () => {
  const owned = okJson(await admin(`/tenants/${t.slug}/clients`, { method: 'POST', body: agentClientBody({ client_name: 'Owned Agent', owner: owner.id }) }), 201);
  const agent = okJson(await admin(`/tenants/${t.slug}/clients`, { method: 'POST', body: agentClientBody({ client_name: 'Report Writer Agent' }) }), 201);
  // activity for the chart: tokens issued to the agent
  for (let i = 0; i < 3; i++) assert.equal(await ccStatus(t, agent), 200);

  const page = context.pages()[0] ?? (await context.newPage());
  const docs = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'document') docs.push(r);
  });

  await page.goto(`${CONSOLE}/`);
  await page.locator('input[name=root_token]').waitFor({ timeout: 10000 });
  assert.ok(page.url().startsWith(`${CONSOLE}/login`), `not signed in: the sign-in page (${page.url()})`);
  assertPageHeaders(await docs.at(-1).allHeaders(), 'the sign-in page');
  await shot(page, 'console-login.png');

  // a wrong root token is refused
  await page.fill('input[name=root_token]', 'azroot_not-the-root-token');
  await page.click('#signin');
  await page.locator('#error').waitFor();
  assert.equal(docs.at(-1).status(), 401);
  assert.match(await page.locator('#error').innerText(), /not a valid root token/);

  await page.fill('input[name=root_token]', rootToken());
  await Promise.all([page.waitForURL(`${CONSOLE}/`), page.click('#signin')]);
  assert.match(await page.locator('#who').innerText(), /root operator/);
  const cookies = await context.cookies(CONSOLE);
  const session = cookies.find((c) => c.name === 'authz_console');
  assert.ok(session, 'a console session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/console');

  await Promise.all([page.waitForURL(/\/agents$/), page.click(`tr[data-slug="${t.slug}"] a`)]);
  assertPageHeaders(await docs.at(-1).allHeaders(), 'the agents page');
  const row = page.locator(`tr[data-client-id="${agent.client_id}"]`);
  await row.waitFor();
  assert.match(await row.locator('.owner').innerText(), /No owner/, 'an agent without an owner is flagged');
  assert.match(await row.locator('.scopes').innerText(), /tools:read/);
  assert.equal(await row.locator('.status').innerText(), 'active');
  const ownedRow = page.locator(`tr[data-client-id="${owned.client_id}"]`);
  assert.equal(await ownedRow.locator('.owner').innerText(), owner.username, 'the owner by name');
  assert.equal(await ownedRow.locator('.flag').count(), 0);
  await shot(page, 'console-agents.png');

  // the agent's page: its decisions over time, inline SVG
  await Promise.all([page.waitForURL(new RegExp(`/agents/${agent.client_id}$`)), row.locator('a').first().click()]);
  const chart = page.locator('svg#chart');
  await chart.waitFor();
  assert.equal(await chart.locator('rect.bar-tokens').count(), 24, 'one bucket an hour for a day');
  const counts = await chart.locator('rect.bar-tokens').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))));
  assert.ok(counts.reduce((a, b) => a + b, 0) >= 3, `the three token events are on the chart: ${counts}`);
  assert.equal(await page.locator('#total-tokens').innerText(), String(counts.reduce((a, b) => a + b, 0)));
  await shot(page, 'console-agent-chart.png');
  await Promise.all([page.waitForURL(/by=day/), page.click('#by-day')]);
  assert.equal(await page.locator('svg#chart rect.bar-tokens').count(), 30, 'one bucket a day for 30 days');

  // disable it
  await Promise.all([page.waitForURL(/notice=disabled/), page.click(`#disable-${agent.client_id}`)]);
  assert.match(await page.locator('#notice').innerText(), /Disabled/);
  assert.equal(await page.locator(`tr[data-client-id="${agent.client_id}"] .status`).innerText(), 'disabled');
  assert.equal(await page.locator(`#disable-${agent.client_id}`).count(), 0, 'no disable button for a disabled agent');
  assert.equal(await clientStatus(t, agent.client_id), 'disabled');
  assert.equal(await ccStatus(t, agent), 401, 'a disabled agent gets invalid_client');
  await shot(page, 'console-agent-disabled.png');

  // the audit view, with the filters of SPEC §7
  await Promise.all([page.waitForURL(/\/audit$/), page.click('#nav-audit')]);
  assertPageHeaders(await docs.at(-1).allHeaders(), 'the audit page');
  await page.fill('#filter-client', agent.client_id);
  await page.fill('#filter-event', 'client.disabled');
  await Promise.all([page.waitForURL(/event=client.disabled/), page.click('#filter')]);
  const rows = page.locator('tr.event');
  assert.equal(await rows.count(), 1, 'one client.disabled row for the agent');
  assert.match(await rows.first().locator('.reason').innerText(), /root operator/);
  assert.equal(await rows.first().locator('.client').innerText(), agent.client_id);
  await shot(page, 'console-audit.png');
  // the same row through the admin API
  const api = await auditEvents(t, { event: 'client.disabled', client: agent.client_id });
  assert.equal(api.length, 1);
});

test('chromium: sessions are revoked and people disabled from the console', async () => {
  const agent = await createCibaAgent(t, { client_name: 'Session Agent' });
  const approver = await createApprover(t);
  const person = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const s = await approvedSession(t, agent, person, approver);
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${CONSOLE}/t/${t.slug}/sessions`);
  const row = page.locator(`tr[data-sid="${s.sid}"]`);
  await row.waitFor();
  assert.equal(await row.locator('.username').innerText(), person.username);
  await shot(page, 'console-sessions.png');
  await Promise.all([page.waitForURL(/notice=revoked/), page.click(`#revoke-${s.sid}`)]);
  assert.equal(await page.locator(`tr[data-sid="${s.sid}"]`).count(), 0);
  const listed = await listSessions(t, { user: person.id });
  assert.equal(listed.find((x) => x.sid === s.sid)?.state, 'revoked');

  await page.goto(`${CONSOLE}/t/${t.slug}/people`);
  const prow = page.locator(`tr[data-sub="${person.id}"]`);
  await prow.waitFor();
  await Promise.all([page.waitForURL(/notice=disabled/), page.click(`#disable-${person.id}`)]);
  assert.equal(await page.locator(`tr[data-sub="${person.id}"] .status`).innerText(), 'disabled');
  assert.equal(okJson(await admin(`/tenants/${t.slug}/users/${enc(person.username)}`)).status, 'disabled');
  await shot(page, 'console-people.png');
  // the person's name opens the audit trail filtered by their sub
  await Promise.all([page.waitForURL(/\/audit\?user=/), page.click(`tr[data-sub="${person.id}"] .username a`)]);
  const events = await page.locator('tr.event').evaluateAll((els) => els.map((e) => e.getAttribute('data-event')));
  assert.ok(events.includes('person.disabled'), `person.disabled among ${events}`);
  assert.ok(events.includes('session.revoked'), `session.revoked among ${events}`);
  assert.equal(await page.locator('#filter-user').inputValue(), person.id);

  // signing out: the console is closed again
  await Promise.all([page.waitForURL(/\/console\/login$/), page.click('#signout')]);
  await page.goto(`${CONSOLE}/t/${t.slug}/agents`);
  assert.ok(page.url().startsWith(`${CONSOLE}/login`), `signed out: ${page.url()}`);
});

test('chromium: a tenant administrator signs in through the tenant’s sign-in page and sees only that tenant', async () => {
  const boss = await createUser(t, { scopes: ['admin', 'tools:read'] });
  const theirs = okJson(await admin(`/tenants/${other.slug}/clients`, { method: 'POST', body: agentClientBody({ client_name: 'Not Yours' }) }), 201);
  const page = await context.newPage();
  await page.goto(`${t.issuer}/console`);
  await page.locator('input[name=username]').waitFor({ timeout: 10000 });
  await page.fill('input[name=username]', boss.username);
  await page.fill('input[name=password]', boss.password);
  await Promise.all([page.waitForURL(`${t.issuer}/console`), page.locator('button[type=submit]').first().click()]);
  await Promise.all([page.waitForURL(/\/agents$/), page.click('#open-console')]);
  assert.ok(page.url().startsWith(`${CONSOLE}/t/${t.slug}/agents`), page.url());
  assert.equal(await page.locator('#who').innerText(), boss.username);
  assert.equal(await page.locator('#nav-tenants').count(), 0, 'no list of tenants for a tenant admin');
  await shot(page, 'console-tenant-admin.png');
  const res = await page.goto(`${CONSOLE}/t/${other.slug}/agents`);
  assert.equal(res.status(), 404, 'another tenant does not exist for them');
  assert.doesNotMatch(await page.content(), new RegExp(theirs.client_id));
  await page.goto(`${CONSOLE}/`);
  assert.ok(page.url().startsWith(`${CONSOLE}/t/${t.slug}/agents`), `the console's home is their tenant: ${page.url()}`);
  await page.close();
});

// ---------------------------------------------------------------- browser-less

/** A console signed in as root in a fresh UserAgent. */
async function rootConsole() {
  const ua = new UserAgent();
  const login = await ua.get(`${CONSOLE}/login`);
  const form = parseForms(login.text, login.url).find((f) => f.input('root_token'));
  const res = await ua.submit(form, { root_token: rootToken() });
  assert.ok(isRedirect(res), `root sign-in: ${res.status} ${pageText(res.text).slice(0, 200)}`);
  return ua;
}

/** The disable form of `clientId` on the agents page of `tenant` in ua. */
async function disableForm(ua, tenant, clientId) {
  const res = await ua.get(`${CONSOLE}/t/${tenant.slug}/agents`);
  assert.equal(res.status, 200, pageText(res.text).slice(0, 200));
  return parseForms(res.text, res.url).find((f) => f.action.endsWith(`/agents/${clientId}/disable`));
}

test('headers and cookies of SPEC §4.1 on every console page; the sign-in refuses a wrong token and a missing CSRF token', async () => {
  const ua = new UserAgent();
  const login = await ua.get(`${CONSOLE}/login`);
  for (const [k, v] of Object.entries({ 'x-frame-options': /^DENY$/i, 'cache-control': /no-store/, 'content-security-policy': /default-src 'none'/ })) {
    assert.match(login.header(k) || '', v, `${k} on the sign-in page`);
  }
  const csrfCookie = ua.jar.list().find((c) => c.name === 'authz_console_csrf');
  assert.ok(csrfCookie?.httpOnly && /strict/i.test(csrfCookie.sameSite) && csrfCookie.path === '/console', JSON.stringify(csrfCookie));
  // Secure exactly when the console is served over https
  const https = baseUrl().startsWith('https:');
  assert.equal(csrfCookie.secure, https, `Secure on ${baseUrl()}: ${csrfCookie.raw}`);
  const form = parseForms(login.text, login.url).find((f) => f.input('root_token'));
  const wrong = await ua.submit(form, { root_token: `${rootToken()}x` });
  assert.equal(wrong.status, 401);
  assert.ok(!ua.jar.list().some((c) => c.name === 'authz_console'), 'no session for a wrong token');
  const noCsrf = await ua.post(`${CONSOLE}/login`, [['root_token', rootToken()]]);
  assert.equal(noCsrf.status, 403, 'the right token without the CSRF token is refused');
  const otherCsrf = await new UserAgent().post(`${CONSOLE}/login`, [['root_token', rootToken()], ['csrf_token', csrfCookie.value]]);
  assert.equal(otherCsrf.status, 403, 'the token of another browser’s form, without its cookie');
  assert.ok(!ua.jar.list().some((c) => c.name === 'authz_console'));
  const failures = await jsonRequest('GET', `${baseUrl()}/healthz`);
  assert.equal(failures.status, 200);

  const signed = await rootConsole();
  const sess = signed.jar.list().find((c) => c.name === 'authz_console');
  assert.ok(sess?.httpOnly && /strict/i.test(sess.sameSite) && sess.path === '/console', sess?.raw);
  assert.equal(sess.secure, https, `the session cookie is Secure on https: ${sess.raw}`);
  for (const path of ['/', `/t/${t.slug}/agents`, `/t/${t.slug}/people`, `/t/${t.slug}/sessions`, `/t/${t.slug}/audit`]) {
    const res = await signed.get(`${CONSOLE}${path}`);
    assert.equal(res.status, 200, `${path}: ${pageText(res.text).slice(0, 200)}`);
    assert.match(res.header('content-security-policy') || '', /default-src 'none'/, path);
    assert.match(res.header('x-frame-options') || '', /^DENY$/i, path);
    assert.match(res.header('cache-control') || '', /no-store/, path);
    assert.doesNotMatch(res.text, /<script/i, `${path} has no script`);
  }
  // bad input on the console pages: clear 4xx, never a 5xx
  for (const path of [`/t/${t.slug}/audit?since=yesterday`, `/t/${t.slug}/audit?cursor=zzz`, `/t/${t.slug}/audit?cursor=${Buffer.from('9223372036854775808:1').toString('base64url')}`,
    `/t/${t.slug}/sessions?cursor=${Buffer.from('1:a b').toString('base64url')}`, `/t/${t.slug}/agents?cursor=%00`,
    `/t/${t.slug}/people?cursor=${Buffer.from("1:x' OR 1=1").toString('base64url')}`, `/t/${t.slug}/agents/x?by=week`, `/t/${t.slug}/nothing`, '/t/no-such-tenant/agents', `/t/${t.slug}/agents/%zz`]) {
    const res = await signed.get(`${CONSOLE}${path}`);
    assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
  }
});

test('the audit view pages with its filters kept: every row once, newest first', async () => {
  const busy = okJson(await admin(`/tenants/${t.slug}/clients`, { method: 'POST', body: agentClientBody({ client_name: 'Busy Agent' }) }), 201);
  for (let i = 0; i < 60; i++) assert.equal(await ccStatus(t, busy), 200);
  const ua = await rootConsole();
  const ids = [];
  let url = `${CONSOLE}/t/${t.slug}/audit?client=${busy.client_id}&event=token.issued`;
  for (let pages = 0; url && pages < 10; pages++) {
    const res = await ua.get(url);
    assert.equal(res.status, 200, pageText(res.text).slice(0, 200));
    for (const m of res.text.matchAll(/<tr class="event[^"]*" data-event="([^"]*)" data-id="(\d+)"/g)) {
      assert.equal(m[1], 'token.issued', 'the event filter holds on every page');
      ids.push(Number(m[2]));
    }
    const next = res.text.match(/<a id="next-page" href="([^"]+)"/);
    url = next ? new URL(next[1].replaceAll('&amp;', '&'), res.url).href : null;
  }
  assert.equal(ids.length, 60, 'sixty token.issued rows of the agent, over two pages');
  assert.equal(new Set(ids).size, 60, 'no row twice');
  assert.deepEqual([...ids].sort((a, b) => b - a), ids, 'newest first');
  // a cursor from the admin API of another tenant's audit is only a position
  const theirs = okJson(await admin(`/tenants/${other.slug}/audit?limit=1`)).next_cursor;
  if (theirs) {
    const res = await ua.get(`${CONSOLE}/t/${t.slug}/audit?cursor=${enc(theirs)}&client=${busy.client_id}`);
    assert.equal(res.status, 200);
  }
});

test('CSRF: a console POST without the token, with a wrong one, or replayed after signing out is 403 and changes nothing', async () => {
  const victim = okJson(await admin(`/tenants/${t.slug}/clients`, { method: 'POST', body: agentClientBody({ client_name: 'CSRF target' }) }), 201);
  const ua = await rootConsole();
  const form = await disableForm(ua, t, victim.client_id);
  assert.ok(form, 'the agents page has a disable form for it');
  const token = form.input('csrf_token').value;
  for (const pairs of [[], [['csrf_token', '']], [['csrf_token', token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')]], [['csrf_token', token], ['csrf_token', 'x']].slice(1)]) {
    const res = await ua.post(form.action, pairs);
    assert.equal(res.status, 403, `disable with ${JSON.stringify(pairs)}: ${res.status}`);
  }
  // a cross-site form post: no cookie at all (SameSite=Strict), the token known
  assert.equal((await new UserAgent().post(form.action, [['csrf_token', token]])).status, 403);
  assert.equal(await clientStatus(t, victim.client_id), 'active', 'nothing changed');

  // sign out, then replay the old cookie and token
  const oldCookie = ua.jar.header(form.action);
  const home = await ua.get(`${CONSOLE}/t/${t.slug}/agents`);
  const signout = parseForms(home.text, home.url).find((f) => f.action.endsWith('/console/logout'));
  const out = await ua.submit(signout, {});
  assert.ok(isRedirect(out) && /\/console\/login$/.test(locationOf(out).href));
  const replay = await new UserAgent().post(form.action, [['csrf_token', token]], { headers: { Cookie: oldCookie } });
  assert.equal(replay.status, 403, 'the signed-out session’s cookie and token are worth nothing');
  const stale = await new UserAgent().get(`${CONSOLE}/t/${t.slug}/agents`, { headers: { Cookie: oldCookie } });
  assert.ok(isRedirect(stale), 'and open no page');
  assert.equal(await clientStatus(t, victim.client_id), 'active', 'nothing changed');
  assert.equal(await ccStatus(t, victim), 200, 'the agent still works');
});

test('a person without admin is refused; a tenant admin is confined to its tenant and loses the console with the scope', async () => {
  const plain = await createUser(t, { scopes: ['tools:read'] });
  const ua = new UserAgent();
  const r1 = await drive(ua, `${t.issuer}/console`, { isCallback: () => false, username: plain.username, password: plain.password });
  assert.equal(r1.res.status, 403, `a person without admin: ${r1.res.status} ${pageText(r1.res.text).slice(0, 200)}`);
  assert.equal(parseForms(r1.res.text, r1.res.url).length, 0, 'no form to open the console');
  // forging the POST with her own session's CSRF token does not help
  const ap = await ua.get(`${t.issuer}/approvals`);
  const hers = parseForms(ap.text, ap.url).flatMap((f) => f.inputs).find((i) => i.name === 'csrf_token')?.value ?? 'x'.repeat(43);
  assert.equal((await ua.post(`${t.issuer}/console`, [['csrf_token', hers]])).status, 403);
  assert.ok(!ua.jar.list().some((c) => c.name === 'authz_console'), 'no console session');

  const boss = await createUser(t, { scopes: ['admin'] });
  const bua = new UserAgent();
  const r2 = await drive(bua, `${t.issuer}/console`, { isCallback: () => false, username: boss.username, password: boss.password });
  assert.equal(r2.res.status, 200);
  const open = parseForms(r2.res.text, r2.res.url).find((f) => f.action.endsWith('/console'));
  // the opening form is CSRF-checked as well
  assert.equal((await bua.post(open.action, [])).status, 403);
  const opened = await bua.submit(open, {});
  assert.ok(isRedirect(opened), `opening the console: ${opened.status}`);
  assert.equal(locationOf(opened).href, `${CONSOLE}/t/${t.slug}/agents`);
  const theirs = okJson(await admin(`/tenants/${other.slug}/clients`, { method: 'POST', body: agentClientBody({ client_name: 'Other tenant agent' }) }), 201);
  for (const path of [`/t/${other.slug}/agents`, `/t/${other.slug}/audit`, `/t/${other.slug}/agents/${theirs.client_id}`]) {
    assert.equal((await bua.get(`${CONSOLE}${path}`)).status, 404, path);
  }
  const mine = await bua.get(`${CONSOLE}/t/${t.slug}/agents`);
  const token = parseForms(mine.text, mine.url).flatMap((f) => f.inputs).find((i) => i.name === 'csrf_token').value;
  const cross = await bua.post(`${CONSOLE}/t/${other.slug}/agents/${theirs.client_id}/disable`, [['csrf_token', token]]);
  assert.equal(cross.status, 404, 'disabling another tenant’s agent');
  assert.equal(await clientStatus(other, theirs.client_id), 'active');
  assert.equal((await bua.get(`${CONSOLE}/`)).status, 303);

  // admin taken away: the console closes at the next request
  okJson(await admin(`/tenants/${t.slug}/users/${enc(boss.username)}`, { method: 'PATCH', body: { scopes: ['tools:read'] } }));
  const after = await bua.get(`${CONSOLE}/t/${t.slug}/agents`);
  assert.ok(isRedirect(after) && /\/console\/login$/.test(locationOf(after).href), `without admin: ${after.status}`);
});

// Issue 5 item 3: the approval web page (SPEC §4.5) in a real browser
// (Debian's chromium driven by playwright-core): the person signs in at
// {ISSUER}/approvals, sees the agent's pending request (its task is the
// binding_message), approves it, and the agent's poll gets the tokens; the
// session then shows on the list page with a revoke button, and clicking it
// ends the session. Screenshots go to conformance/screenshots/ciba-*.png.
// A browser-less part (lib/useragent.mjs) checks the rules a browser would
// not break by itself: sign-in redirect, CSRF, the named person only.
//
// CHROMIUM_PATH overrides /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as jose from 'jose';
import { createTenant, RESOURCE } from '../lib/fixture.mjs';
import { createUser, expectInactive, introspect, auditEvents } from '../lib/codeflow.mjs';
import { createResourceServer } from '../lib/exchange.mjs';
import {
  createCibaAgent,
  createApprover,
  bcParams,
  bcAuthorize,
  pollRaw,
  pollTokens,
  listSessions,
  sleep,
} from '../lib/ciba.mjs';
import { UserAgent, parseForms, findLoginForm, isRedirect, locationOf, pageText } from '../lib/useragent.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url));
const BOTH = 'tools:read tools:call';

let t;
let agent;
let approver;
let alice;
let bob;
let rs;
let context;
let userDataDir;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  t = await createTenant('cibaweb');
  agent = await createCibaAgent(t, { client_name: 'Ticket Summariser Agent' });
  approver = await createApprover(t);
  alice = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  bob = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  rs = await createResourceServer(t, [RESOURCE]);
  userDataDir = mkdtempSync(join(tmpdir(), 'authz-chromium-ciba-'));
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
    viewport: { width: 1000, height: 900 },
  });
});

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

/** The SPEC §4.1 page headers (they apply to every HTML page of authz). */
async function assertPageHeaders(resp, what) {
  assert.ok(resp, `${what}: a document response was seen`);
  const h = await resp.allHeaders();
  const desc = `${what} (${resp.status()} ${resp.url()}) headers: ${JSON.stringify(h)}`;
  assert.ok(h['content-security-policy'], `${what} sends Content-Security-Policy: ${desc}`);
  assert.equal((h['x-frame-options'] || '').toUpperCase(), 'DENY', `${what} sends X-Frame-Options: DENY: ${desc}`);
  assert.match(h['cache-control'] || '', /(^|[\s,])no-store($|[\s,])/i, `${what} sends Cache-Control: no-store: ${desc}`);
}

const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The innermost element of the page holding one of `texts` and a button
 * matching `button` (a session entry names its task or its agent).
 */
function entryWith(page, texts, button) {
  return page
    .locator('li, tr, article, section, div, form')
    .filter({ hasText: new RegExp([texts].flat().map(reEscape).join('|')) })
    .filter({ has: page.getByRole('button', { name: button }) })
    .last();
}

test('chromium: the person signs in at /approvals, approves the agent’s request, the agent gets tokens, then revokes the session', async () => {
  const task = `Summarise the open incident tickets for the weekly review (${Date.now() % 100000})`;
  const req = await bcAuthorize(t, agent, bcParams(alice, { scope: BOTH, binding_message: task, session_ttl: '1800' }));

  const page = context.pages()[0] ?? (await context.newPage());
  const docs = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'document') docs.push(r);
  });

  // Not signed in: the list page sends the person to sign in, and back.
  await page.goto(`${t.issuer}/approvals`);
  const username = page.locator('input[name=username]');
  await username.waitFor({ timeout: 10000 });
  assert.ok(page.url().startsWith(t.issuer), `the sign-in page is under the issuer: ${page.url()}`);
  await shot(page, 'ciba-01-signin.png');
  await username.fill(alice.username);
  await page.locator('input[name=password]').fill(alice.password);
  await page.locator('form', { has: page.locator('input[name=password]') }).locator('button, input[type=submit]').first().click();

  // Back at the list: the pending request, with its task.
  await page.waitForURL((u) => new URL(u).pathname.endsWith('/approvals'), { timeout: 10000 });
  await page.getByText(task).first().waitFor({ timeout: 10000 });
  await assertPageHeaders(docs.at(-1), 'the approvals list page');
  await shot(page, 'ciba-02-pending.png');

  // The request page: agent, task, scopes, resources, duration; approve.
  const link = page.locator(`a[href*="${req.auth_req_id}"]`);
  if ((await link.count()) > 0) await link.first().click();
  else await page.goto(`${t.issuer}/approvals/${req.auth_req_id}`);
  const approve = page.locator('button[name=decision][value=approve], input[name=decision][value=approve]');
  await approve.waitFor({ timeout: 10000 });
  await assertPageHeaders(docs.at(-1), 'the request page');
  assert.equal(await page.locator('button[name=decision][value=deny], input[name=decision][value=deny]').count(), 1, 'a deny button');
  assert.ok(
    (await page.locator('form input[type=hidden][name=csrf_token]').count()) >= 1,
    'the decision form carries a hidden csrf_token',
  );
  const text = await page.locator('body').innerText();
  for (const needle of ['Ticket Summariser Agent', task, 'tools:read', 'tools:call', RESOURCE]) {
    assert.ok(text.includes(needle), `the request page shows ${JSON.stringify(needle)}; page text: ${text.slice(0, 800)}`);
  }
  assert.match(text, /30\s*min|1800\s*s|half an hour|0?0?:?30:00/i, `the request page shows the session's duration (1800 s); page text: ${text.slice(0, 800)}`);
  await shot(page, 'ciba-03-request.png');
  await approve.click();
  await page.waitForLoadState('load');
  await shot(page, 'ciba-04-approved.png');

  // The agent's poll now gets the session's tokens.
  const tokens = await pollTokens(t, agent, req.auth_req_id);
  const claims = jose.decodeJwt(tokens.access_token);
  assert.equal(claims.sub, alice.id, JSON.stringify(claims));
  assert.equal(typeof claims.sid, 'string', JSON.stringify(claims));
  assert.equal((await introspect(t, rs, tokens.access_token)).active, true);
  const approved = (await auditEvents(t, { event: 'session.approved', limit: '20' })).find((r) => r.session_id === claims.sid);
  assert.equal(approved?.details?.approver, alice.username, `session.approved details.approver: ${JSON.stringify(approved)}`);

  // The list page shows the session with a revoke button; clicking it ends the session.
  await page.goto(`${t.issuer}/approvals`);
  const entry = entryWith(page, [task, 'Ticket Summariser Agent'], /revoke/i);
  await entry.waitFor({ timeout: 10000 });
  await shot(page, 'ciba-05-session.png');
  await entry.getByRole('button', { name: /revoke/i }).first().click();
  await page.waitForLoadState('load');
  await shot(page, 'ciba-06-revoked.png');
  await expectInactive(t, rs, tokens.access_token, 'the access token of the session revoked on the approval page', 1000);
  const s = (await listSessions(t, { user: alice.id })).find((x) => x.sid === claims.sid);
  assert.equal(s?.state, 'revoked', `the session is revoked: ${JSON.stringify(s)}`);
  assert.equal(await entryWith(page, [task, 'Ticket Summariser Agent'], /revoke/i).count(), 0, 'the revoked session no longer offers a revoke button');
});

test('chromium: denying on the request page makes the agent’s poll access_denied', async () => {
  const task = `Delete the stale feature branches (${Date.now() % 100000})`;
  const req = await bcAuthorize(t, agent, bcParams(alice, { binding_message: task }));
  const page = await context.newPage();
  await page.goto(`${t.issuer}/approvals/${req.auth_req_id}`);
  const deny = page.locator('button[name=decision][value=deny], input[name=decision][value=deny]');
  await deny.waitFor({ timeout: 10000 });
  assert.equal(await page.locator('input[name=password]').count(), 0, 'still signed in: no second sign-in');
  assert.ok((await page.locator('body').innerText()).includes(task));
  await shot(page, 'ciba-07-deny.png');
  await deny.click();
  await page.waitForLoadState('load');
  await shot(page, 'ciba-08-denied.png');
  const res = await pollRaw(t, agent, req.auth_req_id);
  assert.equal(res.json?.error, 'access_denied', res.describe());
  const row = (await auditEvents(t, { event: 'session.denied', limit: '20' })).find((r) => JSON.stringify(r.details).includes(req.auth_req_id));
  assert.equal(row?.details?.approver, alice.username, `session.denied details.approver: ${JSON.stringify(row)}`);
  await page.close();
});

// ---------------------------------------------------------------- without a browser

/** Follow same-origin redirects from `url`, signing in as `user` when the sign-in form shows. */
async function signedInGet(ua, url, user) {
  let res = await ua.get(url);
  let signedIn = false;
  for (let i = 0; i < 10; i++) {
    if (isRedirect(res)) {
      res = await ua.get(locationOf(res).href);
      continue;
    }
    const forms = parseForms(res.text, res.url);
    const login = findLoginForm(forms);
    if (login && !signedIn) {
      signedIn = true;
      res = await ua.submit(login, { username: user.username, password: user.password }, login.buttons.find((b) => b.type === 'submit'));
      continue;
    }
    return res;
  }
  throw new Error(`too many redirects from ${url}`);
}

test('the approval pages: 303 to sign-in and back; another person sees nothing; a decision without the CSRF token changes nothing', async () => {
  const req = await bcAuthorize(t, agent, bcParams(alice, { binding_message: 'rebuild the search index' }));
  const pageUrl = `${t.issuer}/approvals/${req.auth_req_id}`;

  const anon = new UserAgent();
  const first = await anon.get(pageUrl);
  assert.equal(first.status, 303, `not signed in: 303 to the sign-in page\n  ${first.describe()}`);
  const loc = locationOf(first);
  assert.ok(loc.href.startsWith(t.issuer), `the sign-in page is under the issuer: ${loc.href}`);
  assert.ok(decodeURIComponent(loc.search).includes(`/approvals/${req.auth_req_id}`), `and it comes back to the request: ${loc.href}`);

  // bob (signed in) cannot see or decide alice's request
  const bobUa = new UserAgent();
  const bobPage = await signedInGet(bobUa, pageUrl, bob);
  assert.ok([403, 404].includes(bobPage.status), `another person gets 404 (or 403) for alice's request\n  ${bobPage.describe()}`);
  const bobList = await signedInGet(bobUa, `${t.issuer}/approvals`, bob);
  assert.equal(bobList.status, 200, bobList.describe());
  assert.ok(!pageText(bobList.text).includes('rebuild the search index'), "bob's list does not show alice's request");

  // alice without the CSRF token: 403, still pending
  const ua = new UserAgent();
  const aPage = await signedInGet(ua, pageUrl, alice);
  assert.equal(aPage.status, 200, aPage.describe());
  const form = parseForms(aPage.text, aPage.url).find((f) => f.buttons.some((b) => b.name === 'decision'));
  assert.ok(form, `the request page has a decision form: ${pageText(aPage.text).slice(0, 400)}`);
  assert.ok(form.input('csrf_token'), 'the decision form has a csrf_token field');
  const noCsrf = await ua.post(form.action, form.pairs({ csrf_token: null }, { name: 'decision', value: 'approve' }));
  assert.equal(noCsrf.status, 403, `a decision without csrf_token\n  ${noCsrf.describe()}`);
  const badCsrf = await ua.post(form.action, form.pairs({ csrf_token: 'forged' }, { name: 'decision', value: 'approve' }));
  assert.equal(badCsrf.status, 403, `a decision with a forged csrf_token\n  ${badCsrf.describe()}`);
  // bob replaying alice's form with his own session: refused
  const bobPost = await bobUa.post(form.action, form.pairs({}, { name: 'decision', value: 'approve' }));
  assert.ok([403, 404].includes(bobPost.status), `bob posting alice's decision\n  ${bobPost.describe()}`);
  const poll = await pollRaw(t, agent, req.auth_req_id);
  assert.equal(poll.json?.error, 'authorization_pending', `nothing was decided\n  ${poll.describe()}`);

  // with the token, alice's approval works
  const ok = await ua.submit(form, {}, form.button('decision', 'approve'));
  assert.ok(ok.status < 400, ok.describe());
  await sleep(5200);
  const tokens = await pollTokens(t, agent, req.auth_req_id);
  assert.equal(jose.decodeJwt(tokens.access_token).sub, alice.id);
  // the approval system's callback cannot decide it again
  const again = await fetch(`${t.issuer}/approvals/${req.auth_req_id}/decision`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await approver.token()}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ decision: 'deny', approver: alice.username }),
  });
  assert.equal(again.status, 409, 'a callback decision after the page decided: 409');
});

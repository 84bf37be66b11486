// Issue 3 (c): a real browser (Debian's chromium, driven by playwright-core)
// through the sign-in and consent pages of a code flow (SPEC §4.1).
// Screenshots of every page go to conformance/screenshots/ (gitignored).
//
// CHROMIUM_PATH overrides /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as oauth from 'oauth4webapi';
import { createTenant, RESOURCE } from '../lib/fixture.mjs';
import { createUser, createCodeClient, authorizationRequest, redeem } from '../lib/codeflow.mjs';
import { callbackMatcher } from '../lib/useragent.mjs';
import { audList } from '../lib/checks.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url));
const BOTH = 'tools:read tools:call';

let t;
let person;
let cbServer;
let cbUrl;
let context;
let userDataDir;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // The client's redirect URI: a small page on 127.0.0.1 that shows what came back.
  cbServer = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    const rows = [...u.searchParams].map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>client callback</title><h1>Back at the client</h1><table>${rows}</table>`);
  });
  await new Promise((r) => cbServer.listen(0, '127.0.0.1', r));
  cbUrl = `http://127.0.0.1:${cbServer.address().port}/callback`;

  t = await createTenant('web');
  person = await createUser(t, { scopes: ['tools:read', 'tools:call'] });

  userDataDir = mkdtempSync(join(tmpdir(), 'authz-chromium-'));
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
    viewport: { width: 1000, height: 800 },
  });
});

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await new Promise((r) => (cbServer ? cbServer.close(() => r()) : r()));
});

function esc(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Watch the page: document responses and Content-Security-Policy violations. */
function watch(page) {
  const docs = [];
  const csp = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'document') docs.push(r);
  });
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) csp.push(m.text());
  });
  return { docs, csp };
}

/** The SPEC §4.1 page headers. */
async function assertPageHeaders(resp, what) {
  assert.ok(resp, `${what}: a document response was seen`);
  const h = await resp.allHeaders();
  const desc = `${what} (${resp.status()} ${resp.url()}) headers: ${JSON.stringify(h)}`;
  assert.ok(h['content-security-policy'], `${what} sends Content-Security-Policy: ${desc}`);
  assert.equal((h['x-frame-options'] || '').toUpperCase(), 'DENY', `${what} sends X-Frame-Options: DENY: ${desc}`);
  assert.match(h['cache-control'] || '', /(^|[\s,])no-store($|[\s,])/i, `${what} sends Cache-Control: no-store: ${desc}`);
  assert.match(h['content-type'] || '', /^text\/html/i, desc);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

function submitButtonOf(page, hasSelector) {
  return page.locator('form', { has: page.locator(hasSelector) }).locator('button, input[type=submit]').first();
}

test('chromium signs in and approves consent on the real pages; the redirect carries code, state and iss', async () => {
  const client = await createCodeClient(t, { client_name: 'Playwright Demo App', redirect_uris: [cbUrl] });
  const req = await authorizationRequest(t, client, { scope: BOTH, resource: RESOURCE, redirectUri: cbUrl });
  const page = context.pages()[0] ?? (await context.newPage());
  const w = watch(page);

  // Sign-in page.
  await page.goto(req.url.href);
  const username = page.locator('input[name=username]');
  await username.waitFor({ timeout: 10000 });
  const loginResp = w.docs.at(-1);
  await assertPageHeaders(loginResp, 'the sign-in page');
  assert.equal(await page.locator('input[name=password][type=password]').count(), 1, 'a password field of type password');
  assert.ok((await page.locator('form input[type=hidden][name=csrf_token]').count()) >= 1, 'the sign-in form carries a hidden csrf_token');
  assert.ok(new URL(page.url()).href.startsWith(t.issuer), `the sign-in page is served under the issuer: ${page.url()}`);
  await shot(page, '01-login.png');

  await username.fill(person.username);
  await page.locator('input[name=password]').fill(person.password);
  await submitButtonOf(page, 'input[name=password]').click();

  // Consent page.
  const approve = page.locator('button[name=decision][value=approve], input[name=decision][value=approve]');
  await approve.waitFor({ timeout: 10000 });
  const consentResp = w.docs.at(-1);
  await assertPageHeaders(consentResp, 'the consent page');
  assert.ok((await page.locator('form input[type=hidden][name=csrf_token]').count()) >= 1, 'the consent form carries a hidden csrf_token');
  assert.equal(await page.locator('button[name=decision][value=deny], input[name=decision][value=deny]').count(), 1, 'a deny button');
  const text = await page.locator('body').innerText();
  for (const needle of ['Playwright Demo App', 'tools:read', 'tools:call', RESOURCE]) {
    assert.ok(text.includes(needle), `the consent page shows ${JSON.stringify(needle)}; page text: ${text.slice(0, 600)}`);
  }
  await shot(page, '02-consent.png');

  // Approve: the browser lands on the client's redirect URI.
  const isCb = callbackMatcher(cbUrl);
  await approve.click();
  await page.waitForURL((u) => isCb(new URL(u)), { timeout: 10000 });
  await page.locator('h1').waitFor();
  await shot(page, '03-callback.png');
  const callback = new URL(page.url());
  const q = callback.searchParams;
  assert.ok(q.get('code'), `code in the redirect: ${callback.href}`);
  assert.equal(q.get('state'), req.state, `state in the redirect: ${callback.href}`);
  assert.equal(q.get('iss'), t.issuer, `iss in the redirect (RFC 9207): ${callback.href}`);
  const params = oauth.validateAuthResponse(t.as, { client_id: client.client_id }, callback, req.state);

  // The code works.
  const tokens = await redeem(t, client, { ...req, callback }, { params });
  const { payload } = await t.verify(tokens.access_token, { audience: RESOURCE });
  assert.equal(payload.sub, person.id);
  assert.deepEqual(audList(payload.aud), [RESOURCE]);

  // The session cookie: HttpOnly, SameSite=Lax (Secure only under TLS).
  const cookies = await context.cookies(t.issuer);
  assert.ok(cookies.length >= 1, 'signing in set a cookie for the authorization server');
  for (const c of cookies) {
    assert.equal(c.httpOnly, true, `cookie ${c.name} is HttpOnly: ${JSON.stringify({ ...c, value: '…' })}`);
    assert.ok(['Lax', 'Strict'].includes(c.sameSite), `cookie ${c.name} is SameSite=Lax (or Strict): ${JSON.stringify({ ...c, value: '…' })}`);
  }
  assert.ok(cookies.some((c) => c.sameSite === 'Lax'), 'the session cookie is SameSite=Lax (it must survive the top-level redirect back from a client)');

  assert.deepEqual(w.csp, [], 'the pages work under their own Content-Security-Policy (no violations reported)');
});

test('chromium, same browser session: no second sign-in; deny on the consent page returns access_denied', async () => {
  const client = await createCodeClient(t, { client_name: 'Denied Demo App', redirect_uris: [cbUrl] });
  const req = await authorizationRequest(t, client, { scope: 'tools:read', resource: RESOURCE, redirectUri: cbUrl });
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(req.url.href);
  const deny = page.locator('button[name=decision][value=deny], input[name=decision][value=deny]');
  await deny.waitFor({ timeout: 10000 });
  assert.equal(await page.locator('input[name=password]').count(), 0, 'the signed-in browser is not asked to sign in again');
  assert.ok((await page.locator('body').innerText()).includes('Denied Demo App'), 'the consent page names the client');
  await shot(page, '04-consent-deny.png');
  const isCb = callbackMatcher(cbUrl);
  await deny.click();
  await page.waitForURL((u) => isCb(new URL(u)), { timeout: 10000 });
  await shot(page, '05-denied-callback.png');
  const q = new URL(page.url()).searchParams;
  assert.equal(q.get('error'), 'access_denied', page.url());
  assert.equal(q.get('state'), req.state);
  assert.equal(q.get('iss'), t.issuer);
  assert.equal(q.get('code'), null);
  assert.deepEqual(w.csp, []);
  await page.close();
});

test('chromium: an unregistered redirect URI shows an error page and never leaves the authorization server', async () => {
  const client = await createCodeClient(t, { client_name: 'Victim App', redirect_uris: [cbUrl] });
  const req = await authorizationRequest(t, client, { scope: 'tools:read', resource: RESOURCE, redirectUri: 'https://attacker.example.test/steal' });
  const page = await context.newPage();
  const w = watch(page);
  const offsite = [];
  page.on('request', (r) => {
    if (new URL(r.url()).hostname === 'attacker.example.test') offsite.push(r.url());
  });
  await page.route('https://attacker.example.test/**', (route) => route.abort());
  const resp = await page.goto(req.url.href).catch((e) => e);
  await page.waitForTimeout(300);
  assert.deepEqual(offsite, [], 'the browser was never sent to the unregistered redirect URI');
  assert.ok(page.url().startsWith(t.issuer), `the browser stays on the authorization server: ${page.url()}`);
  assert.ok(!(resp instanceof Error), `the error page loads: ${resp}`);
  assert.ok(resp.status() >= 400 && resp.status() < 500, `the error page has a 4xx status: ${resp.status()}`);
  await assertPageHeaders(w.docs.at(-1), 'the error page');
  await shot(page, '06-error-redirect-uri.png');
  await page.close();
});

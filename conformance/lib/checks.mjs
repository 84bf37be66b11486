// Assertions shared by the test files. Every failure message names the
// request, what was expected and what came back.

import assert from 'node:assert/strict';
import { baseUrl } from './env.mjs';
import { get } from './http.mjs';

// RFC 6749 §5.2 / Appendix A.7, A.8: error and error_description characters.
const ERROR_CHARS = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;

function want(res, what) {
  return `expected ${what}\n  ${res.describe()}`;
}

export function assertStatus(res, expected) {
  const ok = Array.isArray(expected) ? expected.includes(res.status) : res.status === expected;
  assert.ok(ok, want(res, `HTTP ${Array.isArray(expected) ? expected.join(' or ') : expected}`));
}

export function assertNoStore(res) {
  const cc = (res.header('cache-control') || '').toLowerCase();
  assert.ok(/(^|[\s,])no-store($|[\s,])/.test(cc), want(res, 'Cache-Control: no-store'));
}

export function assertJsonContentType(res, type = 'application/json') {
  assert.equal(res.contentType, type, want(res, `Content-Type ${type}`));
}

/**
 * An RFC 6749 §5.2 error response.
 * @param {import('./http.mjs').Res} res
 * @param {{status: number|number[], error: string|string[]}} expect
 */
export function assertOAuthError(res, { status, error }) {
  assert.ok(res.status < 500, want(res, `a 4xx error, never a 5xx`));
  assertStatus(res, status);
  assertJsonContentType(res);
  assertNoStore(res);
  const body = res.json;
  assert.ok(body && typeof body === 'object' && !Array.isArray(body), want(res, 'a JSON object body'));
  assert.equal(typeof body.error, 'string', want(res, 'an "error" string member'));
  assert.match(body.error, ERROR_CHARS, want(res, 'an "error" of RFC 6749 characters'));
  const errors = Array.isArray(error) ? error : [error];
  assert.ok(errors.includes(body.error), want(res, `error ${errors.join(' or ')}`));
  if (body.error_description !== undefined) {
    assert.equal(typeof body.error_description, 'string', want(res, 'error_description to be a string'));
    assert.match(body.error_description, ERROR_CHARS, want(res, 'error_description of RFC 6749 characters'));
  }
  if (body.error_uri !== undefined) {
    assert.equal(typeof body.error_uri, 'string', want(res, 'error_uri to be a string'));
  }
  assert.equal(body.access_token, undefined, want(res, 'no access_token in an error response'));
  return body;
}

/** RFC 6749 §5.2: invalid_client on Basic auth is 401 with a WWW-Authenticate Basic challenge. */
export function assertBasicInvalidClient(res) {
  assertOAuthError(res, { status: 401, error: 'invalid_client' });
  const wa = res.header('www-authenticate') || '';
  assert.match(wa, /^\s*basic(\s|$)/i, want(res, 'WWW-Authenticate: Basic … on a 401 for Basic credentials'));
}

/**
 * An RFC 9457 problem document.
 * @param {import('./http.mjs').Res} res
 * @param {number|number[]} status
 */
export function assertProblem(res, status) {
  assert.ok(res.status < 500, want(res, `a 4xx problem, never a 5xx`));
  assertStatus(res, status);
  assertJsonContentType(res, 'application/problem+json');
  const body = res.json;
  assert.ok(body && typeof body === 'object' && !Array.isArray(body), want(res, 'a JSON object problem body'));
  assert.equal(typeof body.type, 'string', want(res, 'problem member "type" (string)'));
  assert.equal(typeof body.title, 'string', want(res, 'problem member "title" (string)'));
  assert.equal(body.status, res.status, want(res, `problem member "status" equal to the HTTP status ${res.status}`));
  if (body.detail !== undefined) assert.equal(typeof body.detail, 'string', want(res, '"detail" to be a string'));
  return body;
}

/** The JSON body of a successful response with the given status. */
export function okJson(res, status = 200) {
  assertStatus(res, status);
  assertJsonContentType(res);
  assert.ok(res.json && typeof res.json === 'object', want(res, 'a JSON body'));
  return res.json;
}

/** The server still serves after whatever the test just sent. */
export async function assertHealthy(after = '') {
  let res;
  try {
    res = await get(`${baseUrl()}/healthz`);
  } catch (e) {
    assert.fail(`GET /healthz failed${after ? ` after ${after}` : ''}: ${e.message}`);
  }
  assert.equal(res.status, 200, `GET /healthz${after ? ` after ${after}` : ''} answered ${res.status}\n  ${res.describe()}`);
}

export function audList(aud) {
  return Array.isArray(aud) ? aud : [aud];
}

export function scopeSet(s) {
  return new Set((s || '').split(' ').filter(Boolean));
}

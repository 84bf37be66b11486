// Raw HTTP for the conformance suite. Built on node:http rather than fetch so
// that a test controls every byte it sends (no Content-Type added behind its
// back, exact bodies with invalid UTF-8, oversized bodies) and so that a
// dropped connection or a response the server never sent is reported as
// exactly that, with the request that caused it.

import http from 'node:http';
import https from 'node:https';

const PREVIEW = 300;

function preview(body) {
  if (body === undefined || body === null) return '';
  const s = Buffer.isBuffer(body) ? body.toString('latin1') : String(body);
  if (s.length <= PREVIEW) return s;
  return `${s.slice(0, PREVIEW)}… (${s.length} bytes)`;
}

/**
 * Send one HTTP request on a fresh connection.
 * @param {string} method
 * @param {string|URL} url absolute URL
 * @param {{headers?: Record<string,string>, body?: string|Buffer, timeoutMs?: number}} [opts]
 * @returns {Promise<Res>}
 */
export function request(method, url, opts = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  const body =
    opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
  const headers = { ...(opts.headers || {}) };
  if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) {
    headers['Content-Length'] = String(body.length);
  }
  const desc = {
    method,
    url: u.href,
    headers: redactHeaders(headers),
    body: preview(body),
  };
  const timeoutMs = opts.timeoutMs ?? 15000;

  return new Promise((resolve, reject) => {
    let settled = false;
    let gotResponse = false;
    const req = lib.request(
      u,
      { method, headers, agent: false },
      (res) => {
        gotResponse = true;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', (e) => fail(new Error(`${describeReq(desc)}: response body broken off: ${e.code || e.message}`)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(new Res(desc, res.statusCode, res.headers, Buffer.concat(chunks)));
        });
      },
    );
    const timer = setTimeout(() => {
      fail(new Error(`${describeReq(desc)}: no complete response within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    function fail(err) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    }
    req.on('error', (e) => {
      // A server that answers early (e.g. 413 before reading the whole body) and
      // then closes may make our write fail; that is fine once the answer is in.
      if (gotResponse) return;
      fail(
        new Error(
          `${describeReq(desc)}: connection failed or dropped before any response ` +
            `(${e.code || e.message}); the server must answer bad input with a 4xx, not drop it`,
        ),
      );
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function redactHeaders(h) {
  const out = {};
  for (const [k, v] of Object.entries(h)) {
    out[k] = /^authorization$/i.test(k) ? `${String(v).split(' ')[0]} …` : v;
  }
  return out;
}

function describeReq(d) {
  return `${d.method} ${d.url}${d.body ? ` body=${JSON.stringify(d.body)}` : ''}`;
}

export class Res {
  constructor(req, status, headers, raw) {
    this.req = req;
    this.status = status;
    this.headers = headers; // lower-cased names (node:http)
    this.raw = raw;
    this.text = raw.toString('utf8');
    this._json = undefined;
    this._jsonTried = false;
  }
  header(name) {
    const v = this.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }
  get contentType() {
    return (this.header('content-type') || '').split(';')[0].trim().toLowerCase();
  }
  /** Parsed JSON body, or undefined when the body is not JSON. */
  get json() {
    if (!this._jsonTried) {
      this._jsonTried = true;
      try {
        this._json = JSON.parse(this.text);
      } catch {
        this._json = undefined;
      }
    }
    return this._json;
  }
  /** One line naming the request and what came back, for assertion messages. */
  describe() {
    const ct = this.header('content-type') || '(no content-type)';
    return (
      `request: ${describeReq(this.req)}\n` +
      `  response: ${this.status} ${ct} cache-control=${this.header('cache-control') ?? '(none)'}` +
      `${this.header('www-authenticate') ? ` www-authenticate=${this.header('www-authenticate')}` : ''}\n` +
      `  body: ${preview(this.text)}`
    );
  }
}

export const get = (url, opts) => request('GET', url, opts);

/** application/x-www-form-urlencoded serialisation of [name, value] pairs (duplicates kept). */
export function formEncode(pairs) {
  const list = Array.isArray(pairs) ? pairs : Object.entries(pairs);
  return new URLSearchParams(list).toString();
}

/** RFC 6749 §2.3.1: client id and secret are form-encoded, then joined and base64'd. */
export function basicAuth(clientId, secret) {
  const enc = (s) => formEncode([['x', s]]).slice(2).replace(/\+/g, '%20');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`, 'utf8').toString('base64')}`;
}

/** Basic credentials with no form encoding at all (what naive clients send). */
export function basicAuthRaw(clientId, secret) {
  return `Basic ${Buffer.from(`${clientId}:${secret}`, 'utf8').toString('base64')}`;
}

/**
 * POST a form to a token-style endpoint.
 * @param {string} url
 * @param {Array<[string,string]>|Record<string,string>|string|Buffer} form pairs, or an exact raw body
 * @param {{basic?: [string,string], authorization?: string, contentType?: string|null, headers?: object}} [opts]
 */
export function postForm(url, form, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  if (opts.contentType !== null) {
    headers['Content-Type'] = opts.contentType ?? 'application/x-www-form-urlencoded';
  }
  if (opts.basic) headers.Authorization = basicAuth(opts.basic[0], opts.basic[1]);
  if (opts.authorization) headers.Authorization = opts.authorization;
  const body = typeof form === 'string' || Buffer.isBuffer(form) ? form : formEncode(form);
  return request('POST', url, { headers, body });
}

/** JSON request with an optional bearer token; `body` may be an object or an exact raw string/Buffer. */
export function jsonRequest(method, url, { token, body, contentType, headers } = {}) {
  const h = { Accept: 'application/json, application/problem+json', ...(headers || {}) };
  if (token !== undefined && token !== null) h.Authorization = `Bearer ${token}`;
  let raw;
  if (body !== undefined) {
    raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    h['Content-Type'] = contentType ?? 'application/json';
  }
  return request(method, url, { headers: h, body: raw });
}

// A browser-less user agent for the sign-in and consent pages (SPEC §4.1):
// a cookie jar, no automatic redirects, and HTML forms read the way a
// browser reads them (hidden fields, the clicked button's name/value).
// Every request goes through lib/http.mjs, so failures name the request.

import { request, formEncode } from './http.mjs';

// ------------------------------------------------------------------ cookies

/** RFC 6265 in the small: host-only cookies, Path, Max-Age/Expires, attributes kept for inspection. */
export class CookieJar {
  constructor() {
    /** @type {Map<string, {name:string,value:string,host:string,path:string,secure:boolean,httpOnly:boolean,sameSite:string|null,expires:number|null,raw:string}>} */
    this.cookies = new Map();
  }

  /** Store the Set-Cookie headers of a response to `url`. */
  store(url, setCookie) {
    if (!setCookie) return;
    const u = new URL(url);
    for (const raw of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const parts = raw.split(';');
      const eq = parts[0].indexOf('=');
      if (eq <= 0) continue;
      const name = parts[0].slice(0, eq).trim();
      const value = parts[0].slice(eq + 1).trim();
      const c = {
        name,
        value,
        host: u.hostname,
        path: defaultPath(u.pathname),
        secure: false,
        httpOnly: false,
        sameSite: null,
        expires: null,
        raw,
      };
      for (const attr of parts.slice(1)) {
        const i = attr.indexOf('=');
        const k = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const v = i < 0 ? '' : attr.slice(i + 1).trim();
        if (k === 'path' && v.startsWith('/')) c.path = v;
        else if (k === 'secure') c.secure = true;
        else if (k === 'httponly') c.httpOnly = true;
        else if (k === 'samesite') c.sameSite = v;
        else if (k === 'max-age' && /^-?\d+$/.test(v)) c.expires = Date.now() + Number(v) * 1000;
        else if (k === 'expires' && c.expires === null && !Number.isNaN(Date.parse(v))) c.expires = Date.parse(v);
      }
      const key = `${c.host}|${c.path}|${name}`;
      if (c.expires !== null && c.expires <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, c);
    }
  }

  /** The Cookie header for a request to `url` (undefined when nothing matches). */
  header(url) {
    const u = new URL(url);
    const now = Date.now();
    const out = [];
    for (const [key, c] of this.cookies) {
      if (c.expires !== null && c.expires <= now) {
        this.cookies.delete(key);
        continue;
      }
      if (c.host !== u.hostname) continue;
      if (c.secure && u.protocol !== 'https:') continue;
      if (!pathMatch(u.pathname, c.path)) continue;
      out.push(`${c.name}=${c.value}`);
    }
    return out.length ? out.join('; ') : undefined;
  }

  list() {
    return [...this.cookies.values()];
  }

  clear() {
    this.cookies.clear();
  }
}

function defaultPath(p) {
  if (!p.startsWith('/')) return '/';
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function pathMatch(reqPath, cookiePath) {
  if (reqPath === cookiePath) return true;
  if (!reqPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/';
}

// ------------------------------------------------------------------ HTML

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') {
      const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(n) ? String.fromCodePoint(n) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function parseAttrs(s) {
  const attrs = {};
  const re = /([^\s"'<>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = re.exec(s))) {
    const name = m[1].toLowerCase();
    if (name in attrs) continue;
    const v = m[2] ?? m[3] ?? m[4];
    attrs[name] = v === undefined ? '' : decodeEntities(v);
  }
  return attrs;
}

/**
 * The forms of an HTML page.
 * @returns {Form[]}
 */
export function parseForms(html, pageUrl) {
  const forms = [];
  const text = html.replace(/<!--[\s\S]*?-->/g, '');
  const re = /<(\/?)(form|input|button|textarea|select)\b((?:[^>"']|"[^"]*"|'[^']*')*)>/gi;
  let cur = null;
  let m;
  while ((m = re.exec(text))) {
    const closing = m[1] === '/';
    const tag = m[2].toLowerCase();
    if (tag === 'form') {
      if (closing) cur = null;
      else {
        const a = parseAttrs(m[3]);
        cur = new Form(a, pageUrl);
        forms.push(cur);
      }
      continue;
    }
    if (closing || !cur) continue;
    const a = parseAttrs(m[3]);
    if (tag === 'button') {
      cur.buttons.push({ name: a.name, value: a.value ?? '', type: (a.type || 'submit').toLowerCase() });
    } else if (tag === 'input') {
      const type = (a.type || 'text').toLowerCase();
      if (type === 'submit' || type === 'image') cur.buttons.push({ name: a.name, value: a.value ?? '', type });
      else cur.inputs.push({ name: a.name, value: a.value ?? '', type, checked: 'checked' in a });
    } else if (tag === 'textarea' || tag === 'select') {
      cur.inputs.push({ name: a.name, value: '', type: tag, checked: false });
    }
  }
  return forms;
}

export class Form {
  constructor(attrs, pageUrl) {
    this.attrs = attrs;
    this.method = (attrs.method || 'GET').toUpperCase();
    this.action = new URL(attrs.action || pageUrl, pageUrl).href;
    this.inputs = [];
    this.buttons = [];
  }
  input(name) {
    return this.inputs.find((i) => i.name === name);
  }
  button(name, value) {
    return this.buttons.find((b) => b.name === name && (value === undefined || b.value === value));
  }
  /**
   * The form data set a browser sends: every named input (checkboxes only when
   * checked), `values` overriding, then the clicked button.
   * @param {Record<string,string|null>} values null drops a field
   * @param {{name:string,value:string}} [clicked]
   */
  pairs(values = {}, clicked) {
    const out = [];
    const seen = new Set();
    for (const i of this.inputs) {
      if (!i.name) continue;
      if ((i.type === 'checkbox' || i.type === 'radio') && !i.checked && !(i.name in values)) continue;
      if (i.name in values) {
        if (seen.has(i.name)) continue;
        seen.add(i.name);
        if (values[i.name] !== null) out.push([i.name, values[i.name]]);
      } else out.push([i.name, i.value]);
    }
    for (const [k, v] of Object.entries(values)) {
      if (!seen.has(k) && v !== null && !this.inputs.some((i) => i.name === k) && !(clicked && clicked.name === k)) {
        out.push([k, v]);
      }
    }
    if (clicked && clicked.name) out.push([clicked.name, clicked.value]);
    return out;
  }
}

/** The visible text of an HTML page (tags dropped, entities decoded, whitespace collapsed). */
export function pageText(html) {
  return decodeEntities(
    html
      .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]*>/g, ' '),
  )
    .replace(/\s+/g, ' ')
    .trim();
}

// ------------------------------------------------------------------ agent

export class UserAgent {
  constructor({ jar = new CookieJar(), headers = {} } = {}) {
    this.jar = jar;
    this.headers = headers;
  }

  async send(method, url, { headers = {}, body } = {}) {
    const h = { 'User-Agent': 'authz-conformance/1', Accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', ...this.headers, ...headers };
    const cookie = this.jar.header(url);
    if (cookie) h.Cookie = cookie;
    const res = await request(method, url, { headers: h, body });
    res.url = new URL(url).href;
    this.jar.store(url, res.headers['set-cookie']);
    return res;
  }

  get(url, opts) {
    return this.send('GET', url, opts);
  }

  /** POST a form (pairs) with an Origin header as a browser does for a same-origin form. */
  post(url, pairs, { headers = {} } = {}) {
    return this.send('POST', url, {
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: new URL(url).origin,
        ...headers,
      },
      body: formEncode(pairs),
    });
  }

  /** Submit `form` with field `values` and the clicked button. */
  submit(form, values = {}, clicked) {
    const pairs = form.pairs(values, clicked);
    if (form.method === 'GET') {
      const u = new URL(form.action);
      u.search = formEncode(pairs);
      return this.get(u.href);
    }
    return this.post(form.action, pairs, { headers: { Referer: form.pageUrl ?? form.action } });
  }
}

export function isRedirect(res) {
  return res.status >= 300 && res.status < 400 && !!res.header('location');
}

export function locationOf(res) {
  return new URL(res.header('location'), res.url);
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** A predicate: is `u` the redirect URI `redirectUri` (query ignored; any port on loopback, RFC 8252)? */
export function callbackMatcher(redirectUri) {
  const r = new URL(redirectUri);
  return (u) =>
    u.protocol === r.protocol &&
    u.hostname === r.hostname &&
    u.pathname === r.pathname &&
    (u.port === r.port || LOOPBACK.has(r.hostname));
}

export function findLoginForm(forms) {
  return forms.find((f) => f.input('password') && f.input('username'));
}

export function findConsentForm(forms) {
  return forms.find((f) => f.buttons.some((b) => b.name === 'decision'));
}

/**
 * Drive an authorization request the way a person in a browser does: follow
 * redirects within the authorization server's origin, sign in on the login
 * page, answer the consent page, and stop at the first redirect to the
 * client's redirect URI (never fetched).
 *
 * @param {UserAgent} ua
 * @param {string|URL} startUrl the authorization request URL
 * @param {{isCallback: (u: URL) => boolean, username?: string, password?: string,
 *          decision?: 'approve'|'deny', stopAt?: 'login'|'consent'}} opts
 * @returns {Promise<{kind: 'callback'|'external'|'page'|'stopped'|'login-again', callback?: URL,
 *   external?: URL, res: import('./http.mjs').Res, form?: Form,
 *   pages: {login: any, consent: any}, trail: import('./http.mjs').Res[]}>}
 *   callback: a redirect to the redirect URI; external: a redirect anywhere
 *   else off-origin; page: a page with neither form (an error page);
 *   stopped: stopAt reached; login-again: the login form came back after signing in
 */
export async function drive(ua, startUrl, opts) {
  const { isCallback, username, password, decision = 'approve', stopAt } = opts;
  const pages = { login: null, consent: null };
  const trail = [];
  let signedIn = false;
  let consented = false;
  let res = await ua.get(String(startUrl));
  for (let step = 0; step < 25; step++) {
    trail.push(res);
    if (isRedirect(res)) {
      const loc = locationOf(res);
      if (isCallback(loc)) return { kind: 'callback', callback: loc, res, pages, trail };
      if (loc.origin !== new URL(res.url).origin) return { kind: 'external', external: loc, res, pages, trail };
      res = await ua.get(loc.href);
      continue;
    }
    const forms = /html/i.test(res.header('content-type') || '') ? parseForms(res.text, res.url) : [];
    for (const f of forms) f.pageUrl = res.url;
    const login = findLoginForm(forms);
    if (login) {
      if (stopAt === 'login') return { kind: 'stopped', res, form: login, pages: { ...pages, login: res }, trail };
      if (signedIn) return { kind: 'login-again', res, form: login, pages, trail };
      pages.login = res;
      signedIn = true;
      const button = login.buttons.find((b) => b.type === 'submit');
      res = await ua.submit(login, { username, password }, button);
      continue;
    }
    const consent = findConsentForm(forms);
    if (consent && !consented) {
      pages.consent = res;
      if (stopAt === 'consent') return { kind: 'stopped', res, form: consent, pages, trail };
      const button = consent.button('decision', decision);
      if (!button) {
        throw new Error(
          `consent page at ${res.url} has no button name=decision value=${decision}; buttons: ` +
            JSON.stringify(consent.buttons),
        );
      }
      consented = true;
      res = await ua.submit(consent, {}, button);
      continue;
    }
    return { kind: 'page', res, pages, trail };
  }
  throw new Error(`authorization flow did not end within 25 steps: ${trail.map((r) => `${r.status} ${r.url}`).join(' -> ')}`);
}

/** A one-line history of a drive, for assertion messages. */
export function describeTrail(result) {
  const steps = result.trail.map((r) => `${r.req.method} ${r.url} -> ${r.status}${isRedirect(r) ? ` Location: ${r.header('location')}` : ''}`);
  const last = result.res;
  return `${steps.join('\n    ')}\n  last page: ${last.status} ${last.header('content-type') || ''}: ${pageText(last.text).slice(0, 400)}`;
}

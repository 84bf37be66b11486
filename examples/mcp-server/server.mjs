// An MCP server that asks authz before every tool call (SPEC §12).
//
//  - Streamable HTTP transport (@modelcontextprotocol/sdk, stateless, JSON
//    responses) at {origin}/mcp;
//  - RFC 9728 protected resource metadata at
//    /.well-known/oauth-protected-resource/mcp (and without the path):
//    resource = this server's URL, authorization_servers = [the issuer];
//  - every request's bearer token is an RFC 9068 access token, verified with
//    jose against the issuer's JWKS: typ at+jwt, iss, aud = this server, exp.
//    Without one: 401 with WWW-Authenticate: Bearer resource_metadata="…";
//    a bad one: 401 error="invalid_token";
//  - every tools/call is decided by authz's AuthZEN policy decision point
//    (access_evaluation_endpoint): allowed, the tool runs; denied, the call
//    answers an MCP tool error with authz's reason. tools/list shows only the
//    tools the token may call (one batch request, access_evaluations_endpoint);
//  - the server authenticates to the PDP as a confidential client of the
//    tenant whose `introspects` lists this server's URL.
//
// The PDP is the only place policy lives: scopes, the tool catalog (risk,
// approval), the person's task details and session, drift. When it cannot
// be reached, every call is denied (fail closed).
//
//   node server.mjs --issuer http://127.0.0.1:8080/t/acme --client-id mcp-rs \
//       --client-secret … [--port 3001] [--resource http://127.0.0.1:3001/mcp]
//
// or import { startMcpServer } from './server.mjs' (tests do).

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import * as jose from 'jose';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema, CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export const MCP_PATH = '/mcp';

// ------------------------------------------------------------------ tools

/**
 * The example's tools: a small ticket desk kept in memory. A tool is
 * {name, description, inputSchema (JSON Schema), run(args, who)}; replace
 * these with your own. Which of them a caller may use is not decided here.
 */
export function ticketTools() {
  const tickets = new Map([
    ['T-1', { id: 'T-1', title: 'Printer on floor 2 is offline', status: 'open' }],
    ['T-2', { id: 'T-2', title: 'VPN drops every hour', status: 'open' }],
    ['T-3', { id: 'T-3', title: 'New laptop for Dana', status: 'closed' }],
  ]);
  const idArg = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
  const find = (id) => {
    const t = tickets.get(String(id));
    if (!t) throw new Error(`no ticket ${id}`);
    return t;
  };
  return [
    {
      name: 'search_tickets',
      description: 'Lists the tickets whose title contains the query (all when it is empty).',
      inputSchema: { type: 'object', properties: { query: { type: 'string' } } },
      run: ({ query = '' }) =>
        [...tickets.values()].filter((t) => t.title.toLowerCase().includes(String(query).toLowerCase())),
    },
    {
      name: 'summarise_ticket',
      description: 'One line about a ticket.',
      inputSchema: idArg,
      run: ({ id }) => {
        const t = find(id);
        return `${t.id} (${t.status}): ${t.title}`;
      },
    },
    {
      name: 'close_ticket',
      description: 'Closes a ticket.',
      inputSchema: idArg,
      run: ({ id }) => {
        const t = find(id);
        t.status = 'closed';
        return t;
      },
    },
    {
      name: 'delete_ticket',
      description: 'Deletes a ticket for good.',
      inputSchema: idArg,
      run: ({ id }) => {
        find(id);
        tickets.delete(String(id));
        return { deleted: String(id) };
      },
    },
  ];
}

// ------------------------------------------------------------------ authz

/** RFC 8414 §3.1: the metadata URL of an issuer with a path. */
export function asMetadataUrl(issuer) {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  return `${u.origin}/.well-known/oauth-authorization-server${path}`;
}

async function getJson(url, what) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`${what} ${url}: HTTP ${r.status}`);
  return r.json();
}

/** RFC 6749 §2.3.1: client_secret_basic (both parts form-encoded). */
function basic(id, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/**
 * What the server needs from authz, found from the issuer alone: the JWKS
 * (RFC 8414 metadata) and the PDP's endpoints (AuthZEN discovery at
 * {issuer}/.well-known/authzen-configuration). Looked up once, lazily.
 */
function authzClient({ issuer, clientId, clientSecret, timeoutMs }) {
  let jwks;
  let pdp;
  async function keySet() {
    if (!jwks) {
      const md = await getJson(asMetadataUrl(issuer), 'authorization server metadata');
      if (md.issuer !== issuer) throw new Error(`metadata names issuer ${md.issuer}, expected ${issuer}`);
      jwks = jose.createRemoteJWKSet(new URL(md.jwks_uri));
    }
    return jwks;
  }
  async function endpoints() {
    if (!pdp) {
      const c = await getJson(`${issuer}/.well-known/authzen-configuration`, 'AuthZEN discovery');
      if (typeof c.access_evaluation_endpoint !== 'string' || typeof c.access_evaluations_endpoint !== 'string')
        throw new Error('AuthZEN discovery lacks the evaluation endpoints');
      pdp = c;
    }
    return pdp;
  }
  async function post(url, body) {
    const r = await fetch(url, {
      method: 'POST',
      headers: { Authorization: basic(clientId, clientSecret), 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`PDP answered HTTP ${r.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text);
  }
  return {
    /** RFC 9068 §4: typ at+jwt, iss, aud = this server, exp (no leeway). */
    async verify(token, resource) {
      const { payload } = await jose.jwtVerify(token, await keySet(), {
        typ: 'at+jwt',
        issuer,
        audience: resource,
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
        clockTolerance: 0,
      });
      return payload;
    },
    /** One decision (AuthZEN 1.0 §6): {decision, reason, id}. */
    async evaluate(token, resource, tool, args) {
      const { access_evaluation_endpoint } = await endpoints();
      const a = await post(access_evaluation_endpoint, {
        subject: { type: 'agent_token', id: token },
        action: { name: 'tools/call' },
        resource: { type: 'mcp_tool', id: tool, properties: { server: resource } },
        context: { arguments: args ?? {} },
      });
      return { decision: a.decision === true, reason: a.context?.reason, id: a.context?.id };
    },
    /** Many decisions in one request (AuthZEN 1.0 §7): booleans in order. */
    async evaluateMany(token, resource, tools) {
      const { access_evaluations_endpoint } = await endpoints();
      const a = await post(access_evaluations_endpoint, {
        subject: { type: 'agent_token', id: token },
        action: { name: 'tools/call' },
        evaluations: tools.map((name) => ({ resource: { type: 'mcp_tool', id: name, properties: { server: resource } } })),
      });
      const list = Array.isArray(a.evaluations) ? a.evaluations : [];
      return tools.map((_, i) => list[i]?.decision === true);
    },
  };
}

// ------------------------------------------------------------------ HTTP

function bearerChallenge(params) {
  return `Bearer ${Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${String(v).replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '')}"`)
    .join(', ')}`;
}

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > limit) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The MCP server of one request: tools/list filtered and tools/call decided by the PDP. */
function mcpServer({ name, tools, authz, resource, token, claims, decisions }) {
  const server = new Server({ name, version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    let allowed;
    try {
      allowed = await authz.evaluateMany(token, resource, tools.map((t) => t.name));
    } catch {
      allowed = tools.map(() => false); // fail closed
    }
    return {
      tools: tools.filter((_, i) => allowed[i]).map(({ name: n, description, inputSchema }) => ({ name: n, description, inputSchema })),
    };
  });
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const tool = req.params.name;
    const args = req.params.arguments ?? {};
    let d;
    try {
      d = await authz.evaluate(token, resource, tool, args);
    } catch (e) {
      d = { decision: false, reason: `the policy decision point could not be asked (${e.message})` };
    }
    decisions.push({ tool, decision: d.decision, reason: d.reason, id: d.id, at: Date.now() });
    if (!d.decision) {
      return {
        isError: true,
        content: [{ type: 'text', text: `denied by policy: ${d.reason ?? 'no reason given'}` }],
        _meta: { decision: false, reason: d.reason, decision_id: d.id },
      };
    }
    const impl = tools.find((t) => t.name === tool);
    if (!impl) return { isError: true, content: [{ type: 'text', text: `unknown tool ${tool}` }] };
    try {
      const out = await impl.run(args, claims);
      return {
        content: [{ type: 'text', text: typeof out === 'string' ? out : JSON.stringify(out) }],
        _meta: { decision: true, decision_id: d.id, sub: claims.sub, client_id: claims.client_id },
      };
    } catch (e) {
      return { isError: true, content: [{ type: 'text', text: e.message }] };
    }
  });
  return server;
}

/**
 * Starts the server.
 * @param {{issuer: string, clientId: string, clientSecret: string, host?: string, port?: number,
 *          resource?: string, tools?: Array, name?: string, pdpTimeoutMs?: number}} o
 * @returns {Promise<{url: string, prmUrl: string, decisions: Array, close: () => Promise<void>}>}
 */
export async function startMcpServer(o) {
  const issuer = o.issuer.replace(/\/+$/, '');
  const host = o.host ?? '127.0.0.1';
  const tools = o.tools ?? ticketTools();
  const name = o.name ?? 'authz example MCP server';
  const authz = authzClient({ issuer, clientId: o.clientId, clientSecret: o.clientSecret, timeoutMs: o.pdpTimeoutMs ?? 3000 });
  const decisions = [];
  let resource;
  let prmUrl;

  const httpServer = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://localhost');
      if (req.method === 'GET' && (url.pathname === '/.well-known/oauth-protected-resource' || url.pathname === `/.well-known/oauth-protected-resource${MCP_PATH}`)) {
        // RFC 9728 §3
        sendJson(res, 200, { resource, authorization_servers: [issuer], bearer_methods_supported: ['header'], resource_name: name });
        return;
      }
      if (url.pathname !== MCP_PATH) {
        sendJson(res, 404, { error: 'not_found' });
        return;
      }
      // RFC 6750 §3 / MCP authorization: no token, 401 naming the metadata
      const m = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(req.headers.authorization || '');
      if (!m) {
        sendJson(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': bearerChallenge({ resource_metadata: prmUrl }) });
        return;
      }
      let claims;
      try {
        claims = await authz.verify(m[1], resource);
      } catch (e) {
        sendJson(res, 401, { error: 'invalid_token' }, {
          'WWW-Authenticate': bearerChallenge({ error: 'invalid_token', error_description: e.code || 'invalid token', resource_metadata: prmUrl }),
        });
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { Allow: 'POST' });
        res.end();
        return;
      }
      let body;
      try {
        body = JSON.parse((await readBody(req)).toString('utf8'));
      } catch {
        sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
        return;
      }
      const server = mcpServer({ name, tools, authz, resource, token: m[1], claims, decisions });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        transport.close().catch(() => {});
        server.close().catch(() => {});
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (e) {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.end();
    }
  });

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(o.port ?? 0, host, resolve);
  });
  const origin = `http://${host}:${httpServer.address().port}`;
  resource = o.resource ?? `${origin}${MCP_PATH}`;
  prmUrl = `${origin}/.well-known/oauth-protected-resource${MCP_PATH}`;
  return {
    url: `${origin}${MCP_PATH}`,
    resource,
    prmUrl,
    decisions,
    close: () =>
      new Promise((resolve) => {
        httpServer.closeAllConnections?.();
        httpServer.close(() => resolve());
      }),
  };
}

// ------------------------------------------------------------------ CLI

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] || '').href) {
  const issuer = arg('issuer') || process.env.AUTHZ_ISSUER;
  const clientId = arg('client-id') || process.env.MCP_CLIENT_ID;
  const clientSecret = arg('client-secret') || process.env.MCP_CLIENT_SECRET;
  if (!issuer || !clientId || !clientSecret) {
    console.error('usage: node server.mjs --issuer ISSUER --client-id ID --client-secret SECRET [--port PORT] [--resource URL]');
    process.exit(2);
  }
  const s = await startMcpServer({ issuer, clientId, clientSecret, port: Number(arg('port') || 0), resource: arg('resource') });
  console.log(`MCP server ${s.url} (resource ${s.resource}, metadata ${s.prmUrl}, issuer ${issuer})`);
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

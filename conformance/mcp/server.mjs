// A small MCP server protected by authz, the way a real MCP server is:
//
//  - Streamable HTTP transport (@modelcontextprotocol/sdk) at {origin}/mcp,
//    on 127.0.0.1 and a free port;
//  - RFC 9728 protected resource metadata at
//    /.well-known/oauth-protected-resource (and at the path-inserted
//    /.well-known/oauth-protected-resource/mcp): resource = its own URL,
//    authorization_servers = [the authz issuer];
//  - without a token: 401 with `WWW-Authenticate: Bearer resource_metadata="…"`;
//  - every bearer token checked with jose against the issuer's JWKS (found
//    through the issuer's RFC 8414 metadata): typ at+jwt, iss = issuer,
//    aud = its own URL, exp; a bad token is 401 error="invalid_token";
//  - each tool needs a scope (echo: tools:read, run: tools:call); a token
//    without it is 403 error="insufficient_scope" (RFC 6750 §3.1) whose
//    scope is what the token has plus what the call needs (MCP's step-up:
//    the client re-authorizes with that union).
//
// Used in-process by test/mcp-auth.test.mjs; also runs on its own:
//   node mcp/server.mjs --issuer http://127.0.0.1:8080/t/acme [--port 0]

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import * as jose from 'jose';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export const MCP_PATH = '/mcp';

/** Scope each tool needs. */
export const TOOL_SCOPES = { echo: 'tools:read', run: 'tools:call' };

/** RFC 8414 §3.1: the metadata URL of an issuer with a path. */
export function asMetadataUrl(issuer) {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  return `${u.origin}/.well-known/oauth-authorization-server${path}`;
}

function bearerChallenge(params) {
  return `Bearer ${Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${String(v).replace(/["\\]/g, '')}"`)
    .join(', ')}`;
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

function sendJson(res, status, body, headers = {}) {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(s);
}

/** The tools/call requests in a JSON-RPC message or batch. */
function toolCalls(msg) {
  const list = Array.isArray(msg) ? msg : [msg];
  return list.filter((m) => m && m.method === 'tools/call' && m.params && typeof m.params.name === 'string');
}

function buildMcpServer() {
  const server = new McpServer({ name: 'authz-conformance-mcp', version: '1.0.0' });
  server.registerTool(
    'echo',
    {
      description: `Echoes its text back, with who asked. Needs scope ${TOOL_SCOPES.echo}.`,
      inputSchema: { text: z.string() },
    },
    async ({ text }, extra) => {
      const a = extra.authInfo;
      // Defence in depth: the HTTP layer already checked the scope.
      if (!a || !a.scopes.includes(TOOL_SCOPES.echo)) {
        return { isError: true, content: [{ type: 'text', text: `missing scope ${TOOL_SCOPES.echo}` }] };
      }
      return {
        content: [{ type: 'text', text }],
        _meta: { sub: a.extra?.sub, client_id: a.clientId, scope: a.scopes.join(' '), jti: a.extra?.jti },
      };
    },
  );
  server.registerTool(
    'run',
    {
      description: `Pretends to run a task. Needs scope ${TOOL_SCOPES.run}.`,
      inputSchema: { task: z.string() },
    },
    async ({ task }, extra) => {
      const a = extra.authInfo;
      if (!a || !a.scopes.includes(TOOL_SCOPES.run)) {
        return { isError: true, content: [{ type: 'text', text: `missing scope ${TOOL_SCOPES.run}` }] };
      }
      return { content: [{ type: 'text', text: `ran ${task}` }], _meta: { scope: a.scopes.join(' ') } };
    },
  );
  return server;
}

/**
 * Start the MCP server.
 * @param {{issuer: string, host?: string, port?: number, scopesSupported?: string[], log?: boolean}} o
 * @returns {Promise<{url: string, origin: string, prmUrl: string, issuer: string,
 *   requests: Array<{method: string, path: string, status: number, claims?: object, error?: string}>,
 *   close: () => Promise<void>}>}
 */
export async function startMcpServer(o) {
  const issuer = o.issuer.replace(/\/+$/, '');
  const host = o.host ?? '127.0.0.1';
  const scopesSupported = o.scopesSupported ?? ['tools:read', 'tools:call'];
  const requests = [];
  let jwks; // lazily from the issuer's metadata
  let origin;
  let resource;
  let prmUrl;

  async function keySet() {
    if (jwks) return jwks;
    const mdUrl = asMetadataUrl(issuer);
    const r = await fetch(mdUrl, { headers: { Accept: 'application/json' } });
    if (!r.ok) throw new Error(`authorization server metadata ${mdUrl}: HTTP ${r.status}`);
    const md = await r.json();
    if (md.issuer !== issuer) throw new Error(`metadata at ${mdUrl} names issuer ${md.issuer}, expected ${issuer}`);
    if (typeof md.jwks_uri !== 'string') throw new Error(`metadata at ${mdUrl} has no jwks_uri`);
    jwks = jose.createRemoteJWKSet(new URL(md.jwks_uri), { cooldownDuration: 0 });
    return jwks;
  }

  async function verify(token) {
    const { payload, protectedHeader } = await jose.jwtVerify(token, await keySet(), {
      typ: 'at+jwt',
      issuer,
      audience: resource,
      requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
      clockTolerance: 0,
    });
    return { payload, protectedHeader };
  }

  const httpServer = http.createServer(async (req, res) => {
    const url = new URL(req.url, origin);
    const entry = { method: req.method, path: url.pathname, status: 0 };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    try {
      if (req.method === 'GET' && (url.pathname === '/.well-known/oauth-protected-resource' || url.pathname === `/.well-known/oauth-protected-resource${MCP_PATH}`)) {
        sendJson(res, 200, {
          resource,
          authorization_servers: [issuer],
          scopes_supported: scopesSupported,
          bearer_methods_supported: ['header'],
          resource_name: 'authz conformance MCP server',
        });
        return;
      }
      if (url.pathname !== MCP_PATH) {
        sendJson(res, 404, { error: 'not_found' });
        return;
      }
      // Every /mcp request needs a valid token.
      const authz = req.headers.authorization || '';
      const m = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authz);
      if (!m) {
        res.writeHead(401, {
          'WWW-Authenticate': bearerChallenge({ resource_metadata: prmUrl }),
          'Content-Type': 'application/json',
        });
        res.end(JSON.stringify({ error: 'unauthorized', error_description: 'a bearer token is required' }));
        return;
      }
      let claims;
      try {
        claims = (await verify(m[1])).payload;
      } catch (e) {
        entry.error = `${e.code || ''} ${e.message}`;
        res.writeHead(401, {
          'WWW-Authenticate': bearerChallenge({
            error: 'invalid_token',
            error_description: (e.code || 'invalid token').replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, ''),
            resource_metadata: prmUrl,
          }),
          'Content-Type': 'application/json',
        });
        res.end(JSON.stringify({ error: 'invalid_token' }));
        return;
      }
      entry.claims = claims;
      const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
      if (req.method !== 'POST') {
        // Stateless server: no SSE stream to resume, no session to delete.
        res.writeHead(405, { Allow: 'POST' });
        res.end();
        return;
      }
      const raw = await readBody(req);
      let body;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
        return;
      }
      for (const call of toolCalls(body)) {
        const need = TOOL_SCOPES[call.params.name];
        if (need && !scopes.includes(need)) {
          entry.error = `insufficient_scope for ${call.params.name}`;
          res.writeHead(403, {
            'WWW-Authenticate': bearerChallenge({
              error: 'insufficient_scope',
              scope: [...new Set([...scopes, need])].join(' '),
              resource_metadata: prmUrl,
            }),
            'Content-Type': 'application/json',
          });
          res.end(JSON.stringify({ error: 'insufficient_scope', scope: need }));
          return;
        }
      }
      req.auth = {
        token: m[1],
        clientId: claims.client_id,
        scopes,
        expiresAt: claims.exp,
        resource: new URL(resource),
        extra: { sub: claims.sub, jti: claims.jti, act: claims.act },
      };
      const server = buildMcpServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        transport.close().catch(() => {});
        server.close().catch(() => {});
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (e) {
      entry.error = e.message;
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: e.message });
      else res.end();
    }
  });

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(o.port ?? 0, host, resolve);
  });
  const addr = httpServer.address();
  origin = `http://${host}:${addr.port}`;
  resource = `${origin}${MCP_PATH}`;
  prmUrl = `${origin}/.well-known/oauth-protected-resource${MCP_PATH}`;

  return {
    url: resource,
    origin,
    prmUrl,
    issuer,
    requests,
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
  if (!issuer) {
    console.error('usage: node mcp/server.mjs --issuer ISSUER [--port PORT]');
    process.exit(2);
  }
  const s = await startMcpServer({ issuer, port: Number(arg('port') || 0) });
  console.log(`MCP server: ${s.url} (protected resource metadata ${s.prmUrl}, issuer ${s.issuer})`);
  process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
  process.on('SIGINT', () => s.close().then(() => process.exit(0)));
}

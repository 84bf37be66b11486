// bench/cimd_seed.mjs: refresh tokens of one public client through the code
// flow (sign-in and consent once, then one authorization request and one
// redemption per token), for bench/cimd.sh. Prints one refresh token a line.
//
//   node bench/cimd_seed.mjs ISSUER CLIENT_ID REDIRECT_URI RESOURCE USERNAME PASSWORD COUNT
import { createHash, randomBytes } from 'node:crypto';
import { UserAgent, drive, callbackMatcher, describeTrail } from '../conformance/lib/useragent.mjs';

const [issuer, clientId, redirectUri, resource, username, password, count] = process.argv.slice(2);
const ua = new UserAgent();
const out = [];
for (let i = 0; i < Number(count); i++) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const u = new URL(`${issuer}/oauth2/authorize`);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
    scope: 'tools:read tools:call', resource, state: `s${i}`, code_challenge: challenge, code_challenge_method: 'S256' }))
    u.searchParams.set(k, v);
  const r = await drive(ua, u.href, { isCallback: callbackMatcher(redirectUri), username, password, decision: 'approve' });
  if (r.kind !== 'callback') throw new Error(`no callback: ${describeTrail(r)}`);
  const code = r.callback.searchParams.get('code');
  const tok = await fetch(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
      client_id: clientId, resource }),
  });
  const body = await tok.json();
  if (!body.refresh_token) throw new Error(`redemption: ${tok.status} ${JSON.stringify(body)}`);
  out.push(body.refresh_token);
}
process.stdout.write(out.join('\n') + '\n');

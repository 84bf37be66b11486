// More authzd processes for the tests that need them (SPEC §5 "on every authzd
// sharing the database", §4.5 the durable webhook outbox across a restart).
//
// This is the one part of the suite that is not purely black-box: it starts
// the built authzd itself. It needs what the harness that started the first
// authzd has (tests/lib.sh exports all three, so `scripts/test` and any driver
// that sources tests/lib.sh provide them):
//   AUTHZ_DATABASE_URL     the libpq conninfo the first authzd uses
//   AUTHZ_MASTER_KEY_FILE  its master key file (tenants' keys are encrypted with it)
//   AUTHZ_BUILD_DIR        where authzd/authzctl are (default: the repository root)
// Without the first two every test that needs this fails, naming them.

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { get } from './http.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export function buildDir() {
  return process.env.AUTHZ_BUILD_DIR || REPO;
}

export function sharedDatabase() {
  const db = process.env.AUTHZ_DATABASE_URL;
  const key = process.env.AUTHZ_MASTER_KEY_FILE;
  if (!db || !key) {
    throw new Error(
      'this test starts authzd processes of its own and needs AUTHZ_DATABASE_URL and AUTHZ_MASTER_KEY_FILE ' +
        '(the database and master key of the authzd at AUTHZ_BASE_URL), as tests/lib.sh exports them ' +
        '(scripts/test and drivers that source tests/lib.sh do)',
    );
  }
  return { databaseUrl: db, masterKeyFile: key };
}

/** A TCP port nobody listens on now (127.0.0.1). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let workDir;
function work() {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), 'authz-conf-'));
    writeFileSync(join(workDir, 'empty.conf'), '');
  }
  return workDir;
}

/** process.env without AUTHZ_* (authzd refuses unknown AUTHZ_ keys), plus `extra`. */
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AUTHZ_')) env[k] = v;
  return { ...env, ...extra };
}

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function authzctl(args, { databaseUrl, masterKeyFile }) {
  return run(join(buildDir(), 'authzctl'), ['-c', join(work(), 'empty.conf'), ...args], cleanEnv({
    AUTHZ_DATABASE_URL: databaseUrl,
    AUTHZ_MASTER_KEY_FILE: masterKeyFile,
  }));
}

/**
 * A new, empty, migrated database next to the shared one (the authz role has
 * CREATEDB), with an operator root token. Returns {databaseUrl, masterKeyFile, rootToken}.
 */
export async function freshDatabase() {
  const shared = sharedDatabase();
  const name = `conf_${randomBytes(5).toString('hex')}`;
  const psql = process.env.AZT_PG_BIN ? join(process.env.AZT_PG_BIN, 'psql') : 'psql';
  await run(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', shared.databaseUrl, '-c', `CREATE DATABASE ${name}`], cleanEnv({}));
  let databaseUrl;
  if (/^postgres(ql)?:\/\//.test(shared.databaseUrl)) {
    const u = new URL(shared.databaseUrl);
    u.pathname = `/${name}`;
    databaseUrl = u.href;
  } else if (/(^|\s)dbname=\S+/.test(shared.databaseUrl)) {
    databaseUrl = shared.databaseUrl.replace(/(^|\s)dbname=\S+/, `$1dbname=${name}`);
  } else {
    databaseUrl = `${shared.databaseUrl} dbname=${name}`;
  }
  const db = { databaseUrl, masterKeyFile: shared.masterKeyFile };
  await authzctl(['migrate'], db);
  const rootToken = (await authzctl(['root-token'], db)).trim().split('\n')[0];
  return { ...db, rootToken, name };
}

/** Drop a database made by freshDatabase (every authzd on it stopped first). */
export async function dropDatabase(name) {
  const shared = sharedDatabase();
  const psql = process.env.AZT_PG_BIN ? join(process.env.AZT_PG_BIN, 'psql') : 'psql';
  await run(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', shared.databaseUrl, '-c', `DROP DATABASE IF EXISTS ${name}`], cleanEnv({}));
}

const running = new Set();
process.on('exit', (code) => {
  // the scratch directory holds the extra authzd logs: kept when something failed
  if (code === 0 && workDir) rmSync(workDir, { recursive: true, force: true });
  for (const a of running) {
    try {
      a.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/**
 * One authzd on 127.0.0.1:port with the given database and public URL
 * (default: its own address). start() waits for /healthz; stop() sends
 * SIGTERM and resolves with the exit code. It can be started again after
 * stop() (same port, same public URL).
 */
export class Authzd {
  constructor({ name = 'extra', port, publicUrl, databaseUrl, masterKeyFile, env = {} }) {
    Object.assign(this, { name, port, databaseUrl, masterKeyFile, env });
    this.url = `http://127.0.0.1:${port}`;
    this.publicUrl = publicUrl ?? this.url;
    this.logFile = join(work(), `${name}-${port}.log`);
    this.child = null;
  }

  async start() {
    assert.equal(this.child, null, `authzd ${this.name} is already running`);
    const fd = openSync(this.logFile, 'a');
    const child = spawn(join(buildDir(), 'authzd'), ['-c', join(work(), 'empty.conf')], {
      env: cleanEnv({
        AUTHZ_LISTEN: `127.0.0.1:${this.port}`,
        AUTHZ_PUBLIC_URL: this.publicUrl,
        AUTHZ_DATABASE_URL: this.databaseUrl,
        AUTHZ_MASTER_KEY_FILE: this.masterKeyFile,
        AUTHZ_THREADS: '2',
        ...this.env,
      }),
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    running.add(this);
    const deadline = Date.now() + 30000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        running.delete(this);
        this.child = null;
        throw new Error(`authzd ${this.name} exited at start (${child.exitCode ?? child.signalCode}); log:\n${this.log().slice(-3000)}`);
      }
      try {
        const r = await get(`${this.url}/healthz`, { timeoutMs: 1000 });
        if (r.status === 200) return this;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) {
        await this.stop().catch(() => {});
        throw new Error(`authzd ${this.name} did not become healthy on ${this.url} within 30 s; log:\n${this.log().slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM and wait (SPEC §10: drains and exits 0); SIGKILL after 20 s. Returns {code, signal}. */
  async stop() {
    if (!this.child) return { code: null, signal: null };
    const child = this.child;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    const res = await this.exited;
    clearTimeout(timer);
    running.delete(this);
    this.child = null;
    return res;
  }

  log() {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

/**
 * A second authzd on the database of the one at AUTHZ_BASE_URL, with the same
 * public URL (so the same issuers), listening on a port of its own.
 */
export async function startPeer(name = 'peer') {
  const shared = sharedDatabase();
  const base = (process.env.AUTHZ_BASE_URL || '').replace(/\/+$/, '');
  assert.ok(base, 'AUTHZ_BASE_URL is set');
  const a = new Authzd({ name, port: await freePort(), publicUrl: base, ...shared });
  await a.start();
  return a;
}

/** Drop the scratch directory (logs) when nothing failed. */
export function cleanupWork() {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

/** Rewrite an endpoint of the shared public URL onto another authzd's address. */
export function onPeer(peer, endpoint) {
  const u = new URL(endpoint);
  const p = new URL(peer.url);
  u.protocol = p.protocol;
  u.host = p.host;
  return u.href;
}

/**
 * Read-path throughput of one instance: `npm run bench:api [-- --seconds 10 --connections 50 --courses 2000 --only sqlite|postgres --endpoints api,page,readyz]`.
 *
 * For each backend (SQLite always; Postgres when BENCH_DATABASE_URL, DATABASE_URL or TEST_DATABASE_URL
 * names one, or when 127.0.0.1:5432 answers) it seeds a throwaway database (an integration with
 * N courses, a staff account, an API token), starts ONE instance of the real service as a child
 * process (`node --import tsx src/main.ts`, so the load generator in this process does not share its
 * event loop), signs in through the login form, and drives three endpoints with autocannon:
 * the course-list API (Bearer token), the courses page (staff session cookie) and `/readyz`.
 * Prints requests/s, p50/p99 latency and the instance's CPU time per request for each endpoint (the
 * last is the figure to compare on a busy machine), and non-2xx answers if any. `--profile DIR`
 * writes a CPU profile of the instance (open it in Chrome's DevTools).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { createApiTokens } from '../src/staff/api-tokens.js';
import { createStaffUsers } from '../src/staff/staff-users.js';
import { migrateToLatest, openStore } from '../src/store/database.js';
import { generateSecretKey } from '../src/vault/vault.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    courses: { type: 'string', default: '2000' },
    only: { type: 'string' },
    /** Which endpoints to drive, comma-separated: `api` (course list, Bearer), `page` (courses page), `readyz`. Default: all three. */
    endpoints: { type: 'string', default: 'api,page,readyz' },
    /** Writes a V8 CPU profile of the instance into this folder (node --cpu-prof). */
    profile: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const COURSES = Number(args.courses);
const ENDPOINTS = new Set(args.endpoints.split(',').map((e) => e.trim()));
const STAFF = { email: 'bench@example.edu', name: 'Bench', password: 'amber quarry lantern throughput' };
const INTEGRATION_ID = 'bench-integration';

interface Target {
  name: 'sqlite' | 'postgres';
  databaseUrl: string;
  cleanup(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A Postgres base URL that answers, or undefined. */
async function postgresBase(): Promise<string | undefined> {
  const candidates = [process.env.BENCH_DATABASE_URL, process.env.DATABASE_URL, process.env.TEST_DATABASE_URL, 'postgres://postgres@127.0.0.1:5432/postgres'];
  for (const url of candidates) {
    if (!url || !url.startsWith('postgres')) continue;
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.end();
      return url;
    } catch {
      await c.end().catch(() => undefined);
    }
  }
  return undefined;
}

async function postgresTarget(base: string): Promise<Target> {
  const name = `cc_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    name: 'postgres',
    databaseUrl: u.toString(),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Seeds the database the instance will open: an integration with COURSES courses, a staff account, an API token. */
async function seed(databaseUrl: string): Promise<string> {
  const config = databaseUrl.startsWith('sqlite:') ? { kind: 'sqlite' as const, file: databaseUrl.slice('sqlite:'.length) } : { kind: 'postgres' as const, url: databaseUrl };
  const store = openStore(config);
  try {
    await migrateToLatest(store.db);
    const t = new Date().toISOString();
    await store.db
      .insertInto('integrations')
      .values({
        id: INTEGRATION_ID,
        name: 'Bench University',
        canvas_url: 'https://bench.instructure.com',
        client_id: '10000000000001',
        client_secret_enc: null,
        account_id: 'self',
        course_id_type: 'sis_course_id',
        user_id_type: 'sis_user_id',
        student_roles: '["StudentEnrollment"]',
        lti: null,
        state: 'verified',
        reasons: '[]',
        missing_scopes: '[]',
        checks: '[]',
        token_owner_id: '1',
        token_owner_name: 'Admin',
        verified_at: t,
        checked_at: t,
        created_at: t,
        updated_at: t,
      })
      .execute();
    for (let from = 0; from < COURSES; from += 500) {
      const rows = [];
      for (let i = from; i < Math.min(COURSES, from + 500); i++) {
        const id = String(1000 + i);
        const unpublished = i % 17 === 0;
        const noSis = i % 23 === 0;
        rows.push({
          integration_id: INTEGRATION_ID,
          canvas_id: id,
          name: `Course ${id}`,
          course_code: `C${id}`,
          sis_course_id: noSis ? null : `SIS-${id}`,
          canvas_integration_id: null,
          external_id: noSis ? null : `SIS-${id}`,
          workflow_state: unpublished ? 'unpublished' : 'available',
          published: unpublished ? 0 : 1,
          syncable: unpublished || noSis ? 0 : 1,
          reasons: JSON.stringify([...(unpublished ? ['unpublished'] : []), ...(noSis ? ['missing_course_id'] : [])]),
          account_id: '1',
          refreshed_at: t,
          refresh_job_id: null,
          last_synced_at: null,
        });
      }
      await store.db.insertInto('courses').values(rows).execute();
    }
    await createStaffUsers({ db: store.db, clock: () => new Date() }).create(STAFF);
    const { token } = await createApiTokens({ db: store.db, clock: () => new Date() }).create({ name: 'bench' });
    return token;
  } finally {
    await store.close();
  }
}

function startInstance(env: Record<string, string>): ChildProcess & { output(): string } {
  const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', HEALTH_CHECK_INTERVAL_MINUTES: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output = (output + String(d)).slice(-4000)));
  child.stderr!.on('data', (d) => (output = (output + String(d)).slice(-4000)));
  return Object.assign(child, { output: () => output });
}

async function waitReady(url: string, child: ChildProcess & { output(): string }): Promise<void> {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`instance exited ${child.exitCode}: ${child.output()}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`instance not ready after 60 s: ${child.output()}`);
}

/** Signs in through the real login form; returns the `Cookie` header of the staff session. */
async function signIn(url: string): Promise<string> {
  const cookieOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const form = await fetch(`${url}/login`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  const jar = cookieOf(form);
  if (!csrf) throw new Error('no CSRF token on the login page');
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.join('; ') },
    body: new URLSearchParams({ _csrf: csrf, email: STAFF.email, password: STAFF.password }).toString(),
  });
  if (res.status !== 303 && res.status !== 302) throw new Error(`login answered ${res.status}`);
  const cookies = cookieOf(res);
  const sid = cookies.find((c) => c.startsWith('cc.sid=')) ?? jar.find((c) => c.startsWith('cc.sid='));
  if (!sid) throw new Error('no session cookie after login');
  return sid;
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in 1/100 s
  } catch {
    return undefined;
  }
}

interface Figure {
  backend: string;
  endpoint: string;
  /** The instance's CPU time per answered request: comparable across runs on a busy machine, unlike req/s. */
  cpuMsPerRequest?: number;
  /** The Postgres backends' CPU time per request (Postgres only). */
  dbCpuMsPerRequest?: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** The Postgres backend processes serving `databaseUrl` (same machine), for their CPU time. */
async function backendPids(databaseUrl: string): Promise<number[]> {
  if (!databaseUrl.startsWith('postgres')) return [];
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const r = await c.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    return r.rows.map((x) => x.pid);
  } finally {
    await c.end();
  }
}

async function measure(
  backend: string,
  endpoint: string,
  url: string,
  headers: Record<string, string>,
  pid: number | undefined,
  databaseUrl: string,
): Promise<Figure> {
  // A short warm-up (JIT, pool connections, caches) that is not counted.
  await autocannon({ url, connections: CONNECTIONS, duration: 1, headers });
  const pids = await backendPids(databaseUrl);
  const dbCpu = () => pids.reduce((sum, p) => sum + (cpuMs(p) ?? 0), 0);
  const cpu0 = cpuMs(pid);
  const db0 = dbCpu();
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers });
  const cpu1 = cpuMs(pid);
  const db1 = dbCpu();
  const per = (ms: number) => Math.max(0, Math.round((ms / Math.max(1, r.requests.total)) * 100) / 100);
  const cpuMsPerRequest = cpu0 !== undefined && cpu1 !== undefined ? per(cpu1 - cpu0) : undefined;
  return { backend, endpoint, cpuMsPerRequest, dbCpuMsPerRequest: pids.length ? per(db1 - db0) : undefined, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

async function benchTarget(target: Target): Promise<Figure[]> {
  const token = await seed(target.databaseUrl);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'cc-bench-data-'));
  const child = startInstance({ PORT: String(port), PUBLIC_URL: base, DATABASE_URL: target.databaseUrl, SECRET_KEY: generateSecretKey(), DATA_DIR: dataDir });
  try {
    await waitReady(base, child);
    const cookie = await signIn(base);
    const out: Figure[] = [];
    if (ENDPOINTS.has('api')) {
      out.push(await measure(target.name, 'GET /api/v1/integrations/:id/courses (Bearer)', `${base}/api/v1/integrations/${INTEGRATION_ID}/courses`, { authorization: `Bearer ${token}` }, child.pid, target.databaseUrl));
    }
    if (ENDPOINTS.has('page')) {
      out.push(await measure(target.name, 'GET /integrations/:id/courses (page, session)', `${base}/integrations/${INTEGRATION_ID}/courses`, { cookie }, child.pid, target.databaseUrl));
    }
    if (ENDPOINTS.has('readyz')) out.push(await measure(target.name, 'GET /readyz', `${base}/readyz`, {}, child.pid, target.databaseUrl));
    return out;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const targets: Target[] = [];
  if (!args.only || args.only === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cc-bench-'));
    targets.push({ name: 'sqlite', databaseUrl: `sqlite:${join(dir, 'bench.sqlite')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) });
  }
  if (!args.only || args.only === 'postgres') {
    const base = await postgresBase();
    if (base) targets.push(await postgresTarget(base));
    else process.stdout.write('Postgres: none answered (set BENCH_DATABASE_URL or TEST_DATABASE_URL); skipped\n');
  }
  process.stdout.write(`one instance (child process), ${CONNECTIONS} connections, ${SECONDS} s per endpoint, ${COURSES} courses\n`);
  const figures: Figure[] = [];
  for (const t of targets) {
    try {
      const f = await benchTarget(t);
      figures.push(...f);
      for (const x of f) {
        process.stdout.write(
          `${x.backend.padEnd(8)} ${x.endpoint.padEnd(50)} ${String(x.rps).padStart(6)} req/s  p50 ${x.p50} ms  p99 ${x.p99} ms  CPU/request: instance ${x.cpuMsPerRequest ?? '?'} ms${x.dbCpuMsPerRequest !== undefined ? `, Postgres ${x.dbCpuMsPerRequest} ms` : ''}${x.non2xx || x.errors ? `  (non-2xx ${x.non2xx}, errors ${x.errors})` : ''}\n`,
        );
      }
    } finally {
      await t.cleanup();
    }
  }
  const bad = figures.filter((f) => f.non2xx > 0 || f.errors > 0);
  if (bad.length > 0) {
    process.stdout.write(`some answers were not 2xx: ${bad.map((b) => `${b.backend} ${b.endpoint}`).join(', ')}\n`);
    process.exitCode = 1;
  }
}

await main();

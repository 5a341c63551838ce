/**
 * The Canvas client against the Canvas sandbox (src/simulator), which was built independently from
 * the same reference: pagination kinds, throttling in both modes, scopes and token refresh.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { createCanvasClient, type CanvasClientOptions } from '../../src/canvas/client.js';
import { scopeFor } from '../../src/canvas/endpoints.js';
import { parallelOrdinalPages } from '../../src/canvas/pagination.js';
import type { AccessTokenSource } from '../../src/canvas/types.js';
import { createCanvasSandbox, type CanvasSandbox } from '../../src/simulator/sandbox.js';
import { allPermissions, buildDeveloperKey, emptyWorld, type World } from '../../src/simulator/world.js';

const KEY_ID = '10000000000077';
const SCOPED_KEY_ID = '10000000000078';
const SECRET = 'client-sandbox-test-secret';
const ADMIN_ID = '1';
const COURSES = 345;
const BIG_COURSE = '5000';
const BIG_ROSTER = 257;

function buildWorld(): World {
  const w = emptyWorld('Client University');
  w.developerKeys.push(buildDeveloperKey({ id: KEY_ID, secret: SECRET }));
  w.developerKeys.push(
    buildDeveloperKey({
      id: SCOPED_KEY_ID,
      secret: SECRET,
      requireScopes: true,
      scopes: [scopeFor('users.self'), scopeFor('accounts.courses')],
    }),
  );
  w.users.push({
    id: ADMIN_ID,
    name: 'Ada Admin',
    sortableName: 'Admin, Ada',
    loginId: 'ada',
    password: 'pw',
    admin: { accountId: '1', role: 'Account Admin', permissions: allPermissions() },
  });
  for (let i = 0; i < COURSES; i++) {
    const id = String(100 + i);
    w.courses.push({ id, accountId: '1', name: `Course ${id}`, courseCode: `C${id}`, workflowState: 'available', sisCourseId: `SIS-${id}` });
    w.sections.push({ id: `${id}1`, courseId: id, name: `Section ${id}`, sisSectionId: `SEC-${id}` });
  }
  w.courses.push({ id: BIG_COURSE, accountId: '1', name: 'Big', courseCode: 'BIG', workflowState: 'available', sisCourseId: 'SIS-BIG' });
  w.sections.push({ id: '50001', courseId: BIG_COURSE, name: 'Big A', sisSectionId: 'BIG-A' });
  for (let i = 0; i < BIG_ROSTER; i++) {
    const uid = String(10_000 + i);
    w.users.push({ id: uid, name: `Student ${i}`, sortableName: `Student, ${String(i).padStart(4, '0')}`, loginId: `s${i}`, password: 'pw', sisUserId: `S${i}` });
    w.enrollments.push({ id: String(90_000 + i), userId: uid, courseId: BIG_COURSE, sectionId: '50001', type: 'StudentEnrollment', role: 'StudentEnrollment', state: 'active' });
  }
  return w;
}

let sandbox: CanvasSandbox;
/** Shared time for the sandbox and the client: backoff sleeps advance it at once (the bucket leaks). */
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
const fastSleep = async (ms: number) => {
  offsetMs += ms;
  await new Promise((r) => setImmediate(r));
};

beforeAll(async () => {
  sandbox = createCanvasSandbox({ world: buildWorld(), latencyMs: 0, clock });
  await sandbox.start(0, '127.0.0.1');
});
afterAll(async () => {
  await sandbox.stop();
});
beforeEach(() => {
  sandbox.control.configure({ rateLimitMode: '403', latencyMs: 0, throttle: { hwm: 600, outflow: 10, upFrontCost: 50 } });
  sandbox.control.resetThrottle();
  sandbox.control.resetCounters();
});

/** A token source backed by the sandbox's real token endpoint (refresh_token grant). */
function sandboxAuth(keyId = KEY_ID, scopes: string[] = []) {
  const t = sandbox.state.issueToken(sandbox.state.user(ADMIN_ID)!, sandbox.state.findKey(keyId)!, scopes);
  let access = t.accessToken;
  const calls = { refresh: 0 };
  const source: AccessTokenSource = {
    current: async () => access,
    refresh: async (rejected) => {
      if (rejected !== access) return access;
      calls.refresh++;
      const res = await fetch(`${sandbox.url}/login/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'canvas-companion-test' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: keyId, client_secret: SECRET, refresh_token: t.refreshToken }),
      });
      const body = (await res.json()) as { access_token: string };
      access = body.access_token;
      return access;
    },
  };
  return { source, calls };
}

function client(extra: Partial<CanvasClientOptions> = {}) {
  return createCanvasClient({ baseUrl: sandbox.url, userAgent: 'canvas-companion-test/1.0', ...extra });
}

describe('Canvas client against the sandbox', () => {
  it('reads every account course through ordinal pages without rel="last"', async () => {
    const ids: string[] = [];
    for await (const page of client().pages<{ id: number }>({ endpoint: 'accounts.courses', path: { account_id: 'self' } }, sandboxAuth().source)) {
      ids.push(...page.map((c) => String(c.id)));
    }
    expect(ids).toHaveLength(COURSES + 1);
    expect(new Set(ids).size).toBe(COURSES + 1);
  });

  it('reads the same courses page-parallel, in order', async () => {
    const sequential: string[] = [];
    const auth = sandboxAuth().source;
    for await (const page of client().pages<{ id: number }>({ endpoint: 'accounts.courses', path: { account_id: 'self' } }, auth)) {
      sequential.push(...page.map((c) => String(c.id)));
    }
    const parallel: string[] = [];
    const c = client();
    for await (const page of parallelOrdinalPages<{ id: number }>(c, { endpoint: 'accounts.courses', path: { account_id: 'self' } }, auth, {
      concurrency: 4,
    })) {
      parallel.push(...page.map((x) => String(x.id)));
    }
    expect(parallel).toEqual(sequential);
  });

  it('follows bookmark pages of enrollments to the end', async () => {
    const ids: string[] = [];
    for await (const page of client().pages<{ id: number; user_id: number }>(
      { endpoint: 'courses.enrollments', path: { course_id: BIG_COURSE } },
      sandboxAuth().source,
    )) {
      ids.push(...page.map((e) => String(e.id)));
    }
    expect(ids).toHaveLength(BIG_ROSTER);
    expect(new Set(ids).size).toBe(BIG_ROSTER);
  });

  it.each(['403', '429'] as const)('completes a burst that the bucket throttles (%s mode) without losing a request', async (mode) => {
    // A tight bucket: only two 50-unit reservations fit while requests take 30 ms.
    sandbox.control.configure({ rateLimitMode: mode, latencyMs: 30, throttle: { hwm: 120, outflow: 10, upFrontCost: 50 } });
    const c = client({ clock, sleep: fastSleep });
    const auth = sandboxAuth().source;
    const ids = Array.from({ length: 30 }, (_, i) => String(100 + i));
    const got = await Promise.all(
      ids.map((id) => c.request<{ id: number }>({ endpoint: 'courses.get', path: { id } }, auth).then((r) => String(r.body.id))),
    );
    expect(got).toEqual(ids);
    expect(c.stats().throttled).toBeGreaterThan(0);
    expect(sandbox.control.counters().throttled).toBe(c.stats().throttled);
    // The governor learned that only two requests fit.
    expect(c.governor!.limit()).toBeLessThanOrEqual(2);
  });

  it('names the missing scope and never refreshes on Insufficient scopes', async () => {
    const { source, calls } = sandboxAuth(SCOPED_KEY_ID, [scopeFor('users.self'), scopeFor('accounts.courses')]);
    await expect(client().request({ endpoint: 'courses.sections', path: { course_id: '100' } }, source)).rejects.toMatchObject({
      kind: 'insufficient_scopes',
      missingScope: 'url:GET|/api/v1/courses/:course_id/sections',
    });
    expect(calls.refresh).toBe(0);
    const me = await client().request<{ id: number }>({ endpoint: 'users.self' }, source);
    expect(String(me.body.id)).toBe(ADMIN_ID);
  });

  it('refreshes an expired token once and carries on', async () => {
    const { source, calls } = sandboxAuth();
    sandbox.control.expireTokens({ userId: ADMIN_ID });
    const res = await client().request<{ id: number }>({ endpoint: 'courses.get', path: { id: 'sis_course_id:SIS-100' } }, source);
    expect(String(res.body.id)).toBe('100');
    expect(calls.refresh).toBe(1);
    expect(sandbox.control.counters().tokenGrants.refresh_token).toBe(1);
  });

  it('classifies a token revoked in Canvas as token_revoked once the refresh cannot help', async () => {
    const t = sandbox.state.issueToken(sandbox.state.user(ADMIN_ID)!, sandbox.state.findKey(KEY_ID)!, []);
    sandbox.control.revokeTokens({ userId: ADMIN_ID });
    const refreshed: string[] = [];
    const source: AccessTokenSource = {
      current: async () => t.accessToken,
      // The refresh grant fails for a revoked token; the source keeps the token it has.
      refresh: async (rejected) => {
        refreshed.push(rejected);
        return rejected;
      },
    };
    await expect(client().request({ endpoint: 'users.self' }, source)).rejects.toMatchObject({
      kind: 'token_invalid',
      tokenProblem: 'revoked',
    });
    expect(refreshed).toHaveLength(1);
  });
});

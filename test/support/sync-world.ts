import { afterAll, beforeAll } from '@jest/globals';
import { TokenUnavailableError } from '../../src/oauth/token-source.js';
import { createCanvasClient } from '../../src/canvas/client.js';
import { createThrottleGovernor } from '../../src/canvas/governor.js';
import type { AccessTokenSource } from '../../src/canvas/types.js';
import type { Store } from '../../src/store/database.js';
import { createCourseRepository } from '../../src/sync/course-repository.js';
import { createChangeLog, type ChangeListener, type ChangeLog } from '../../src/changes/change-log.js';
import { createChangeLogRepository } from '../../src/changes/change-log-repository.js';
import type { SyncDeps } from '../../src/sync/course-refresh.js';
import { createCanvasSandbox, type CanvasSandbox, type SandboxOptions } from '../../src/simulator/sandbox.js';
import { allPermissions, buildDeveloperKey, emptyWorld, type AdminPermissions, type DeveloperKey, type Course, type EnrollmentState, type EnrollmentType, type World } from '../../src/simulator/world.js';

export const ADMIN_ID = '900';
export const KEY_ID = '10000000000042';
export const KEY_SECRET = 'sandbox-secret-for-sync-tests';

/**
 * A small world that exercises every course, section and roster reason:
 * - 101 syncable (2 sections), 102 unpublished, 103 no SIS id, 104 deleted, 105 concluded (still
 *   syncable), 106 one section without SIS id, 107 in sub-account 2; plus `fillers` plain courses
 *   (ids from 1000) with 1–3 sections each, so the course list spans several pages.
 * - course 101's roster: every roster reason (see ROSTER below).
 */
export function buildSyncWorld(opts: { fillers?: number; permissions?: Partial<AdminPermissions> } = {}): World {
  const w = emptyWorld('Sync University');
  w.accounts.push({ id: '2', name: 'Sub account', parentAccountId: '1', sisAccountId: 'SUB' });
  w.developerKeys.push(buildDeveloperKey({ id: KEY_ID, secret: KEY_SECRET, redirectUris: ['http://127.0.0.1/oauth/callback'] }));
  w.users.push({
    id: ADMIN_ID,
    name: 'Ada Admin',
    sortableName: 'Admin, Ada',
    loginId: 'ada',
    password: 'pw',
    email: 'ada@example.edu',
    admin: { accountId: '1', role: 'Account Admin', permissions: { ...allPermissions(), ...opts.permissions } },
  });
  const course = (id: string, workflowState: Course['workflowState'], sis: string | null, accountId = '1'): void => {
    w.courses.push({ id, accountId, name: `Course ${id}`, courseCode: `C${id}`, workflowState, sisCourseId: sis, integrationId: sis ? `INT-${id}` : null });
  };
  const section = (id: string, courseId: string, sis: string | null) =>
    w.sections.push({ id, courseId, name: `Section ${id}`, sisSectionId: sis, integrationId: sis ? `SINT-${id}` : null });
  course('101', 'available', 'SIS-101');
  section('1011', '101', 'SEC-1011');
  section('1012', '101', 'SEC-1012');
  course('102', 'created', 'SIS-102');
  section('1021', '102', 'SEC-1021');
  course('103', 'available', null);
  section('1031', '103', 'SEC-1031');
  course('104', 'deleted', 'SIS-104');
  section('1041', '104', 'SEC-1041');
  course('105', 'completed', 'SIS-105');
  section('1051', '105', 'SEC-1051');
  course('106', 'available', 'SIS-106');
  section('1061', '106', 'SEC-1061');
  section('1062', '106', null);
  course('107', 'available', 'SIS-107', '2');
  section('1071', '107', 'SEC-1071');
  for (let i = 0; i < (opts.fillers ?? 0); i++) {
    const id = String(1000 + i);
    course(id, 'available', `SIS-${id}`);
    for (let s = 0; s <= i % 3; s++) section(`${id}${s}`, id, `SEC-${id}-${s}`);
  }

  const person = (id: string, name: string, sis: string | null, extra: Partial<World['users'][number]> = {}) =>
    w.users.push({ id, name, sortableName: name, loginId: `login${id}`, password: 'pw', sisUserId: sis, email: `u${id}@example.edu`, ...extra });
  let enr = 5000;
  const enroll = (userId: string, sectionId: string, type: EnrollmentType, state: EnrollmentState, role: string = type) =>
    w.enrollments.push({ id: String(enr++), userId, courseId: '101', sectionId, type, role, state });
  for (const [id, name, sis, type, state, sectionId] of ROSTER) {
    if (!w.users.some((u) => u.id === id)) person(id, name, sis);
    enroll(id, sectionId, type, state);
  }
  return w;
}

/** Course 101's enrollments: [userId, name, sisUserId, type, state, sectionId]. */
export const ROSTER: Array<[string, string, string | null, EnrollmentType, EnrollmentState, string]> = [
  ['1', 'Amy Active', 'S1', 'StudentEnrollment', 'active', '1011'],
  ['2', 'Ivan Invited', 'S2', 'StudentEnrollment', 'invited', '1011'],
  ['3', 'Pat Pending', 'S3', 'StudentEnrollment', 'creation_pending', '1012'],
  ['4', 'Ina Inactive', 'S4', 'StudentEnrollment', 'inactive', '1011'],
  ['5', 'Con Concluded', 'S5', 'StudentEnrollment', 'completed', '1012'],
  ['6', 'Tea Teacher', 'T6', 'TeacherEnrollment', 'active', '1011'],
  ['7', 'Nia NoId', null, 'StudentEnrollment', 'active', '1012'],
  ['8', 'Bo Both', 'S8', 'StudentEnrollment', 'active', '1011'],
  ['8', 'Bo Both', 'S8', 'StudentEnrollment', 'active', '1012'],
];

export interface SyncHarness {
  sandbox: CanvasSandbox;
  deps: SyncDeps & { changeLog: ChangeLog };
  integrationId: string;
  auth: AccessTokenSource & { refreshes: number };
  close(): Promise<void>;
}

/**
 * Starts the sandbox on 127.0.0.1:0, issues the admin a token, stores an integration row pointing
 * at the sandbox, and builds the sync dependencies with the real Canvas client and governor.
 * The token source refreshes through the sandbox's real token endpoint.
 */
export async function startSyncHarness(
  store: Store,
  world: World,
  opts: Omit<SandboxOptions, 'world'> & { changeListeners?: ChangeListener[]; noGovernor?: boolean; key?: Partial<DeveloperKey>; tokenScopes?: string[]; integrationId?: string; courseIdType?: string; userIdType?: string; studentRoles?: string[]; accountId?: string } = {},
): Promise<SyncHarness> {
  const sandbox = createCanvasSandbox({ latencyMs: 0, reportDelayMs: 30, ...opts, world });
  await sandbox.start(0, '127.0.0.1');
  const admin = sandbox.state.user(ADMIN_ID)!;
  if (opts.key) sandbox.control.setKey({ keyId: KEY_ID, ...opts.key });
  const key = sandbox.state.findKey(KEY_ID)!;
  const token = sandbox.state.issueToken(admin, key, opts.tokenScopes ?? []);
  let access = token.accessToken;
  const refreshToken = token.refreshToken;
  const integrationId = opts.integrationId ?? `int-${Math.random().toString(36).slice(2, 8)}`;
  const t = new Date().toISOString();
  await store.db
    .insertInto('integrations')
    .values({
      id: integrationId,
      name: 'Sync University',
      canvas_url: sandbox.url,
      client_id: KEY_ID,
      client_secret_enc: null,
      account_id: opts.accountId ?? 'self',
      course_id_type: opts.courseIdType ?? 'sis_course_id',
      user_id_type: opts.userIdType ?? 'sis_user_id',
      student_roles: JSON.stringify(opts.studentRoles ?? ['StudentEnrollment']),
      lti: null,
      state: 'verified',
      reasons: '[]',
      missing_scopes: '[]',
      checks: '[]',
      token_owner_id: ADMIN_ID,
      token_owner_name: 'Ada Admin',
      verified_at: t,
      checked_at: t,
      created_at: t,
      updated_at: t,
    })
    .execute();
  let inflight: Promise<string> | undefined;
  const auth = {
    refreshes: 0,
    async current() {
      return access;
    },
    async refresh(rejected: string): Promise<string> {
      if (rejected !== access) return access;
      // Single flight, like the product's token source: concurrent 401s share one refresh.
      inflight ??= auth.doRefresh().finally(() => (inflight = undefined));
      return inflight;
    },
    async doRefresh(): Promise<string> {
      auth.refreshes++;
      const res = await fetch(`${sandbox.url}/login/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'cc-test' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: KEY_ID, client_secret: KEY_SECRET, refresh_token: refreshToken }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!body.access_token) throw new TokenUnavailableError('token_revoked', 'refresh failed');
      access = body.access_token;
      return access;
    },
  };
  const changeLog = createChangeLog({ repo: createChangeLogRepository(store.db), listeners: opts.changeListeners ?? [] });
  const deps: SyncDeps & { changeLog: ChangeLog } = {
    changeLog,
    courses: createCourseRepository(store.db),
    clientFor: (s) =>
      createCanvasClient({ baseUrl: s.canvasUrl, otherUrl: s.canvasOtherUrl, userAgent: 'canvas-companion-test', governor: opts.noGovernor ? undefined : createThrottleGovernor() }),
    tokenSourceFor: () => auth,
    reportPollDelaysMs: [20, 40],
  };
  return { sandbox, deps, integrationId, auth, close: () => sandbox.stop() };
}

/**
 * Registers beforeAll/afterAll for a describe block: opens the store, and closes every harness
 * started with `harness(world, opts)` and then the store. Read `store` inside tests only.
 */
export function useSyncHarnesses(open: () => Promise<Store>): {
  store: Store;
  harness(world: World, opts?: Parameters<typeof startSyncHarness>[2]): Promise<SyncHarness>;
} {
  const harnesses: SyncHarness[] = [];
  const ctx = {
    store: undefined as unknown as Store,
    async harness(world: World, opts?: Parameters<typeof startSyncHarness>[2]) {
      const h = await startSyncHarness(ctx.store, world, opts);
      harnesses.push(h);
      return h;
    },
  };
  beforeAll(async () => {
    ctx.store = await open();
  });
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    await ctx.store?.close();
  });
  return ctx;
}

import { strToU8, zipSync } from 'fflate';
import { permissionDenied } from './api-auth.js';
import { resolveAccount, type ApiContext } from './canvas-api.js';
import { json, notFound, type SimResponse } from './http-kit.js';
import { ordinal } from './pagination.js';
import type { ReportRecord } from './sandbox-state.js';
import { accountChain, accountPermissions, EPOCH, indexOf } from './visibility.js';
import type { Account, Course, Enrollment, Term, User, World } from './world.js';

/**
 * Account reports: `provisioning_csv` runs in the background (`created` → `running` →
 * `compiling` → `complete` over `reportDelayMs`); once complete, `file_url`
 * (`/accounts/:id/files/:attachment_id/download`) and `attachment.url` serve a zip of the asked
 * tables (or one CSV when one table was asked), both only with a Bearer token. The report runs as
 * Canvas, not with the caller's field visibility, so the SIS columns are always filled; only
 * `read_reports` on the account is required. The tables are built when the report starts.
 */

export const REPORT_TYPES = ['provisioning_csv'] as const;

const COLUMNS = {
  users: [
    'canvas_user_id', 'user_id', 'integration_id', 'authentication_provider_id', 'login_id', 'first_name', 'last_name',
    'full_name', 'sortable_name', 'short_name', 'email', 'status', 'created_by_sis',
  ],
  accounts: ['canvas_account_id', 'account_id', 'canvas_parent_id', 'parent_account_id', 'name', 'status', 'created_by_sis'],
  terms: ['canvas_term_id', 'term_id', 'name', 'status', 'start_date', 'end_date', 'created_by_sis'],
  courses: [
    'canvas_course_id', 'course_id', 'integration_id', 'short_name', 'long_name', 'canvas_account_id', 'account_id',
    'canvas_term_id', 'term_id', 'status', 'start_date', 'end_date', 'course_format', 'canvas_blueprint_course_id',
    'blueprint_course_id', 'created_by_sis',
  ],
  sections: [
    'canvas_section_id', 'section_id', 'canvas_course_id', 'course_id', 'integration_id', 'name', 'status',
    'start_date', 'end_date', 'canvas_account_id', 'account_id', 'created_by_sis',
  ],
  enrollments: [
    'canvas_course_id', 'course_id', 'canvas_user_id', 'user_id', 'role', 'role_id', 'canvas_section_id', 'section_id',
    'status', 'canvas_associated_user_id', 'associated_user_id', 'created_by_sis', 'base_role_type',
    'limit_section_privileges', 'canvas_enrollment_id',
  ],
} as const;

type Table = keyof typeof COLUMNS;
/** Order of the tables in the zip (the sis_exporter's order). */
const TABLES: readonly Table[] = ['users', 'accounts', 'terms', 'courses', 'sections', 'enrollments'];

/** The root account's default time zone (also in the Account JSON). */
const ROOT_TIME_ZONE = 'America/Denver';

function csvCell(v: string | null | undefined): string {
  const s = v ?? '';
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Builds the file line by line: a large world must not sit in memory as row arrays as well as text. */
function csv(columns: readonly string[], rows: Iterable<Array<string | null | undefined>>): { text: string; rows: number } {
  const parts: string[] = [];
  let chunk = columns.join(',') + '\n';
  let n = 0;
  for (const r of rows) {
    chunk += r.map(csvCell).join(',') + '\n';
    n++;
    if (chunk.length > 65_536) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return { text: parts.join(''), rows: n };
}

let zoneFormat: Intl.DateTimeFormat | undefined;

/** `default_timezone_format`: ISO 8601 in the root account's time zone, e.g. `2026-01-12T00:00:00-07:00`; '' for null. */
export function zonedIso(iso: string | null | undefined): string {
  if (!iso) return '';
  zoneFormat ??= new Intl.DateTimeFormat('en-US', {
    timeZone: ROOT_TIME_ZONE,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  });
  const p = Object.fromEntries(zoneFormat.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  const offset = p['timeZoneName'] === 'GMT' ? '+00:00' : (p['timeZoneName'] ?? '').replace('GMT', '');
  return `${p['year']}-${p['month']}-${p['day']}T${p['hour']}:${p['minute']}:${p['second']}${offset}`;
}

const COURSE_STATUS: Record<Course['workflowState'], string> = {
  created: 'unpublished',
  claimed: 'unpublished',
  available: 'active',
  completed: 'concluded',
  deleted: 'deleted',
};

const ENROLLMENT_STATUS: Record<Enrollment['state'], string> = {
  invited: 'invited',
  creation_pending: 'invited',
  active: 'active',
  completed: 'concluded',
  inactive: 'inactive',
  deleted: 'deleted',
  rejected: 'rejected',
};

const SIS_ROLE: Record<Enrollment['type'], string> = {
  StudentEnrollment: 'student',
  TeacherEnrollment: 'teacher',
  TaEnrollment: 'ta',
  DesignerEnrollment: 'designer',
  ObserverEnrollment: 'observer',
};

const BUILT_IN_ROLE_IDS: Record<Enrollment['type'], string> = {
  StudentEnrollment: '3',
  TeacherEnrollment: '4',
  TaEnrollment: '5',
  DesignerEnrollment: '6',
  ObserverEnrollment: '7',
};

/** Rails `value_to_boolean` for the table flags. */
export function valueToBoolean(v: string | undefined): boolean {
  return v !== undefined && ['true', '1', 'on', 't', 'yes', 'y'].includes(v.toLowerCase());
}

const sisFlag = (id: string | null | undefined) => (id ? 'true' : 'false');

/**
 * Resolves `enrollment_term_id` (or `enrollment_term`): a term id, `sis_term_id:X`, a
 * comma-separated list of those, or `active_terms`. Returns undefined when no term filter was
 * asked, null when the value is invalid.
 */
function termFilter(world: World, parameters: Record<string, string>, nowMs: number): Set<string> | undefined | null {
  const raw = parameters['enrollment_term_id'] ?? parameters['enrollment_term'];
  if (raw === undefined || raw === '') return undefined;
  const live = world.terms.filter((t) => t.workflowState !== 'deleted');
  if (raw === 'active_terms') {
    const at = (s: string | null | undefined, dflt: number) => (s ? Date.parse(s) : dflt);
    return new Set(live.filter((t) => at(t.startAt, -Infinity) <= nowMs && nowMs <= at(t.endAt, Infinity)).map((t) => t.id));
  }
  const ids = new Set<string>();
  for (const part of raw.split(',').map((x) => x.trim())) {
    const t: Term | undefined = part.startsWith('sis_term_id:')
      ? live.find((x) => x.sisTermId && x.sisTermId === part.slice(12))
      : live.find((x) => x.id === part);
    if (!t) return null;
    ids.add(t.id);
  }
  return ids;
}

/** Tables asked for, in zip order. */
function tablesOf(parameters: Record<string, string>): Table[] {
  return TABLES.filter((t) => valueToBoolean(parameters[t]));
}

/** Builds the report's tables as CSV text, keyed by file name (snapshot of the world now). */
export function provisioningFiles(world: World, accountId: string, parameters: Record<string, string>, terms?: Set<string>): { files: Record<string, string>; rows: number } {
  const idx = indexOf(world);
  const usersById = new Map(world.users.map((u) => [u.id, u]));
  const includeDeleted = valueToBoolean(parameters['include_deleted']);
  const inAccount = (c: Course) => accountChain(world, c.accountId).includes(accountId);
  const scoped = world.courses
    .filter((c) => inAccount(c) && (!terms || terms.has(c.termId ?? '1')))
    .sort((a, b) => Number(a.id) - Number(b.id));
  const account = (id: string): Account | undefined => idx.accounts.get(id);
  const termOf = (c: Course) => world.terms.find((t) => t.id === (c.termId ?? '1'));
  const files: Record<string, string> = {};
  let total = 0;
  const add = (t: Table, rows: Iterable<Array<string | null | undefined>>) => {
    const out = csv(COLUMNS[t], rows);
    files[`${t}.csv`] = out.text;
    total += out.rows;
  };

  for (const table of tablesOf(parameters)) {
    if (table === 'courses') {
      add(table, (function* () {
        for (const c of scoped) {
          if (!includeDeleted && (c.workflowState === 'deleted' || c.workflowState === 'completed')) continue;
          const restricted = Boolean(c.restrictEnrollmentsToCourseDates);
          yield [
            c.id, c.sisCourseId, c.integrationId, c.courseCode, c.name, c.accountId, account(c.accountId)?.sisAccountId,
            c.termId ?? '1', termOf(c)?.sisTermId, COURSE_STATUS[c.workflowState],
            restricted ? zonedIso(c.startAt) : '', restricted ? zonedIso(c.endAt) : '', c.courseFormat ?? '', '', '', sisFlag(c.sisCourseId),
          ];
        }
      })());
    } else if (table === 'sections') {
      add(table, (function* () {
        for (const c of scoped) {
          for (const s of idx.sectionsByCourse.get(c.id) ?? []) {
            const live = !s.deleted && c.workflowState !== 'deleted';
            if (!live && !(includeDeleted && s.sisSectionId && c.sisCourseId)) continue;
            const restricted = Boolean(s.restrictEnrollmentsToSectionDates);
            yield [
              s.id, s.sisSectionId, c.id, c.sisCourseId, s.integrationId, s.name, s.deleted ? 'deleted' : 'active',
              restricted ? zonedIso(s.startAt) : '', restricted ? zonedIso(s.endAt) : '', c.accountId,
              account(c.accountId)?.sisAccountId, sisFlag(s.sisSectionId),
            ];
          }
        }
      })());
    } else if (table === 'enrollments') {
      const filter = parameters['enrollment_filter']?.split(',').map((x) => x.trim());
      const wantStates = parameters['enrollment_states']?.split(',').map((x) => x.trim());
      add(table, (function* () {
        for (const c of scoped) {
          for (const e of idx.enrollmentsByCourse.get(c.id) ?? []) {
            const user = usersById.get(e.userId);
            if (!user?.loginId) continue;
            const section = idx.sections.get(e.sectionId);
            const bySis = Boolean(c.sisCourseId && user.sisUserId);
            if (includeDeleted) {
              if (e.state === 'deleted' && !bySis) continue;
            } else if (e.state === 'deleted' || e.state === 'completed' || section?.deleted || c.workflowState === 'deleted') continue;
            if (filter && !filter.includes(e.type)) continue;
            if (wantStates && !wantStates.includes(e.state)) continue;
            const status = section?.deleted || c.workflowState === 'deleted' ? 'deleted' : ENROLLMENT_STATUS[e.state];
            const custom = e.role !== e.type ? world.roles.find((r) => r.label === e.role) : undefined;
            const observee = e.associatedUserId ? usersById.get(e.associatedUserId) : undefined;
            yield [
              c.id, c.sisCourseId, e.userId, user.sisUserId, custom ? custom.label : SIS_ROLE[e.type],
              custom ? custom.id : BUILT_IN_ROLE_IDS[e.type], e.sectionId, section?.sisSectionId, status,
              e.associatedUserId ?? '', observee?.sisUserId ?? '', sisFlag(bySis ? 'x' : null), e.type,
              e.limitSectionPrivileges ? 'true' : 'false', e.id,
            ];
          }
        }
      })());
    } else if (table === 'users') {
      const root = accountId === world.rootAccountId;
      const associated = new Set<string>();
      if (!root) {
        for (const c of world.courses) {
          if (!inAccount(c)) continue;
          for (const e of idx.enrollmentsByCourse.get(c.id) ?? []) if (e.state !== 'deleted') associated.add(e.userId);
        }
      }
      const users = world.users.filter((u) => root || associated.has(u.id)).sort((a, b) => Number(a.id) - Number(b.id));
      add(table, (function* () {
        for (const u of users) for (const row of userRows(u, includeDeleted)) yield row;
      })());
    } else if (table === 'terms') {
      add(table, (function* () {
        for (const t of [...world.terms].sort((a, b) => Number(a.id) - Number(b.id))) {
          const deleted = t.workflowState === 'deleted';
          if (deleted && !(includeDeleted && t.sisTermId)) continue;
          yield [t.id, t.sisTermId, t.name, deleted ? 'deleted' : 'active', zonedIso(t.startAt), zonedIso(t.endAt), sisFlag(t.sisTermId)];
        }
      })());
    } else {
      add(table, (function* () {
        for (const a of world.accounts.filter((x) => x.parentAccountId === accountId).sort((x, y) => Number(x.id) - Number(y.id))) {
          const deleted = a.workflowState === 'deleted';
          if (deleted && !includeDeleted) continue;
          yield [a.id, a.sisAccountId, accountId, account(accountId)?.sisAccountId, a.name, deleted ? 'deleted' : 'active', sisFlag(a.sisAccountId)];
        }
      })());
    }
  }
  return { files, rows: total };
}

/** One users.csv row per login (pseudonym). `User.name_parts`: "Last, First" → first, last. */
function userRows(u: User, includeDeleted: boolean): Array<Array<string | null | undefined>> {
  const comma = u.sortableName.indexOf(',');
  const first = comma >= 0 ? u.sortableName.slice(comma + 1).trim() : '';
  const last = comma >= 0 ? u.sortableName.slice(0, comma).trim() : u.sortableName;
  const logins = [
    ...(u.loginId ? [{ loginId: u.loginId, sisUserId: u.sisUserId, integrationId: u.integrationId, state: u.suspended ? 'suspended' : 'active' }] : []),
    ...(u.extraLogins ?? []).map((l) => ({ ...l, state: l.state ?? 'active' })),
  ];
  return logins
    .filter((l) => l.state !== 'deleted' || (includeDeleted && l.sisUserId))
    .map((l) => [
      u.id, l.sisUserId, l.integrationId, '', l.loginId, first, last, u.name, u.sortableName, u.shortName ?? u.name,
      u.email ?? '', l.state, sisFlag(l.sisUserId),
    ]);
}

type Phase = 'created' | 'running' | 'compiling' | 'complete';

function phase(ctx: ApiContext, r: ReportRecord): { status: ReportRecord['finalState'] | Phase; fraction: number } {
  if (r.finalState) return { status: r.finalState, fraction: r.stoppedFraction ?? 0 };
  const elapsed = ctx.state.now() - r.createdAt;
  const delay = ctx.state.settings.reportDelayMs;
  if (elapsed >= delay) return { status: 'complete', fraction: 1 };
  if (elapsed <= 0) return { status: 'created', fraction: 0 };
  const fraction = elapsed / delay;
  return { status: fraction < 0.75 ? 'running' : 'compiling', fraction };
}

/** The origin report files are named on: the request's, or its `reportFileHost` twin (same scheme and port). */
function filesOrigin(ctx: ApiContext): string {
  const other = ctx.state.settings.reportFileHost;
  if (!other) return ctx.req.origin;
  const u = new URL(ctx.req.origin);
  u.hostname = other;
  return u.origin;
}

function reportJson(ctx: ApiContext, r: ReportRecord, fresh = false): Record<string, unknown> {
  if (!fresh) r.build?.();
  const { status, fraction } = fresh ? { status: 'created' as const, fraction: 0 } : phase(ctx, r);
  const delay = ctx.state.settings.reportDelayMs;
  const iso = (ms: number) => new Date(ms).toISOString();
  const done = status === 'complete';
  const out: Record<string, unknown> = {
    id: r.id,
    report: r.report,
    file_url: null,
    status,
    created_at: iso(r.createdAt),
    started_at: status === 'created' ? null : iso(r.createdAt),
    ended_at: done ? iso(r.createdAt + delay) : r.finalState && r.endedAt ? iso(r.endedAt) : null,
    parameters: r.parameters,
    progress: done ? 100 : Math.min(99, Math.floor(fraction * 100)),
    current_line: status === 'created' ? null : done || status === 'compiling' ? r.rows : Math.floor((fraction * r.rows) / 1000) * 1000,
    run_time: done ? delay / 1000 : r.endedAt ? (r.endedAt - r.createdAt) / 1000 : null,
  };
  if (done) {
    const multi = Object.keys(r.files).length !== 1;
    const fileOrigin = filesOrigin(ctx);
    const filename = multi ? 'provisioning_csv.zip' : Object.keys(r.files)[0]!;
    out['file_url'] = `${fileOrigin}/accounts/${r.accountId}/files/${r.fileId}/download`;
    out['attachment'] = {
      id: r.fileId,
      display_name: filename,
      filename,
      'content-type': multi ? 'application/zip' : 'text/csv',
      size: fileBody(r).length,
      url: `${fileOrigin}/files/${r.fileId}/download?download_frd=1`,
      created_at: iso(r.createdAt + delay),
      updated_at: iso(r.createdAt + delay),
      locked: false,
      hidden: false,
    };
  }
  return out;
}

function fileBody(r: ReportRecord): Buffer {
  r.build?.();
  if (r.body) return r.body;
  const names = Object.keys(r.files);
  r.body =
    names.length === 1
      ? Buffer.from(r.files[names[0]!]!)
      : Buffer.from(zipSync(Object.fromEntries(names.map((n) => [n, strToU8(r.files[n]!)])), { mtime: new Date(EPOCH) }));
  return r.body;
}

/** Account, permission and report-name checks shared by every report route. */
function guard(ctx: ApiContext): { account: Account } | SimResponse {
  const account = resolveAccount(ctx, ctx.req.pathParams['account_id']);
  if (!account) return notFound();
  if (!accountPermissions(ctx.state.world, ctx.caller.user, account.id)?.read_reports) return permissionDenied(ctx.state);
  const report = ctx.req.pathParams['report'];
  if (report !== undefined && !(REPORT_TYPES as readonly string[]).includes(report)) return notFound();
  return { account };
}

function find(ctx: ApiContext, account: Account): ReportRecord | undefined {
  const r = ctx.state.reports.get(Number(ctx.req.pathParams['id']));
  if (!r || r.accountId !== account.id || r.report !== ctx.req.pathParams['report'] || r.finalState === 'deleted') return undefined;
  return r;
}

/** POST /api/v1/accounts/:account_id/reports/:report */
export function startReport(ctx: ApiContext): SimResponse {
  const g = guard(ctx);
  if (!('account' in g)) return g;
  const raw = ctx.req.params['parameters'];
  const parameters: Record<string, string> = {};
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') parameters[k] = v;
  }
  const world = ctx.state.world;
  const terms = termFilter(world, parameters, ctx.state.now());
  if (terms === null) {
    return json(400, { error: `invalid enrollment_term_id '${parameters['enrollment_term_id'] ?? parameters['enrollment_term']}'` });
  }
  const termName = terms === undefined ? 'All Terms' : [...terms].map((id) => world.terms.find((t) => t.id === id)?.name).join(', ');
  // The exact joining of extra_text is not known; this follows its documented pieces.
  parameters['extra_text'] = `Term: ${termName}; Reports: ${tablesOf(parameters).map((t) => `${t} `).join('')}`;
  const id = ctx.state.nextId();
  const accountId = g.account.id;
  const r: ReportRecord = { id, accountId, report: 'provisioning_csv', parameters, createdAt: ctx.state.now(), fileId: id + 500_000, files: {}, rows: 0 };
  // Canvas answers the POST at once and builds the report in a job: here the tables and the file
  // (a zip for several tables) are built right after the answer goes out, within the report's run
  // time. Anything that reads the report first builds it then (`built`).
  r.build = () => {
    r.build = undefined;
    const out = provisioningFiles(world, accountId, parameters, terms);
    r.files = out.files;
    r.rows = out.rows;
    fileBody(r);
  };
  ctx.state.reports.set(id, r);
  setImmediate(() => r.build?.());
  return json(200, reportJson(ctx, r, true));
}

/** GET /api/v1/accounts/:account_id/reports/:report/:id */
export function reportStatus(ctx: ApiContext): SimResponse {
  const g = guard(ctx);
  if (!('account' in g)) return g;
  const r = find(ctx, g.account);
  return r ? json(200, reportJson(ctx, r)) : notFound();
}

/** GET /api/v1/accounts/:account_id/reports — the available report types, sorted by title. */
export function listReportTypes(ctx: ApiContext): SimResponse {
  const g = guard(ctx);
  if (!('account' in g)) return g;
  const last = [...ctx.state.reports.values()].filter((r) => r.accountId === g.account.id && r.finalState !== 'deleted').sort((a, b) => b.id - a.id)[0];
  return json(200, [
    {
      title: 'Provisioning',
      report: 'provisioning_csv',
      parameters: Object.fromEntries(
        [...TABLES, 'enrollment_term_id', 'include_deleted', 'enrollment_filter', 'enrollment_states'].map((p) => [p, { required: false, description: p }]),
      ),
      last_run: last ? reportJson(ctx, last) : null,
    },
  ]);
}

/** GET /api/v1/accounts/:account_id/reports/:report — runs of that type, newest first. */
export function listReports(ctx: ApiContext): SimResponse {
  const g = guard(ctx);
  if (!('account' in g)) return g;
  const runs = [...ctx.state.reports.values()]
    .filter((r) => r.accountId === g.account.id && r.report === ctx.req.pathParams['report'] && r.finalState !== 'deleted')
    .sort((a, b) => b.id - a.id);
  const page = ordinal(ctx.req, runs, true);
  return json(200, page.items.map((r) => reportJson(ctx, r)), { Link: page.link });
}

/** PUT …/reports/:report/:id/abort — only a `running` report; anything else is 404. */
export function abortReport(ctx: ApiContext): SimResponse {
  const g = guard(ctx);
  if (!('account' in g)) return g;
  const r = find(ctx, g.account);
  if (!r) return notFound();
  const p = phase(ctx, r);
  if (p.status !== 'running') return notFound();
  r.finalState = 'aborted';
  r.stoppedFraction = p.fraction;
  r.endedAt = ctx.state.now();
  return json(200, reportJson(ctx, r));
}

/** DELETE …/reports/:report/:id — soft delete; the answer shows `deleted`. */
export function deleteReport(ctx: ApiContext): SimResponse {
  const g = guard(ctx);
  if (!('account' in g)) return g;
  const r = find(ctx, g.account);
  if (!r) return notFound();
  r.finalState = 'deleted';
  return json(200, reportJson(ctx, r));
}

/**
 * GET /accounts/:account_id/files/:id/download and GET /files/:id/download — the report
 * attachment. A Bearer token is required (no verifier downloads); scopes are not enforced.
 */
export function download(ctx: ApiContext): SimResponse {
  const r = [...ctx.state.reports.values()].find((x) => String(x.fileId) === ctx.req.pathParams['id']);
  if (!r || phase(ctx, r).status !== 'complete') return notFound();
  r.build?.();
  const accountId = ctx.req.pathParams['account_id'];
  if (accountId !== undefined && resolveAccount(ctx, accountId)?.id !== r.accountId) return notFound();
  if (!accountPermissions(ctx.state.world, ctx.caller.user, r.accountId)?.read_reports) return permissionDenied(ctx.state);
  const names = Object.keys(r.files);
  const single = names.length === 1;
  const filename = single ? names[0]! : 'provisioning_csv.zip';
  return {
    status: 200,
    headers: { 'Content-Type': single ? 'text/csv' : 'application/zip', 'Content-Disposition': `attachment; filename="${filename}"` },
    body: fileBody(r),
  };
}

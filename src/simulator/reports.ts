import { strToU8, zipSync } from 'fflate';
import { permissionDenied } from './api-auth.js';
import { resolveAccount, type ApiContext } from './canvas-api.js';
import { json, notFound, type SimResponse } from './http-kit.js';
import type { ReportRecord } from './sandbox-state.js';
import { accountChain, accountPermissions, EPOCH, indexOf } from './visibility.js';
import type { Course } from './world.js';

/**
 * Account reports (PERFORMANCE §3.3): `provisioning_csv` runs asynchronously; once complete its
 * `file_url` serves a zip of courses.csv and sections.csv (or one CSV when one table was asked).
 * The report runs as Canvas, not as the caller's field visibility, so the SIS columns are always
 * filled; only `read_reports` on the account is required to start and read it.
 */

const COURSE_COLUMNS = [
  'canvas_course_id', 'course_id', 'integration_id', 'short_name', 'long_name', 'canvas_account_id', 'account_id',
  'canvas_term_id', 'term_id', 'status', 'start_date', 'end_date', 'course_format', 'blueprint_course_id', 'created_by_sis',
];
const SECTION_COLUMNS = [
  'canvas_section_id', 'section_id', 'canvas_course_id', 'course_id', 'integration_id', 'name', 'status',
  'start_date', 'end_date', 'canvas_account_id', 'account_id', 'created_by_sis',
];
const TABLES = ['courses', 'sections'] as const;

function csvCell(v: string | null | undefined): string {
  const s = v ?? '';
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Builds the file line by line: a large world must not sit in memory as row arrays as well as text. */
function csv(columns: string[], rows: Iterable<Array<string | null | undefined>>): string {
  const parts: string[] = [];
  let chunk = columns.join(',') + '\n';
  for (const r of rows) {
    chunk += r.map(csvCell).join(',') + '\n';
    if (chunk.length > 65_536) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

const COURSE_STATUS: Record<Course['workflowState'], string> = {
  created: 'unpublished',
  claimed: 'unpublished',
  available: 'active',
  completed: 'concluded',
  deleted: 'deleted',
};

function reportJson(ctx: ApiContext, r: ReportRecord): Record<string, unknown> {
  const elapsed = ctx.state.now() - r.createdAt;
  const delay = ctx.state.settings.reportDelayMs;
  const done = elapsed >= delay;
  const status = done ? 'complete' : elapsed > 0 ? 'running' : 'created';
  const out: Record<string, unknown> = {
    id: r.id,
    report: r.report,
    status,
    progress: done ? 100 : Math.floor((elapsed / Math.max(delay, 1)) * 100),
    created_at: new Date(r.createdAt).toISOString(),
    started_at: elapsed > 0 ? new Date(r.createdAt).toISOString() : null,
    ended_at: done ? new Date(r.createdAt + delay).toISOString() : null,
    parameters: r.parameters,
    current_line: null,
    run_time: done ? delay / 1000 : null,
  };
  if (done) {
    const multi = TABLES.filter((t) => r.parameters[t] === 'true').length !== 1;
    const filename = multi ? 'provisioning_csv.zip' : `${TABLES.find((t) => r.parameters[t] === 'true')}.csv`;
    const url = `${ctx.req.origin}/files/${r.fileId}/download?download_frd=1`;
    out['file_url'] = url;
    out['attachment'] = {
      id: r.fileId,
      display_name: filename,
      filename,
      'content-type': multi ? 'application/zip' : 'text/csv',
      url,
    };
  }
  return out;
}

/** POST /api/v1/accounts/:account_id/reports/:report */
export function startReport(ctx: ApiContext): SimResponse {
  const account = resolveAccount(ctx, ctx.req.pathParams['account_id']);
  if (!account) return notFound();
  if (!accountPermissions(ctx.state.world, ctx.caller.user, account.id)?.read_reports) return permissionDenied(ctx.state);
  if (ctx.req.pathParams['report'] !== 'provisioning_csv') return notFound();
  const raw = ctx.req.params['parameters'];
  const parameters: Record<string, string> = {};
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') parameters[k] = v;
  }
  const id = ctx.state.nextId();
  const r: ReportRecord = { id, accountId: account.id, report: 'provisioning_csv', parameters, createdAt: ctx.state.now(), fileId: id + 500_000 };
  ctx.state.reports.set(id, r);
  return json(200, reportJson(ctx, r));
}

/** GET /api/v1/accounts/:account_id/reports/:report/:id */
export function reportStatus(ctx: ApiContext): SimResponse {
  const account = resolveAccount(ctx, ctx.req.pathParams['account_id']);
  if (!account) return notFound();
  if (!accountPermissions(ctx.state.world, ctx.caller.user, account.id)?.read_reports) return permissionDenied(ctx.state);
  const r = ctx.state.reports.get(Number(ctx.req.pathParams['id']));
  if (!r || r.accountId !== account.id || r.report !== ctx.req.pathParams['report']) return notFound();
  return json(200, reportJson(ctx, r));
}

/** Builds the report's tables as CSV text, keyed by file name. */
export function provisioningFiles(ctx: ApiContext, r: ReportRecord): Record<string, string> {
  const world = ctx.state.world;
  const idx = indexOf(world);
  const includeDeleted = r.parameters['include_deleted'] === 'true';
  const courses = world.courses
    .filter((c) => accountChain(world, c.accountId).includes(r.accountId))
    .filter((c) => includeDeleted || (c.workflowState !== 'deleted' && c.workflowState !== 'completed'))
    .sort((a, b) => Number(a.id) - Number(b.id));
  const files: Record<string, string> = {};
  if (r.parameters['courses'] === 'true') {
    const courseRows = function* () {
      for (const c of courses) {
        const term = world.terms.find((t) => t.id === (c.termId ?? '1'));
        yield [
          c.id, c.sisCourseId, c.integrationId, c.courseCode, c.name, c.accountId, idx.accounts.get(c.accountId)?.sisAccountId,
          c.termId ?? '1', term?.sisTermId, COURSE_STATUS[c.workflowState], c.startAt, c.endAt, null, null, 'false',
        ];
      }
    };
    files['courses.csv'] = csv(COURSE_COLUMNS, courseRows());
  }
  if (r.parameters['sections'] === 'true') {
    const sectionRows = function* () {
      for (const c of courses) {
        for (const s of idx.sectionsByCourse.get(c.id) ?? []) {
          if (s.deleted && !includeDeleted) continue;
          yield [
            s.id, s.sisSectionId, c.id, c.sisCourseId, s.integrationId, s.name, s.deleted ? 'deleted' : 'active',
            null, null, c.accountId, idx.accounts.get(c.accountId)?.sisAccountId, 'false',
          ];
        }
      }
    };
    files['sections.csv'] = csv(SECTION_COLUMNS, sectionRows());
  }
  return files;
}

/** GET /files/:id/download — the report attachment (bearer token required; scopes not enforced: UNVERIFIED). */
export function download(ctx: ApiContext): SimResponse {
  const r = [...ctx.state.reports.values()].find((x) => String(x.fileId) === ctx.req.pathParams['id']);
  if (!r || ctx.state.now() - r.createdAt < ctx.state.settings.reportDelayMs) return notFound();
  if (!accountPermissions(ctx.state.world, ctx.caller.user, r.accountId)?.read_reports) return permissionDenied(ctx.state);
  const files = provisioningFiles(ctx, r);
  const names = Object.keys(files);
  if (names.length === 1) {
    return { status: 200, headers: { 'Content-Type': 'text/csv', 'Content-Disposition': `attachment; filename="${names[0]}"` }, body: files[names[0]!]! };
  }
  const zip = zipSync(Object.fromEntries(names.map((n) => [n, strToU8(files[n]!)])), { mtime: new Date(EPOCH) });
  return {
    status: 200,
    headers: { 'Content-Type': 'application/zip', 'Content-Disposition': 'attachment; filename="provisioning_csv.zip"' },
    body: Buffer.from(zip),
  };
}

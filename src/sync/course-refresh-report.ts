import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import { JobFailure } from '../jobs/types.js';
import type { CourseFacts } from './classify.js';
import type { CourseRow, SectionRow } from './course-repository.js';
import { courseRow, sectionRow } from './course-refresh-rows.js';
import { kindOf, type BulkCheckpoint, type RefreshRun } from './course-refresh-run.js';
import { openProvisioningZip, type ProvisioningReport } from './provisioning-report.js';

/** Canvas refusals of the report that mean "use REST instead" (unless bulk was asked for). */
export const REPORT_REFUSALS = ['insufficient_scopes', 'unauthorized', 'not_found', 'bad_request'];

/** The tables a `provisioning_csv` report can hold that the product reads. */
export type ProvisioningTable = 'courses' | 'sections' | 'enrollments' | 'users' | 'terms' | 'accounts';

/**
 * Starts Canvas's `provisioning_csv` report with these tables, deleted rows included (concluded
 * courses and enrollments come only with them; REST lists them too) and no message to the token's
 * owner. Returns the report's id.
 * @throws the Canvas error (a refusal in {@link REPORT_REFUSALS} means the token may not run it)
 */
export async function requestProvisioningReport(client: CanvasClient, auth: AccessTokenSource, account: string, tables: readonly ProvisioningTable[]): Promise<string> {
  const form: Record<string, string> = {};
  for (const t of tables) form[`parameters[${t}]`] = 'true';
  form['parameters[include_deleted]'] = 'true';
  form['parameters[skip_message]'] = 'true';
  const res = await client.request<Record<string, unknown>>({ endpoint: 'accounts.reports.start', path: { account_id: account, report: 'provisioning_csv' }, form }, auth);
  return String(res.body.id);
}
const BATCH = 1000;

/**
 * Starts the `provisioning_csv` report (courses + sections) and checkpoints its id. Returns the
 * bulk checkpoint, or why the report may not be run, so the refresh falls back to REST.
 * @throws the Canvas error when bulk was asked for, or when the refusal is not one REST avoids.
 */
export async function startReport(r: RefreshRun): Promise<BulkCheckpoint | { refused: string }> {
  const { ctx, client, auth, account } = r;
  await ctx.progress('starting report', 0, null);
  try {
    // Terms and accounts name each course's term and department (courses.csv has only their ids).
    const reportId = await requestProvisioningReport(client, auth, account, ['courses', 'sections', 'terms', 'accounts']);
    const cp: BulkCheckpoint = { path: 'bulk', phase: 'report', reportId };
    await r.save(cp, { phase: 'report', done: 0, total: null });
    return cp;
  } catch (err) {
    const k = kindOf(err);
    if (ctx.params.path === 'bulk' || !REPORT_REFUSALS.includes(k ?? '')) throw err;
    return { refused: `report not allowed (${k})` };
  }
}

/**
 * Polls the report with backoff until Canvas ends it (or it runs past the timeout). Returns its
 * file's URL, or none with the status it ended in.
 */
export async function pollReport(r: RefreshRun, bulk: BulkCheckpoint): Promise<{ fileUrl?: string; status: string }> {
  const { ctx, client, auth, account, clock } = r;
  for (let i = 0; ; i++) {
    ctx.signal.throwIfAborted();
    const res = await client.request<Record<string, unknown>>(
      { endpoint: 'accounts.reports.status', path: { account_id: account, report: 'provisioning_csv', id: bulk.reportId } },
      auth,
    );
    const status = String(res.body.status ?? '');
    const progress = Number(res.body.progress ?? 0);
    await r.save(bulk, { phase: 'report', done: Number.isFinite(progress) ? progress : 0, total: 100 });
    if (status === 'complete') {
      const att = res.body.attachment as { url?: string } | undefined;
      return { fileUrl: (res.body.file_url as string | undefined) ?? att?.url, status };
    }
    if (status === 'error' || status === 'aborted' || status === 'deleted') return { status };
    if (clock().getTime() - r.started > r.reportTimeoutMs) return { status: 'timeout' };
    await r.sleep(r.pollDelays[Math.min(i, r.pollDelays.length - 1)]!, ctx.signal);
  }
}

/**
 * Downloads the finished report and stores its courses, then the sections of the syncable ones.
 * Streamed: the zip is unpacked once and each CSV row becomes a database row in batches, so a
 * 50,000-course account never sits in memory as objects.
 */
export async function storeReport(r: RefreshRun, bulk: BulkCheckpoint, fileUrl: string): Promise<void> {
  await r.ctx.progress('downloading', 0, null);
  const report = openProvisioningZip(await r.client.download(fileUrl, r.auth, { namedByCanvas: true }));
  const syncable = await storeReportCourses(r, bulk, report);
  await storeReportSections(r, report, syncable);
}

/** Stores every course of the report; returns the ids of the syncable ones. */
async function storeReportCourses(r: RefreshRun, bulk: BulkCheckpoint, report: ProvisioningReport): Promise<Set<string>> {
  const { ctx, deps, settings } = r;
  // The report was read from Canvas after the job started; a lookup or sync that wrote a
  // row since is at least as new, so the report's rows do not overwrite it.
  const t = ctx.startedAt;
  const syncable = new Set<string>();
  let facts: CourseFacts[] = [];
  let saved = 0;
  const accountNames = new Map<string, string | null>();
  const saveCourses = async () => {
    ctx.signal.throwIfAborted();
    await nameDepartments(r, facts, accountNames);
    const courses: CourseRow[] = facts.map((f) => courseRow(settings.id, f, settings.courseIdType, ctx.jobId, t));
    for (const row of courses) if (row.syncable === 1) syncable.add(row.canvas_id);
    await deps.courses.upsertCourses(courses);
    saved += courses.length;
    facts = [];
    await r.save(bulk, { phase: 'saving courses', done: saved, total: Math.max(saved, report.courseLines) });
  };
  await ctx.progress('saving courses', 0, report.courseLines);
  for await (const f of report.courses()) {
    facts.push(f);
    if (facts.length >= BATCH) await saveCourses();
  }
  await saveCourses();
  return syncable;
}

/** Canvas refusals of an account read that leave the department unknown instead of failing the refresh. */
const ACCOUNT_REFUSALS = ['insufficient_scopes', 'unauthorized', 'not_found'];

/**
 * Names the department of courses whose account the report's accounts.csv does not list (it lists
 * only the direct sub-accounts of the account it ran on): one `GET /accounts/:id` per such account,
 * remembered for the run. A refused read leaves the department unknown (null), as on the REST path
 * when includes are not allowed.
 * @throws the Canvas error when the failure is not a refusal of that one account.
 */
export async function nameDepartments(r: Pick<RefreshRun, 'client' | 'auth'>, facts: CourseFacts[], names: Map<string, string | null>): Promise<void> {
  for (const f of facts) {
    if (f.department !== undefined || f.accountId === null) continue;
    if (!names.has(f.accountId)) {
      try {
        const res = await r.client.request<Record<string, unknown>>({ endpoint: 'accounts.get', path: { id: f.accountId } }, r.auth);
        names.set(f.accountId, typeof res.body.name === 'string' ? res.body.name : null);
      } catch (err) {
        if (!ACCOUNT_REFUSALS.includes(kindOf(err) ?? '')) throw err;
        names.set(f.accountId, null);
      }
    }
    f.department = names.get(f.accountId) ?? null;
  }
}

/**
 * Stores the report's sections of syncable courses only, as on the REST path (which fetches no
 * others). The bar counts those sections, the unit the refresh's result reports: a first pass over
 * the CSV (in memory, parsing only) finds how many there are, the second saves them.
 */
async function storeReportSections(r: RefreshRun, report: ProvisioningReport, syncable: Set<string>): Promise<void> {
  const { ctx, deps, settings } = r;
  const t = ctx.startedAt;
  let sections: SectionRow[] = [];
  await ctx.progress('counting sections', 0, null);
  let total = 0;
  for await (const sf of report.sections()) if (syncable.has(sf.courseCanvasId)) total++;
  let saved = 0;
  const saveSections = async () => {
    ctx.signal.throwIfAborted();
    await deps.courses.upsertSections(sections);
    saved += sections.length;
    sections = [];
    await ctx.progress('saving sections', saved, Math.max(saved, total));
  };
  await ctx.progress('saving sections', 0, total);
  for await (const sf of report.sections()) {
    if (!syncable.has(sf.courseCanvasId)) continue;
    sections.push(sectionRow(settings.id, sf, settings.courseIdType, t, ctx.jobId));
    if (sections.length >= BATCH) await saveSections();
  }
  await saveSections();
}

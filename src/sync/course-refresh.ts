import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { unzipSync } from 'fflate';
import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import { JobFailure, type JobDefinition } from '../jobs/types.js';
import { classifyCourse, classifySection, type CourseFacts, type CourseIdType, type CourseWorkflow, type SectionFacts } from './classify.js';
import type { CourseRepository, CourseRow, SectionRow, SyncSettings } from './course-repository.js';
import { withFailureCodes } from './job-failures.js';

/** What every sync service needs; `clientFor` returns a client governed by its integration's (shared) governor. */
export interface SyncDeps {
  courses: CourseRepository;
  clientFor(settings: SyncSettings): CanvasClient;
  tokenSourceFor(integrationId: string): AccessTokenSource;
  clock?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Delays between report status polls; the last one repeats (CANVAS-PERFORMANCE §6: back off). */
  reportPollDelaysMs?: number[];
  /** Give up on the report after this long and use REST instead. */
  reportTimeoutMs?: number;
}

export type RefreshPath = 'bulk' | 'rest';

/** What the attempts so far have cost; carried in the checkpoint so a resumed job reports the whole run. */
export interface RefreshSpent {
  requests: number;
  throttled: number;
  retries: number;
  durationMs: number;
}

export type RefreshCheckpoint = (
  | { path: 'rest'; phase: 'courses'; nextPage: number; window: number; seen: number; fellBack?: string }
  | { path: 'rest'; phase: 'sections'; seen: number; fellBack?: string }
  | { path: 'bulk'; phase: 'report'; reportId: string }
) & { spent?: RefreshSpent };

export interface RefreshParams {
  /** Force a path (benchmarks, tests); by default bulk is tried first and REST is the fallback. */
  path?: RefreshPath;
}

const PER_PAGE = 100;
const MAX_PAGE_WINDOW = 8;
const SECTION_POOL = 16;

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));

/** REST course JSON (§10.4) → facts; an absent SIS key means hidden, a null one means empty. */
export function courseFactsFromJson(j: Record<string, unknown>): CourseFacts {
  return {
    canvasId: String(j.id),
    name: String(j.original_name ?? j.name ?? ''),
    courseCode: str(j.course_code),
    sisCourseId: 'sis_course_id' in j ? str(j.sis_course_id) : undefined,
    integrationId: 'integration_id' in j ? str(j.integration_id) : undefined,
    workflowState: (['unpublished', 'available', 'completed', 'deleted'].includes(String(j.workflow_state))
      ? j.workflow_state
      : 'unpublished') as CourseWorkflow,
    accountId: str(j.account_id),
  };
}

export function sectionFactsFromJson(j: Record<string, unknown>, courseId: string): SectionFacts {
  return {
    canvasId: String(j.id),
    courseCanvasId: courseId,
    name: String(j.name ?? ''),
    sisSectionId: 'sis_section_id' in j ? str(j.sis_section_id) : undefined,
    integrationId: 'integration_id' in j ? str(j.integration_id) : undefined,
  };
}

const CSV_STATUS: Record<string, CourseWorkflow> = {
  unpublished: 'unpublished',
  active: 'available',
  concluded: 'completed',
  completed: 'completed',
  deleted: 'deleted',
};

export function courseRow(integrationId: string, f: CourseFacts, type: CourseIdType, jobId: string | null, now: string): CourseRow {
  const c = classifyCourse(f, type);
  return {
    integration_id: integrationId,
    canvas_id: f.canvasId,
    name: f.name,
    course_code: f.courseCode,
    sis_course_id: f.sisCourseId ?? null,
    canvas_integration_id: f.integrationId ?? null,
    external_id: c.externalId,
    workflow_state: f.workflowState,
    published: c.published ? 1 : 0,
    syncable: c.syncable ? 1 : 0,
    reasons: JSON.stringify(c.reasons),
    account_id: f.accountId,
    refreshed_at: now,
    refresh_job_id: jobId,
    last_synced_at: null,
  };
}

/** `refreshJobId` is the refresh that saw the section; null for a lookup or roster sync (the row then takes its course's). */
export function sectionRow(integrationId: string, f: SectionFacts, type: CourseIdType, now: string, refreshJobId: string | null = null): SectionRow {
  const c = classifySection(f, type);
  return {
    integration_id: integrationId,
    canvas_id: f.canvasId,
    course_canvas_id: f.courseCanvasId,
    name: f.name,
    sis_section_id: f.sisSectionId ?? null,
    canvas_integration_id: f.integrationId ?? null,
    external_id: c.externalId,
    syncable: c.syncable ? 1 : 0,
    reasons: JSON.stringify(c.reasons),
    refreshed_at: now,
    refresh_job_id: refreshJobId,
  };
}

function kindOf(err: unknown): string | undefined {
  const k = (err as { kind?: unknown } | null)?.kind;
  return typeof k === 'string' ? k : undefined;
}

/** Fetches one course's sections (all pages) as facts; a course deleted meanwhile has none. */
export async function fetchSections(client: CanvasClient, auth: AccessTokenSource, courseId: string): Promise<SectionFacts[]> {
  const out: SectionFacts[] = [];
  try {
    for await (const page of client.pages<Record<string, unknown>>({ endpoint: 'courses.sections', path: { course_id: courseId }, query: { per_page: PER_PAGE } }, auth)) {
      for (const s of page) out.push(sectionFactsFromJson(s, courseId));
    }
  } catch (err) {
    if (kindOf(err) === 'not_found') return [];
    throw err;
  }
  return out;
}

/**
 * The course refresh (PRODUCT-SPEC §4.5) as a `course_refresh` job. Two paths, chosen
 * automatically: BULK through the `provisioning_csv` report (courses + sections in one zip; almost
 * no API cost) when the token may run it, else REST (course pages fetched page-parallel, then
 * sections per course in parallel under the client's throttle governor). Every course is stored
 * with `syncable` + `reasons`; checkpoints after each unit let a restarted process resume.
 *
 * Courses not seen by a refresh that completed are removed with their sections and roster: with
 * `state[]=all` / `include_deleted` a refresh sees deleted courses too, so an unseen course left
 * the account (or was purged). A failed or cancelled refresh removes nothing.
 */
export function createCourseRefreshJob(deps: SyncDeps): JobDefinition<RefreshParams, RefreshCheckpoint> {
  const clock = deps.clock ?? (() => new Date());
  const sleep = deps.sleep ?? defaultSleep;
  const pollDelays = deps.reportPollDelaysMs ?? [250, 250, 500, 500, 1000, 1000, 2000, 5000, 10_000];
  const reportTimeoutMs = deps.reportTimeoutMs ?? 30 * 60_000;

  return withFailureCodes({
    kind: 'course_refresh',
    async run(ctx) {
      const started = clock().getTime();
      const settings = await deps.courses.getSettings(ctx.integrationId);
      if (!settings) throw new JobFailure('not_found', `Integration ${ctx.integrationId} does not exist.`);
      const client = deps.clientFor(settings);
      const auth = deps.tokenSourceFor(settings.id);
      const account = settings.accountId || 'self';
      const now = () => clock().toISOString();
      let cp = ctx.checkpoint;
      // Earlier attempts' cost plus this one's: every checkpoint carries the sum.
      const before: RefreshSpent = { requests: 0, throttled: 0, retries: 0, durationMs: 0, ...cp?.spent };
      const spent = (): RefreshSpent => {
        const s = client.stats();
        return {
          requests: before.requests + s.requests,
          throttled: before.throttled + s.throttled,
          retries: before.retries + s.retries,
          durationMs: before.durationMs + (clock().getTime() - started),
        };
      };
      const save = (c: RefreshCheckpoint, progress: { phase: string; done: number; total: number | null }) => ctx.saveCheckpoint({ ...c, spent: spent() }, progress);
      let fellBack: string | undefined = cp && 'fellBack' in cp ? cp.fellBack : undefined;

      const toRest = async (why?: string) => {
        fellBack = why;
        cp = { path: 'rest', phase: 'courses', nextPage: 1, window: 1, seen: 0, ...(why ? { fellBack: why } : {}) };
        await save(cp, { phase: 'courses', done: 0, total: null });
      };

      // --- choose the path -------------------------------------------------------------------
      if (!cp) {
        if (ctx.params.path === 'rest') await toRest();
        else {
          await ctx.progress('starting report', 0, null);
          try {
            const res = await client.request<Record<string, unknown>>(
              {
                endpoint: 'accounts.reports.start',
                path: { account_id: account, report: 'provisioning_csv' },
                form: {
                  'parameters[courses]': 'true',
                  'parameters[sections]': 'true',
                  'parameters[include_deleted]': 'true',
                  'parameters[skip_message]': 'true',
                },
              },
              auth,
            );
            cp = { path: 'bulk', phase: 'report', reportId: String(res.body.id) };
            await save(cp, { phase: 'report', done: 0, total: null });
          } catch (err) {
            const k = kindOf(err);
            if (ctx.params.path === 'bulk' || !['insufficient_scopes', 'unauthorized', 'not_found', 'bad_request'].includes(k ?? '')) throw err;
            await toRest(`report not allowed (${k})`);
          }
        }
      }

      // --- bulk: poll the report, download, reconcile -------------------------------------------
      if (cp && cp.path === 'bulk') {
        const bulk = cp;
        const reportId = cp.reportId;
        let fileUrl: string | undefined;
        let status = '';
        for (let i = 0; ; i++) {
          ctx.signal.throwIfAborted();
          const res = await client.request<Record<string, unknown>>(
            { endpoint: 'accounts.reports.status', path: { account_id: account, report: 'provisioning_csv', id: reportId } },
            auth,
          );
          status = String(res.body.status ?? '');
          const progress = Number(res.body.progress ?? 0);
          await save(bulk, { phase: 'report', done: Number.isFinite(progress) ? progress : 0, total: 100 });
          if (status === 'complete') {
            const att = res.body.attachment as { url?: string } | undefined;
            fileUrl = (res.body.file_url as string | undefined) ?? att?.url;
            break;
          }
          if (status === 'error' || status === 'aborted' || status === 'deleted') break;
          if (clock().getTime() - started > reportTimeoutMs) {
            status = 'timeout';
            break;
          }
          await sleep(pollDelays[Math.min(i, pollDelays.length - 1)]!, ctx.signal);
        }
        if (!fileUrl) {
          if (ctx.params.path === 'bulk') throw new JobFailure('canvas_unreachable', `The provisioning report ended "${status}" without a file.`);
          await toRest(`report ended ${status}`);
        } else {
          await ctx.progress('downloading', 0, null);
          // Streamed: the zip is unpacked once and each CSV row becomes a database row in batches,
          // so a 50,000-course account never sits in memory as objects.
          const report = openProvisioningZip(await client.download(fileUrl, auth, { namedByCanvas: true }));
          // The report was read from Canvas after the job started; a lookup or sync that wrote a
          // row since is at least as new, so the report's rows do not overwrite it.
          const t = ctx.startedAt;
          const BATCH = 1000;
          const syncable = new Set<string>();
          let courses: CourseRow[] = [];
          let saved = 0;
          const saveCourses = async () => {
            ctx.signal.throwIfAborted();
            await deps.courses.upsertCourses(courses);
            saved += courses.length;
            courses = [];
            await save(bulk, { phase: 'saving courses', done: saved, total: Math.max(saved, report.courseLines) });
          };
          await ctx.progress('saving courses', 0, report.courseLines);
          for await (const f of report.courses()) {
            const row = courseRow(settings.id, f, settings.courseIdType, ctx.jobId, t);
            if (row.syncable === 1) syncable.add(row.canvas_id);
            courses.push(row);
            if (courses.length >= BATCH) await saveCourses();
          }
          await saveCourses();
          // Sections only for syncable courses, as on the REST path (which fetches no others).
          let sections: SectionRow[] = [];
          let read = 0;
          const saveSections = async () => {
            ctx.signal.throwIfAborted();
            await deps.courses.upsertSections(sections);
            sections = [];
            await ctx.progress('saving sections', read, Math.max(read, report.sectionLines));
          };
          await ctx.progress('saving sections', 0, report.sectionLines);
          for await (const sf of report.sections()) {
            read++;
            if (!syncable.has(sf.courseCanvasId)) continue;
            sections.push(sectionRow(settings.id, sf, settings.courseIdType, t, ctx.jobId));
            if (sections.length >= BATCH) await saveSections();
          }
          await saveSections();
          return finish('bulk');
        }
      }

      // --- REST: course pages and sections per course, pipelined --------------------------------
      // Sections of a page's syncable courses are fetched while the next pages are listed, all
      // under the one governor. Which courses still need sections is read from the database (the
      // sections this job saved carry its id), so the checkpoint only has to remember the page.
      if (cp && cp.path === 'rest') {
        const rest = cp;
        let listing = rest.phase === 'courses';
        let nextPage = rest.phase === 'courses' ? rest.nextPage : 0;
        let window = rest.phase === 'courses' ? rest.window : 0;
        let seen = rest.seen;
        const pending = await deps.courses.syncableCoursesWithoutSections(settings.id, ctx.jobId);
        const queue = pending.ids;
        let head = 0;
        let syncableTotal = pending.syncable;
        let sectionsDone = syncableTotal - queue.length;
        let stopped = false;
        let idle: Array<() => void> = [];
        const wakeWorkers = () => {
          const w = idle;
          idle = [];
          for (const f of w) f();
        };
        const withFellBack = <T extends object>(c: T) => (fellBack ? { ...c, fellBack } : c);
        const report = () =>
          listing ? ctx.progress('courses', seen, null) : ctx.progress('sections', sectionsDone, syncableTotal);
        // The listing and the section batches both checkpoint; writes go one at a time and each is
        // built when it runs, so an older one never lands after a newer one. The state is always
        // consistent: the page counters move only once their courses are stored.
        let checkpoints: Promise<void> = Promise.resolve();
        const saveNow = (): Promise<void> =>
          (checkpoints = checkpoints.then(() =>
            save(
              withFellBack(listing ? { path: 'rest', phase: 'courses', nextPage, window, seen } : { path: 'rest', phase: 'sections', seen }) as RefreshCheckpoint,
              listing ? { phase: 'courses', done: seen, total: null } : { phase: 'sections', done: sectionsDone, total: syncableTotal },
            ),
          ));

        const listCourses = async () => {
          while (listing && !stopped) {
            ctx.signal.throwIfAborted();
            const pages = Array.from({ length: window }, (_, i) => nextPage + i);
            // Stamped before the request: a lookup answered meanwhile is newer and is kept.
            const t = now();
            const results = await Promise.all(
              pages.map((page) =>
                client.request<Array<Record<string, unknown>>>(
                  { endpoint: 'accounts.courses', path: { account_id: account }, query: { 'state[]': ['all'], per_page: PER_PAGE, page } },
                  auth,
                ),
              ),
            ).catch((err: unknown) => {
              if (kindOf(err) === 'not_found') {
                throw new JobFailure('account_not_found', `Canvas has no account "${account}" for this token. Check the account id on the integration (or use "self" for the root account).`, { cause: err });
              }
              throw err;
            });
            const rows: CourseRow[] = [];
            let ended = false;
            for (const r of results) {
              const body = Array.isArray(r.body) ? r.body : [];
              for (const j of body) rows.push(courseRow(settings!.id, courseFactsFromJson(j), settings!.courseIdType, ctx.jobId, t));
              if (body.length < PER_PAGE) {
                ended = true;
                break;
              }
            }
            await deps.courses.upsertCourses(rows);
            seen += rows.length;
            nextPage += window;
            window = Math.min(MAX_PAGE_WINDOW, window * 2);
            for (const r of rows) if (r.syncable === 1) queue.push(r.canvas_id);
            syncableTotal += rows.filter((r) => r.syncable === 1).length;
            listing = !ended;
            await saveNow();
            wakeWorkers();
          }
        };

        // Sections are written in batches (one transaction per ~50 courses or 0.5 s), not one per
        // course: a commit per course would make the database, not Canvas, the bottleneck.
        let batch: Array<{ courseId: string; rows: SectionRow[]; asOf: string }> = [];
        let lastFlush = clock().getTime();
        let saving: Promise<void> = Promise.resolve();
        const flush = (): Promise<void> => {
          saving = saving.then(async () => {
            if (batch.length === 0) return;
            const b = batch;
            batch = [];
            lastFlush = clock().getTime();
            const asOf = b.reduce((min, x) => (x.asOf < min ? x.asOf : min), b[0]!.asOf);
            await deps.courses.replaceSections(settings!.id, b.map((x) => x.courseId), b.flatMap((x) => x.rows), asOf);
            sectionsDone += b.length;
            // Each batch checkpoints the run's cost so far, so a resume reports the whole run.
            await saveNow();
          });
          return saving;
        };
        const fetchSectionsWorker = async () => {
          for (;;) {
            ctx.signal.throwIfAborted();
            if (stopped) return;
            if (head >= queue.length) {
              if (!listing) return;
              await new Promise<void>((resolve) => idle.push(resolve));
              continue;
            }
            const courseId = queue[head++]!;
            const t = now();
            const facts = await fetchSections(client, auth, courseId);
            batch.push({ courseId, asOf: t, rows: facts.map((f) => sectionRow(settings!.id, { ...f, courseCanvasId: courseId }, settings!.courseIdType, t, ctx.jobId)) });
            if (batch.length >= 50 || clock().getTime() - lastFlush > 500) await flush();
          }
        };

        // The first failure stops the others; every task ends before the job does, so nothing
        // writes after the job has failed.
        let failure: { err: unknown } | undefined;
        const guard = (task: () => Promise<void>) =>
          task().catch((err: unknown) => {
            failure ??= { err };
            stopped = true;
            wakeWorkers();
          });
        await report();
        await Promise.all([guard(listCourses), ...Array.from({ length: SECTION_POOL }, () => guard(fetchSectionsWorker))]);
        if (failure) throw failure.err;
        await flush();
        await saveNow();
        return finish('rest');
      }

      throw new JobFailure('internal', 'The refresh checkpoint is not understood; start a new refresh.');

      async function finish(path: RefreshPath) {
        const removed = await deps.courses.removeUnseen(settings!.id, ctx.jobId, ctx.startedAt);
        const counts = await deps.courses.countsFor(settings!.id);
        const total = spent();
        return {
          path,
          ...(fellBack ? { fellBackToRest: fellBack } : {}),
          courses: counts.courses,
          syncable: counts.syncable,
          notSyncable: counts.courses - counts.syncable,
          byReason: counts.byReason,
          sections: counts.sections,
          sectionsMissingId: counts.sectionsMissingId,
          removed,
          requests: total.requests,
          throttled: total.throttled,
          retries: total.retries,
          resumed: ctx.attempt > 1,
          durationMs: total.durationMs,
        };
      }
    },
  });
}

/** The provisioning report's two tables, read row by row. */
export interface ProvisioningReport {
  /** Line counts (header excluded): the progress totals; a quoted newline would make them a little high. */
  courseLines: number;
  sectionLines: number;
  courses(): AsyncIterable<CourseFacts>;
  /** Sections not marked deleted. */
  sections(): AsyncIterable<SectionFacts>;
}

const CHUNK_BYTES = 64 * 1024;

function countLines(u8: Uint8Array | undefined): number {
  if (!u8) return 0;
  let n = 0;
  for (let i = u8.indexOf(10); i !== -1; i = u8.indexOf(10, i + 1)) n++;
  if (u8.length > 0 && u8[u8.length - 1] !== 10) n++;
  return Math.max(0, n - 1);
}

/**
 * Rows of a CSV file as objects keyed by header, parsed 64 KB at a time: csv-parse holds at most
 * one chunk's records, where parsing the whole file at once would hold every row.
 */
async function* csvRows(u8: Uint8Array | undefined): AsyncGenerator<Record<string, string>> {
  if (!u8) return;
  const chunks = function* () {
    for (let i = 0; i < u8.length; i += CHUNK_BYTES) yield Buffer.from(u8.buffer, u8.byteOffset + i, Math.min(CHUNK_BYTES, u8.length - i));
  };
  const parser = Readable.from(chunks()).pipe(parse({ columns: true, skip_empty_lines: true, bom: true, relax_column_count: true }));
  try {
    for await (const r of parser) yield r as Record<string, string>;
  } catch (err) {
    throw new JobFailure('report_unreadable', 'The provisioning report has a CSV file that could not be read.', { cause: err });
  }
}

/**
 * Opens the provisioning report zip (CANVAS-PERFORMANCE §3.3) and reads courses.csv and
 * sections.csv out of it lazily.
 * @throws JobFailure `report_unreadable` when the file is not a zip or has no courses.csv.
 */
export function openProvisioningZip(zip: Uint8Array): ProvisioningReport {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (f) => /(^|\/)(courses|sections)\.csv$/i.test(f.name) });
  } catch (err) {
    // A single-table report is a bare CSV; we always ask for two tables, so this is a broken file.
    throw new JobFailure('report_unreadable', 'The provisioning report file could not be read as a zip.', { cause: err });
  }
  const find = (name: string) => Object.entries(files).find(([k]) => k.toLowerCase().endsWith(name))?.[1];
  const coursesCsv = find('courses.csv');
  const sectionsCsv = find('sections.csv');
  if (!coursesCsv) throw new JobFailure('report_unreadable', 'The provisioning report has no courses.csv.');
  // Canvas fills its own ids on every row; a row without one is a broken file, not a course.
  const idOf = (r: Record<string, string>, column: string, file: string, row: number): string => {
    const v = (r[column] ?? '').trim();
    if (!v) throw new JobFailure('report_unreadable', `The provisioning report's ${file} has a row without ${column} (data row ${row}).`);
    return v;
  };
  return {
    courseLines: countLines(coursesCsv),
    sectionLines: countLines(sectionsCsv),
    async *courses() {
      let row = 0;
      for await (const r of csvRows(coursesCsv)) {
        row++;
        yield {
          canvasId: idOf(r, 'canvas_course_id', 'courses.csv', row),
          name: r.long_name ?? '',
          courseCode: str(r.short_name),
          sisCourseId: str(r.course_id),
          integrationId: str(r.integration_id),
          workflowState: CSV_STATUS[(r.status ?? '').toLowerCase()] ?? 'unpublished',
          accountId: str(r.canvas_account_id),
        };
      }
    },
    async *sections() {
      let row = 0;
      for await (const r of csvRows(sectionsCsv)) {
        row++;
        if ((r.status ?? 'active').toLowerCase() === 'deleted') continue;
        yield {
          canvasId: idOf(r, 'canvas_section_id', 'sections.csv', row),
          courseCanvasId: idOf(r, 'canvas_course_id', 'sections.csv', row),
          name: r.name ?? '',
          sisSectionId: str(r.section_id),
          integrationId: str(r.integration_id),
        };
      }
    },
  };
}

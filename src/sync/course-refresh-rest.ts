import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import { JobFailure } from '../jobs/types.js';
import type { SectionFacts } from './classify.js';
import type { CourseRow, SectionRow } from './course-repository.js';
import { courseFactsFromJson, courseRow, sectionFactsFromJson, sectionRow } from './course-refresh-rows.js';
import { kindOf, PER_PAGE, type RefreshCheckpoint, type RefreshRun, type RestCheckpoint } from './course-refresh-run.js';

const MAX_PAGE_WINDOW = 8;
const SECTION_POOL = 16;

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

/** Where the REST pipeline is: the listing's page window, the section queue, the pending batch. */
interface RestState {
  run: RefreshRun;
  fellBack: string | undefined;
  listing: boolean;
  nextPage: number;
  window: number;
  seen: number;
  /** Syncable courses whose sections are still to fetch; `head` is the next one. */
  queue: string[];
  head: number;
  syncableTotal: number;
  sectionsDone: number;
  stopped: boolean;
  idle: Array<() => void>;
  checkpoints: Promise<void>;
  batch: Array<{ courseId: string; rows: SectionRow[]; asOf: string }>;
  lastFlush: number;
  saving: Promise<void>;
}

/**
 * The REST path: course pages and sections per course, pipelined. Sections of a page's syncable
 * courses are fetched while the next pages are listed, all under the one governor. Which courses
 * still need sections is read from the database (the sections this job saved carry its id), so
 * the checkpoint only has to remember the page.
 * @throws the first failure of the listing or of a section worker, after all of them ended.
 */
export async function runRestRefresh(run: RefreshRun, rest: RestCheckpoint, fellBack: string | undefined): Promise<void> {
  const pending = await run.deps.courses.syncableCoursesWithoutSections(run.settings.id, run.ctx.jobId);
  const s: RestState = {
    run,
    fellBack,
    listing: rest.phase === 'courses',
    nextPage: rest.phase === 'courses' ? rest.nextPage : 0,
    window: rest.phase === 'courses' ? rest.window : 0,
    seen: rest.seen,
    queue: pending.ids,
    head: 0,
    syncableTotal: pending.syncable,
    sectionsDone: pending.syncable - pending.ids.length,
    stopped: false,
    idle: [],
    checkpoints: Promise.resolve(),
    batch: [],
    lastFlush: run.clock().getTime(),
    saving: Promise.resolve(),
  };
  // The first failure stops the others; every task ends before the job does, so nothing
  // writes after the job has failed.
  let failure: { err: unknown } | undefined;
  const guard = (task: (s: RestState) => Promise<void>) =>
    task(s).catch((err: unknown) => {
      failure ??= { err };
      s.stopped = true;
      wakeWorkers(s);
    });
  await (s.listing ? run.ctx.progress('courses', s.seen, null) : run.ctx.progress('sections', s.sectionsDone, s.syncableTotal));
  await Promise.all([guard(listCourses), ...Array.from({ length: SECTION_POOL }, () => guard(fetchSectionsWorker))]);
  if (failure) throw failure.err;
  await flush(s);
  await saveNow(s);
}

function wakeWorkers(s: RestState): void {
  const w = s.idle;
  s.idle = [];
  for (const f of w) f();
}

/**
 * The listing and the section batches both checkpoint; writes go one at a time and each is
 * built when it runs, so an older one never lands after a newer one. The state is always
 * consistent: the page counters move only once their courses are stored.
 */
function saveNow(s: RestState): Promise<void> {
  const withFellBack = <T extends object>(c: T) => (s.fellBack ? { ...c, fellBack: s.fellBack } : c);
  return (s.checkpoints = s.checkpoints.then(() =>
    s.run.save(
      withFellBack(s.listing ? { path: 'rest', phase: 'courses', nextPage: s.nextPage, window: s.window, seen: s.seen } : { path: 'rest', phase: 'sections', seen: s.seen }) as RefreshCheckpoint,
      s.listing ? { phase: 'courses', done: s.seen, total: null } : { phase: 'sections', done: s.sectionsDone, total: s.syncableTotal },
    ),
  ));
}

/** Lists course pages a window at a time (the window doubles up to 8), storing each window's courses. */
async function listCourses(s: RestState): Promise<void> {
  const { ctx, deps } = s.run;
  while (s.listing && !s.stopped) {
    ctx.signal.throwIfAborted();
    const { rows, ended } = await fetchCoursePages(s.run, Array.from({ length: s.window }, (_, i) => s.nextPage + i));
    await deps.courses.upsertCourses(rows);
    s.seen += rows.length;
    s.nextPage += s.window;
    s.window = Math.min(MAX_PAGE_WINDOW, s.window * 2);
    for (const r of rows) if (r.syncable === 1) s.queue.push(r.canvas_id);
    s.syncableTotal += rows.filter((r) => r.syncable === 1).length;
    s.listing = !ended;
    await saveNow(s);
    wakeWorkers(s);
  }
}

/**
 * Fetches these course pages at once and classifies their courses; `ended` once a page came back short.
 * @throws JobFailure `account_not_found` when Canvas has no such account for the token.
 */
async function fetchCoursePages(run: RefreshRun, pages: number[]): Promise<{ rows: CourseRow[]; ended: boolean }> {
  const { ctx, client, auth, account, settings } = run;
  // Stamped before the request: a lookup answered meanwhile is newer and is kept.
  const t = run.now();
  const results = await Promise.all(
    pages.map((page) =>
      client.request<Array<Record<string, unknown>>>(
        // The term and account name are facts the exam platform files a course by; without
        // "Allow Include Parameters" Canvas drops them and the facts stay empty.
        { endpoint: 'accounts.courses', path: { account_id: account }, query: { 'state[]': ['all'], 'include[]': ['term', 'account_name'], per_page: PER_PAGE, page } },
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
  for (const r of results) {
    const body = Array.isArray(r.body) ? r.body : [];
    for (const j of body) rows.push(courseRow(settings.id, courseFactsFromJson(j), settings.courseIdType, ctx.jobId, t));
    if (body.length < PER_PAGE) return { rows, ended: true };
  }
  return { rows, ended: false };
}

/**
 * Sections are written in batches (one transaction per ~50 courses or 0.5 s), not one per
 * course: a commit per course would make the database, not Canvas, the bottleneck.
 */
function flush(s: RestState): Promise<void> {
  s.saving = s.saving.then(async () => {
    if (s.batch.length === 0) return;
    const b = s.batch;
    s.batch = [];
    s.lastFlush = s.run.clock().getTime();
    const asOf = b.reduce((min, x) => (x.asOf < min ? x.asOf : min), b[0]!.asOf);
    await s.run.deps.courses.replaceSections(s.run.settings.id, b.map((x) => x.courseId), b.flatMap((x) => x.rows), asOf);
    s.sectionsDone += b.length;
    // Each batch checkpoints the run's cost so far, so a resume reports the whole run.
    await saveNow(s);
  });
  return s.saving;
}

/** One of the section workers: takes the next queued course, or waits for the listing to add some. */
async function fetchSectionsWorker(s: RestState): Promise<void> {
  const { ctx, client, auth, settings, clock } = s.run;
  for (;;) {
    ctx.signal.throwIfAborted();
    if (s.stopped) return;
    if (s.head >= s.queue.length) {
      if (!s.listing) return;
      await new Promise<void>((resolve) => s.idle.push(resolve));
      continue;
    }
    const courseId = s.queue[s.head++]!;
    const t = s.run.now();
    const facts = await fetchSections(client, auth, courseId);
    s.batch.push({ courseId, asOf: t, rows: facts.map((f) => sectionRow(settings.id, { ...f, courseCanvasId: courseId }, settings.courseIdType, t, ctx.jobId)) });
    if (s.batch.length >= 50 || clock().getTime() - s.lastFlush > 500) await flush(s);
  }
}

import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { ERROR_HELP, type ErrorCode } from '../../errors/error-codes.js';
import { COURSE_REASONS, COURSE_REASON_HELP, SECTION_REASON_HELP } from '../../sync/sync-reasons.js';
import { presentSkipReasons, roleWords } from '../presenters/roster-advice.js';
import { flash } from '../flash.js';
import { toSyncError } from '../sync-error.js';
import { requireIntegrationAccess } from '../middleware/auth.js';
import { parseInput } from '../validate.js';
import { presentCourse, presentLookup, presentRoster } from '../presenters/course.js';
import { adminRoleOf } from '../../sync/classify.js';
import { notConnectedView } from '../presenters/integration-page.js';
import { presentGradePostsForPage } from '../presenters/grades.js';
import { describeChange } from '../presenters/changes.js';
import { jobDurationSeconds, presentJob } from '../presenters/job.js';
import { presentCoursePaging } from '../presenters/course-paging.js';
import { returnsTo } from '../form-page.js';

type Deps = Pick<Container, 'sync' | 'integrations' | 'clock' | 'grades'>;

export const refreshBody = z.object({ path: z.enum(['bulk', 'rest']).optional() }).strict();
export const lookupBody = z.object({ query: z.string().max(2000) }).strict();
export const emptyBody = z.object({}).strict();
export const syncAllBody = z
  .object({ expected: z.number().int().min(1, 'expected: the number of syncable courses you confirmed (see syncable in the course counts)').max(10_000_000) })
  .strict();
export const selectionBody = z.object({ courseIds: z.array(z.string().regex(/^\d{1,19}$/, 'courseIds: Canvas course ids (digits)')).min(1).max(1000) }).strict();
export const listQuery = z.object({
  syncable: z.enum(['true', 'false']).optional(),
  reason: z.enum(COURSE_REASONS).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  q: z.string().max(200).optional(),
});

/** Query values with empty strings dropped (an HTML filter form sends `reason=` for "any"). */
function nonEmpty(query: Request['query']): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '' && v !== undefined));
}

/** The course and roster API routes (behind `requireApiToken`), plus the `why` diagnostics. */
export function createCoursesApiRouter(c: Deps): Router {
  const router = Router();
  const base = '/api/v1/integrations/:id';
  const integrationOf = async (req: Request) => {
    const i = await c.integrations.get(String(req.params.id));
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  };

  router.post(`${base}/course-refresh`, async (req, res) => {
    const body = parseInput(refreshBody, req.body ?? {});
    const i = await integrationOf(req);
    res.status(202).json(presentJob(await c.sync.startRefresh(i.id, body)));
  });

  router.post(`${base}/course-sync`, async (req, res) => {
    const body = parseInput(selectionBody, req.body ?? {});
    const i = await integrationOf(req);
    res.status(202).json(presentJob(await c.sync.startSync(i.id, body.courseIds)));
  });

  router.post(`${base}/course-sync-all`, async (req, res) => {
    const body = parseInput(syncAllBody, req.body ?? {});
    const i = await integrationOf(req);
    const { job, count } = await c.sync.startSyncAllSyncable(i.id, body.expected);
    if (!job) {
      throw new AppError('conflict', `${count} courses are syncable now, not ${body.expected}: the course list changed.`, {
        help: `Send expected: ${count} to sync them all.`,
        details: { field: 'expected', syncable: count },
      });
    }
    res.status(202).json(presentJob(job));
  });

  router.get(`${base}/courses`, async (req, res) => {
    const q = parseInput(listQuery, nonEmpty(req.query));
    // One query in the common case: the integration itself is looked up only when the page is
    // empty (an unknown integration is then 404; courses cannot outlive their integration).
    const id = String(req.params.id);
    const page = await c.sync.courses.listCourseSummaries(id, {
      syncable: q.syncable === undefined ? undefined : q.syncable === 'true',
      reason: q.reason,
      cursor: q.cursor,
      limit: q.limit,
      search: q.q,
    });
    if (page.courses.length === 0) await integrationOf(req);
    res.json({ courses: page.courses.map(presentCourse), nextCursor: page.nextCursor });
  });

  router.post(`${base}/courses/lookup`, async (req, res) => {
    const body = parseInput(lookupBody, req.body ?? {});
    const i = await integrationOf(req);
    const outcome = await c.sync.lookup(i.id, body.query).catch((err: unknown) => {
      throw toSyncError(err);
    });
    res.json(presentLookup(outcome));
  });

  router.post(`${base}/courses/:canvasId/sync`, async (req, res) => {
    parseInput(emptyBody, req.body ?? {});
    const i = await integrationOf(req);
    res.status(202).json(presentJob(await c.sync.startSync(i.id, [String(req.params.canvasId)])));
  });

  router.post(`${base}/courses/:canvasId/sync-preview`, async (req, res) => {
    parseInput(emptyBody, req.body ?? {});
    const i = await integrationOf(req);
    const r = await c.sync.syncRoster(i.id, String(req.params.canvasId), { dryRun: true }).catch((err: unknown) => {
      throw toSyncError(err);
    });
    res.json({ diff: r.diff, counts: r.counts, includesStripped: r.includesStripped });
  });

  router.get(`${base}/courses/:canvasId/roster`, async (req, res) => {
    const i = await integrationOf(req);
    const id = String(req.params.canvasId);
    res.json(presentRoster(await c.sync.courses.getSections(i.id, id), await c.sync.courses.getRoster(i.id, id), i.courseAdminRoles));
  });

  router.get(`${base}/courses/:canvasId/why`, async (req, res) => {
    const i = await integrationOf(req);
    res.json(await c.sync.diagnostics.whyCourse(i.id, String(req.params.canvasId)));
  });

  router.get(`${base}/courses/:canvasId/roster/:userId/why`, async (req, res) => {
    const i = await integrationOf(req);
    res.json(await c.sync.diagnostics.whyPerson(i.id, String(req.params.canvasId), String(req.params.userId)));
  });

  return router;
}

const pageForm = z.object({ _csrf: z.string().optional() }).strict();
const lookupForm = z.object({ _csrf: z.string().optional(), query: z.string().max(2000) }).strict();
const courseIdField = z.string().regex(/^\d{1,19}$/, 'courseIds: Canvas course ids (digits)');
const selectionForm = z
  .object({ _csrf: z.string().optional(), courseIds: z.union([courseIdField, z.array(courseIdField).max(1000)]).optional(), back: z.string().max(600).regex(/^[\w=&%+.-]*$/, 'back: the course list query string').optional() })
  .strict();
const syncAllForm = z.object({ _csrf: z.string().optional(), expected: z.coerce.number().int().min(0).max(10_000_000) }).strict();
/** The pages' list query: the API's filters plus a page number. */
const pageListQuery = listQuery.extend({ page: z.coerce.number().int().min(1).max(1_000_000).optional() });
const PAGE_SIZE = 50;

function minutesAgo(iso: string | null, now: Date): string | null {
  if (!iso) return null;
  const s = Math.round((now.getTime() - Date.parse(iso)) / 1000);
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

const LOOKUP_HELP = 'Enter a Canvas course id (e.g. 1001), sis_course_id:<SIS id>, sis_integration_id:<id>, or paste the course address from Canvas (…/courses/1001).';

/** A lookup failure for the page: the typed text as the subject instead of the API field name, always with what to enter. */
function lookupErrorView(e: AppError, query: string): { message: string; help: string } {
  const field = (e.details as { field?: unknown } | undefined)?.field;
  const prefix = typeof field === 'string' ? `${field}: ` : '';
  const message = prefix && e.message.startsWith(prefix) ? `“${query.trim()}” ${e.message.slice(prefix.length)}.` : e.message;
  return { message, help: e.help ?? LOOKUP_HELP };
}

/** Pages: the course sync list (refresh with live progress, filters, specific course refresh) and a course's roster. */
export function createCoursesPagesRouter(c: Deps & Pick<Container, 'changes'>): Router {
  const router = Router();
  const guard = requireIntegrationAccess('id');
  const back = (suffix = '') => returnsTo((req) => `/integrations/${encodeURIComponent(String(req.params.id))}${suffix}`);
  const integrationOf = async (req: Request) => {
    const i = await c.integrations.get(String(req.params.id));
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  };

  async function renderList(req: Request, res: Response, extra: Record<string, unknown> = {}) {
    const i = await integrationOf(req);
    const q = parseInput(pageListQuery, nonEmpty(req.query));
    const filters = { syncable: q.syncable === undefined ? undefined : q.syncable === 'true', reason: q.reason, search: q.q };
    const size = q.limit ?? PAGE_SIZE;
    const total = await c.sync.courses.countCourses(i.id, filters);
    const lastPage = Math.max(1, Math.ceil(total / size));
    const pageNo = Math.min(q.page ?? 1, lastPage);
    const page = await c.sync.courses.listCourses(i.id, { ...filters, limit: size, offset: (pageNo - 1) * size });
    const counts = await c.sync.courses.countsFor(i.id);
    const recent = await c.sync.jobs.list({ integrationId: i.id, kind: 'course_refresh', limit: 20 });
    const now = c.clock();
    const isOpen = (j: (typeof recent)[number]) => j.state === 'queued' || j.state === 'running';
    const active = recent.find(isOpen);
    const last = recent.find((j) => !isOpen(j));
    res.render('courses/list', {
      title: `Courses · ${i.name}`,
      scripts: ['progress.js'],
      integration: { id: i.id, name: i.name, courseIdType: i.courseIdType },
      courses: page.courses.map((co) => ({ ...co, reasonTitles: co.reasons.map((r) => ({ code: r, title: COURSE_REASON_HELP[r].title })) })),
      paging: presentCoursePaging(q, { page: pageNo, size, total, shown: page.courses.length }),
      filters: { syncable: q.syncable ?? '', reason: q.reason ?? '', q: q.q ?? '', limit: q.limit ? String(q.limit) : '' },
      reasons: COURSE_REASONS.map((r) => ({ code: r, title: COURSE_REASON_HELP[r].title, count: counts.byReason[r] ?? 0 })),
      counts,
      syncableLabel: counts.syncable.toLocaleString('en-US'),
      lastRefresh: last
        ? {
            ...presentJob(last),
            finishedAgo: minutesAgo(last.finishedAt, now),
            durationSeconds: jobDurationSeconds(last, now),
            remedy: last.error ? ERROR_HELP[last.error.code as ErrorCode]?.remedy ?? null : null,
          }
        : null,
      activeJob: active ? presentJob(active) : null,
      pollUrl: active ? `/integrations/${encodeURIComponent(i.id)}/jobs/${encodeURIComponent(active.id)}` : null,
      notConnected: notConnectedView(i),
      lookup: null,
      lookupQuery: '',
      ...extra,
    });
  }

  router.get('/integrations/:id/courses', guard, async (req, res) => {
    // "Refresh one course" answers with a redirect here; its outcome is shown once.
    const shown = req.session?.lookupResult;
    if (shown) delete req.session.lookupResult;
    if (shown?.integrationId !== String(req.params.id)) return renderList(req, res);
    await renderList(req, res, { lookup: shown.lookup, lookupError: shown.lookupError, lookupQuery: shown.query });
  });

  router.post('/integrations/:id/course-refresh', guard, back('/courses'), async (req, res) => {
    parseInput(pageForm, req.body ?? {});
    const i = await integrationOf(req);
    await c.sync.startRefresh(i.id);
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}/courses`);
  });

  router.post('/integrations/:id/courses/lookup', guard, back('/courses'), async (req, res) => {
    const body = parseInput(lookupForm, req.body ?? {});
    const i = await integrationOf(req);
    let lookup: unknown;
    let lookupError: { message: string; help?: string } | null = null;
    try {
      const o = await c.sync.lookup(i.id, body.query);
      lookup = o.found
        ? { found: true, course: o.course, sections: o.sections.map((s) => ({ ...s, reasonTitles: s.reasons.map((r) => SECTION_REASON_HELP[r].title) })), explanations: o.explanations }
        : o;
    } catch (err) {
      const e = toSyncError(err);
      if (!(e instanceof AppError) || !e.expose) throw e;
      lookupError = lookupErrorView(e, body.query);
    }
    // Post/Redirect/Get: a reload shows the outcome again instead of looking the course up again.
    req.session.lookupResult = { integrationId: i.id, query: body.query, lookup: lookup ?? null, lookupError };
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}/courses#${lookupError ? 'lookup-error' : 'lookup-result'}`);
  });

  router.post('/integrations/:id/course-sync', guard, back('/courses'), async (req, res) => {
    const body = parseInput(selectionForm, req.body ?? {});
    const i = await integrationOf(req);
    const ids = typeof body.courseIds === 'string' ? [body.courseIds] : (body.courseIds ?? []);
    const back = `/integrations/${encodeURIComponent(i.id)}/courses${body.back ? `?${body.back}` : ''}`;
    if (ids.length === 0) {
      flash(req, 'error', 'Select at least one syncable course to sync.');
      return res.redirect(303, back);
    }
    const job = await c.sync.startSync(i.id, ids);
    // One progress view for the batch: the job's page (n of m courses, current course, failures).
    flash(req, 'ok', `Roster sync of ${ids.length === 1 ? '1 course' : `${ids.length} courses`} started.`);
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}/jobs/${encodeURIComponent(job.id)}`);
  });

  // "Sync every syncable course": a confirmation page with the count, then one POST that names it.
  router.get('/integrations/:id/course-sync-all', guard, async (req, res) => {
    const i = await integrationOf(req);
    const n = (await c.sync.courses.countsFor(i.id)).syncable;
    res.render('courses/sync-all', { title: `Sync every syncable course · ${i.name}`, integration: { id: i.id, name: i.name }, count: n, countLabel: n.toLocaleString('en-US') });
  });

  router.post('/integrations/:id/course-sync-all', guard, back('/course-sync-all'), async (req, res) => {
    const body = parseInput(syncAllForm, req.body ?? {});
    const i = await integrationOf(req);
    const base = `/integrations/${encodeURIComponent(i.id)}`;
    const { job, count } = await c.sync.startSyncAllSyncable(i.id, body.expected);
    if (!job) {
      flash(req, 'warn', `The course list changed since you confirmed: ${count.toLocaleString('en-US')} courses are syncable now. Confirm again to sync them.`);
      return res.redirect(303, `${base}/course-sync-all`);
    }
    flash(req, 'ok', `Roster sync of every syncable course (${count.toLocaleString('en-US')}) started.`);
    res.redirect(303, `${base}/jobs/${encodeURIComponent(job.id)}`);
  });

  router.get('/integrations/:id/courses/:canvasId', guard, async (req, res) => {
    const i = await integrationOf(req);
    const id = String(req.params.canvasId);
    const course = await c.sync.courses.getCourse(i.id, id);
    const sections = await c.sync.courses.getSections(i.id, id);
    const roster = await c.sync.courses.getRoster(i.id, id);
    if (!course && roster.length === 0) throw new AppError('not_found', 'This course is not in the last refresh. Use "Refresh one course" on the Courses page to look it up.');
    const lastSync = await c.sync.lastCourseSync(i.id, id);
    const recentChanges = (await c.changes.recentForCourse(i.id, id, 20)).map((ch) => ({ seq: ch.seq, at: ch.at, type: ch.type, text: describeChange(ch) }));
    const active = lastSync && (lastSync.state === 'queued' || lastSync.state === 'running') ? lastSync : undefined;
    let preview: unknown = null;
    let previewError: string | null = null;
    const notConnected = notConnectedView(i);
    // Not connected: the notice replaces the preview (it would only fail with not_connected).
    if (req.query.preview === '1' && !notConnected) {
      try {
        const r = await c.sync.syncRoster(i.id, id, { dryRun: true });
        preview = { diff: r.diff, counts: r.counts, includesStripped: r.includesStripped };
      } catch (err) {
        const e = toSyncError(err);
        if (!(e instanceof AppError) || !e.expose) throw e;
        previewError = e.message;
      }
    }
    const sectionNames = new Map(sections.map((s) => [s.canvasId, s.name]));
    res.render('courses/detail', {
      title: `${course?.name ?? `Course ${id}`} · ${i.name}`,
      scripts: ['progress.js'],
      integration: { id: i.id, name: i.name, userIdType: i.userIdType, studentRoles: i.studentRoles, courseAdminRoles: i.courseAdminRoles },
      course: course
        ? { ...course, reasonTitles: course.reasons.map((r) => ({ code: r, ...COURSE_REASON_HELP[r] })) }
        : { canvasId: id, name: `Course ${id}`, reasons: [], reasonTitles: [], syncable: false, lastSyncedAt: null },
      sections: sections.map((s) => ({ ...s, reasonTitles: s.reasons.map((r) => ({ code: r, ...SECTION_REASON_HELP[r] })) })),
      examTakers: roster.filter((r) => r.examTaker).map((r) => ({ ...r, sectionNames: r.sectionIds.map((s) => sectionNames.get(s) ?? s) })),
      courseAdmins: roster.filter((r) => r.courseAdmin).map((r) => ({ ...r, role: adminRoleOf(r.roles, i.courseAdminRoles) ?? r.roles[0] ?? '' })),
      skipped: roster
        .filter((r) => !r.examTaker)
        .map((r) => ({ ...r, roleNames: r.roles.map(roleWords).join(', '), reasonTitles: presentSkipReasons(r, `/integrations/${encodeURIComponent(i.id)}/configure`) })),
      concluded: course?.workflowState === 'completed',
      synced: roster.length > 0,
      lastSync: lastSync ? { ...presentJob(lastSync), durationSeconds: jobDurationSeconds(lastSync, c.clock()) } : null,
      pollUrl: active ? `/integrations/${encodeURIComponent(i.id)}/jobs/${encodeURIComponent(active.id)}` : null,
      activeJob: active ? presentJob(active) : null,
      preview,
      previewError,
      gradePosts: presentGradePostsForPage(await c.grades.list(i.id, id)),
      gradePassback: i.features.includes('grade_passback'),
      recentChanges,
      notConnected,
    });
  });

  router.post('/integrations/:id/courses/:canvasId/sync', guard, returnsTo((req) => `/integrations/${encodeURIComponent(String(req.params.id))}/courses/${encodeURIComponent(String(req.params.canvasId))}`), async (req, res) => {
    parseInput(pageForm, req.body ?? {});
    const i = await integrationOf(req);
    const id = String(req.params.canvasId);
    await c.sync.startSync(i.id, [id]);
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}/courses/${encodeURIComponent(id)}`);
  });

  return router;
}

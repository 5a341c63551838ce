import { Router, type Request } from 'express';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { ERROR_HELP, type ErrorCode } from '../../errors/error-codes.js';
import type { CourseView } from '../../sync/course-repository.js';
import { requireIntegrationAccess, requireStaff } from '../middleware/auth.js';
import { jobLabel } from '../../jobs/job-kinds.js';
import { flash } from '../flash.js';
import { localPath, sameOriginReferer } from '../form-page.js';
import { presentJobDetail } from '../presenters/job-detail.js';
import { jobDurationSeconds, presentJob, presentJobRow } from '../presenters/job.js';

type Deps = Pick<Container, 'sync' | 'integrations'>;

/**
 * Jobs: `GET /api/v1/jobs/:id` and cancel for the API; the staff history page `/jobs`; and
 * the session-authenticated progress endpoint the pages poll (`/integrations/:id/jobs/:jobId`).
 */
export function createJobsRouter(c: Deps & Pick<Container, 'clock'>): Router {
  const router = Router();
  const jobOf = async (req: Request, integrationId?: string) => {
    const job = await c.sync.jobs.get(String(req.params.jobId ?? req.params.id));
    if (!job || (integrationId !== undefined && job.integrationId !== integrationId)) throw new AppError('not_found', 'No such job.');
    return job;
  };

  router.get('/api/v1/jobs/:id', async (req, res) => {
    res.json(presentJob(await jobOf(req)));
  });

  router.post('/api/v1/jobs/:id/cancel', async (req, res) => {
    const job = await jobOf(req);
    res.json(presentJob((await c.sync.runner.cancel(job.id)) ?? job));
  });

  // JSON for the pages' progress polling; a browser opening the address gets the job's detail page.
  // A roster sync's JSON also carries the course in hand (progress.current) and each course's
  // outcome so far (courses), so its page follows the batch without reloading.
  router.get('/integrations/:id/jobs/:jobId', requireIntegrationAccess('id'), async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const job = await jobOf(req, String(req.params.id));
    const soFar = job.state === 'running' ? await c.sync.courseSyncSoFar(job) : undefined;
    if (req.accepts(['json', 'html']) !== 'html') {
      const shown = presentJob(job);
      if (job.kind !== 'course_sync') return void res.json(shown);
      // Only the course in hand is named (one read); the page already lists every course's name.
      const inHand = soFar?.current ? await c.sync.courses.getCourse(job.integrationId, soFar.current) : undefined;
      const d = presentJobDetail(job, new Map(inHand ? [[inHand.canvasId, inHand]] : []), soFar);
      return void res.json({
        ...shown,
        progress: { ...shown.progress, current: d.current, notSynced: d.notSynced, batch: d.batchLine },
        courses: d.courses.map(({ canvasId, outcome, text }) => ({ canvasId, outcome, text })),
      });
    }
    const integration = job.integrationId === '*' ? undefined : await c.integrations.get(job.integrationId);
    const courseIds = job.kind === 'course_sync' ? ((job.params.courseIds as string[] | undefined) ?? []).map(String).slice(0, 500) : [];
    const courses = new Map<string, CourseView>();
    for (const id of courseIds) {
      const course = await c.sync.courses.getCourse(job.integrationId, id);
      if (course) courses.set(id, course);
    }
    const now = c.clock();
    const detail = presentJobDetail(job, courses, soFar);
    const open = job.state === 'queued' || job.state === 'running';
    res.render('jobs/detail', {
      title: `${detail.kindTitle}${integration ? ` · ${integration.name}` : ''}`,
      scripts: open ? ['progress.js'] : [],
      integration: integration ? { id: integration.id, name: integration.name } : null,
      job: { ...presentJob(job), durationSeconds: jobDurationSeconds(job, now) },
      detail,
      remedy: job.error ? ERROR_HELP[job.error.code as ErrorCode]?.remedy ?? null : null,
      pollUrl: open ? `/integrations/${encodeURIComponent(job.integrationId)}/jobs/${encodeURIComponent(job.id)}` : null,
    });
  });

  router.post('/integrations/:id/jobs/:jobId/cancel', requireIntegrationAccess('id'), async (req, res) => {
    const job = await jobOf(req, String(req.params.id));
    const after = (await c.sync.runner.cancel(job.id)) ?? job;
    const open = after.state === 'queued' || after.state === 'running';
    flash(
      req,
      after.state === 'failed' || after.state === 'succeeded' ? 'warn' : 'ok',
      after.state === 'cancelled' ? `${jobLabel(job.kind)} cancelled.` : open ? `${jobLabel(job.kind)}: cancelling; it stops after the step in hand.` : `${jobLabel(job.kind)} had already ended (${after.state}); nothing was cancelled.`,
    );
    // Back to the page the Cancel button was on (the courses page, the sync list, a course, the
    // job's own page); without one, the job's page, which shows how it ended.
    const back = localPath((req.body as Record<string, unknown> | undefined)?.back) ?? sameOriginReferer(req);
    res.redirect(303, back ?? `/integrations/${encodeURIComponent(job.integrationId)}/jobs/${encodeURIComponent(job.id)}`);
  });

  router.get('/jobs', requireStaff, async (_req, res) => {
    const jobs = await c.sync.jobs.list({ limit: 200 });
    const names = new Map((await c.integrations.list()).map((i) => [i.id, i.name]));
    const now = c.clock();
    res.render('jobs/list', {
      title: 'Jobs',
      jobs: jobs.map((j) => presentJobRow(j, now, names.get(j.integrationId) ?? (j.integrationId === '*' ? 'All integrations' : j.integrationId))),
    });
  });

  return router;
}

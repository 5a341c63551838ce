import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { describeChange } from '../presenters/changes.js';
import { notConnectedView } from '../presenters/integration-page.js';
import { AppError } from '../../errors/app-error.js';
import { MIN_SYNC_EVERY_MINUTES } from '../../integrations/integration.js';
import { CSV_MEDIA_TYPE, fileProblem, MAX_IMPORT_BYTES, SYNC_LIST_FORMATS, XLSX_MEDIA_TYPE, type SyncListFormat } from '../../sync-list/import-file.js';
import { IMPORT_MODES } from '../../sync-list/sync-list-service.js';
import { flash } from '../flash.js';
import { requireIntegrationAccess, settingsActor } from '../middleware/auth.js';
import type { UploadedFile } from '../multipart.js';
import { presentJob } from '../presenters/job.js';
import { presentImport, presentListedCourse, presentPendingImport } from '../presenters/sync-list.js';
import { parseInput } from '../validate.js';
import { returnsTo } from '../form-page.js';

type Deps = Pick<Container, 'syncList' | 'integrations' | 'integrationSettings' | 'sync' | 'clock' | 'changes'>;

const canvasId = z.string().regex(/^\d{1,19}$/, 'Canvas course ids (digits)');
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const syncListQuery = z
  .object({
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();
export const syncListChangeBody = z
  .object({
    add: z.array(canvasId).max(5000).optional().describe('Canvas course ids to add'),
    remove: z.array(canvasId).max(5000).optional().describe('Canvas course ids to remove'),
  })
  .strict();
export const importQuery = z
  .object({
    mode: z.enum(IMPORT_MODES).default('add').describe('add (list ∪ file), remove (list − file) or replace (list = file)'),
    dryRun: flag.optional().describe('true: return every row’s outcome and change nothing'),
    ignoreErrors: flag.optional().describe('true: apply the valid rows even when some rows are errors'),
  })
  .strict();
export const exportQuery = z
  .object({
    format: z.enum(SYNC_LIST_FORMATS).default('csv'),
    template: flag.optional().describe('true: the empty template (the header row) instead of the list'),
  })
  .strict();
export const syncListEmptyBody = z.object({}).strict();

/** Media types an import body may have; octet-stream (and none) is recognised from the file's first bytes. */
function formatOf(contentType: string | undefined): SyncListFormat | undefined | 'unsupported' {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (t === '' || t === 'application/octet-stream') return undefined;
  if (t === CSV_MEDIA_TYPE || t === 'application/csv' || t === 'text/plain') return 'csv';
  if (t === XLSX_MEDIA_TYPE) return 'xlsx';
  return 'unsupported';
}

const tooLarge = () => fileProblem('too_large', 'is larger than 10 MB, the limit');

/** Reads the raw import file (at most 10 MB) into `req.body`; a larger one is the file's 400. */
function rawFile() {
  const raw = express.raw({ type: () => true, limit: MAX_IMPORT_BYTES });
  return (req: Request, res: Response, next: NextFunction) => {
    raw(req, res, (err?: unknown) => {
      if (err && (err as { type?: string }).type === 'entity.too.large') return next(tooLarge());
      next(err);
    });
  };
}

async function send(res: Response, file: { contentType: string; fileName: string; body: NodeJS.ReadableStream }) {
  res.setHeader('Content-Type', file.contentType);
  res.setHeader('Content-Disposition', `attachment; filename="${file.fileName}"`);
  await new Promise<void>((resolve, reject) => {
    file.body.on('error', reject);
    res.on('finish', resolve);
    res.on('close', resolve);
    file.body.pipe(res);
  });
}

/** "1 course", "3 courses". */
const courses = (n: number) => `${n} ${n === 1 ? 'course' : 'courses'}`;

/** The sync list's JSON API (behind `requireApiToken`). */
export function createSyncListApiRouter(c: Deps): Router {
  const router = Router();
  const base = '/api/v1/integrations/:id/sync-list';
  const actorOf = (res: Response) => String(res.locals.actor ?? 'api');

  router.get(base, async (req, res) => {
    const q = parseInput(syncListQuery, req.query);
    const page = await c.syncList.list(String(req.params.id), q);
    res.json({ courses: page.courses.map(presentListedCourse), nextCursor: page.nextCursor });
  });

  router.post(base, async (req, res) => {
    const body = parseInput(syncListChangeBody, req.body ?? {});
    res.json(await c.syncList.change(String(req.params.id), body, actorOf(res)));
  });

  router.post(`${base}/import`, rawFile(), async (req, res) => {
    const q = parseInput(importQuery, req.query);
    const format = formatOf(req.headers['content-type']);
    if (format === 'unsupported' || !Buffer.isBuffer(req.body)) {
      throw new AppError('validation_failed', `Content-Type: send the file itself as the body, as ${CSV_MEDIA_TYPE} or ${XLSX_MEDIA_TYPE}`, {
        details: { field: 'Content-Type' },
      });
    }
    const r = await c.syncList.import(String(req.params.id), req.body, { ...q, format }, actorOf(res));
    res.status(!r.applied && !r.dryRun ? 422 : 200).json(presentImport(r));
  });

  router.get(`${base}/export`, async (req, res) => {
    const q = parseInput(exportQuery, req.query);
    await send(res, await c.syncList.export(String(req.params.id), { format: q.format, template: q.template }));
  });

  router.post(`${base}/sync`, async (req, res) => {
    parseInput(syncListEmptyBody, req.body ?? {});
    res.status(202).json(presentJob(await c.syncList.startSync(String(req.params.id), actorOf(res))));
  });

  return router;
}

const csrfOnly = z.object({ _csrf: z.string().optional() }).strict();
const idsForm = z
  .object({ _csrf: z.string().optional(), courseIds: z.union([canvasId, z.array(canvasId).max(1000)]).optional(), back: z.union([z.literal('sync-list'), z.string().max(600).regex(/^[\w=&%+.-]*$/, 'back: the course list query string')]).optional() })
  .strict();
const uploadForm = z
  .object({
    _csrf: z.string().optional(),
    mode: z.enum(IMPORT_MODES),
    file: z.custom<UploadedFile>((v) => typeof v === 'object' && v !== null && Buffer.isBuffer((v as UploadedFile).data), 'file: choose a CSV or XLSX file'),
  })
  .strict();
const applyForm = z.object({ _csrf: z.string().optional(), ignoreErrors: z.literal('1').optional() }).strict();
const scheduleForm = z
  .object({
    _csrf: z.string().optional(),
    enabled: z.literal('1').optional(),
    everyMinutes: z.string().max(10).optional(),
  })
  .strict();
const pageQuery = z.object({ cursor: z.string().max(200).optional() }).strict();

/** The page paths whose forms upload a file (read before the CSRF check, see http/multipart.ts). */
export const SYNC_LIST_UPLOAD_PATHS = /^\/integrations\/[^/]+\/sync-list\/import$/;

/** Pages: the sync list (list, remove, import with preview → apply, export, sync now, schedule) and "Add to sync list" from the courses page. */
export function createSyncListPagesRouter(c: Deps): Router {
  const router = Router();
  const guard = requireIntegrationAccess('id');
  const back = (suffix = '') => returnsTo((req) => `/integrations/${encodeURIComponent(String(req.params.id))}${suffix}`);
  const actorOf = (res: Response) => String(res.locals.actor ?? 'browser');
  const pageOf = (id: string) => `/integrations/${encodeURIComponent(id)}/sync-list`;
  const integrationOf = async (req: Request) => {
    const i = await c.integrations.get(String(req.params.id));
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  };
  const idsOf = (v: string | string[] | undefined) => (typeof v === 'string' ? [v] : (v ?? []));

  router.get('/integrations/:id/sync-list', guard, async (req, res) => {
    const i = await integrationOf(req);
    const q = parseInput(pageQuery, req.query);
    const page = await c.syncList.list(i.id, { cursor: q.cursor, limit: 100 });
    const recent = await c.sync.jobs.list({ integrationId: i.id, kind: 'sync_list_sync', limit: 10 });
    const isOpen = (j: (typeof recent)[number]) => j.state === 'queued' || j.state === 'running';
    const active = recent.find(isOpen);
    const last = recent.find((j) => !isOpen(j));
    const recentChanges = (await c.changes.recent(i.id, 20)).map((ch) => ({ seq: ch.seq, at: ch.at, type: ch.type, courseCanvasId: ch.courseCanvasId, text: describeChange(ch) }));
    res.render('sync-list/page', {
      title: `Sync list · ${i.name}`,
      scripts: ['progress.js'],
      integration: { id: i.id, name: i.name, courseIdType: i.courseIdType },
      courses: page.courses,
      total: page.total,
      nextUrl: page.nextCursor ? `?${new URLSearchParams({ cursor: page.nextCursor })}` : null,
      schedule: i.syncSchedule ?? null,
      minEveryMinutes: MIN_SYNC_EVERY_MINUTES,
      activeJob: active ? presentJob(active) : null,
      lastJob: last ? presentJob(last) : null,
      pollUrl: active ? `/integrations/${encodeURIComponent(i.id)}/jobs/${encodeURIComponent(active.id)}` : null,
      recentChanges,
      notConnected: notConnectedView(i),
    });
  });

  router.post('/integrations/:id/sync-list/add', guard, back('/sync-list'), async (req, res) => {
    const body = parseInput(idsForm, req.body ?? {});
    const i = await integrationOf(req);
    const ids = idsOf(body.courseIds);
    // From the courses page, `back` is its query string (page and filters), so the person lands where they were.
    const back = body.back === 'sync-list' ? pageOf(i.id) : `/integrations/${encodeURIComponent(i.id)}/courses${body.back && body.back !== 'courses' ? `?${body.back}` : ''}`;
    if (ids.length === 0) {
      flash(req, 'error', 'Select at least one syncable course to add to the sync list.');
      return res.redirect(303, back);
    }
    const r = await c.syncList.change(i.id, { add: ids }, actorOf(res));
    flash(req, r.errors.length ? 'warn' : 'ok', `${courses(r.added.length)} added to the sync list${r.errors.length ? `; ${r.errors.length} not added (${r.errors.map((e) => `${e.canvasId}: ${e.outcome}`).slice(0, 10).join(', ')})` : ''}.`);
    res.redirect(303, back);
  });

  router.post('/integrations/:id/sync-list/remove', guard, back('/sync-list'), async (req, res) => {
    const body = parseInput(idsForm, req.body ?? {});
    const i = await integrationOf(req);
    const ids = idsOf(body.courseIds);
    if (ids.length === 0) {
      flash(req, 'error', 'Select at least one course to remove from the sync list.');
      return res.redirect(303, pageOf(i.id));
    }
    const r = await c.syncList.change(i.id, { remove: ids }, actorOf(res));
    flash(req, 'ok', `${courses(r.removed.length)} removed from the sync list.`);
    res.redirect(303, pageOf(i.id));
  });

  router.post('/integrations/:id/sync-list/import', guard, back('/sync-list#import'), async (req, res) => {
    const i = await integrationOf(req);
    const body = parseInput(uploadForm, req.body ?? {});
    let pending;
    try {
      pending = await c.syncList.upload(i.id, body.file.data, { mode: body.mode, fileName: body.file.fileName || 'upload' }, actorOf(res));
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'validation_failed') throw err;
      flash(req, 'error', `${body.file.fileName || 'The file'}: ${err.message.replace(/^file: /, '')}. ${err.help ?? ''}`);
      return res.redirect(303, `${pageOf(i.id)}#import`);
    }
    res.redirect(303, `${pageOf(i.id)}/imports/${encodeURIComponent(pending.id)}`);
  });

  router.get('/integrations/:id/sync-list/imports/:importId', guard, async (req, res) => {
    const i = await integrationOf(req);
    const p = await c.syncList.pending(i.id, String(req.params.importId), actorOf(res));
    res.render('sync-list/import', {
      title: `Import preview · ${i.name}`,
      integration: { id: i.id, name: i.name, courseIdType: i.courseIdType },
      imp: presentPendingImport(p),
    });
  });

  router.post('/integrations/:id/sync-list/imports/:importId/apply', guard, returnsTo((req) => `/integrations/${encodeURIComponent(String(req.params.id))}/sync-list/imports/${encodeURIComponent(String(req.params.importId))}`), async (req, res) => {
    const body = parseInput(applyForm, req.body ?? {});
    const i = await integrationOf(req);
    const id = String(req.params.importId);
    const p = await c.syncList.applyPending(i.id, id, { ignoreErrors: body.ignoreErrors === '1' }, actorOf(res));
    if (!p.result.applied) flash(req, 'error', `Not applied: ${p.result.summary.errors === 1 ? '1 row has an error' : `${p.result.summary.errors} rows have errors`}. Fix the file, or apply the valid rows only.`);
    // Post/Redirect/Get: a reload shows the outcome, it never applies the file again.
    res.redirect(303, `${pageOf(i.id)}/imports/${encodeURIComponent(id)}`);
  });

  router.get('/integrations/:id/sync-list/export', guard, async (req, res) => {
    const q = parseInput(exportQuery, req.query);
    const i = await integrationOf(req);
    await send(res, await c.syncList.export(i.id, { format: q.format, template: q.template }));
  });

  router.post('/integrations/:id/sync-list/sync', guard, back('/sync-list'), async (req, res) => {
    parseInput(csrfOnly, req.body ?? {});
    const i = await integrationOf(req);
    await c.syncList.startSync(i.id, actorOf(res));
    res.redirect(303, pageOf(i.id));
  });

  router.post('/integrations/:id/sync-list/schedule', guard, back('/sync-list#schedule'), async (req, res) => {
    const body = parseInput(scheduleForm, req.body ?? {});
    const i = await integrationOf(req);
    let syncSchedule: { everyMinutes: number } | null = null;
    if (body.enabled === '1') {
      const n = Number(body.everyMinutes);
      if (!Number.isInteger(n) || n < MIN_SYNC_EVERY_MINUTES) {
        flash(req, 'error', `Every how many minutes: a whole number of at least ${MIN_SYNC_EVERY_MINUTES}.`);
        return res.redirect(303, `${pageOf(i.id)}#schedule`);
      }
      syncSchedule = { everyMinutes: n };
    }
    await c.integrationSettings.update(i.id, { syncSchedule }, settingsActor(req, res));
    flash(req, 'ok', syncSchedule ? `The sync list is re-synced every ${syncSchedule.everyMinutes} minutes.` : 'The schedule is off: the sync list is synced only when someone starts it.');
    res.redirect(303, `${pageOf(i.id)}#schedule`);
  });

  return router;
}

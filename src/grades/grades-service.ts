import type { AuditLog } from '../audit/audit-log.js';
import { AppError } from '../errors/app-error.js';
import type { GradePostParams } from '../jobs/job-kinds.js';
import type { Job, JobRunner } from '../jobs/types.js';
import type { CourseRepository } from '../sync/course-repository.js';
import { previewGradePost, type GradePostDeps } from './grade-post.js';
import type { GradeOutcome, GradePostRecord, GradeRepository } from './grade-repository.js';

/** A post as the entry points hand it over (already shaped by their zod schema). */
export interface GradePostInput {
  exam: { key: string; title: string; pointsPossible: number; published?: boolean };
  scores: Array<{ userExternalId: string; score: number | string | null; comment?: string }>;
  dryRun?: boolean;
}

export type GradePostResult =
  | { kind: 'job'; job: Job }
  | { kind: 'preview'; outcomes: GradeOutcome[]; assignmentId: string | null; assignmentUrl: string | null; notes: string[] };

/** Grade passback for pages, API and CLI: one entry, one audit trail. */
export interface GradesService {
  /**
   * Starts a `grade_post` job (or returns the one already running for this exam), or, with
   * `dryRun`, answers the outcomes each score would have without writing anything to Canvas.
   * @throws AppError not_found (integration), conflict (feature off, course never synced),
   *   validation_failed (exam key, title or points, unpublished exam, duplicate ids); CanvasApiError from a dry run's reads
   */
  post(integrationId: string, courseId: string, input: GradePostInput, actor: string): Promise<GradePostResult>;
  /** The exam's last post. @throws AppError not_found */
  get(integrationId: string, courseId: string, examKey: string): Promise<GradePostRecord>;
  /** The course's posted exams, newest first. */
  list(integrationId: string, courseId: string): Promise<GradePostRecord[]>;
}

export interface GradesServiceDeps {
  integrations: { get(id: string): Promise<{ id: string; features: readonly string[] } | undefined> };
  courses: Pick<CourseRepository, 'getSettings' | 'getRoster'>;
  grades: GradeRepository;
  runner: Pick<JobRunner, 'enqueue'>;
  audit: AuditLog;
  /** What a dry run reads Canvas with (the same Canvas calls as the job). */
  post: GradePostDeps;
}

/** Longest exam key and title (Canvas's string columns). */
export const EXAM_TEXT_MAX = 255;

/**
 * The exam checks every entry point shares: a key without spaces (it becomes the assignment's
 * integration_id), a title, both at most 255 characters, and a number of points, 0 or more.
 * @throws AppError validation_failed naming the field
 */
export function checkExam(exam: GradePostInput['exam']): void {
  const bad = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, { details: { field } });
  const key = exam.key.trim();
  if (key === '') throw bad('exam.key', 'is required');
  if (/\s/.test(key)) throw bad('exam.key', "no spaces (it becomes the assignment's integration_id in Canvas)");
  if (key.length > EXAM_TEXT_MAX) throw bad('exam.key', `at most ${EXAM_TEXT_MAX} characters`);
  const title = exam.title.trim();
  if (title === '') throw bad('exam.title', 'is required');
  if (title.length > EXAM_TEXT_MAX) throw bad('exam.title', `at most ${EXAM_TEXT_MAX} characters`);
  if (!Number.isFinite(exam.pointsPossible) || exam.pointsPossible < 0) throw bad('exam.pointsPossible', 'a number of points, 0 or more');
}

/**
 * The grade passback service. Refuses `published: false` up front: Canvas grades only published
 * assignments, so an unpublished exam could never receive its scores.
 */
export function createGradesService(deps: GradesServiceDeps): GradesService {
  const mustGet = async (id: string) => {
    const i = await deps.integrations.get(id);
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  };

  return {
    async post(integrationId, courseId, input, actor) {
      const i = await mustGet(integrationId);
      if (!i.features.includes('grade_passback')) {
        throw new AppError('conflict', 'Grade passback is not enabled for this integration.', {
          details: { field: 'features' },
          help: 'Tick "Grade passback" on the Configure page (or PATCH features), add the grade scopes to the developer key, and Generate Keys again.',
        });
      }
      checkExam(input.exam);
      if (input.exam.published === false) {
        throw new AppError('validation_failed', 'exam.published: Canvas grades only published assignments, so an unpublished exam cannot receive scores. Leave it out or set it to true.', {
          details: { field: 'exam.published' },
        });
      }
      const seen = new Set<string>();
      for (const s of input.scores) {
        if (seen.has(s.userExternalId)) {
          throw new AppError('validation_failed', `scores: userExternalId "${s.userExternalId}" appears more than once; send one score per person.`, { details: { field: 'scores' } });
        }
        seen.add(s.userExternalId);
      }
      const settings = (await deps.courses.getSettings(i.id))!;
      const roster = await deps.courses.getRoster(i.id, courseId);
      if (roster.length === 0) {
        throw new AppError('conflict', `Course ${courseId} has no roster sync yet, so no external id can be mapped to a Canvas user.`, {
          help: 'Sync the course roster first (course page > Sync roster), then post the scores.',
        });
      }
      const params: GradePostParams = {
        courseId,
        exam: { key: input.exam.key.trim(), title: input.exam.title.trim(), pointsPossible: input.exam.pointsPossible, published: true },
        scores: input.scores.map((s) => ({ userExternalId: s.userExternalId, score: s.score, ...(s.comment ? { comment: s.comment } : {}) })),
        actor,
      };
      if (input.dryRun) {
        const r = await previewGradePost(deps.post, settings, params);
        return { kind: 'preview', ...r };
      }
      const job = await deps.runner.enqueue('grade_post', i.id, params);
      // One post per exam at a time: the runner answers with the one already queued or running.
      const same = (x: unknown) => JSON.stringify({ exam: (x as GradePostParams).exam, scores: (x as GradePostParams).scores });
      if (same(job.params) !== same(params)) {
        throw new AppError('conflict', `A post of exam "${input.exam.key}" in course ${courseId} is already ${job.state} (job ${job.id}) with other scores.`, {
          help: 'Wait for it to end (GET /api/v1/jobs/:id), then post again: scores already stored are not sent twice.',
        });
      }
      await deps.audit.record({
        integrationId: i.id,
        actor,
        action: 'grades.post_started',
        detail: { courseId, examKey: input.exam.key, scores: input.scores.length, jobId: job.id },
      });
      return { kind: 'job', job };
    },

    async get(integrationId, courseId, examKey) {
      await mustGet(integrationId);
      const r = await deps.grades.get(integrationId, courseId, examKey);
      if (!r) throw new AppError('not_found', `No post of exam "${examKey}" in course ${courseId}.`);
      return r;
    },

    async list(integrationId, courseId) {
      return deps.grades.list(integrationId, courseId);
    },
  };
}

import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { presentGradePost, presentGradePreview } from '../presenters/grades.js';
import { presentJob } from '../presenters/job.js';
import { toSyncError } from '../sync-error.js';
import { parseInput } from '../validate.js';

type Deps = Pick<Container, 'grades'>;

const examKey = z
  .string()
  .trim()
  .min(1, 'exam.key is required')
  .max(255)
  .regex(/^[^\s]+$/, 'exam.key: no spaces (it becomes the assignment\'s integration_id in Canvas)');

/** Characters of all comments of one post together: keeps the largest valid body under {@link GRADE_POST_BODY_LIMIT}. */
export const MAX_COMMENT_CHARS_PER_POST = 8_000_000;

/**
 * The JSON body limit of `POST …/grade-posts`: 10,000 scores with ids of 255 characters and
 * 8 million characters of comments in all fit (about 12 MB of plain JSON).
 */
export const GRADE_POST_BODY_LIMIT = '16mb';

/** The path of `POST …/grade-posts` (the app gives it {@link GRADE_POST_BODY_LIMIT}). */
export const GRADE_POSTS_PATH = /^\/api\/v1\/integrations\/[^/]+\/courses\/[^/]+\/grade-posts\/?$/;

/** `POST …/grade-posts`: the exam, the scores (`userExternalId` of the integration's user ID type) and `dryRun`. */
export const gradePostBody = z
  .object({
    exam: z
      .object({
        key: examKey,
        title: z.string().trim().min(1, 'exam.title is required').max(255),
        pointsPossible: z.number().finite().min(0, 'exam.pointsPossible must be 0 or more'),
        published: z.boolean().optional().describe('Canvas grades only published assignments: false is refused'),
      })
      .strict(),
    scores: z
      .array(
        z
          .object({
            userExternalId: z.string().trim().min(1, 'scores[].userExternalId is required').max(255),
            score: z.union([z.number(), z.string().max(50), z.null()]).describe('Points; a negative or non-numeric score ends as invalid_score'),
            comment: z.string().max(4000).optional(),
          })
          .strict(),
      )
      .min(1, 'scores: send at least one score')
      .max(10_000, 'scores: at most 10,000 per post')
      .refine((scores) => scores.reduce((n, s) => n + (s.comment?.length ?? 0), 0) <= MAX_COMMENT_CHARS_PER_POST, {
        message: `scores: the comments together are longer than ${MAX_COMMENT_CHARS_PER_POST.toLocaleString('en-US')} characters; shorten them or send the scores in two posts`,
      }),
    dryRun: z.boolean().optional(),
  })
  .strict();

/** The grade passback API (behind `requireApiToken`). */
export function createGradesApiRouter(c: Deps): Router {
  const router = Router();
  const base = '/api/v1/integrations/:id/courses/:canvasId/grade-posts';
  const ids = (req: Request) => ({ id: String(req.params.id), course: String(req.params.canvasId) });

  router.post(base, async (req, res) => {
    const body = parseInput(gradePostBody, req.body ?? {});
    const { id, course } = ids(req);
    const r = await c.grades.post(id, course, body, String(res.locals.actor ?? 'api')).catch((err: unknown) => {
      throw toSyncError(err);
    });
    if (r.kind === 'preview') res.json(presentGradePreview(r));
    else res.status(202).json(presentJob(r.job));
  });

  router.get(`${base}/:examKey`, async (req, res) => {
    const { id, course } = ids(req);
    res.json(presentGradePost(await c.grades.get(id, course, String(req.params.examKey))));
  });

  return router;
}

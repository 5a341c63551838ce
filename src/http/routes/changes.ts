import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { MAX_CHANGES_PAGE } from '../../changes/change-log.js';
import { presentChange } from '../presenters/changes.js';
import { parseInput } from '../validate.js';

type Deps = Pick<Container, 'changes' | 'integrations'>;

export const changesQuery = z.object({
  after: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a change seq (digits): 0 for the start, or the nextCursor of the previous page')
    .optional()
    .describe('Return entries with seq greater than this (the previous page\'s nextCursor); default 0'),
  limit: z.coerce
    .number({ error: `must be a whole number from 1 to ${MAX_CHANGES_PAGE}` })
    .int(`must be a whole number from 1 to ${MAX_CHANGES_PAGE}`)
    .min(1, `must be a whole number from 1 to ${MAX_CHANGES_PAGE}`)
    .max(MAX_CHANGES_PAGE, `must be at most ${MAX_CHANGES_PAGE}`)
    .optional()
    .describe(`Entries per page, at most ${MAX_CHANGES_PAGE} (the default)`),
});

/** The change log API (behind `requireApiToken`): an integration's changes after a cursor, in seq order. */
export function createChangesApiRouter(c: Deps): Router {
  const router = Router();
  router.get('/api/v1/integrations/:id/changes', async (req: Request, res) => {
    const q = parseInput(changesQuery, req.query);
    const id = String(req.params.id);
    if (!(await c.integrations.get(id))) throw new AppError('not_found', 'No such integration.');
    const page = await c.changes.list(id, { after: q.after === undefined ? 0 : Number(q.after), limit: q.limit });
    res.json({ changes: page.changes.map(presentChange), nextCursor: page.nextCursor });
  });
  return router;
}

import { Router } from 'express';
import type { Container } from '../../container.js';
import { isReady } from '../../store/database.js';

/** `GET /healthz` (the process answers) and `GET /readyz` (database reachable, migrations applied). */
export function createHealthRouter(container: Pick<Container, 'store'>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const ready = await isReady(container.store.db);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });
  return router;
}

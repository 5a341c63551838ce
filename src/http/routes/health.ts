import { Router } from 'express';
import type { Container } from '../../container.js';

/**
 * `GET /healthz` (the process answers) and `GET /readyz` (database reachable, migrations applied,
 * not shutting down). `/readyz` answers from the container's background probe: a load balancer
 * polling it never adds database work, and it never waits on a database that does not answer.
 */
export function createHealthRouter(container: Pick<Container, 'readiness'>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const { ready, reason } = container.readiness.status();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', reason });
  });
  return router;
}

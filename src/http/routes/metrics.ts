import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { renderMetrics } from '../../metrics/metrics.js';
import { sendError } from '../errors.js';
import { bearerToken } from '../middleware/auth.js';

const sameToken = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * `GET /metrics`, the Prometheus text format. Protected like the API: `Authorization: Bearer`
 * with `METRICS_TOKEN` (a scrape-only credential) or a staff API token; anything else is 401.
 */
export function createMetricsRouter(c: Pick<Container, 'config' | 'apiTokens'>): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    const token = bearerToken(req);
    const ok = token !== undefined && ((c.config.metricsToken !== undefined && sameToken(token, c.config.metricsToken)) || (await c.apiTokens.authenticate(token)) !== null);
    if (!ok) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="canvas-companion metrics"');
      return sendError(req, res, new AppError('unauthenticated', 'Send METRICS_TOKEN or a staff API token as Authorization: Bearer <token>.'));
    }
    const { contentType, body } = await renderMetrics();
    res.setHeader('Content-Type', contentType);
    res.send(body);
  });
  return router;
}

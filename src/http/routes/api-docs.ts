import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';
import type { Container } from '../../container.js';
import { requireStaff } from '../middleware/auth.js';
import { apiReference, type ApiReference } from '../openapi/api-reference.js';
import { apiRoutes } from '../openapi/api-routes.js';
import { buildOpenApiDocument, type OpenApiDocument } from '../openapi/openapi-document.js';

type Deps = Pick<Container, 'config' | 'integrationSchemas'>;

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The JSON API's description, for staff and their automation:
 * - `GET /api/v1/openapi.json`: the OpenAPI 3.1 document. Under /api/v1, so behind the API token
 *   check in src/app.ts like every other API route (a token, or a signed-in staff session).
 * - `GET /docs/api`: the same document as a page in the site layout (staff only): every operation
 *   with its parameters, body fields, answer and errors.
 * The document is built once: the schemas do not change at run time.
 */
export function createApiDocsRouter(c: Deps): Router {
  const router = Router();
  let doc: OpenApiDocument | undefined;
  let reference: ApiReference | undefined;
  const document = () => (doc ??= buildOpenApiDocument(apiRoutes(c.integrationSchemas), { serverUrl: c.config.publicUrl, version: VERSION }));

  router.get('/api/v1/openapi.json', (_req, res) => {
    res.json(document());
  });

  router.get('/docs/api', requireStaff, (_req, res) => {
    reference ??= apiReference(document());
    res.render('api/docs', { title: 'JSON API reference', api: reference, openapiUrl: '/api/v1/openapi.json' });
  });

  return router;
}

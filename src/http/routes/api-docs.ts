import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';
import type { Container } from '../../container.js';
import { apiReference, type ApiReference } from '../openapi/api-reference.js';
import { apiRoutes } from '../openapi/api-routes.js';
import { buildOpenApiDocument, type OpenApiDocument } from '../openapi/openapi-document.js';

type Deps = Pick<Container, 'config' | 'integrationSchemas'>;

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

/** The document for this app's configuration, built once (the schemas do not change at run time). */
function documentFor(c: Deps): () => OpenApiDocument {
  let doc: OpenApiDocument | undefined;
  return () => (doc ??= buildOpenApiDocument(apiRoutes(c.integrationSchemas), { serverUrl: c.config.publicUrl, version: VERSION }));
}

/**
 * `GET /api/v1/openapi.json`: the JSON API as an OpenAPI 3.1 document. It describes the API and
 * holds no data or secret, so it is served without a token (mounted before the API token check,
 * next to the health routes), which is what client generators expect.
 */
export function createOpenApiRouter(c: Deps): Router {
  const router = Router();
  const doc = documentFor(c);
  router.get('/api/v1/openapi.json', (_req, res) => {
    res.json(doc());
  });
  return router;
}

/**
 * `GET /api/docs`: the JSON API reference, rendered from the same document (every operation with
 * its parameters, body fields, answer and errors). Public like the document it renders.
 */
export function createApiDocsRouter(c: Deps): Router {
  const router = Router();
  const doc = documentFor(c);
  let reference: ApiReference | undefined;
  router.get('/api/docs', (_req, res) => {
    reference ??= apiReference(doc());
    res.render('api/docs', { title: 'JSON API reference', api: reference, openapiUrl: '/api/v1/openapi.json' });
  });
  return router;
}

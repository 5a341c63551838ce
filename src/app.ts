import { join } from 'node:path';
import express, { Router, type Express, type Request } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { csrfSync } from 'csrf-sync';
import { Eta } from 'eta';
import type { Container } from './container.js';
import { AppError } from './errors/app-error.js';
import { allowFrameAncestors } from './lti/frame-policy.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { flashLocals } from './http/flash.js';
import { requestLog } from './http/request-log.js';
import { bearerToken, requireApiToken, sessionActor } from './http/middleware/auth.js';
import { presentNavigation, type NavRole } from './http/presenters/navigation.js';
import { createApiDocsRouter } from './http/routes/api-docs.js';
import { createAuthRouter } from './http/routes/auth.js';
import { createHealthRouter } from './http/routes/health.js';
import { createLtiRouter } from './http/routes/lti.js';
import { createLtiRegisterRouter } from './http/routes/lti-register.js';
import { createTokensRouter } from './http/routes/tokens.js';
import { createIntegrationsApiRouter } from './http/routes/integrations-api.js';
import { createIntegrationsPagesRouter } from './http/routes/integrations-pages.js';
import { createCoursesApiRouter, createCoursesPagesRouter } from './http/routes/courses.js';
import { createGradesApiRouter, GRADE_POST_BODY_LIMIT, GRADE_POSTS_PATH } from './http/routes/grades.js';
import { createChangesApiRouter } from './http/routes/changes.js';
import { createJobsRouter } from './http/routes/jobs.js';
import { JOB_KINDS, jobLabel } from './jobs/job-kinds.js';
import { createMetricsRouter } from './http/routes/metrics.js';
import { createWebhooksRouter } from './http/routes/webhooks.js';
import { createSyncListApiRouter, createSyncListPagesRouter, SYNC_LIST_UPLOAD_PATHS } from './http/routes/sync-list.js';
import { multipartForms } from './http/multipart.js';
import { fileProblem, MAX_IMPORT_BYTES } from './sync-list/import-file.js';
import { createOAuthRouter } from './http/routes/oauth.js';
import './http/session.js';
import { quantity } from './text/quantity.js';

const ROOT = join(import.meta.dirname, '..');
export const VIEWS_DIR = join(ROOT, 'views');
export const PUBLIC_DIR = join(ROOT, 'public');

/** The session cookie's name (tests and the LTI helper refer to it). */
export const SESSION_COOKIE = 'cc.sid';

/**
 * Builds the Express app (never listens; src/main.ts does). Middleware order is fixed:
 * request log → helmet → /lti (ltijs, before body parsers) → /static → health → Bearer API calls
 * (API credentials → body parsers → API routers) → session → API credentials → body parsers →
 * csrf → routers → 404 → error handler.
 */
export function createApp(container: Container): Express {
  const { config, logger } = container;
  const app = express();
  app.disable('x-powered-by');
  // req.ip / req.secure come from X-Forwarded-* only when the peer is a proxy TRUST_PROXY names
  // (default: none), so a client cannot choose its own address for the sign-in limits.
  app.set('trust proxy', config.trustProxy);
  // No ETag on generated answers: pages carry a fresh CSRF token and API lists change with every
  // sync, so a hash of each body (SHA-1 over up to a page of courses) cost CPU on every request and
  // almost never produced a 304. Static files keep theirs (express.static sets its own).
  app.set('etag', false);

  // `when(iso)` in every view: timestamps as "2026-11-26 17:23:39 UTC" (anything else passes through).
  const when = String.raw`const when = (v) => { const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(String(v ?? '')); return m ? m[1] + ' ' + m[2] + ' UTC' : (v ?? '—'); };`;
  // `jobLabel(kind)` too: what the job kinds registry calls each kind ("Grade post"), never the raw kind.
  const jobLabels = `const jobLabel = (k) => (${JSON.stringify(Object.fromEntries(JOB_KINDS.map((k) => [k, jobLabel(k)])))})[k] ?? k;`;
  const eta = new Eta({ views: VIEWS_DIR, cache: true, functionHeader: `${when}\n${jobLabels}` });
  app.engine('eta', (file, data, cb) => {
    try {
      cb(null, eta.render(file.slice(VIEWS_DIR.length + 1), data as object));
    } catch (err) {
      cb(err);
    }
  });
  app.set('view engine', 'eta');
  // `it.quantity(n, 'section')` in every view: "1 section", "3 sections" (no "section(s)").
  app.locals.quantity = quantity;
  app.set('views', VIEWS_DIR);

  // One line per answered request (method, redacted URL, status, latency); no headers, no bodies.
  app.use(requestLog(app, logger, { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url.startsWith('/static/') }));

  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'script-src': ["'self'"],
          'script-src-attr': ["'none'"],
          // Only this site may frame a page; the pages an LTI launch shows widen this for Canvas
          // (src/lti/frame-policy.ts), staff pages never do.
          'frame-ancestors': ["'self'"],
          'upgrade-insecure-requests': config.secureCookies ? [] : null,
        },
      },
      xFrameOptions: { action: 'sameorigin' },
      // Our own pages send their path as Referer to us (a refused form goes back to the page it was
      // on, see src/http/form-page.ts); other sites get none. Pages with a token in their address
      // set no-referrer themselves.
      referrerPolicy: { policy: 'same-origin' },
      strictTransportSecurity: config.secureCookies ? { maxAge: 31536000, includeSubDomains: true } : false,
    }),
  );
  // An address with a secret in it (setup and authorization links, the LTI hand-over, frame-token
  // pages) is never sent on as a Referer, not even to this service.
  app.use((req, res, next) => {
    if (req.query.token !== undefined || req.query.frame_token !== undefined) res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  // The Dynamic Registration URL sits under /lti but is ours, not ltijs's: before its mount.
  app.use(createLtiRegisterRouter(container));
  // LTI mount goes here (before body parsers): ltijs parses its own bodies.
  if (container.lti) {
    const canvasAncestors = container.lti.frameAncestors ?? [];
    app.use('/lti', (_req, res, next) => {
      allowFrameAncestors(res, canvasAncestors);
      next();
    });
    app.use('/lti', container.lti.handler);
  }

  app.use('/static', express.static(PUBLIC_DIR, { index: false, maxAge: '1h' }));
  // Everything past the static files is per person (API answers, pages that show credentials
  // such as setup links and API tokens): never kept by a browser or a shared cache.
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(createHealthRouter(container));
  // Prometheus scrapes carry a bearer token and never need a session.
  app.use(createMetricsRouter(container));

  // Behind a TLS-terminating proxy that TRUST_PROXY does not name, req.secure is false and the
  // Secure session cookie is never sent: say so once rather than leave sign-in silently broken.
  let warnedProxy = false;
  app.use((req, _res, next) => {
    if (!warnedProxy && config.secureCookies && !req.secure && req.headers['x-forwarded-proto'] !== undefined) {
      warnedProxy = true;
      logger.warn(
        { peer: req.socket.remoteAddress },
        'PUBLIC_URL is https but this request is not secure, and it carries X-Forwarded-Proto: if a proxy terminates TLS, set TRUST_PROXY to its address, or session cookies are not set',
      );
    }
    next();
  });

  // The routers are made once; the JSON API's routers are mounted twice (below), the same instances.
  const lti = createLtiRouter(container);
  const auth = createAuthRouter(container);
  const tokens = createTokensRouter(container);
  const integrationsApi = createIntegrationsApiRouter(container);
  const oauth = createOAuthRouter(container);
  const integrationsPages = createIntegrationsPagesRouter(container);
  const coursesApi = createCoursesApiRouter(container);
  const gradesApi = createGradesApiRouter(container);
  const coursesPages = createCoursesPagesRouter(container);
  const changesApi = createChangesApiRouter(container);
  const syncListApi = createSyncListApiRouter(container);
  const syncListPages = createSyncListPagesRouter(container);
  const jobs = createJobsRouter(container);
  const webhooks = createWebhooksRouter(container);
  const apiDocs = createApiDocsRouter(container);

  // A grade post may carry 10,000 scores with comments (see gradePostBody): its route reads up to
  // GRADE_POST_BODY_LIMIT; every other JSON body stays under 1 MB.
  const jsonSmall = express.json({ limit: '1mb' });
  const jsonGradePost = express.json({ limit: GRADE_POST_BODY_LIMIT });
  const json: express.RequestHandler = (req, res, next) => (req.method === 'POST' && GRADE_POSTS_PATH.test(req.path) ? jsonGradePost : jsonSmall)(req, res, next);
  const bodyParsers = [express.urlencoded({ extended: false, limit: '100kb', parameterLimit: 200 }), json];
  const checkApiToken = requireApiToken(container.apiTokens);

  // A Bearer-token API call goes straight to the API's routers: it never uses a session (it is
  // authenticated by its token, and CSRF does not apply to it), so the session, CSRF, view locals,
  // flash and page routers below are skipped for it. Same token check, same body parsers, same
  // routers in the same order as in the full chain; a path none of them answers continues down the
  // full chain (to its 404), exactly as before.
  const bearerApi = Router();
  bearerApi.use(checkApiToken, ...bodyParsers, tokens, integrationsApi, coursesApi, gradesApi, changesApi, syncListApi, jobs, webhooks, apiDocs);
  app.use((req, res, next) => (isBearerApiCall(req) ? bearerApi(req, res, next) : next()));

  const sessions = session({
    name: SESSION_COOKIE,
    secret: container.vault.sessionSecrets(),
    store: container.sessionStore,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, maxAge: 12 * 60 * 60 * 1000 },
  });
  // A Bearer-token API call that got here (a path no API router answers) still makes no session.
  app.use((req, res, next) => (isBearerApiCall(req) ? next() : sessions(req, res, next)));
  // Credentials first: a request to the API without (valid) ones gets 401 before any body is read
  // or any CSRF check runs. A Bearer call that passed the check above is not checked again.
  app.use('/api', (req, res, next) => (res.locals.actor !== undefined && isBearerApiCall(req) ? next() : checkApiToken(req, res, next)));
  app.use(...bodyParsers);
  // File uploads from pages (the sync list import): read before the CSRF check, which needs `_csrf`.
  // A file refused here (over the limit) goes back to the import form with the error flashed.
  app.use((req, res, next) => {
    if (req.method === 'POST' && SYNC_LIST_UPLOAD_PATHS.test(req.path)) res.locals.formPage = `${req.path.slice(0, -'/import'.length)}#import`;
    next();
  });
  app.use(
    multipartForms({
      paths: SYNC_LIST_UPLOAD_PATHS,
      limitBytes: MAX_IMPORT_BYTES + 64 * 1024,
      onTooLarge: () => fileProblem('too_large', 'is larger than 10 MB, the limit'),
    }),
  );

  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => {
      const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf;
      if (typeof fromBody === 'string') return fromBody;
      const fromHeader = req.headers['x-csrf-token'];
      return typeof fromHeader === 'string' ? fromHeader : undefined;
    },
    // Bearer-token API calls carry no cookie-borne authority, so CSRF does not apply to them.
    skipCsrfProtection: (req) => req.originalUrl.startsWith('/api/') && bearerToken(req) !== undefined,
  });
  app.use((req, res, next) => {
    // Lazy: only pages that render a form create a token (and thereby a session).
    Object.defineProperty(res.locals, 'csrfToken', { enumerable: true, configurable: true, get: () => generateToken(req) });
    // The API credential check (before the body parsers) may have set the actor already.
    res.locals.actor ??= sessionActor(req);
    res.locals.identity = identityOf(req.session);
    res.locals.currentPath = req.path;
    // Lazy as well: only a rendered page reads the navigation, and API calls render none.
    let nav: ReturnType<typeof presentNavigation> | undefined;
    Object.defineProperty(res.locals, 'nav', { enumerable: true, configurable: true, get: () => (nav ??= presentNavigation(navRoleOf(req.session), req.path)) });
    csrfSynchronisedProtection(req, res, (err?: unknown) => {
      if (!err) return next();
      // With Secure cookies (an https PUBLIC_URL) a browser on plain http never sends the session
      // cookie back, so every form would "expire": say what is actually wrong.
      if (config.secureCookies && !req.secure) {
        return next(
          new AppError('csrf_failed', 'This site must be opened over https: its session cookie is Secure and is never sent over plain http.', {
            help: `Open ${config.publicUrl} (https), or the load balancer that serves it, instead of this http address.`,
          }),
        );
      }
      next(new AppError('csrf_failed', 'This form has expired or did not come from this site. Reload the page and try again.'));
    });
  });
  app.use(flashLocals);

  // Feature routers: one line each. LTI first: it lets Canvas frame every page an LTI session sees.
  app.use(lti);
  app.use(auth);
  app.use(tokens);
  app.use(integrationsApi);
  app.use(oauth);
  app.use(integrationsPages);
  app.use(coursesApi);
  app.use(gradesApi);
  app.use(coursesPages);
  app.use(changesApi);
  app.use(syncListApi);
  app.use(syncListPages);
  app.use(jobs);
  app.use(webhooks);
  app.use(apiDocs);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

/** A call to the JSON API that carries `Authorization: Bearer …` (authenticated by its token alone, never by a session). */
function isBearerApiCall(req: Request): boolean {
  return req.path.startsWith('/api/') && bearerToken(req) !== undefined;
}

/** The layout's view of who is signed in. */
export type Identity =
  | { kind: 'staff'; name: string; email: string }
  | { kind: 'integration-admin'; integrationId: string; label: string }
  | { kind: 'lti-course'; integrationId: string; courseId: string }
  | null;

function identityOf(s: session.SessionData | undefined): Identity {
  if (s?.staff) return { kind: 'staff', name: s.staff.name, email: s.staff.email };
  if (s?.integrationAccess) return { kind: 'integration-admin', integrationId: s.integrationAccess.integrationId, label: s.integrationAccess.label };
  if (s?.ltiCourse) return { kind: 'lti-course', integrationId: s.ltiCourse.integrationId, courseId: s.ltiCourse.courseId };
  return null;
}

/** The navigation's view of the session's role (see src/http/presenters/navigation.ts). */
function navRoleOf(s: session.SessionData | undefined): NavRole {
  if (s?.staff) return { kind: 'staff' };
  if (s?.integrationAccess) return { kind: 'integration-admin', integrationId: s.integrationAccess.integrationId };
  if (s?.ltiCourse) return { kind: 'lti-course' };
  return null;
}

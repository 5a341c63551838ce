import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../../errors/app-error.js';
import type { ApiTokens } from '../../staff/api-tokens.js';
import { sendError, wantsJson } from '../errors.js';
import '../session.js';

/** Where to send someone who must sign in: `/login?next=<this path>` (same-origin paths only). */
export function loginRedirect(req: Request): string {
  return `/login?next=${encodeURIComponent(req.originalUrl)}`;
}

/**
 * Pages and API for staff only: anonymous page visits redirect to /login, /api answers 401 JSON;
 * a limited session (Canvas admin, LTI instructor) gets 403.
 */
export function requireStaff(req: Request, res: Response, next: NextFunction): void {
  if (req.session?.staff) {
    next();
    return;
  }
  if (req.session?.integrationAccess || req.session?.ltiCourse) {
    sendError(req, res, new AppError('forbidden', 'This page is for platform staff only.'));
    return;
  }
  if (wantsJson(req) || req.method !== 'GET') {
    sendError(req, res, new AppError('unauthenticated', 'Sign in as staff to do this.'));
    return;
  }
  res.redirect(303, loginRedirect(req));
}

/**
 * Staff, or a Canvas admin whose session is limited to the integration named by `req.params[paramName]`.
 * Anyone else with a session gets 403 (never another institution's data); no session at all
 * is treated like {@link requireStaff} (sign in).
 */
export function requireIntegrationAccess(paramName = 'id'): RequestHandler {
  return (req, res, next) => {
    if (req.session?.staff) return next();
    const access = req.session?.integrationAccess;
    const wanted = req.params[paramName];
    if (access && typeof wanted === 'string' && access.integrationId === wanted) return next();
    if (!access && !req.session?.ltiCourse) return requireStaff(req, res, next);
    sendError(req, res, new AppError('forbidden', 'You do not have access to this integration.'));
  };
}

/** `Authorization: Bearer <token>` value, or undefined. */
export function bearerToken(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

/**
 * For `/api/v1/*`: a valid staff API token (`res.locals.actor = 'api-token:<id>'`), or, with no
 * Authorization header, a signed-in staff session (`'staff:<id>'`, so pages' scripts can poll; such
 * requests stay CSRF-checked). Anything else is 401 JSON.
 */
export function requireApiToken(apiTokens: Pick<ApiTokens, 'authenticate'>): RequestHandler {
  return async (req, res, next) => {
    if (req.headers.authorization === undefined && req.session?.staff) {
      res.locals.actor = `staff:${req.session.staff.id}`;
      return next();
    }
    const token = bearerToken(req);
    const info = token ? await apiTokens.authenticate(token) : null;
    if (!info) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="canvas-companion"');
      sendError(
        req,
        res,
        new AppError('unauthenticated', token ? 'The API token is invalid or revoked.' : 'Send a staff API token as Authorization: Bearer <token>.', {
          help: 'Create a token under Settings → API tokens or with `npm run cli -- tokens create --name <name>`.',
        }),
      );
      return;
    }
    res.locals.actor = `api-token:${info.id}`;
    next();
  };
}

/** The audit actor for a browser request: staff, limited admin, or LTI instructor. */
export function sessionActor(req: Request): string | undefined {
  const s = req.session;
  if (s?.staff) return `staff:${s.staff.id}`;
  if (s?.integrationAccess) {
    return s.integrationAccess.via === 'lti' ? `lti:${s.integrationAccess.label}` : `admin-link:${s.integrationAccess.integrationId}`;
  }
  if (s?.ltiCourse) return `lti:${s.ltiCourse.integrationId}:${s.ltiCourse.courseId}`;
  return undefined;
}

/**
 * Who a browser request changes settings as: staff are `platform`; a session limited to one
 * integration (setup link, authorization link, LTI admin launch) is `institution`.
 */
export function settingsActor(req: Request, res: Response): { scope: 'platform' | 'institution'; label: string } {
  const label = String(res.locals.actor ?? sessionActor(req) ?? 'browser');
  return { scope: req.session?.staff ? 'platform' : 'institution', label };
}

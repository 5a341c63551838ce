import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AppError } from '../errors/app-error.js';
import { ERROR_STATUS } from './error-status.js';
import { flash } from './flash.js';

/**
 * Names the page a POST's form is on, for a refused POST to go back to (see
 * {@link redirectRefusedPost}). Put it before the handler; `page` gets the request (its params).
 */
export function returnsTo(page: (req: Request) => string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    res.locals.formPage = page(req);
    next();
  };
}

/** The statuses a person fixes on the form's page: a bad field, a state that changed (409), too many tries. */
const BACK_TO_FORM = new Set([400, 409, 422, 429]);

/** Paths whose POSTs are not pages of ours: the JSON API, and LTI (ltijs and the frame pages Canvas shows). */
const NOT_PAGES = /^\/(api|lti|launch)(\/|$)/;

/**
 * The path of a same-origin `Referer` (path and query), or null: another origin, no header, or a
 * path a browser would read as another host (`//host`, backslashes).
 */
export function sameOriginReferer(req: Request): string | null {
  const referer = req.get('referer');
  if (!referer) return null;
  let u: URL;
  try {
    u = new URL(referer);
  } catch {
    return null;
  }
  if (u.host !== req.host || (u.protocol !== 'http:' && u.protocol !== 'https:')) return null;
  return localPath(`${u.pathname}${u.search}`);
}

/**
 * `v` when it is a path on this site ("/integrations/…", a query allowed), else null: a full URL,
 * a protocol-relative "//host" or a backslash (which browsers read as "/") would leave the site.
 */
export function localPath(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > 2000) return null;
  return /^\/(?![/\\])[^\\\s]*$/.test(v) ? v : null;
}

/**
 * Post/Redirect/Get for refused page POSTs: an exposed 4xx error of a page form (a bad or unknown
 * field, a file over the limit, a connection that went away since the page was drawn) becomes an
 * error flash and a 303 back to the form's page (the route's {@link returnsTo} target, else a
 * same-origin Referer), so the person sees why on the page they were on and a reload repeats
 * nothing. Returns false (and does nothing) when the error is to be drawn as an error page:
 * not a page POST, no session to carry the flash, a 401/403/404 (the page would refuse too, or
 * does not exist), a CSRF failure, or no known page to go back to.
 */
export function redirectRefusedPost(req: Request, res: Response, error: AppError): boolean {
  if (req.method !== 'POST' || NOT_PAGES.test(req.path) || !req.session) return false;
  if (!error.expose || error.code === 'csrf_failed' || !BACK_TO_FORM.has(ERROR_STATUS[error.code])) return false;
  const target = typeof res.locals.formPage === 'string' ? res.locals.formPage : sameOriginReferer(req);
  if (!target) return false;
  const message = /[.!?]$/.test(error.message) ? error.message : `${error.message}.`;
  flash(req, 'error', error.help ? `${message} ${error.help}` : message);
  res.redirect(303, target);
  return true;
}

import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { AppError, toAppError } from '../errors/app-error.js';
import { REMEDIES } from '../integrations/reasons.js';
import { TokenUnavailableError } from '../oauth/token-source.js';
import { ERROR_STATUS } from './error-status.js';
import { redirectRefusedPost } from './form-page.js';
import { zodToAppError } from './validate.js';

/** True for requests answered with JSON errors (the JSON API) rather than HTML pages. */
export function wantsJson(req: Request): boolean {
  return req.originalUrl.startsWith('/api/');
}

/** Body parser failures by `type`, with the message a client can act on. */
const BODY_ERRORS: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON.',
  'entity.too.large': 'The request body is too large.',
  'parameters.too.many': 'The form has too many fields. Send only the fields this form or route takes.',
  'charset.unsupported': 'The request body encoding is not supported.',
  'encoding.unsupported': 'The request body encoding is not supported.',
  'request.aborted': 'The request body was not received completely.',
  'request.size.invalid': 'The request body is shorter or longer than its Content-Length says.',
  'stream.encoding.set': 'The request body could not be read.',
  'stream.not.readable': 'The request body could not be read.',
};

const formatMb = (bytes: number) => `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;

/**
 * Maps framework errors to AppError: body parser errors (any `type` with a 4xx `status`, so a
 * new parser limit never surfaces as a 500), zod errors, and a Canvas call made for an integration
 * that has no usable token (`not_connected`, 409); everything else via {@link toAppError}.
 */
export function normaliseError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.ZodError) return zodToAppError(err);
  if (err instanceof TokenUnavailableError) {
    return new AppError('not_connected', `This integration has no usable Canvas token (${err.reason}). Connect it first.`, {
      help: `${REMEDIES[err.reason].remedy} Use Generate Keys on the integration's LMS Settings page (or POST /api/v1/integrations/:id/authorization-links).`,
      details: { reason: err.reason },
      cause: err,
    });
  }
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown } | undefined;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (typeof e?.type === 'string' && status !== undefined && status >= 400 && status < 500) {
    const limit = (err as { limit?: unknown }).limit;
    const message =
      e.type === 'entity.too.large' && typeof limit === 'number'
        ? `The request body is larger than ${formatMb(limit)}, this route's limit. Send less in one request: split the list into several requests.`
        : (BODY_ERRORS[e.type] ?? 'The request body could not be read.');
    return new AppError('validation_failed', message, { cause: err, details: { type: e.type } });
  }
  return toAppError(err);
}

/** Presents an error: JSON `{error:{code,message,help?}}` under /api, the error page otherwise. */
export function sendError(req: Request, res: Response, error: AppError): void {
  const status = ERROR_STATUS[error.code];
  const message = error.expose ? error.message : 'Something went wrong on our side. Please try again; if it keeps happening, tell the platform team.';
  const help = error.expose ? error.help : undefined;
  if (res.headersSent) return;
  res.status(status);
  if (wantsJson(req)) {
    res.json({ error: { code: error.code, message, ...(help ? { help } : {}) } });
    return;
  }
  res.render('error', { title: status === 404 ? 'Not found' : 'Something went wrong', status, code: error.code, message, help });
}

/**
 * The last middleware: logs unexpected errors with their cause, presents every error without a
 * stack. A page form's refused POST goes back to its page with the error flashed (see
 * {@link redirectRefusedPost}).
 */
export function errorHandler(err: unknown, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  const error = normaliseError(err);
  if (!error.expose || ERROR_STATUS[error.code] >= 500) {
    req.log?.error({ err: error.cause ?? err, code: error.code }, 'request failed');
  }
  if (redirectRefusedPost(req, res, error)) return;
  sendError(req, res, error);
}

/** 404 for anything no router answered: JSON under /api, the not-found page otherwise. */
export function notFoundHandler(req: Request, res: Response): void {
  if (wantsJson(req)) {
    res.status(404).json({ error: { code: 'not_found', message: `No route for ${req.method} ${req.path}.` } });
    return;
  }
  res.status(404).render('not-found', { title: 'Page not found' });
}

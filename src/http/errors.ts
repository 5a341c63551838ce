import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { AppError, toAppError } from '../errors/app-error.js';
import { ERROR_STATUS } from './error-status.js';
import { zodToAppError } from './validate.js';

/** True for requests answered with JSON errors (the JSON API) rather than HTML pages. */
export function wantsJson(req: Request): boolean {
  return req.originalUrl.startsWith('/api/');
}

/** Maps framework errors (body parser, zod) to AppError; everything else via {@link toAppError}. */
function normalise(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.ZodError) return zodToAppError(err);
  const e = err as { type?: string; status?: number } | undefined;
  if (e?.type === 'entity.parse.failed') return new AppError('validation_failed', 'The request body is not valid JSON.');
  if (e?.type === 'entity.too.large') return new AppError('validation_failed', 'The request body is too large.');
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') {
    return new AppError('validation_failed', 'The request body encoding is not supported.');
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

/** The last middleware: logs unexpected errors with their cause, presents every error without a stack. */
export function errorHandler(err: unknown, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  const error = normalise(err);
  if (!error.expose || ERROR_STATUS[error.code] >= 500) {
    req.log?.error({ err: error.cause ?? err, code: error.code }, 'request failed');
  }
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

import type { NextFunction, Request, Response } from 'express';
import type { FlashMessage } from './session.js';
import './session.js';

/** Queues a message for the next rendered page (after a redirect). */
export function flash(req: Request, kind: FlashMessage['kind'], text: string): void {
  if (!req.session) return;
  req.session.flash = [...(req.session.flash ?? []), { kind, text }];
}

/** Moves queued flash messages into `res.locals.flash` on page (GET) requests, so each shows once. */
export function flashLocals(req: Request, res: Response, next: NextFunction): void {
  res.locals.flash = [];
  if (req.method === 'GET' && req.session?.flash?.length) {
    res.locals.flash = req.session.flash;
    delete req.session.flash;
  }
  next();
}

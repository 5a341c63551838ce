import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { redactUrl, type Logger } from '../logger/logger.js';

declare module 'http' {
  interface IncomingMessage {
    /** The request's number on this instance (1, 2, 3…), logged as `reqId`. */
    id: number;
    /** A logger whose lines carry this request's `reqId`. */
    log: Logger;
  }
}

const MAX_ID = 0x7fffffff;

/** Where a request keeps the logger `req.log` made for it (made on first use). */
const REQUEST_LOGGER = Symbol('requestLogger');

/**
 * The request log: one `info` line per answered request, written when the answer is finished (or
 * the connection closed), in the shape pino-http wrote it:
 * `{reqId, req: {id, method, url}, res: {statusCode}, responseTime, msg: 'request completed'}`,
 * the URL with secret query values redacted and never a header or body; a 5xx answer (or a
 * response error) as `msg: 'request errored'` with an `err`. `ignore(req)` requests (health checks,
 * static files) get no line. `req.log` is a logger with the request's `reqId`, made only when
 * something logs through it (a getter on the app's request prototype, so every request object
 * keeps the same shape).
 *
 * Unlike pino-http it builds no per-request child loggers up front (two per request, each
 * serialising and redacting its bindings, even when info lines are not written), and it builds
 * the line only when the `info` level is on.
 */
export function requestLog(app: Express, logger: Logger, opts: { ignore(req: Request): boolean }): RequestHandler {
  type WithLogger = Request & { [REQUEST_LOGGER]?: Logger };
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: WithLogger) {
      return (this[REQUEST_LOGGER] ??= logger.child({ reqId: this.id }));
    },
    set(this: WithLogger, value: Logger) {
      this[REQUEST_LOGGER] = value;
    },
  });
  let lastId = 0;
  return (req: Request, res: Response, next: NextFunction) => {
    const id = (lastId = (lastId + 1) & MAX_ID);
    const start = Date.now();
    req.id = id;

    const done = (err?: Error) => {
      res.removeListener('close', done);
      res.removeListener('finish', done);
      res.removeListener('error', done);
      if (!logger.isLevelEnabled('info')) return;
      const fields = { reqId: id, req: { id, method: req.method, url: redactUrl(req.originalUrl ?? req.url ?? '') }, res: { statusCode: res.statusCode } };
      const failure = err ?? (res.statusCode >= 500 ? new Error(`failed with status code ${res.statusCode}`) : undefined);
      if (failure) {
        logger.info({ ...fields, err: failure, responseTime: Date.now() - start }, 'request errored');
        return;
      }
      logger.info({ ...fields, responseTime: Date.now() - start }, !req.readableAborted && res.writableEnded ? 'request completed' : 'request aborted');
    };
    if (!opts.ignore(req)) {
      res.on('close', done);
      res.on('finish', done);
    }
    res.on('error', done);
    next();
  };
}

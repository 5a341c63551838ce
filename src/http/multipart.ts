import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../errors/app-error.js';

/** A file field of a multipart form. */
export interface UploadedFile {
  fileName: string;
  contentType: string | null;
  data: Buffer;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/**
 * Parses a `multipart/form-data` body (RFC 7578): text fields become strings, file fields
 * {@link UploadedFile}s. Only what a browser's form sends is supported (no nested multipart).
 * @throws AppError validation_failed when the body is not a well-formed multipart body
 */
export function parseMultipart(body: Buffer, contentType: string): Record<string, string | UploadedFile> {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  const bad = (why: string) => new AppError('validation_failed', `The form could not be read (${why}). Reload the page and send it again.`, { details: { field: '(body)' } });
  if (!boundary) throw bad('no boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  const out: Record<string, string | UploadedFile> = {};
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw bad('no part');
  pos += delimiter.length;
  for (let parts = 0; parts < 50; parts++) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return out;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf(CRLF_CRLF, pos);
    if (headerEnd < 0) throw bad('a part has no headers');
    const headers = body.subarray(pos, headerEnd).toString('utf8').split('\r\n');
    const end = body.indexOf(next, headerEnd + 4);
    if (end < 0) throw bad('a part does not end');
    const data = body.subarray(headerEnd + 4, end);
    let name: string | undefined;
    let fileName: string | undefined;
    let type: string | null = null;
    for (const h of headers) {
      const [key, ...rest] = h.split(':');
      const value = rest.join(':').trim();
      if (key?.trim().toLowerCase() === 'content-disposition') {
        name = /\bname="([^"]*)"/i.exec(value)?.[1];
        fileName = /\bfilename="([^"]*)"/i.exec(value)?.[1];
      } else if (key?.trim().toLowerCase() === 'content-type') {
        type = value;
      }
    }
    if (name !== undefined && name !== '') out[name] = fileName !== undefined ? { fileName, contentType: type, data: Buffer.from(data) } : data.toString('utf8');
    pos = end + next.length;
  }
  throw bad('too many parts');
}

/**
 * Reads `multipart/form-data` bodies (file uploads from pages) into `req.body` before the CSRF
 * check, so an upload form carries its `_csrf` field like any other form. Only for the paths
 * given; elsewhere such a body stays unread (and its form fails the CSRF check).
 */
export function multipartForms(opts: { paths: RegExp; limitBytes: number; onTooLarge: (err: unknown) => AppError }) {
  const raw = express.raw({ type: 'multipart/form-data', limit: opts.limitBytes });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' || !opts.paths.test(req.path) || !req.is('multipart/form-data')) return next();
    raw(req, res, (err?: unknown) => {
      if (err) return next((err as { type?: string }).type === 'entity.too.large' ? opts.onTooLarge(err) : err);
      try {
        req.body = Buffer.isBuffer(req.body) ? parseMultipart(req.body, String(req.headers['content-type'] ?? '')) : {};
        next();
      } catch (e) {
        next(e);
      }
    });
  };
}

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ParamHash } from './rails-params.js';

/**
 * What a sandbox handler answers. Handlers return data instead of writing to the socket so the
 * pipeline can add throttle headers after the handler ran, and so faults can replace answers.
 */
export type SimResponse =
  | { kind?: 'send'; status: number; headers: Record<string, string>; body: string | Buffer }
  /** Never answer (a timeout as the client sees it); the socket is closed by the client or stop(). */
  | { kind: 'hang' }
  /** Destroy the socket without an answer (connection reset). */
  | { kind: 'reset' };

/** One parsed request, Rails-style: `params` is query merged with the body (body wins). */
export interface SimRequest {
  method: string;
  path: string;
  /** Raw query string without the leading `?`. */
  search: string;
  query: ParamHash;
  body: ParamHash;
  params: ParamHash;
  headers: IncomingHttpHeaders;
  cookies: Record<string, string>;
  /** `http://host:port` as the client addressed the sandbox. */
  origin: string;
  /** Values of the route's `:params`, URL-decoded. */
  pathParams: Record<string, string>;
  raw: IncomingMessage;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { 'Content-Type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

export function text(status: number, body: string, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body };
}

export function html(status: number, body: string, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { 'Content-Type': 'text/html; charset=utf-8', ...headers }, body };
}

export function redirect(location: string, headers: Record<string, string> = {}): SimResponse {
  return { status: 302, headers: { Location: location, 'Content-Type': 'text/html; charset=utf-8', ...headers }, body: `<html><body>You are being <a href="${escapeHtml(location)}">redirected</a>.</body></html>` };
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** Canvas-style 404 for API routes. */
export function notFound(): SimResponse {
  return json(404, { errors: [{ message: 'The specified resource does not exist.' }] });
}

/** Ruby `Float#to_s`-like rendering used by the throttle headers (`0.0`, `599.75`). */
export function rubyFloat(n: number): string {
  const rounded = Math.round(n * 1e6) / 1e6;
  return Number.isInteger(rounded) ? `${rounded}.0` : String(rounded);
}

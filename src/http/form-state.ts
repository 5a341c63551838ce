import type { Request } from 'express';
import './session.js';

/**
 * Post/Redirect/Get for a form that did not pass: the POST keeps what the form page needs to show
 * the error (messages and the values typed, never a secret) for ONE view of `path`, then
 * redirects there; a reload of that page is a plain GET and sends nothing again.
 */
export function keepFormState(req: Request, path: string, state: Record<string, unknown>): void {
  req.session.formState = { path, state };
}

/** What {@link keepFormState} kept for this page, removed as it is read (shown once); undefined otherwise. */
export function takeFormState(req: Request, path: string): Record<string, unknown> | undefined {
  const kept = req.session?.formState;
  if (!kept || kept.path !== path) return undefined;
  delete req.session.formState;
  return kept.state;
}

import { join } from 'node:path';
import type { Response } from 'express';
import { Eta } from 'eta';
import type { Logger } from '../logger/logger.js';
import { allowFrameAncestor } from './frame-policy.js';

const VIEWS_DIR = join(import.meta.dirname, '..', '..', 'views');

/** Why a launch was refused; rendered as `data-code` on the page so tests and support can tell them apart. */
export type LaunchRefusal =
  | 'unknown_platform'
  | 'ambiguous_platform'
  | 'missing_client_id'
  | 'unknown_deployment'
  | 'bad_signature'
  | 'expired'
  | 'nonce_reused'
  | 'replayed'
  | 'state_mismatch'
  | 'nonce_mismatch'
  | 'storage_unavailable'
  | 'issuer_mismatch'
  | 'session_expired'
  | 'invalid_launch'
  | 'unavailable';

/** The pages the LTI routes answer with (views/lti/), rendered outside the main app's Express. */
export interface LtiPages {
  render(res: Response, status: number, view: string, vm: Record<string, unknown>): void;
  /** Logs and renders the refusal page; `frameFor` lets that Canvas frame the page. */
  refuse(res: Response, status: number, code: LaunchRefusal, detail?: Record<string, unknown>, frameFor?: string | null): void;
  /**
   * ltijs's sub-app runs Express 4 with its default error handler, which would print a stack trace
   * outside production: every handler of ours catches and answers with this page instead.
   */
  failure(res: Response, err: unknown): void;
}

export function createLtiPages(logger: Logger): LtiPages {
  const eta = new Eta({ views: VIEWS_DIR, cache: true });
  const render: LtiPages['render'] = (res, status, view, vm) => {
    res.status(status).type('html').send(eta.render(`lti/${view}`, { flash: [], identity: null, ...vm }));
  };
  return {
    render,
    refuse(res, status, code, detail = {}, frameFor) {
      logger.info({ code, ...detail }, 'LTI launch refused');
      allowFrameAncestor(res, frameFor ?? null);
      render(res, status, 'refused', { title: 'Launch refused', code, ...detail });
    },
    failure(res, err) {
      logger.error({ err }, 'LTI request failed');
      if (!res.headersSent) render(res, 500, 'refused', { title: 'Something went wrong', code: 'unavailable' });
    },
  };
}

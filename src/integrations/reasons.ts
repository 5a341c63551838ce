/**
 * Connection status model: states, checks and the stored status. The reason codes and their
 * remedies live below every layer, in errors/reason-codes.ts; they are re-exported here for the
 * services and entry points that speak of connection status.
 */
import { AUTHORIZATION_CHECKS, remedyFor, type ReasonCode, type RemedyContext } from '../errors/reason-codes.js';

export { AUTHORIZATION_CHECKS, REASON_CODES, REMEDIES, isReasonCode, remedyFor, type ReasonCode, type RemedyContext } from '../errors/reason-codes.js';

export const CONNECTION_STATES = ['not_connected', 'pending', 'verified', 'degraded', 'failed'] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

/** One verification probe's outcome. */
export interface Check {
  name: string;
  ok: boolean;
  reason?: ReasonCode;
  detail: string;
}

export interface TokenOwner {
  id: string;
  name: string;
}

/**
 * The latest Generate Keys attempt. Kept beside the status because a failed attempt while a
 * working token is stored leaves the status alone (the status describes the token held).
 */
export interface LastAttempt {
  at: string;
  ok: boolean;
  reason?: ReasonCode;
  detail: string;
}

/** `status` of an integration as stored and as returned by the API. */
export interface ConnectionStatus {
  state: ConnectionState;
  reasons: ReasonCode[];
  missingScopes: string[];
  checks: Check[];
  tokenOwner: TokenOwner | null;
  verifiedAt: string | null;
  checkedAt: string | null;
  /**
   * The latest Generate Keys attempt, or null before the first. Always present on a status read
   * from the store; a status handed to `setStatus` without it leaves the stored attempt unchanged.
   */
  lastAttempt?: LastAttempt | null;
}

/** True when the state says the stored token works (`verified` or `degraded`). */
export function isWorkingState(state: ConnectionState): boolean {
  return state === 'verified' || state === 'degraded';
}

export const NOT_CONNECTED: ConnectionStatus = {
  state: 'not_connected',
  reasons: [],
  missingScopes: [],
  checks: [],
  tokenOwner: null,
  verifiedAt: null,
  checkedAt: null,
  lastAttempt: null,
};

/**
 * Whether `reason` in `status` was met while authorizing (only authorization checks carry it, so no
 * token was involved) or by the token held; decides which remedy is shown.
 */
export function reasonContext(status: Pick<ConnectionStatus, 'checks'>, reason: ReasonCode): RemedyContext {
  const carriers = status.checks.filter((c) => c.reason === reason);
  return carriers.length > 0 && carriers.every((c) => AUTHORIZATION_CHECKS.includes(c.name)) ? 'authorization' : 'token';
}

/** The remedy of each reason of `status`, chosen for where it was met. */
export function statusRemedies(status: Pick<ConnectionStatus, 'checks' | 'reasons'>): Array<{ code: ReasonCode; title: string; remedy: string }> {
  return status.reasons.map((code) => ({ code, ...remedyFor(code, reasonContext(status, code)) }));
}

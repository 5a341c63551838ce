/**
 * Connection status model: states, checks and the stored status. The reason codes and their
 * remedies live below every layer, in errors/reason-codes.ts; they are re-exported here for the
 * services and entry points that speak of connection status.
 */
import type { ReasonCode } from '../errors/reason-codes.js';

export { REASON_CODES, REMEDIES, isReasonCode, type ReasonCode } from '../errors/reason-codes.js';

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

/** `status` of an integration as stored and as returned by the API. */
export interface ConnectionStatus {
  state: ConnectionState;
  reasons: ReasonCode[];
  missingScopes: string[];
  checks: Check[];
  tokenOwner: TokenOwner | null;
  verifiedAt: string | null;
  checkedAt: string | null;
}

export const NOT_CONNECTED: ConnectionStatus = {
  state: 'not_connected',
  reasons: [],
  missingScopes: [],
  checks: [],
  tokenOwner: null,
  verifiedAt: null,
  checkedAt: null,
};

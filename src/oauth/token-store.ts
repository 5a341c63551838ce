import type { ReasonCode } from '../errors/reason-codes.js';

/** The part of a stored token the refresh logic reads. */
export interface TokenRecord {
  accessToken: string;
  refreshToken: string | null;
  /** ISO time the access token expires, or null when Canvas sent no `expires_in`. */
  expiresAt: string | null;
}

/** What the locked-refresh callback may ask to store: a new access token (and maybe refresh token). */
export interface RefreshedToken {
  accessToken: string;
  refreshToken?: string | null;
  expiresAt: string | null;
}

/**
 * What the token sources need from storage, declared here so that oauth/ does not know the
 * integration record. The integrations repository implements it.
 */
export interface TokenStore {
  getToken(id: string): Promise<TokenRecord | undefined>;
  deleteToken(id: string): Promise<boolean>;
  /**
   * Runs `fn` with the current token while holding the refresh lock for this integration (other
   * processes wait), and stores `save` before the lock is released.
   */
  withTokenLock<T>(id: string, fn: (token: TokenRecord | undefined) => Promise<{ result: T; save?: RefreshedToken }>): Promise<T>;
  /** The Canvas URL the stored token belongs to (the integration's current one), if any. */
  tokenCanvasUrl(id: string): Promise<string | undefined>;
  /** Records that no usable token can be had, with the reason and Canvas's words (and the scopes, for `missing_scopes`). */
  markTokenFailed(id: string, reason: ReasonCode, detail: string, missingScopes?: string[]): Promise<void>;
}

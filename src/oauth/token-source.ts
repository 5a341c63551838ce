import type { AccessTokenSource } from '../canvas/types.js';
import type { ReasonCode } from '../errors/reason-codes.js';
import type { TokenRecord, TokenStore } from './token-store.js';

/** Refresh ahead of expiry by this much, so a long request never starts with a dying token. */
export const REFRESH_AHEAD_MS = 5 * 60 * 1000;

/**
 * Outcome of one `grant_type=refresh_token` call at Canvas. The reason is decided by whoever builds
 * the grant (the composition root, with the integration layer's `reasonForRefreshFailure`); this
 * module only acts on it.
 */
export type RefreshGrantResult =
  | { ok: true; accessToken: string; refreshToken?: string; expiresIn?: number }
  | { ok: false; reason: 'token_revoked' | 'invalid_client' | 'canvas_unreachable'; detail: string };

/**
 * Prepares a refresh for one integration (reads its Canvas URL, client id and secret) and returns
 * the function that sends the grant. Split in two so the database reads happen BEFORE the row lock
 * is taken: inside the lock a second pool connection could starve the pool under many refreshes.
 */
export type RefreshGrant = (integrationId: string) => Promise<(refreshToken: string) => Promise<RefreshGrantResult>>;

/**
 * Thrown by a token source when no usable token can be had. `reason` is the status reason
 * (`token_revoked`, `missing_scopes`, `invalid_client`, `canvas_unreachable`); callers turn it
 * into status. `missingScopes` names the scopes removed from the key, for `missing_scopes`.
 */
export class TokenUnavailableError extends Error {
  constructor(
    readonly reason: ReasonCode,
    message: string,
    readonly missingScopes: string[] = [],
  ) {
    super(message);
    this.name = 'TokenUnavailableError';
  }
}

export interface TokenSources {
  forIntegration(integrationId: string): AccessTokenSource;
  /** How many refresh grants this process sent (for tests and job summaries). */
  refreshCount(): number;
}

/**
 * Token sources for the Canvas client, one per integration, with single-flight refresh: callers
 * in this process share one promise per integration, and the repository's `withTokenLock` makes
 * other processes (Postgres) wait and then reuse the token the first one stored.
 * A refresh that fails for good (revoked, key deactivated) sets the integration's status to
 * `failed` with the reason; a revoked token is deleted so it is not retried on every call. A
 * refusal of a gone token is first explained (`explainRefusal`): a scope removed from the key
 * is stored as `missing_scopes` naming it, as the health check would.
 */
export function createTokenSources(deps: {
  repo: TokenStore;
  refreshGrant: RefreshGrant;
  clock: () => Date;
  /**
   * Asked after Canvas refused a refresh as a gone token, outside the lock: a better reason when
   * there is one (a scope removed from the key: Canvas deletes every token of the key then), so
   * the status names the cause at once instead of waiting for the next health check.
   */
  explainRefusal?(integrationId: string): Promise<{ reason: ReasonCode; detail: string; missingScopes?: string[] } | undefined>;
}): TokenSources {
  const { repo, refreshGrant, clock } = deps;
  const inflight = new Map<string, Promise<string>>();
  let refreshes = 0;

  const expiringSoon = (t: TokenRecord) =>
    t.expiresAt !== null && Date.parse(t.expiresAt) - clock().getTime() < REFRESH_AHEAD_MS;

  async function doRefresh(id: string, rejected: string): Promise<string> {
    let failure: { reason: ReasonCode; detail: string; missingScopes?: string[] } | undefined;
    let refused = false;
    const grant = await refreshGrant(id);
    const token = await repo.withTokenLock(id, async (current) => {
      if (!current) return { result: undefined };
      // Someone (this process earlier, or another instance) already replaced the rejected token.
      if (current.accessToken !== rejected && !expiringSoon(current)) return { result: current.accessToken };
      if (!current.refreshToken) {
        failure = { reason: 'token_revoked', detail: 'Canvas gave no refresh token; authorize again.' };
        return { result: undefined };
      }
      refreshes += 1;
      const r = await grant(current.refreshToken);
      if (!r.ok) {
        failure = { reason: r.reason, detail: r.detail };
        refused = true;
        return { result: undefined };
      }
      const expiresAt = r.expiresIn !== undefined ? new Date(clock().getTime() + r.expiresIn * 1000).toISOString() : null;
      return { result: r.accessToken, save: { accessToken: r.accessToken, refreshToken: r.refreshToken, expiresAt } };
    });
    if (token !== undefined) return token;
    if (!failure) throw new TokenUnavailableError('token_revoked', 'No Canvas token is stored for this integration.');
    if (refused && failure.reason === 'token_revoked' && deps.explainRefusal) {
      // Asking the key can fail too (Canvas down): the refusal's own reason stands then.
      failure = (await deps.explainRefusal(id).catch(() => undefined)) ?? failure;
    }
    if (failure.reason === 'token_revoked' || failure.reason === 'missing_scopes') await repo.deleteToken(id);
    if (failure.reason !== 'canvas_unreachable') await repo.markTokenFailed(id, failure.reason, failure.detail, failure.missingScopes);
    throw new TokenUnavailableError(failure.reason, failure.detail, failure.missingScopes);
  }

  function refresh(id: string, rejected: string): Promise<string> {
    const running = inflight.get(id);
    if (running) return running;
    const p = doRefresh(id, rejected).finally(() => inflight.delete(id));
    inflight.set(id, p);
    return p;
  }

  /**
   * A token leaves only for the Canvas it was issued for: the integration's current Canvas URL (a
   * change of URL drops the token in the same transaction). Checked AFTER the token was read, so a
   * client built before a URL change (a long job) cannot get a token minted for the new host.
   */
  async function assertIssuedFor(id: string, canvasUrl: string | undefined): Promise<void> {
    if (canvasUrl === undefined) return;
    if ((await repo.tokenCanvasUrl(id)) !== canvasUrl) {
      throw new TokenUnavailableError('token_revoked', `The stored token was not issued by ${canvasUrl} (the integration's Canvas URL changed); nothing was sent.`);
    }
  }

  return {
    forIntegration(id) {
      return {
        async current(canvasUrl) {
          const running = inflight.get(id);
          let token: string;
          if (running) token = await running;
          else {
            const t = await repo.getToken(id);
            if (!t) throw new TokenUnavailableError('token_revoked', 'No Canvas token is stored for this integration.');
            token = expiringSoon(t) ? await refresh(id, t.accessToken) : t.accessToken;
          }
          await assertIssuedFor(id, canvasUrl);
          return token;
        },
        async refresh(rejected, canvasUrl) {
          const token = await refresh(id, rejected);
          await assertIssuedFor(id, canvasUrl);
          return token;
        },
      };
    },
    refreshCount: () => refreshes,
  };
}

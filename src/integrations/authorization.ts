import { randomBytes } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import type { CanvasOAuth } from '../oauth/canvas-oauth.js';
import { newPkcePair } from '../oauth/pkce.js';
import type { OAuthStates } from '../store/oauth-states.js';
import type { IntegrationsRepository } from './integrations-repository.js';
import type { Integration } from './integration.js';

/** How long a started authorization may take before its state is refused. */
export const STATE_TTL_MS = 10 * 60 * 1000;

/** Name of the httpOnly cookie that binds a state to the browser that started the flow. */
export const BROWSER_COOKIE = 'cc_oauth_browser';

export interface StartedAuthorization {
  /** Canvas's authorize URL to redirect the browser to. */
  url: string;
  expiresAt: string;
}

export interface Authorization {
  /**
   * Starts Generate Keys for one integration in one browser: a random state (stored hashed,
   * single use, 10 minutes) bound to `browserSecret` (the {@link BROWSER_COOKIE} value) and a PKCE
   * S256 verifier (stored encrypted). Marks a not-yet-connected integration `pending`.
   * @throws AppError not_found for an unknown integration, validation_failed without a client secret.
   */
  start(integrationId: string, browserSecret: string): Promise<StartedAuthorization>;
}

/** A new browser-binding secret for the {@link BROWSER_COOKIE} cookie. */
export function newBrowserSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function createAuthorization(deps: {
  repo: IntegrationsRepository;
  states: OAuthStates;
  oauth: CanvasOAuth;
  clock: () => Date;
  redirectUri: string;
  /** The scopes to ask Canvas for, from the integration's features. */
  scopes: (integration: Integration) => string[];
}): Authorization {
  return {
    async start(integrationId, browserSecret) {
      const integration = await deps.repo.get(integrationId);
      if (!integration) throw new AppError('not_found', 'No such integration.');
      if (!integration.clientSecretSet) {
        throw new AppError('validation_failed', 'Save the developer key\'s client secret before Generate Keys.', { details: { field: 'clientSecret' } });
      }
      const state = randomBytes(32).toString('base64url');
      const { codeVerifier, codeChallenge } = await newPkcePair();
      const scopes = deps.scopes(integration);
      const expiresAt = new Date(deps.clock().getTime() + STATE_TTL_MS);
      await deps.states.save({ state, browserSecret, integrationId, codeVerifier, redirectUri: deps.redirectUri, scopes, expiresAt });
      if (integration.status.state === 'not_connected' || integration.status.state === 'failed') {
        await deps.repo.setStatus(integrationId, { ...integration.status, state: 'pending' });
      }
      const url = deps.oauth.authorizationUrl(integration, { state, codeChallenge, scopes });
      return { url, expiresAt: expiresAt.toISOString() };
    },
  };
}

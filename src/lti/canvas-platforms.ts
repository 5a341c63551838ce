/**
 * LTI 1.3 platform constants for Instructure-hosted Canvas and the
 * translation of an integration's `lti` registration into what the tool needs to accept launches.
 */

export const LTI_ENVIRONMENTS = ['production', 'beta', 'test', 'custom'] as const;
export type LtiEnvironment = (typeof LTI_ENVIRONMENTS)[number];

/** The optional LTI registration on an integration; the integration record embeds it. */
export interface LtiRegistration {
  environment: LtiEnvironment;
  clientId: string;
  deploymentIds: string[];
  /** Only for `custom` (self-hosted Canvas or the sandbox). */
  issuer?: string;
  authUrl?: string;
  jwksUrl?: string;
  /**
   * The LTI scopes Canvas granted the key, when known: from the Dynamic Registration answer, then
   * from launches (a course launch without the Names and Roles claim means the admin switched the
   * scope off at Canvas's review). Absent for keys entered by hand.
   */
  grantedScopes?: string[];
}

/** Alias kept for the LTI side's vocabulary. */
export type IntegrationLti = LtiRegistration;

/** Where a platform's launches come from and where the tool asks it for things. */
export interface PlatformEndpoints {
  /** `iss` of the id_token. All hosted Canvas instances share one issuer per environment. */
  issuer: string;
  /** OIDC authorization endpoint the browser is sent to (GET or POST). */
  authUrl: string;
  /** Platform JWKS that signs id_tokens. */
  jwksUrl: string;
  /** client_credentials token endpoint for LTI Advantage services: on the institution's own domain. */
  tokenUrl: string;
}

export const CANVAS_PRESETS: Record<Exclude<LtiEnvironment, 'custom'>, Omit<PlatformEndpoints, 'tokenUrl'>> = {
  production: {
    issuer: 'https://canvas.instructure.com',
    authUrl: 'https://sso.canvaslms.com/api/lti/authorize_redirect',
    jwksUrl: 'https://sso.canvaslms.com/api/lti/security/jwks',
  },
  beta: {
    issuer: 'https://canvas.beta.instructure.com',
    authUrl: 'https://sso.beta.canvaslms.com/api/lti/authorize_redirect',
    jwksUrl: 'https://sso.beta.canvaslms.com/api/lti/security/jwks',
  },
  test: {
    issuer: 'https://canvas.test.instructure.com',
    authUrl: 'https://sso.test.canvaslms.com/api/lti/authorize_redirect',
    jwksUrl: 'https://sso.test.canvaslms.com/api/lti/security/jwks',
  },
};

/**
 * Resolves the platform endpoints for an integration's LTI registration. The token URL is always
 * `{canvasUrl}/login/oauth2/token`: Canvas documents the token endpoint on the institution's own
 * domain; whether `sso.canvaslms.com` also serves it is not known.
 * For `custom` (self-hosted Canvas, the sandbox) issuer/authUrl/jwksUrl default to the Canvas URL's
 * own `/api/lti/...` paths when not given.
 */
export function platformEndpoints(canvasUrl: string, lti: IntegrationLti): PlatformEndpoints {
  const base = canvasUrl.replace(/\/+$/, '');
  const tokenUrl = `${base}/login/oauth2/token`;
  if (lti.environment === 'custom') {
    return {
      issuer: lti.issuer ?? base,
      authUrl: lti.authUrl ?? `${base}/api/lti/authorize_redirect`,
      jwksUrl: lti.jwksUrl ?? `${base}/api/lti/security/jwks`,
      tokenUrl,
    };
  }
  return { ...CANVAS_PRESETS[lti.environment], tokenUrl };
}

/** Parses the `integrations.lti` JSON column; null when absent or unusable (no client id). */
export function parseIntegrationLti(raw: string | null | undefined): IntegrationLti | null {
  if (!raw) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const env = o.environment;
  if (env !== 'production' && env !== 'beta' && env !== 'test' && env !== 'custom') return null;
  if (typeof o.clientId !== 'string' || o.clientId.trim() === '') return null;
  const str = (x: unknown) => (typeof x === 'string' && x.trim() !== '' ? x.trim() : undefined);
  return {
    environment: env,
    clientId: o.clientId.trim(),
    deploymentIds: Array.isArray(o.deploymentIds) ? o.deploymentIds.filter((d): d is string => typeof d === 'string') : [],
    issuer: str(o.issuer),
    authUrl: str(o.authUrl),
    jwksUrl: str(o.jwksUrl),
    ...(Array.isArray(o.grantedScopes) ? { grantedScopes: o.grantedScopes.filter((x): x is string => typeof x === 'string') } : {}),
  };
}

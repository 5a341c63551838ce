import { checkOutboundUrl, findOutboundRefusal, type OutboundPolicy } from '../net/url-guard.js';
import { CANVAS_PRESETS, platformEndpoints, type LtiEnvironment, type LtiRegistration } from './canvas-platforms.js';
import { CUSTOM_FIELDS, PLACEMENTS } from './launch-claims.js';
import { NRPS_SCOPE, toolUrls } from './tool-config.js';

/**
 * LTI 1.3 Dynamic Registration, the tool's side of the protocol: read the platform's OpenID
 * configuration, decide whether it is the integration's Canvas, build the registration Canvas
 * accepts, send it, and read what Canvas answered. No storage and no policy about who may
 * register (the integrations service owns both).
 */

export const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
const PLATFORM_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-platform-configuration';
const CANVAS_EXT = 'https://canvas.instructure.com/lti';
const LABEL = 'Exam companion';

/** What the tool needs from the platform's OpenID configuration. */
export interface PlatformConfiguration {
  issuer: string;
  registrationEndpoint: string;
  /** The root account's name, when Canvas says it (shown to the admin). */
  accountName: string | null;
  /** The root account's `lti_guid` (the account the registration token was issued in), when Canvas says it. */
  accountLtiGuid: string | null;
  productFamily: string | null;
}

/** Why a registration could not be made, in terms the page explains. */
export type RegistrationFailure =
  /** The registration URL lacks `openid_configuration` or `registration_token`. */
  | { kind: 'missing_parameters'; detail: string }
  /** The OpenID configuration is not on the integration's Canvas (or its issuer's host). */
  | { kind: 'wrong_canvas'; detail: string; host: string }
  /** The configuration's issuer is not the one this integration's launches come from. */
  | { kind: 'wrong_issuer'; detail: string; issuer: string; expected: string[] }
  /** The registration is for another root account than the one the integration's Canvas token reads. */
  | { kind: 'foreign_account'; detail: string; accountName: string | null }
  /** Canvas refused the registration token (expired, reused or not Canvas's): 401/403. */
  | { kind: 'token_refused'; detail: string; status: number }
  /** Canvas refused the registration itself (422): what it said, if anything. */
  | { kind: 'canvas_refused'; detail: string; status: number }
  /** Anything else: unreachable, refused by the outbound guard, a 5xx, an unreadable answer. */
  | { kind: 'failed'; detail: string; status?: number };

export type Result<T> = { ok: true; value: T } | { ok: false; failure: RegistrationFailure };

/** What Canvas created. `deploymentId` only when Canvas sends one (hosted Canvas creates it on the admin's confirmation). */
export interface RegistrationAnswer {
  clientId: string;
  deploymentId: string | null;
  /** The scopes Canvas granted, space separated. */
  scope: string;
}

/**
 * The registration request body Canvas's `Lti::IMS::Registration` accepts: both grant types,
 * `private_key_jwt`, only LTI scopes (no `openid`: Canvas answers 422 for it), account and course
 * navigation as two messages (each tells the launch its placement through `cc_placement`, since
 * ltijs drops Canvas's placement claim), course navigation on by default and visible to admins and
 * teachers only, and `privacy_level: public` so NRPS members carry names and emails for the
 * cross-check. `description` is left out: Canvas's parameter allow-list drops it.
 */
export function registrationRequest(publicUrl: string): Record<string, unknown> {
  const urls = toolUrls(publicUrl);
  return {
    application_type: 'web',
    grant_types: ['client_credentials', 'implicit'],
    response_types: ['id_token'],
    token_endpoint_auth_method: 'private_key_jwt',
    redirect_uris: [urls.launchUrl],
    initiate_login_uri: urls.loginUrl,
    jwks_uri: urls.jwksUrl,
    client_name: 'canvas-companion',
    scope: NRPS_SCOPE,
    [TOOL_CONFIGURATION]: {
      domain: new URL(publicUrl).host,
      target_link_uri: urls.launchUrl,
      claims: ['sub', 'iss', 'name', 'given_name', 'family_name', 'email'],
      custom_parameters: { ...CUSTOM_FIELDS },
      messages: PLACEMENTS.map((placement) => ({
        type: 'LtiResourceLinkRequest',
        target_link_uri: urls.launchUrl,
        label: LABEL,
        placements: [placement],
        custom_parameters: { cc_placement: placement },
        ...(placement === 'course_navigation' ? { [`${CANVAS_EXT}/course_navigation/default_enabled`]: true, [`${CANVAS_EXT}/visibility`]: 'admins' } : {}),
      })),
      [`${CANVAS_EXT}/privacy_level`]: 'public',
    },
  };
}

const originOf = (u: string): string | null => {
  try {
    return new URL(u).origin;
  } catch {
    return null;
  }
};

/**
 * Whether the integration's Canvas is Instructure-hosted: its Canvas URL, or the other name staff set
 * for it (a vanity domain's `*.instructure.com` twin), is an https `*.instructure.com` host. Only a
 * hosted Canvas may register with the issuers every hosted Canvas shares.
 */
export function isHostedCanvas(canvasUrl: string, otherUrl?: string | null): boolean {
  return [canvasUrl, otherUrl].some((u) => {
    if (!u) return false;
    try {
      const x = new URL(u);
      return x.protocol === 'https:' && x.port === '' && /^[a-z0-9-]+(\.[a-z0-9-]+)*\.instructure\.com$/i.test(x.hostname);
    } catch {
      return false;
    }
  });
}

/**
 * The issuers a registration for this integration may come from, and the LTI environment each
 * means. With an LTI registration already saved, only its issuer. Without one: the integration's
 * own Canvas URL (a self-hosted Canvas or the sandbox, environment `custom`), and, only when that
 * Canvas is Instructure-hosted ({@link isHostedCanvas}), the three issuers every hosted Canvas shares.
 */
export function acceptedIssuers(canvasUrl: string, current: LtiRegistration | null, otherUrl?: string | null): Array<{ issuer: string; environment: LtiEnvironment }> {
  if (current) return [{ issuer: platformEndpoints(canvasUrl, current).issuer, environment: current.environment }];
  const own = originOf(canvasUrl) ?? canvasUrl;
  const hosted = isHostedCanvas(canvasUrl, otherUrl)
    ? (Object.entries(CANVAS_PRESETS) as Array<[Exclude<LtiEnvironment, 'custom'>, { issuer: string }]>).map(([environment, p]) => ({ issuer: p.issuer, environment }))
    : [];
  return [...hosted, { issuer: own, environment: 'custom' as const }];
}

/**
 * Where an OpenID configuration may be fetched from: the integration's Canvas (or its other name),
 * or the host of an issuer it accepts (hosted Canvas serves it on the issuer's host,
 * `canvas.instructure.com`, outside development). Anything else is a configuration the
 * integration's Canvas did not hand out, and its registration token is not sent there.
 */
export function checkConfigurationUrl(url: string, canvasUrl: string, current: LtiRegistration | null, otherUrl?: string | null): Result<URL> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, failure: { kind: 'missing_parameters', detail: 'openid_configuration is not a URL.' } };
  }
  const allowed = new Set(
    [originOf(canvasUrl), otherUrl ? originOf(otherUrl) : null, ...acceptedIssuers(canvasUrl, current, otherUrl).map((a) => originOf(a.issuer))].filter((x): x is string => x !== null),
  );
  if (!allowed.has(u.origin)) {
    return { ok: false, failure: { kind: 'wrong_canvas', host: u.host, detail: `The registration comes from ${u.host}, which is not this integration's Canvas (${canvasUrl}).` } };
  }
  return { ok: true, value: u };
}

/**
 * The registration must be for the root account the integration's Canvas token belongs to: Canvas
 * puts that account's `lti_guid` in the OpenID configuration (`account_lti_guid`, for the root
 * account named in the registration token), and the token reads the same value from
 * `GET /api/v1/accounts/self?include[]=lti_guid`. `ownLtiGuid` null: the token could not read it
 * (no token yet), so only the window and the issuer decide.
 */
export function matchRootAccount(config: PlatformConfiguration, ownLtiGuid: string | null): Result<null> {
  if (ownLtiGuid === null || config.accountLtiGuid === null || config.accountLtiGuid === ownLtiGuid) return { ok: true, value: null };
  const named = config.accountName ? `"${config.accountName}"` : 'another account';
  return {
    ok: false,
    failure: {
      kind: 'foreign_account',
      accountName: config.accountName,
      detail: `Canvas says this registration is for the account ${named}, which is not the Canvas account this integration is connected to.`,
    },
  };
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A short, single-line account of what Canvas answered (its error messages when it sent any). */
export function describeCanvasAnswer(status: number, body: unknown): string {
  const messages: string[] = [];
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    if (Array.isArray(b.errors)) {
      for (const e of b.errors) {
        if (typeof e === 'string') messages.push(e);
        else if (typeof e === 'object' && e !== null && typeof (e as Record<string, unknown>).message === 'string') messages.push(String((e as Record<string, unknown>).message));
      }
    } else if (typeof b.errors === 'object' && b.errors !== null) {
      for (const [field, v] of Object.entries(b.errors)) messages.push(`${field}: ${Array.isArray(v) ? v.map((x) => (typeof x === 'object' && x !== null ? String((x as Record<string, unknown>).message ?? JSON.stringify(x)) : String(x))).join(', ') : String(v)}`);
    }
    if (typeof b.error === 'string') messages.push(b.error);
    if (typeof b.message === 'string') messages.push(b.message);
  } else if (typeof body === 'string' && body.trim() !== '' && !/^\s*</.test(body)) {
    messages.push(body.trim());
  }
  const said = messages.join('; ').replace(/\s+/g, ' ').slice(0, 500);
  return `HTTP ${status}${said ? `: ${said}` : ' (no message)'}`;
}

const networkFailure = (what: string, err: unknown): RegistrationFailure => {
  const refused = findOutboundRefusal(err);
  return { kind: 'failed', detail: refused ? `${what}: ${refused.message}` : `${what} failed: ${err instanceof Error ? err.message : String(err)}` };
};

/**
 * Reads the platform's OpenID configuration with the registration token as bearer (Canvas answers
 * 401 without it). Redirects are not followed: the token goes only to the URL checked beforehand.
 */
export async function fetchPlatformConfiguration(fetchImpl: typeof globalThis.fetch, url: URL, token: string, policy: OutboundPolicy): Promise<Result<PlatformConfiguration>> {
  const guard = checkOutboundUrl(url, policy);
  if (!guard.ok) return { ok: false, failure: { kind: 'failed', detail: `openid_configuration ${guard.why}.` } };
  let res: Response;
  try {
    res = await fetchImpl(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, redirect: 'manual' });
  } catch (err) {
    return { ok: false, failure: networkFailure('Reading the OpenID configuration', err) };
  }
  const body = await readJson(res).catch(() => null);
  if (res.status === 401 || res.status === 403) return { ok: false, failure: { kind: 'token_refused', status: res.status, detail: describeCanvasAnswer(res.status, body) } };
  if (!res.ok) return { ok: false, failure: { kind: 'failed', status: res.status, detail: `The OpenID configuration answered ${describeCanvasAnswer(res.status, body)}` } };
  const c = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const platform = (typeof c[PLATFORM_CONFIGURATION] === 'object' && c[PLATFORM_CONFIGURATION] !== null ? c[PLATFORM_CONFIGURATION] : {}) as Record<string, unknown>;
  if (typeof c.issuer !== 'string' || typeof c.registration_endpoint !== 'string') {
    return { ok: false, failure: { kind: 'failed', detail: 'The OpenID configuration has no issuer or registration_endpoint.' } };
  }
  return {
    ok: true,
    value: {
      issuer: c.issuer,
      registrationEndpoint: c.registration_endpoint,
      accountName: typeof platform[`${CANVAS_EXT}/account_name`] === 'string' ? String(platform[`${CANVAS_EXT}/account_name`]) : null,
      accountLtiGuid: typeof platform[`${CANVAS_EXT}/account_lti_guid`] === 'string' ? String(platform[`${CANVAS_EXT}/account_lti_guid`]) : null,
      productFamily: typeof platform.product_family_code === 'string' ? platform.product_family_code : null,
    },
  };
}

/** The environment of an accepted issuer, or the `wrong_issuer` failure. */
export function matchIssuer(issuer: string, canvasUrl: string, current: LtiRegistration | null, otherUrl?: string | null): Result<{ environment: LtiEnvironment; issuer: string }> {
  const accepted = acceptedIssuers(canvasUrl, current, otherUrl);
  const hit = accepted.find((a) => a.issuer === issuer);
  if (hit) return { ok: true, value: hit };
  return {
    ok: false,
    failure: {
      kind: 'wrong_issuer',
      issuer,
      expected: accepted.map((a) => a.issuer),
      detail: current
        ? `Canvas says its issuer is ${issuer}, but this integration's launches come from ${accepted[0]?.issuer ?? '(none)'}.`
        : `Canvas says its issuer is ${issuer}. This integration (Canvas at ${canvasUrl}) accepts one of: ${accepted.map((a) => a.issuer).join(', ')}.`,
    },
  };
}

/**
 * Sends the registration to `registration_endpoint` (which must be on the configuration's own
 * origin or the integration's Canvas, like the configuration itself) with the registration token
 * as bearer, and reads the client id (and a deployment id, when Canvas sends one).
 */
export async function postRegistration(
  fetchImpl: typeof globalThis.fetch,
  input: { endpoint: string; configurationUrl: URL; canvasUrl: string; token: string; body: Record<string, unknown>; policy: OutboundPolicy },
): Promise<Result<RegistrationAnswer>> {
  const endpoint = originOf(input.endpoint);
  if (!endpoint || (endpoint !== input.configurationUrl.origin && endpoint !== originOf(input.canvasUrl))) {
    return { ok: false, failure: { kind: 'wrong_canvas', host: endpoint ?? input.endpoint, detail: `The registration endpoint ${input.endpoint} is not on ${input.configurationUrl.host}, which sent the configuration.` } };
  }
  const guard = checkOutboundUrl(input.endpoint, input.policy);
  if (!guard.ok) return { ok: false, failure: { kind: 'failed', detail: `registration_endpoint ${guard.why}.` } };
  let res: Response;
  try {
    res = await fetchImpl(input.endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${input.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(input.body),
      redirect: 'manual',
    });
  } catch (err) {
    return { ok: false, failure: networkFailure('Sending the registration', err) };
  }
  const body = await readJson(res).catch(() => null);
  if (res.status === 401 || res.status === 403) return { ok: false, failure: { kind: 'token_refused', status: res.status, detail: describeCanvasAnswer(res.status, body) } };
  if (res.status === 422 || res.status === 400) return { ok: false, failure: { kind: 'canvas_refused', status: res.status, detail: describeCanvasAnswer(res.status, body) } };
  if (!res.ok) return { ok: false, failure: { kind: 'failed', status: res.status, detail: describeCanvasAnswer(res.status, body) } };
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const clientId = typeof b.client_id === 'string' || typeof b.client_id === 'number' ? String(b.client_id) : '';
  if (!/^\d{1,20}$/.test(clientId)) return { ok: false, failure: { kind: 'failed', status: res.status, detail: `Canvas answered without a usable client_id (${clientId ? 'not digits' : 'missing'}).` } };
  const tool = (typeof b[TOOL_CONFIGURATION] === 'object' && b[TOOL_CONFIGURATION] !== null ? b[TOOL_CONFIGURATION] : {}) as Record<string, unknown>;
  const deployment = tool.deployment_id ?? b.deployment_id;
  return {
    ok: true,
    value: {
      clientId,
      deploymentId: typeof deployment === 'string' && /^[A-Za-z0-9:_.-]{1,200}$/.test(deployment) ? deployment : null,
      scope: typeof b.scope === 'string' ? b.scope : '',
    },
  };
}

/** The key under which a registration token is remembered: its `uuid` claim, else its hash. */
export function registrationTokenKey(token: string, sha256: (s: string) => string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof payload.uuid === 'string' && payload.uuid.length > 0 && payload.uuid.length <= 200) return `uuid:${payload.uuid}`;
  } catch {
    // not a JWT: fall through to the hash
  }
  return `sha256:${sha256(token)}`;
}

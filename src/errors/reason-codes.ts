/**
 * The closed set of connection reason codes and the admin-facing remedy for each. A foundation
 * module: adapters (canvas, oauth, jobs) and services import it, so no lower layer has to reach up
 * into the integration service for this vocabulary. Adding a code here without a remedy fails to
 * compile; the place that detects it is the only other file to change.
 */

export const REASON_CODES = [
  'access_denied',
  'missing_scopes',
  'developer_key_off',
  'invalid_client',
  'redirect_uri_mismatch',
  'user_not_authorized',
  'includes_not_allowed',
  'sis_ids_hidden',
  'token_revoked',
  'token_owner_inactive',
  'state_invalid',
  'canvas_unreachable',
  'throttled',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/** What an admin should do about each reason; returned as `help` by the API and shown in the UI. */
export const REMEDIES: Record<ReasonCode, { title: string; remedy: string }> = {
  access_denied: {
    title: 'Authorization was cancelled in Canvas',
    remedy:
      'Click Generate Keys again and choose Authorize. If it keeps happening, check in Admin > Developer Keys that the key is ON and that your account may authorize apps.',
  },
  missing_scopes: {
    title: 'The developer key lacks scopes this service needs',
    remedy:
      'In Canvas, open Admin > Developer Keys, edit the API key, tick the scopes listed here (or paste the scoped token list), save, then click Generate Keys again.',
  },
  developer_key_off: {
    title: 'The developer key is OFF for this account',
    remedy:
      'In Canvas, open Admin > Developer Keys and switch the key\'s state to ON, then click Re-check: the token this service holds works again as soon as the key is ON, no new Generate Keys needed.',
  },
  invalid_client: {
    title: 'Canvas does not recognise the client id or secret',
    remedy:
      'Copy the client id (the number in the Details column) and the secret (Show Key) from Admin > Developer Keys again. If the key was deleted or deactivated, create or reactivate it.',
  },
  redirect_uri_mismatch: {
    title: "Our redirect URI is not on the developer key",
    remedy: 'Edit the developer key and add our redirect URI (shown on this page) to Redirect URIs, then save.',
  },
  user_not_authorized: {
    title: "The token owner's role lacks a Canvas permission",
    remedy:
      'Generate Keys with an account admin whose role has the permissions named in the check details, or grant them to the role in Admin > Permissions.',
  },
  includes_not_allowed: {
    title: '"Allow Include Parameters" is off on the developer key',
    remedy: 'Edit the developer key, tick "Allow Include Parameters" next to Enforce Scopes, save, then click Re-check.',
  },
  sis_ids_hidden: {
    title: 'SIS ids are hidden from the token owner',
    remedy:
      'Give the token owner\'s role the "SIS Data - read" permission in Admin > Permissions (or choose another ID type on the Configure page), then click Re-check.',
  },
  token_revoked: {
    title: 'The token was revoked or deleted in Canvas',
    remedy:
      'Click Generate Keys to authorize again. Canvas deletes a token when someone removes it in Canvas (Account > Settings > Approved Integrations), when an admin revokes it, or when a scope is removed from the developer key.',
  },
  token_owner_inactive: {
    title: 'The account that generated the token is no longer active',
    remedy: 'Click Generate Keys while signed in to Canvas as an active admin.',
  },
  state_invalid: {
    title: 'This authorization answer could not be matched to a request from this browser',
    remedy:
      'The link was used already, is older than 10 minutes, or was opened in another browser. Start Generate Keys again from this service.',
  },
  canvas_unreachable: {
    title: 'Canvas could not be reached',
    remedy: 'Check the Canvas URL and try again in a few minutes. Canvas may be down or slow.',
  },
  throttled: {
    title: 'Canvas kept throttling our requests',
    remedy: 'Nothing is lost: the job resumes from its checkpoint. Try again later or at a quieter time.',
  },
};

/**
 * Where a reason was met. A reason seen while authorizing (the Canvas answer to Generate Keys or the
 * configuration check, before any token exists) needs other advice than the same reason met by a
 * token this service already holds: a key turned OFF under a held token is fixed by turning it ON and
 * re-checking, while a key OFF at authorization needs a new Generate Keys; `client_not_allowed_for_user`
 * refuses the person who clicked Authorize, not the role of a token owner (there is none).
 */
export type RemedyContext = 'authorization' | 'token';

const AUTHORIZATION_REMEDIES: Partial<Record<ReasonCode, { title: string; remedy: string }>> = {
  developer_key_off: {
    title: 'The developer key is OFF for this account',
    remedy: 'In Canvas, open Admin > Developer Keys and switch the key\'s state to ON, then click Generate Keys.',
  },
  user_not_authorized: {
    title: 'The Canvas user who clicked Authorize may not use this developer key',
    remedy:
      'Canvas refused the person who authorized, before any token was issued: their account may not authorize this key (the key is limited to some users, or their role lacks permission to create access tokens). Sign in to Canvas as an account admin who may authorize apps and click Generate Keys again, or ask a Canvas admin to grant that permission in Admin > Permissions.',
  },
};

/** The names of the checks that speak of an authorization (no token held): their remedies are the authorization ones. */
export const AUTHORIZATION_CHECKS: readonly string[] = ['authorization', 'authorize_endpoint', 'client_credentials'];

/** The title and remedy of `reason` where it was met; see {@link RemedyContext}. */
export function remedyFor(reason: ReasonCode, context: RemedyContext = 'token'): { title: string; remedy: string } {
  return (context === 'authorization' ? AUTHORIZATION_REMEDIES[reason] : undefined) ?? REMEDIES[reason];
}

/** True when `v` is one of {@link REASON_CODES}. */
export function isReasonCode(v: unknown): v is ReasonCode {
  return typeof v === 'string' && (REASON_CODES as readonly string[]).includes(v);
}

/**
 * LTI 1.3 Dynamic Registration, the Canvas side: the OpenID configuration Canvas hands to a tool
 * and the validation of the tool's registration request (`Lti::IMS::Registration`), with Canvas's
 * exact messages. Pure functions; the routes live in the LTI platform plugin.
 */

export const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
export const PLATFORM_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-platform-configuration';
const CANVAS = 'https://canvas.instructure.com/lti';

/** Scopes an LTI registration may ask for (Canvas's LTI scopes; no `openid`, no REST scopes). */
export const LTI_SCOPES = [
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
  `${CANVAS}/public_jwk/scope/update`,
  `${CANVAS}/account_lookup/scope/show`,
  'https://canvas.instructure.com/lti-ags/progress/scope/show',
  `${CANVAS}/data_services/scope/show`,
  `${CANVAS}/feature_flags/scope/show`,
  `${CANVAS}/page_content/show`,
];

/** The scopes the OpenID configuration advertises (AGS, NRPS, public JWK update, account lookup, progress). */
export const SCOPES_SUPPORTED = [
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
  `${CANVAS}/public_jwk/scope/update`,
  `${CANVAS}/account_lookup/scope/show`,
  'https://canvas.instructure.com/lti-ags/progress/scope/show',
];

/** Placements the sandbox knows; a registration's unknown placements are dropped silently. */
export const PLACEMENTS = [
  'account_navigation', 'assignment_edit', 'assignment_group_menu', 'assignment_index_menu', 'assignment_menu',
  'assignment_selection', 'assignment_view', 'collaboration', 'course_assignments_menu', 'course_home_sub_navigation',
  'course_navigation', 'course_settings_sub_navigation', 'discussion_topic_index_menu', 'discussion_topic_menu',
  'editor_button', 'file_index_menu', 'file_menu', 'global_navigation', 'homework_submission', 'link_selection',
  'migration_selection', 'module_group_menu', 'module_index_menu', 'module_menu', 'post_grades', 'quiz_index_menu',
  'quiz_menu', 'resource_selection', 'student_context_card', 'submission_type_selection', 'tool_configuration',
  'top_navigation', 'user_navigation', 'wiki_index_menu', 'wiki_page_menu',
];

/** The OpenID configuration Canvas answers at `openid_configuration` (platform side). */
export function openIdConfiguration(origin: string, issuer: string, accountName: string, accountGuid: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${origin}/api/lti/authorize_redirect`,
    registration_endpoint: `${origin}/api/lti/registrations`,
    jwks_uri: `${origin}/login/oauth2/jwks`,
    token_endpoint: `${origin}/login/oauth2/token`,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    scopes_supported: SCOPES_SUPPORTED,
    response_types_supported: ['id_token'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['sub', 'picture', 'email', 'name', 'given_name', 'family_name', 'locale'],
    subject_types_supported: ['public'],
    authorization_server: new URL(origin).host,
    [PLATFORM_CONFIGURATION]: {
      product_family_code: 'canvas',
      version: 'vCloud',
      messages_supported: [
        { type: 'LtiResourceLinkRequest', placements: PLACEMENTS },
        { type: 'LtiDeepLinkingRequest', placements: ['assignment_selection', 'editor_button', 'link_selection', 'homework_submission', 'resource_selection'] },
      ],
      notice_types_supported: ['LtiHelloWorldNotice'],
      variables: ['Canvas.user.id', 'Canvas.course.id', 'Canvas.account.id', 'Canvas.membership.roles'],
      [`${CANVAS}/account_name`]: accountName,
      [`${CANVAS}/account_lti_guid`]: accountGuid,
    },
  };
}

const isHttpUri = (v: unknown): boolean => {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
};

/** Validation messages of a registration request, in Canvas's words; empty when valid. */
export function validateRegistration(body: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  if (body['application_type'] !== 'web') errors.push("application_type: Must be 'web'");
  const grants = arr(body['grant_types']);
  if (!grants.includes('client_credentials') || !grants.includes('implicit')) errors.push('grant_types: Must include client_credentials, implicit');
  if (!arr(body['response_types']).includes('id_token')) errors.push('response_types: Must include id_token');
  if (body['token_endpoint_auth_method'] !== 'private_key_jwt') errors.push("token_endpoint_auth_method: Must be 'private_key_jwt'");
  const redirects = arr(body['redirect_uris']);
  if (redirects.length === 0 || !redirects.every(isHttpUri)) errors.push('redirect_uris: Must only contain valid URIs');
  for (const f of ['initiate_login_uri', 'jwks_uri']) if (!isHttpUri(body[f])) errors.push(`${f}: is invalid`);
  if (typeof body['client_name'] !== 'string' || body['client_name'] === '') errors.push("client_name: can't be blank");
  const scopes = String(body['scope'] ?? '').split(' ').filter(Boolean);
  const invalid = scopes.filter((s) => !LTI_SCOPES.includes(s));
  if (invalid.length) errors.push(`scope: Invalid scopes: ${invalid.join(', ')}`);
  for (const f of ['logo_uri', 'client_uri', 'tos_uri', 'policy_uri']) {
    if (body[f] !== undefined && body[f] !== null && !isHttpUri(body[f])) errors.push(`${f}: is invalid`);
  }
  const tool = body[TOOL_CONFIGURATION];
  if (typeof tool !== 'object' || tool === null || Array.isArray(tool)) errors.push(`${TOOL_CONFIGURATION}: can't be blank`);
  else {
    const t = tool as Record<string, unknown>;
    const schema: string[] = [];
    if (typeof t['domain'] !== 'string') schema.push('domain is required');
    if (typeof t['target_link_uri'] !== 'string') schema.push('target_link_uri is required');
    if (!Array.isArray(t['claims'])) schema.push('claims is required');
    if (!Array.isArray(t['messages'])) schema.push('messages is required');
    else if (!t['messages'].every((m) => typeof m === 'object' && m !== null && typeof (m as Record<string, unknown>)['type'] === 'string')) schema.push('messages[].type is required');
    const custom = t['custom_parameters'];
    if (custom !== undefined && (typeof custom !== 'object' || custom === null || Object.values(custom).some((v) => typeof v !== 'string'))) {
      schema.push('custom_parameters values must be strings');
    }
    const privacy = t[`${CANVAS}/privacy_level`];
    if (privacy !== undefined && !['public', 'name_only', 'email_only', 'anonymous'].includes(String(privacy))) schema.push('privacy_level is invalid');
    if (schema.length) errors.push(`${TOOL_CONFIGURATION}: ${JSON.stringify(schema)}`);
  }
  return errors;
}

/** `privacy_level` when the registration does not give one, inferred from `claims`. */
export function inferPrivacyLevel(claims: string[]): string {
  const name = claims.some((c) => ['name', 'given_name', 'family_name'].includes(c));
  const email = claims.includes('email');
  if (claims.includes('picture') || (name && email)) return 'public';
  if (name) return 'name_only';
  if (email) return 'email_only';
  return 'anonymous';
}

export interface RegistrationMessage {
  type: string;
  target_link_uri?: string;
  label?: string;
  custom_parameters?: Record<string, string>;
  placements: string[];
}

/** The tool configuration claim as Canvas stores it: placements defaulted and filtered, privacy inferred. */
export function normaliseToolConfiguration(raw: Record<string, unknown>): Record<string, unknown> {
  const messages = (raw['messages'] as Array<Record<string, unknown>>).map((m) => {
    const asked = Array.isArray(m['placements']) ? (m['placements'] as string[]) : ['link_selection'];
    return { ...m, placements: asked.filter((p) => PLACEMENTS.includes(p)) };
  });
  const out: Record<string, unknown> = { ...raw, messages };
  // The controller's parameter allow-list drops these even though the docs list them.
  delete out['description'];
  delete out['secondary_domains'];
  delete out[`${CANVAS}/tool_id`];
  out[`${CANVAS}/privacy_level`] ??= inferPrivacyLevel(raw['claims'] as string[]);
  return out;
}

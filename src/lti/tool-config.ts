import { CUSTOM_FIELDS, PLACEMENTS } from './launch-claims.js';

export const NRPS_SCOPE = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';

/** The URLs an LTI developer key for this tool must carry, all derived from PUBLIC_URL. */
export interface ToolUrls {
  /** OIDC login initiation URL. */
  loginUrl: string;
  /** Target link URI, and the one redirect URI Canvas must list (it matches redirect URIs exactly). */
  launchUrl: string;
  /** The tool's public JWKS (client assertions for NRPS are signed with these keys). */
  jwksUrl: string;
  /** Where Canvas can fetch the configuration JSON. */
  configUrl: string;
}

/** The tool's URLs under the `/lti` mount. */
export function toolUrls(publicUrl: string, integrationId?: string): ToolUrls {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    loginUrl: `${base}/lti/login`,
    launchUrl: `${base}/lti`,
    jwksUrl: `${base}/lti/keys`,
    configUrl: `${base}/lti/config.json${integrationId ? `?integration=${encodeURIComponent(integrationId)}` : ''}`,
  };
}

/**
 * The tool configuration in the JSON format Canvas's LTI 1.3 developer key accepts "by URL"
 * (doc lti_dev_key_config.md). `privacy_level: public` makes Canvas send names and emails, which the
 * NRPS cross-check needs to match members to the REST roster. Each placement sets `cc_placement`
 * because ltijs does not keep Canvas's placement claim. Course navigation is visible to admins and
 * teachers only; students never see the link (a student launch still gets a polite page).
 */
export function canvasToolConfiguration(publicUrl: string) {
  const urls = toolUrls(publicUrl);
  const domain = new URL(publicUrl).host;
  const label = 'Exam companion';
  return {
    title: 'canvas-companion',
    description:
      'Connects this Canvas to the exam platform: admins open the LMS Settings (Generate Keys, status, sync); instructors see which students will sit exams and why others are skipped.',
    oidc_initiation_url: urls.loginUrl,
    target_link_uri: urls.launchUrl,
    public_jwk_url: urls.jwksUrl,
    scopes: [NRPS_SCOPE],
    custom_fields: { ...CUSTOM_FIELDS },
    extensions: [
      {
        domain,
        tool_id: 'canvas-companion',
        platform: 'canvas.instructure.com',
        privacy_level: 'public',
        settings: {
          text: label,
          platform: 'canvas.instructure.com',
          placements: PLACEMENTS.map((placement) => ({
            placement,
            text: label,
            message_type: 'LtiResourceLinkRequest',
            target_link_uri: urls.launchUrl,
            custom_fields: { cc_placement: placement },
            ...(placement === 'course_navigation' ? { visibility: 'admins', default: 'enabled' } : {}),
          })),
        },
      },
    ],
  };
}

import type { Container } from './container.js';
import type { Integration } from './integrations/integration.js';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from './simulator/demo-world.js';

export const DEMO_STAFF = { email: 'demo@example.edu', name: 'Demo Staff', password: 'canvas-sandbox-tour' };
export const DEMO_INTEGRATION_NAME = 'Demo University (Canvas sandbox)';
/** The sandbox's LTI 1.3 developer key (a second key next to the API key) and its deployment. */
export const DEMO_LTI_CLIENT_ID = '10000000000042';
export const DEMO_LTI_DEPLOYMENT = '1:demo-deployment';

/**
 * The demo's data: a staff user and an integration pointing at the sandbox at `sandboxUrl`, with
 * its LTI key. Idempotent: a second run reuses what the first created (and follows a moved sandbox
 * for LTI).
 */
export async function seedDemo(container: Container, sandboxUrl: string): Promise<Integration> {
  if (!(await container.staff.list()).some((s) => s.email === DEMO_STAFF.email)) {
    await container.staff.create(DEMO_STAFF);
  }
  let integration = (await container.integrations.list()).find((i) => i.name === DEMO_INTEGRATION_NAME);
  integration ??= await container.integrations.create({
    name: DEMO_INTEGRATION_NAME,
    canvasUrl: sandboxUrl,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    accountId: 'self',
    courseIdType: 'sis_course_id',
    userIdType: 'sis_user_id',
    studentRoles: ['StudentEnrollment'],
    // The demo key grants the grade scopes too, so the tour can post exam scores.
    features: ['course_refresh', 'roster_sync', 'grade_passback'],
  });

  // LTI: the browser meets the sandbox as `localhost` (same site as the service), so the demo's
  // plain-http Lax cookies survive the platform's form post; the issuer stays the sandbox URL.
  const lti = { environment: 'custom' as const, clientId: DEMO_LTI_CLIENT_ID, deploymentIds: [DEMO_LTI_DEPLOYMENT], issuer: sandboxUrl, authUrl: `${demoLtiHost(sandboxUrl)}/api/lti/authorize_redirect` };
  if (JSON.stringify(integration.lti) !== JSON.stringify(lti)) integration = (await container.integrations.update(integration.id, { lti })) ?? integration;
  await container.lti?.syncIntegration?.(integration.id);
  return integration;
}

export const DEMO_REGISTRATION_NAME = 'Demo College (LTI by Dynamic Registration)';

/**
 * A second integration on the sandbox with no LTI key, and registration by URL open for it (the
 * demo's stand-in for the staff member who clicks "Allow registration by URL"): pasting its
 * registration URL into the sandbox's "register an app" page walks through Dynamic Registration.
 */
export async function seedRegistrationDemo(container: Container, sandboxUrl: string): Promise<Integration> {
  let integration = (await container.integrations.list()).find((i) => i.name === DEMO_REGISTRATION_NAME);
  integration ??= await container.integrations.create({
    name: DEMO_REGISTRATION_NAME,
    canvasUrl: sandboxUrl,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    accountId: 'self',
    courseIdType: 'sis_course_id',
    userIdType: 'sis_user_id',
    studentRoles: ['StudentEnrollment'],
  });
  if (!integration.lti) await container.ltiRegistration.openWindow(integration.id, { scope: 'platform', label: 'demo setup' });
  await pointDemoSignInAtLocalhost(container, integration.id, sandboxUrl);
  return integration;
}

/**
 * What demo staff would do once the registration saved a key: point its sign-in at the sandbox as
 * `localhost`, the service's site, so the demo's plain-http Lax cookies survive the platform's form
 * post (the same choice {@link seedDemo} makes for the first integration). A registration never sets
 * this itself: where launches are sent is staff's to choose. Returns whether it changed anything.
 */
export async function pointDemoSignInAtLocalhost(container: Container, integrationId: string, sandboxUrl: string): Promise<boolean> {
  const lti = (await container.integrations.get(integrationId))?.lti;
  if (!lti || lti.environment !== 'custom' || lti.authUrl) return false;
  await container.integrations.update(integrationId, { lti: { ...lti, authUrl: `${demoLtiHost(sandboxUrl)}/api/lti/authorize_redirect` } });
  await container.lti?.syncIntegration?.(integrationId);
  return true;
}

/** The sandbox's URL as the browser should meet it for LTI: `localhost`, the service's site. */
export function demoLtiHost(sandboxUrl: string): string {
  return sandboxUrl.replace('127.0.0.1', 'localhost');
}

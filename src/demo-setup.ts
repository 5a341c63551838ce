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

/** The sandbox's URL as the browser should meet it for LTI: `localhost`, the service's site. */
export function demoLtiHost(sandboxUrl: string): string {
  return sandboxUrl.replace('127.0.0.1', 'localhost');
}

import type { Server } from 'node:http';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { createContainer } from './container.js';
import { buildDemoWorld, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from './simulator/demo-world.js';
import { createLtiPlatform, type LtiWorld } from './simulator/lti-platform.js';
import { createCanvasSandbox } from './simulator/sandbox.js';

const SANDBOX_PORT = 4000;
const DEMO_STAFF = { email: 'demo@example.edu', name: 'Demo Staff', password: 'canvas-sandbox-tour' };
const DEMO_INTEGRATION_NAME = 'Demo University (Canvas sandbox)';
/** The sandbox's LTI 1.3 developer key (a second key next to the API key) and its deployment. */
const DEMO_LTI_CLIENT_ID = '10000000000042';
const DEMO_LTI_DEPLOYMENT = '1:demo-deployment';

/**
 * `npm run demo`: the Canvas sandbox with a seeded mid-size university on :4000, and the service on
 * the embedded default (SQLite under ./data/demo) on :3000, with a demo staff user and a demo
 * integration pointing at the sandbox. Idempotent: a second run reuses what the first created.
 */
async function demo(): Promise<void> {
  let config;
  try {
    config = loadConfig({
      PORT: '3000',
      PUBLIC_URL: 'http://localhost:3000',
      DATA_DIR: './data/demo',
      ALLOW_INSECURE_CANVAS_URLS: 'true',
      LOG_LEVEL: 'warn',
      HEALTH_CHECK_INTERVAL_MINUTES: '15',
      ...pick(process.env, ['PORT', 'LOG_LEVEL', 'DATA_DIR']),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }

  const world = buildDemoWorld({});
  const ltiPlatform = await createLtiPlatform();
  const sandbox = createCanvasSandbox({ world, latencyMs: 20, plugins: [ltiPlatform.plugin] });
  const sandboxUrl = await sandbox.start(SANDBOX_PORT, '127.0.0.1');

  const container = await createContainer(config);
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
  });

  // LTI: the browser meets the sandbox as `localhost` (same site as the service), so the demo's
  // plain-http Lax cookies survive the platform's form post; the issuer stays the sandbox URL.
  const ltiAuthHost = sandboxUrl.replace('127.0.0.1', 'localhost');
  const lti = { environment: 'custom' as const, clientId: DEMO_LTI_CLIENT_ID, deploymentIds: [DEMO_LTI_DEPLOYMENT], issuer: sandboxUrl, authUrl: `${ltiAuthHost}/api/lti/authorize_redirect` };
  if (JSON.stringify(integration.lti) !== JSON.stringify(lti)) integration = (await container.integrations.update(integration.id, { lti })) ?? integration;
  await container.lti?.syncIntegration?.(integration.id);
  const ltiWorld: LtiWorld = {
    issuer: sandboxUrl,
    tools: [{ clientId: DEMO_LTI_CLIENT_ID, deploymentIds: [DEMO_LTI_DEPLOYMENT], configUrl: `${config.publicUrl}/lti/config.json?integration=${integration.id}` }],
  };
  sandbox.world.lti = ltiWorld;

  const app = createApp(container);
  await container.sync.runner.start();
  container.onClose(() => container.sync.runner.stop());
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(config.port, () => resolve(s));
  });

  const base = config.publicUrl;
  // The demo's whole point is this text on the terminal, not a log line.
  process.stdout.write(
    [
      '',
      'canvas-companion demo is running',
      '',
      `  Service         ${base}/login`,
      `    staff login   ${DEMO_STAFF.email} / ${DEMO_STAFF.password}`,
      `    integration   ${base}/integrations/${integration.id}  (click "Check configuration", then "Generate Keys")`,
      '',
      `  Canvas sandbox  ${sandboxUrl}  (${world.courses.length} courses, ${world.sections.length} sections, ${world.enrollments.length} enrollments)`,
      '    Canvas logins admin/password (every permission), limited/password (no SIS read), notoken/password (may not authorize)',
      `    counters      ${sandboxUrl}/__sandbox/counters`,
      '',
      '  LTI launches (the sandbox plays Canvas; open in a browser):',
      `    admin         ${ltiAuthHost}/__lti/launch?user=1&placement=account_navigation   -> LMS Settings, signed in for this integration only`,
      `    instructor    ${ltiAuthHost}/__lti/launch?user=4&course=1001&placement=course_navigation   -> read-only course page with the NRPS cross-check`,
      `    student       ${ltiAuthHost}/__lti/launch?user=5&course=1001&placement=course_navigation   -> "nothing for you here"`,
      `    in an iframe  ${sandboxUrl}/__lti/launch?frame=1&user=1&placement=account_navigation   -> cross-site frame: "continue in a new window"`,
      `    LTI setup     ${base}/integrations/${integration.id}/lti`,
      '',
      '  Data in ./data/demo (delete the folder to start over). Ctrl+C stops both.',
      '',
    ].join('\n') + '\n',
  );

  const stop = () => {
    server.close();
    server.closeAllConnections();
    void Promise.allSettled([container.close(), sandbox.stop()])
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function pick(env: Record<string, string | undefined>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (env[k]) out[k] = env[k]!;
  return out;
}

demo().catch((err: unknown) => {
  console.error(`demo failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

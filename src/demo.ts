import type { Server } from 'node:http';
import { createApp } from './app.js';
import { ConfigError } from './config/config.js';
import { demoCliCommand, loadDemoConfig, type DemoConfig } from './config/demo-config.js';
import { withEnvFile } from './config/env-file.js';
import { createContainer } from './container.js';
import {
  createDemoWebhookReceiver,
  DEMO_LTI_CLIENT_ID,
  DEMO_LTI_DEPLOYMENT,
  DEMO_RECEIVER_PATH,
  DEMO_STAFF,
  DEMO_SYNC_LIST_COURSES,
  demoLtiHost,
  demoRegisterLink,
  pointDemoSignInAtLocalhost,
  registerDemoWebhook,
  seedDemo,
  seedDemoSyncList,
  seedRegistrationDemo,
} from './demo-setup.js';
import { buildDemoWorld } from './simulator/demo-world.js';
import { createLtiPlatform, type LtiWorld } from './simulator/lti-platform.js';
import { createCanvasSandbox } from './simulator/sandbox.js';

const SANDBOX_PORT = 4000;

/**
 * `npm run demo`: the Canvas sandbox with a seeded mid-size university on :4000, and the service on
 * the embedded default (SQLite under ./data/demo unless DATA_DIR or DATABASE_URL says otherwise) on :3000, with a demo staff user and a demo
 * integration pointing at the sandbox. Idempotent: a second run reuses what the first created.
 */
async function demo(): Promise<void> {
  let demoConfig: DemoConfig;
  try {
    demoConfig = loadDemoConfig(withEnvFile(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const { config } = demoConfig;

  const world = buildDemoWorld({});
  const ltiPlatform = await createLtiPlatform();
  const receiver = createDemoWebhookReceiver();
  const sandbox = createCanvasSandbox({ world, latencyMs: 20, plugins: [receiver.plugin, ltiPlatform.plugin] });
  const sandboxUrl = await sandbox.start(SANDBOX_PORT, '127.0.0.1');

  const container = await createContainer(config);
  const integration = await seedDemo(container, sandboxUrl);
  const registering = await seedRegistrationDemo(container, sandboxUrl);
  const receiverUrl = `${sandboxUrl}${DEMO_RECEIVER_PATH}`;
  await registerDemoWebhook(container, integration.id, receiverUrl, receiver);
  // Demo staff's step after a registration (see pointDemoSignInAtLocalhost), done as soon as it lands;
  // and the sync list, filled once Generate Keys connected the integration and its courses are known.
  let syncListSeeded = false;
  const follow = setInterval(() => {
    void pointDemoSignInAtLocalhost(container, registering.id, sandboxUrl).catch(() => undefined);
    if (!syncListSeeded) {
      void seedDemoSyncList(container, integration.id)
        .then((r) => {
          if (r === 'seeded' || r === 'already_listed') syncListSeeded = true;
          if (r === 'seeded') process.stdout.write(`demo: the sync list now lists courses ${DEMO_SYNC_LIST_COURSES.join(', ')}\n`);
        })
        .catch(() => undefined);
    }
  }, 2000);
  follow.unref();
  container.onClose(() => clearInterval(follow));
  const ltiAuthHost = demoLtiHost(sandboxUrl);
  const ltiWorld: LtiWorld = {
    issuer: sandboxUrl,
    // Canvas's platform-storage frame lives on the OIDC auth origin, as sso.canvaslms.com does.
    authOrigin: new URL(ltiAuthHost).origin,
    tools: [{ clientId: DEMO_LTI_CLIENT_ID, deploymentIds: [DEMO_LTI_DEPLOYMENT], configUrl: `${config.publicUrl}/lti/config.json?integration=${integration.id}` }],
  };
  sandbox.world.lti = ltiWorld;

  const app = createApp(container);
  await container.sync.runner.start();
  container.onClose(() => container.sync.runner.stop());
  container.webhooks.worker.start();
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
      `    change it     ${sandboxUrl}/__sandbox/?course=1001  (add, drop, conclude, move a student; change a role; rename or unpublish)`,
      '',
      '  Changes flowing to the exam platform (after Generate Keys; the demo then lists a few courses):',
      `    1. sync list      ${base}/integrations/${integration.id}/sync-list  -> "Sync now" (the first run sends every roster as added)`,
      `    2. change Canvas  ${sandboxUrl}/__sandbox/?course=1001  -> e.g. "Add student" or "Drop"`,
      '    3. sync list      -> "Sync now" again, then "Recent changes" shows exactly what changed',
      `    4. change log API curl -H "authorization: Bearer <API token>" '${base}/api/v1/integrations/${integration.id}/changes?after=0'`,
      `       (an API token: ${demoCliCommand(demoConfig, `tokens create --name demo`)})`,
      `    5. webhooks       ${receiverUrl}  (roster.changed, signature verified; delivery log at ${base}/webhooks)`,
      '',
      '  LTI launches (the sandbox plays Canvas; open in a browser):',
      `    admin         ${ltiAuthHost}/__lti/launch?user=1&placement=account_navigation   -> LMS Settings, signed in for this integration only`,
      `    instructor    ${ltiAuthHost}/__lti/launch?user=4&course=1001&placement=course_navigation   -> read-only course page with the NRPS cross-check`,
      `    student       ${ltiAuthHost}/__lti/launch?user=5&course=1001&placement=course_navigation   -> "nothing for you here"`,
      `    in an iframe  ${sandboxUrl}/__lti/launch?frame=1&user=4&course=1001&placement=course_navigation   -> cross-site frame (platform storage): the course page inside the frame`,
      `                  ${sandboxUrl}/__lti/launch?frame=1&user=1&placement=account_navigation   -> an admin: a read-only summary in the frame, "Manage in a new window" for changes`,
      `    LTI setup     ${base}/integrations/${integration.id}/lti`,
      '  LTI Dynamic Registration (the sandbox plays Canvas\'s "+ LTI Registration"; open in a browser):',
      `    register      ${demoRegisterLink(sandboxUrl, base, registering.id)}`,
      `    its LTI page  ${base}/integrations/${registering.id}/lti  (registration by URL is open for an hour; reopen it there)`,
      '',
      `  Data            ${dataWhere(config)}`,
      `    CLI on it     ${demoCliCommand(demoConfig, 'staff list')}`,
      '',
      '  Ctrl+C stops both.',
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

/** Where the demo's data is, and how to start over when that is a folder of its own. */
function dataWhere(config: DemoConfig['config']): string {
  if (config.database.kind === 'postgres') return `Postgres (DATABASE_URL), secret key from SECRET_KEY`;
  return `${config.database.file}  (secret key in ${config.dataDir}; delete them to start over)`;
}

demo().catch((err: unknown) => {
  console.error(`demo failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

import type { Container } from './container.js';
import type { CreateIntegrationInput, Integration } from './integrations/integration.js';
import { Webhook } from 'standardwebhooks';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from './simulator/demo-world.js';
import type { SandboxPlugin } from './simulator/sandbox.js';

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
  // The demo key grants the grade scopes too, so the tour can post exam scores.
  let integration = await demoIntegration(container, DEMO_INTEGRATION_NAME, sandboxUrl, { features: ['course_refresh', 'roster_sync', 'grade_passback'] });

  // LTI: the browser meets the sandbox as `localhost` (same site as the service), so the demo's
  // plain-http Lax cookies survive the platform's form post; the issuer stays the sandbox URL.
  const lti = { environment: 'custom' as const, clientId: DEMO_LTI_CLIENT_ID, deploymentIds: [DEMO_LTI_DEPLOYMENT], issuer: sandboxUrl, authUrl: `${demoLtiHost(sandboxUrl)}/api/lti/authorize_redirect` };
  if (JSON.stringify(integration.lti) !== JSON.stringify(lti)) integration = (await container.integrations.update(integration.id, { lti })) ?? integration;
  await container.lti?.syncIntegration?.(integration.id);
  return integration;
}

/** The demo integration of that name on the sandbox's demo key, created on the first run. */
async function demoIntegration(container: Container, name: string, sandboxUrl: string, extra: Partial<CreateIntegrationInput> = {}): Promise<Integration> {
  const existing = (await container.integrations.list()).find((i) => i.name === name);
  return (
    existing ??
    (await container.integrations.create({
      name,
      canvasUrl: sandboxUrl,
      clientId: DEMO_CLIENT_ID,
      clientSecret: DEMO_CLIENT_SECRET,
      accountId: 'self',
      courseIdType: 'sis_course_id',
      userIdType: 'sis_user_id',
      studentRoles: ['StudentEnrollment'],
      ...extra,
    }))
  );
}

export const DEMO_REGISTRATION_NAME = 'Demo College (LTI by Dynamic Registration)';

/**
 * A second integration on the sandbox with no LTI key, and registration by URL open for it (the
 * demo's stand-in for the staff member who clicks "Allow registration by URL"): pasting its
 * registration URL into the sandbox's "register an app" page walks through Dynamic Registration.
 */
export async function seedRegistrationDemo(container: Container, sandboxUrl: string): Promise<Integration> {
  const integration = await demoIntegration(container, DEMO_REGISTRATION_NAME, sandboxUrl);
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

/**
 * The link the demo prints to try Dynamic Registration: the sandbox's "+ LTI Registration" window
 * framing this service's registration URL for the integration `integrationId`.
 */
export function demoRegisterLink(sandboxUrl: string, serviceBase: string, integrationId: string): string {
  return `${sandboxUrl}/__lti/register?url=${encodeURIComponent(`${serviceBase}/lti/register?integration=${integrationId}`)}`;
}

/** The sandbox's URL as the browser should meet it for LTI: `localhost`, the service's site. */
export function demoLtiHost(sandboxUrl: string): string {
  return sandboxUrl.replace('127.0.0.1', 'localhost');
}

/** The demo's sync list: the sandbox's ready course, its sub-account, cross-listed, next-term and own-dates courses. */
export const DEMO_SYNC_LIST_COURSES = ['1001', '1008', '1010', '1011', '1012'] as const;
/** Who the demo's own changes are recorded as in the audit log. */
export const DEMO_ACTOR = 'demo setup';
/** Where the demo's webhook receiver listens on the sandbox. */
export const DEMO_RECEIVER_PATH = '/__demo/webhooks';

/** Where seeding the demo's sync list stands (it needs a connected integration and its course list). */
export type DemoSyncListSeed = 'not_connected' | 'refreshing' | 'seeded' | 'already_listed';

/**
 * Puts a handful of the sandbox's courses on the demo integration's sync list, once: the sync list
 * draws on the last course refresh, so before Generate Keys it does nothing (`not_connected`), and
 * with no course refreshed yet it starts a refresh (`refreshing`) and is called again later. A sync
 * list that already lists anything is left as staff left it (`already_listed`).
 */
export async function seedDemoSyncList(container: Container, integrationId: string): Promise<DemoSyncListSeed> {
  if ((await container.syncList.list(integrationId, { limit: 1 })).total > 0) return 'already_listed';
  const integration = await container.integrations.get(integrationId);
  if (!integration || integration.status.state === 'not_connected' || integration.status.state === 'pending') return 'not_connected';
  const known = await container.sync.courses.listCourses(integrationId, { limit: 1 });
  if (known.courses.length === 0) {
    await container.sync.startRefresh(integrationId);
    return 'refreshing';
  }
  const r = await container.syncList.change(integrationId, { add: [...DEMO_SYNC_LIST_COURSES] }, DEMO_ACTOR);
  return r.added.length > 0 ? 'seeded' : 'refreshing';
}

/** One message the demo's webhook receiver got, with the outcome of verifying its signature. */
export interface ReceivedWebhook {
  receivedAt: string;
  webhookId: string;
  verified: boolean;
  /** Why verification failed (absent when verified). */
  problem?: string;
  type: string;
  data: Record<string, unknown>;
}

/** The demo's webhook receiver: a sandbox plugin plus the secret it verifies with. */
export interface DemoWebhookReceiver {
  plugin: SandboxPlugin;
  /** Set once the endpoint is created (its secret is shown only then). */
  setSecret(secret: string): void;
  /** Newest first. */
  messages(): ReceivedWebhook[];
}

/** How many messages the receiver keeps (a demo, not a store). */
const RECEIVER_KEEP = 200;

/**
 * A tiny webhook receiver on the sandbox, standing in for the exam platform: `POST /__demo/webhooks`
 * verifies the Standard Webhooks signature with the `standardwebhooks` package (an independent
 * verifier, not the service's signer) and keeps the message; `GET /__demo/webhooks` lists them
 * (HTML, refreshing itself) and `GET /__demo/webhooks.json` as JSON. A message that fails
 * verification is kept and shown as such, and answered 400 so the delivery log shows it too.
 */
export function createDemoWebhookReceiver(): DemoWebhookReceiver {
  let verifier: Webhook | undefined;
  const received: ReceivedWebhook[] = [];
  const plugin: SandboxPlugin = ({ app }) => {
    app.post(DEMO_RECEIVER_PATH, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h] ?? '')]));
        let verified = false;
        let problem: string | undefined;
        let payload: { type?: unknown; data?: unknown } = {};
        try {
          if (!verifier) throw new Error('no secret yet');
          payload = verifier.verify(body, headers) as typeof payload;
          verified = true;
        } catch (err) {
          problem = err instanceof Error ? err.message : String(err);
          try {
            payload = JSON.parse(body) as typeof payload;
          } catch {
            payload = {};
          }
        }
        received.unshift({
          receivedAt: new Date().toISOString(),
          webhookId: headers['webhook-id'] ?? '',
          verified,
          ...(problem ? { problem } : {}),
          type: typeof payload.type === 'string' ? payload.type : '(unknown)',
          data: typeof payload.data === 'object' && payload.data !== null ? (payload.data as Record<string, unknown>) : {},
        });
        received.length = Math.min(received.length, RECEIVER_KEEP);
        res.status(verified ? 200 : 400).type('text/plain').send(verified ? 'ok' : 'signature not verified');
      });
    });
    app.get(`${DEMO_RECEIVER_PATH}.json`, (_req, res) => {
      res.status(200).json({ messages: received });
    });
    app.get(DEMO_RECEIVER_PATH, (_req, res) => {
      res
        .status(200)
        .set({ 'Content-Security-Policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
        .type('html')
        .send(renderReceiver(received));
    });
  };
  return {
    plugin,
    setSecret: (secret) => void (verifier = new Webhook(secret)),
    messages: () => [...received],
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function renderReceiver(received: readonly ReceivedWebhook[]): string {
  const rows = received
    .map(
      (m) =>
        `<tr><td>${esc(m.receivedAt)}</td><td><code>${esc(m.webhookId)}</code></td><td>${esc(m.type)}</td><td>${m.verified ? 'verified' : `NOT verified: ${esc(m.problem ?? '')}`}</td><td><code>${esc(JSON.stringify(m.data))}</code></td></tr>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3"><title>Demo webhook receiver</title></head>
<body><h1>Demo webhook receiver (the exam platform's side)</h1>
<p>Messages the service sent to this receiver, newest first, each checked with the endpoint's signing secret by the <code>standardwebhooks</code> package. This page reloads every 3 seconds.</p>
${received.length === 0 ? '<p id="none">Nothing received yet: change something on the sandbox page, then press Sync now on the sync list.</p>' : `<table id="messages" border="1" cellpadding="4"><thead><tr><th>Received</th><th>webhook-id</th><th>Event</th><th>Signature</th><th>Data</th></tr></thead><tbody>\n${rows}\n</tbody></table>`}
</body></html>
`;
}

/**
 * Points a fresh webhook endpoint of the demo integration at the receiver: any endpoint already at
 * `url` is removed first, because its signing secret was shown only when it was created and the
 * receiver (new in every demo process) has to verify with it. Returns the new endpoint's id.
 */
export async function registerDemoWebhook(container: Container, integrationId: string, url: string, receiver: Pick<DemoWebhookReceiver, 'setSecret'>): Promise<string> {
  for (const e of await container.webhooks.service.list()) {
    if (e.url === url) await container.webhooks.service.remove(e.id, DEMO_ACTOR);
  }
  const { endpoint, secret } = await container.webhooks.service.create({ url, events: ['roster.changed', 'integration.status_changed'], integrationId }, DEMO_ACTOR);
  receiver.setSecret(secret);
  return endpoint.id;
}

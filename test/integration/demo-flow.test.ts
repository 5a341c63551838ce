import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createDemoWebhookReceiver,
  DEMO_RECEIVER_PATH,
  DEMO_SYNC_LIST_COURSES,
  registerDemoWebhook,
  seedDemo,
  seedDemoSyncList,
  type DemoWebhookReceiver,
} from '../../src/demo-setup.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';
import { until } from '../support/instances.js';

/**
 * The demo's story end to end, with the demo's own setup against an in-process sandbox: Generate
 * Keys, the seeded sync list, Sync now, a change at the sandbox (as its demo page makes it), Sync
 * now again → exactly one change-log entry, and the demo receiver got a verified `roster.changed`
 * whose cursor is that entry's seq.
 */
describe.each(testDatabases().map((d) => [d.name, d] as const))('the demo flow: Canvas change → change log → webhook (%s)', (_name, tdb) => {
  let h: Harness;
  let receiver: DemoWebhookReceiver;
  let integrationId: string;

  const syncNow = async () => {
    const job = await h.c.syncList.startSync(integrationId, 'demo test');
    const done = await until('the sync list sync ended', async () => {
      const j = await h.c.sync.jobs.get(job.id);
      return j && ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
    });
    expect(done.state).toBe('succeeded');
  };

  beforeAll(async () => {
    receiver = createDemoWebhookReceiver();
    h = await startHarness(tdb, { courses: 12, plugins: [receiver.plugin] });
    h.c.onClose(() => h.c.sync.runner.stop());
    h.c.onClose(() => h.c.webhooks.worker.stop());
    await h.c.sync.runner.start();
    h.c.webhooks.worker.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('seeds the sync list only once connected, then a sandbox change reaches the change log and the receiver', async () => {
    integrationId = (await seedDemo(h.c, h.sandbox.url)).id;
    const receiverUrl = `${h.sandbox.url}${DEMO_RECEIVER_PATH}`;
    const endpointId = await registerDemoWebhook(h.c, integrationId, receiverUrl, receiver);
    // A second demo start replaces the endpoint (its secret is shown once) instead of adding one.
    const secondId = await registerDemoWebhook(h.c, integrationId, receiverUrl, receiver);
    expect(secondId).not.toBe(endpointId);
    expect((await h.c.webhooks.service.list()).filter((e) => e.url === receiverUrl).map((e) => e.id)).toEqual([secondId]);

    expect(await seedDemoSyncList(h.c, integrationId)).toBe('not_connected');
    await h.authorize(integrationId);
    expect((await h.c.integrations.get(integrationId))!.status.state).toBe('verified');
    expect(await seedDemoSyncList(h.c, integrationId)).toBe('refreshing');
    const seeded = await until('the course list is refreshed and the sync list seeded', async () => {
      const r = await seedDemoSyncList(h.c, integrationId);
      return r === 'seeded' ? r : undefined;
    });
    expect(seeded).toBe('seeded');
    const listed = (await h.c.syncList.list(integrationId, { limit: 100 })).courses.map((c) => c.canvasId).sort();
    expect(listed).toEqual([...DEMO_SYNC_LIST_COURSES].sort());
    expect(await seedDemoSyncList(h.c, integrationId)).toBe('already_listed');

    // Sync now: the first run stores the rosters, everyone as added (one roster.changed per course).
    await syncNow();
    const rosterHooks = () => receiver.messages().filter((m) => m.type === 'roster.changed');
    await until('one roster.changed per listed course', () => rosterHooks().length === DEMO_SYNC_LIST_COURSES.length, 10_000);
    const before = await h.api('GET', `/api/v1/integrations/${integrationId}/changes?after=0&limit=1000`);
    expect(before.status).toBe(200);
    const cursor = String((before.body.changes as Array<{ seq: number }>).reduce((m, c) => Math.max(m, c.seq), 0));

    // A change at the sandbox, as its demo page's "Add student" makes it (addUser, then enroll).
    const user = await control('addUser', { name: 'Sam Newstudent', sisUserId: 'S-DEMO-NEW' });
    const enrollment = await control('enroll', { userId: user.id, courseId: '1001' });
    expect(enrollment.courseId).toBe('1001');

    await syncNow();
    const after = await h.api('GET', `/api/v1/integrations/${integrationId}/changes?after=${cursor}`);
    expect(after.status).toBe(200);
    const changes = after.body.changes as Array<{ seq: number; type: string; courseCanvasId: string; data: Record<string, unknown> }>;
    expect(changes).toHaveLength(1);
    const [change] = changes;
    expect(change).toMatchObject({ type: 'enrollment.added', courseCanvasId: '1001' });
    expect(JSON.stringify(change!.data)).toContain('S-DEMO-NEW');

    const hook = await until(
      'the receiver got the roster change',
      () => receiver.messages().find((m) => m.type === 'roster.changed' && m.data.courseCanvasId === '1001' && m.data.cursor === String(change!.seq)),
      10_000,
    );
    expect(hook.verified).toBe(true);
    expect(hook.data).toMatchObject({ integrationId, courseCanvasId: '1001', added: 1, removed: 0, updated: 0, cursor: String(change!.seq) });
    // Only that course's change followed the first run's messages.
    expect(rosterHooks()).toHaveLength(DEMO_SYNC_LIST_COURSES.length + 1);
    expect(receiver.messages().every((m) => m.verified)).toBe(true);

    // The receiver's page lists it; a forged message is kept but shown as not verified, and refused.
    const page = await fetch(`${receiverUrl}`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain(hook.webhookId);
    const forged = await fetch(receiverUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
      body: JSON.stringify({ type: 'roster.changed', data: {} }),
    });
    expect(forged.status).toBe(400);
    expect(receiver.messages()[0]).toMatchObject({ webhookId: 'msg_forged', verified: false });
  });

  async function control(method: string, args: unknown): Promise<any> {
    const res = await fetch(`${h.sandbox.url}/__sandbox/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(args) });
    const body = (await res.json()) as { result?: unknown; error?: string };
    if (res.status !== 200) throw new Error(`${method}: ${body.error}`);
    return body.result;
  }
});

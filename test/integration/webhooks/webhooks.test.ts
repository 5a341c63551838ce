import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { createAuditLog } from '../../../src/audit/audit-log.js';
import { createGuardedFetch, type GuardedFetch } from '../../../src/net/guarded-fetch.js';
import type { Store } from '../../../src/store/database.js';
import { createVault, generateSecretKey, parseSecretKey } from '../../../src/vault/vault.js';
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from '../../../src/webhooks/delivery.js';
import { createDeliveryWorker, DELIVERY_LOG_RETENTION_MS, type DeliveryWorker } from '../../../src/webhooks/delivery-worker.js';
import type { ChangeRecordLike } from '../../../src/webhooks/events.js';
import { createWebhooksRepository } from '../../../src/webhooks/webhooks-repository.js';
import { createWebhooksService, type WebhooksService } from '../../../src/webhooks/webhooks-service.js';
import { testDatabases } from '../../support/databases.js';
import { startReceiver } from '../../support/webhook-receiver.js';

/** A Standard Webhooks signature computed by hand from the spec: HMAC-SHA256 of `id.timestamp.body` with the base64 secret. */
function specSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

const change = (seq: number, type: ChangeRecordLike['type'], courseCanvasId: string | null, data: Record<string, unknown> = {}): ChangeRecordLike => ({
  seq,
  at: '2026-12-06T10:00:00.000Z',
  integrationId: 'int-1',
  type,
  courseCanvasId,
  data,
});

describe.each(testDatabases())('webhooks on $name', (tdb) => {
  let store: Store & { close(): Promise<void> };
  let now: Date;
  let service: WebhooksService;
  let worker: DeliveryWorker;
  let fetchImpl: GuardedFetch;
  const vault = createVault(parseSecretKey(generateSecretKey()));

  beforeEach(async () => {
    store = await tdb.open();
    now = new Date();
    const clock = () => now;
    const repo = createWebhooksRepository(store.db, store.dialect);
    fetchImpl = createGuardedFetch({ allowInsecure: true });
    service = createWebhooksService({ repo, vault, audit: createAuditLog({ db: store.db, clock }), clock });
    worker = createDeliveryWorker({ repo, vault, fetch: fetchImpl, clock });
  });
  afterEach(async () => {
    await worker.stop();
    await fetchImpl.close();
    await store.close();
  });

  it('signs each message so an independent verifier accepts it (the standardwebhooks Webhook class and a hand-written HMAC)', async () => {
    const rx = await startReceiver();
    try {
      const { secret, endpoint } = await service.create({ url: rx.url, events: ['roster.changed'] }, 'staff:test');
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      await service.publish({ event: 'roster.changed', integrationId: 'int-1', data: { courseCanvasId: '7' } });
      expect(await worker.runOnce()).toBe(1);
      expect(rx.received).toHaveLength(1);
      const hook = rx.received[0]!;
      const headers = { 'webhook-id': String(hook.headers['webhook-id']), 'webhook-timestamp': String(hook.headers['webhook-timestamp']), 'webhook-signature': String(hook.headers['webhook-signature']) };
      expect(new Webhook(secret).verify(hook.body, headers)).toMatchObject({ type: 'roster.changed', data: { courseCanvasId: '7' } });
      expect(headers['webhook-signature']).toBe(specSignature(secret, headers['webhook-id'], headers['webhook-timestamp'], hook.body));
      // Another secret does not verify: the check above can fail.
      expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(hook.body, headers)).toThrow();
      const [d] = await service.deliveries(endpoint.id);
      expect(d).toMatchObject({ id: headers['webhook-id'], status: 'delivered', attempt: 1, lastStatusCode: 200 });
    } finally {
      await rx.close();
    }
  });

  it('retries a failing receiver with the same webhook-id, after the first delay', async () => {
    let answer = 500;
    const rx = await startReceiver(() => answer);
    try {
      const { endpoint } = await service.create({ url: rx.url, events: ['job.finished'] }, 'staff:test');
      await service.publish({ event: 'job.finished', integrationId: 'int-1', data: { job: { id: 'j1' } } });
      expect(await worker.runOnce()).toBe(1);
      let [d] = await service.deliveries(endpoint.id);
      expect(d).toMatchObject({ status: 'failed', attempt: 1, lastStatusCode: 500 });
      expect(Date.parse(d!.nextAttemptAt!) - now.getTime()).toBe(RETRY_DELAYS_MS[0]);
      expect(RETRY_DELAYS_MS[0]).toBeLessThanOrEqual(60_000);
      // Not due yet: nothing is sent.
      expect(await worker.runOnce()).toBe(0);
      now = new Date(now.getTime() + RETRY_DELAYS_MS[0]);
      answer = 204;
      expect(await worker.runOnce()).toBe(1);
      [d] = await service.deliveries(endpoint.id);
      expect(d).toMatchObject({ status: 'delivered', attempt: 2, lastStatusCode: 204 });
      expect(rx.received).toHaveLength(2);
      expect(rx.received[1]!.headers['webhook-id']).toBe(rx.received[0]!.headers['webhook-id']);
      expect(rx.received[1]!.body).toBe(rx.received[0]!.body);
      expect((await service.get(endpoint.id)).failingSince).toBeNull();
    } finally {
      await rx.close();
    }
  });

  it('disables the endpoint with the reason once the retry budget (about a day) is spent, and sends it nothing more', async () => {
    const rx = await startReceiver(() => 503);
    try {
      const { endpoint } = await service.create({ url: rx.url, events: ['job.finished'] }, 'staff:test');
      await service.publish({ event: 'job.finished', integrationId: 'int-1', data: {} });
      const start = now.getTime();
      for (let i = 0; i < MAX_ATTEMPTS; i++) {
        expect(await worker.runOnce()).toBe(1);
        const [d] = await service.deliveries(endpoint.id);
        if (i < MAX_ATTEMPTS - 1) {
          expect(d!.status).toBe('failed');
          now = new Date(Date.parse(d!.nextAttemptAt!));
        }
      }
      const hours = (now.getTime() - start) / 3_600_000;
      expect(hours).toBeGreaterThan(20);
      expect(hours).toBeLessThan(30);
      const [dead] = await service.deliveries(endpoint.id);
      expect(dead).toMatchObject({ status: 'dead', attempt: MAX_ATTEMPTS, nextAttemptAt: null });
      const disabled = await service.get(endpoint.id);
      expect(disabled.disabledAt).not.toBeNull();
      expect(disabled.disabledReason).toContain('HTTP 503');
      expect(rx.received).toHaveLength(MAX_ATTEMPTS);
      expect(await service.publish({ event: 'job.finished', integrationId: 'int-1', data: {} })).toEqual([]);
      await expect(service.redeliver(endpoint.id, dead!.id, 'staff:test')).rejects.toMatchObject({ code: 'conflict' });
      // Re-enabled, a redelivery sends the same message once more (and a failure then does not disable it again).
      await service.enable(endpoint.id, 'staff:test');
      await service.redeliver(endpoint.id, dead!.id, 'staff:test');
      expect(await worker.runOnce()).toBe(1);
      expect(rx.received.at(-1)!.headers['webhook-id']).toBe(dead!.id);
      expect((await service.get(endpoint.id)).disabledAt).toBeNull();
    } finally {
      await rx.close();
    }
  });

  it('counts a receiver that does not answer in time, or answers with a redirect (not followed), as a failed attempt', async () => {
    const { createServer } = await import('node:http');
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/slow') return; // never answers
      if (req.url === '/moved') {
        res.writeHead(307, { location: '/elsewhere' });
        return void res.end();
      }
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const repo = createWebhooksRepository(store.db, store.dialect);
    const quick = createDeliveryWorker({ repo, vault, fetch: fetchImpl, clock: () => now, timeoutMs: 300 });
    try {
      const slow = await service.create({ url: `${origin}/slow`, events: ['job.finished'] }, 'staff:test');
      const moved = await service.create({ url: `${origin}/moved`, events: ['job.finished'] }, 'staff:test');
      await service.publish({ event: 'job.finished', integrationId: 'int-1', data: {} });
      expect(await quick.runOnce()).toBe(2);
      const [s] = await service.deliveries(slow.endpoint.id);
      expect(s).toMatchObject({ status: 'failed', attempt: 1, lastStatusCode: null, lastError: 'The receiver did not answer within 0.3 s.' });
      const [m] = await service.deliveries(moved.endpoint.id);
      expect(m).toMatchObject({ status: 'failed', attempt: 1, lastStatusCode: 307, lastError: 'The receiver answered HTTP 307 (redirects are not followed).' });
      expect(hits.sort()).toEqual(['/moved', '/slow']);
    } finally {
      await quick.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('redelivers a delivered message with the same webhook-id and a new attempt', async () => {
    const rx = await startReceiver();
    try {
      const { endpoint } = await service.create({ url: rx.url, events: ['job.finished'] }, 'staff:test');
      const [id] = await service.publish({ event: 'job.finished', integrationId: 'int-1', data: {} });
      await worker.runOnce();
      const again = await service.redeliver(endpoint.id, id!, 'staff:test');
      expect(again).toMatchObject({ id, status: 'pending', attempt: 1 });
      await worker.runOnce();
      expect(rx.received.map((r) => r.headers['webhook-id'])).toEqual([id, id]);
      expect((await service.deliveries(endpoint.id))[0]).toMatchObject({ id, status: 'delivered', attempt: 2 });
    } finally {
      await rx.close();
    }
  });

  it('change listener: one roster.changed per course with counts and cursor, status changes as their own event, in the transaction', async () => {
    const rx = await startReceiver();
    try {
      const { endpoint } = await service.create({ url: rx.url, events: ['roster.changed', 'integration.status_changed'] }, 'staff:test');
      const records = [
        change(11, 'enrollment.added', '101'),
        change(12, 'enrollment.added', '101'),
        change(13, 'enrollment.removed', '101'),
        change(14, 'course_admin.added', '202'),
        change(15, 'enrollment.updated', '101'),
        change(16, 'course.updated', '202'),
        change(17, 'integration.status_changed', null, { from: 'verified', to: 'failed', reasons: ['token_revoked'] }),
      ];
      await store.db.transaction().execute((tx) => service.changeListener(tx, records));
      await worker.runOnce();
      const bodies = rx.received.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
      expect(bodies.filter((b) => b.type === 'roster.changed').map((b) => b.data).sort((a, b) => String(a.courseCanvasId).localeCompare(String(b.courseCanvasId)))).toEqual([
        { integrationId: 'int-1', courseCanvasId: '101', added: 2, removed: 1, updated: 1, cursor: '15' },
        { integrationId: 'int-1', courseCanvasId: '202', added: 1, removed: 0, updated: 1, cursor: '16' },
      ]);
      expect(bodies.filter((b) => b.type === 'integration.status_changed').map((b) => b.data)).toEqual([
        { integrationId: 'int-1', from: 'verified', to: 'failed', reasons: ['token_revoked'] },
      ]);
      expect(await service.deliveries(endpoint.id)).toHaveLength(3);
    } finally {
      await rx.close();
    }
  });

  it('change listener writes nothing when the transaction rolls back', async () => {
    const { endpoint } = await service.create({ url: 'http://127.0.0.1:9/never', events: ['roster.changed'] }, 'staff:test');
    await expect(
      store.db.transaction().execute(async (tx) => {
        await service.changeListener(tx, [change(1, 'enrollment.added', '101')]);
        // Inside the transaction the row exists: the rollback below is what removes it.
        expect(await tx.selectFrom('webhook_deliveries').select('id').execute()).toHaveLength(1);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await service.deliveries(endpoint.id)).toEqual([]);
  });

  it('sends only the events an endpoint chose, of its integration (or all when it names none)', async () => {
    const rx = await startReceiver();
    try {
      const mine = await service.create({ url: rx.url, events: ['job.finished'], integrationId: 'int-1' }, 'staff:test');
      const all = await service.create({ url: rx.url, events: ['job.finished', 'roster.changed'] }, 'staff:test');
      await service.publish({ event: 'job.finished', integrationId: 'int-2', data: {} });
      await service.publish({ event: 'roster.changed', integrationId: 'int-1', data: {} });
      expect(await service.deliveries(mine.endpoint.id)).toHaveLength(0);
      expect((await service.deliveries(all.endpoint.id)).map((d) => d.event).sort()).toEqual(['job.finished', 'roster.changed']);
    } finally {
      await rx.close();
    }
  });

  it('the guarded fetch refuses a webhook host that resolves to a private address unless insecure URLs are allowed', async () => {
    const rx = await startReceiver();
    const strict = createGuardedFetch({ allowInsecure: false, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const repo = createWebhooksRepository(store.db, store.dialect);
    const strictWorker = createDeliveryWorker({ repo, vault, fetch: strict, clock: () => now });
    try {
      const port = new URL(rx.url).port;
      const { endpoint } = await service.create({ url: `https://hooks.example.com:${port}/hook`, events: ['job.finished'] }, 'staff:test');
      await service.publish({ event: 'job.finished', integrationId: 'int-1', data: {} });
      await strictWorker.runOnce();
      const [d] = await service.deliveries(endpoint.id);
      expect(d).toMatchObject({ status: 'failed', lastStatusCode: null });
      expect(d!.lastError).toMatch(/loopback address 127\.0\.0\.1/);
      expect(rx.received).toHaveLength(0);
    } finally {
      await strictWorker.stop();
      await strict.close();
      await rx.close();
    }
  });

  it('keeps 30 days of finished deliveries in the log, and never prunes one still waiting', async () => {
    const rx = await startReceiver(() => 500);
    try {
      const { endpoint } = await service.create({ url: rx.url, events: ['job.finished'] }, 'staff:test');
      await service.publish({ event: 'job.finished', integrationId: 'int-1', data: {} });
      await worker.runOnce();
      const [failing] = await service.deliveries(endpoint.id);
      await service.redeliver(endpoint.id, failing!.id, 'staff:test');
      const done = createWebhooksRepository(store.db, store.dialect);
      const [old] = await service.publish({ event: 'job.finished', integrationId: 'int-1', data: {} });
      // Mark the second one delivered by hand, as if long ago.
      await store.db.updateTable('webhook_deliveries').set({ status: 'delivered', next_attempt_at: null }).where('id', '=', old!).execute();
      now = new Date(now.getTime() + DELIVERY_LOG_RETENTION_MS + 60_000);
      const later = createDeliveryWorker({ repo: done, vault, fetch: fetchImpl, clock: () => now });
      await later.runOnce();
      const left = await service.deliveries(endpoint.id);
      expect(left.map((d) => d.id)).toEqual([failing!.id]);
    } finally {
      await rx.close();
    }
  });

  it('keeps the secret encrypted at rest', async () => {
    const { secret, endpoint } = await service.create({ url: 'https://hooks.example.com/x', events: ['job.finished'] }, 'staff:test');
    const row = await store.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', endpoint.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    expect(JSON.stringify(await service.list())).not.toContain(secret.slice(6));
  });
});

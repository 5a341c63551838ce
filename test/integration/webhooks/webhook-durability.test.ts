import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createAuditLog } from '../../../src/audit/audit-log.js';
import { createGuardedFetch } from '../../../src/net/guarded-fetch.js';
import { openStore, type Store } from '../../../src/store/database.js';
import { createVault, generateSecretKey, parseSecretKey } from '../../../src/vault/vault.js';
import { createDeliveryWorker } from '../../../src/webhooks/delivery-worker.js';
import { createWebhooksRepository } from '../../../src/webhooks/webhooks-repository.js';
import { createWebhooksService } from '../../../src/webhooks/webhooks-service.js';
import { testDatabases } from '../../support/databases.js';
import { startReceiver } from '../../support/webhook-receiver.js';

const WRITER = join(import.meta.dirname, '..', '..', 'support', 'webhook-outbox-writer.ts');

describe('a process SIGKILLed between the change and the delivery: the message goes out after a restart (sqlite)', () => {
  it('delivers the outbox row claimed by the dead process once its claim expires', async () => {
    const store = await testDatabases()[0].open();
    const secretKey = generateSecretKey();
    const vault = createVault(parseSecretKey(secretKey));
    const rx = await startReceiver();
    const fetchImpl = createGuardedFetch({ allowInsecure: true });
    let now = new Date();
    const repo = createWebhooksRepository(store.db, store.dialect);
    const service = createWebhooksService({ repo, vault, audit: createAuditLog({ db: store.db, clock: () => now }), clock: () => now });
    const worker = createDeliveryWorker({ repo, vault, fetch: fetchImpl, clock: () => now });
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER], {
      env: { ...process.env, NODE_OPTIONS: '', CC_DB_FILE: (store.config as { file: string }).file, CC_SECRET_KEY: secretKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    try {
      const { endpoint } = await service.create({ url: rx.url, events: ['roster.changed'] }, 'staff:test');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the writer never started sending: ${output}`)), 30_000);
        child.stdout.on('data', (d) => {
          output += String(d);
          if (output.includes('sending')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.stderr.on('data', (d) => (output += String(d)));
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // The dead process holds a claim: a worker that starts at once leaves the row alone…
      expect(await worker.runOnce()).toBe(0);
      expect(rx.received).toHaveLength(0);
      // …and sends it when the claim has expired (the longest send plus a margin).
      now = new Date(Date.now() + 31_000);
      expect(await worker.runOnce()).toBe(1);
      expect(rx.received).toHaveLength(1);
      expect(JSON.parse(rx.received[0]!.body)).toMatchObject({ type: 'roster.changed', data: { courseCanvasId: '101', added: 1, cursor: '41' } });
      expect((await service.deliveries(endpoint.id))[0]).toMatchObject({ status: 'delivered' });
    } finally {
      if (child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
      await worker.stop();
      await fetchImpl.close();
      await rx.close();
      await store.close();
    }
  }, 60_000);
});

const pgOnly = testDatabases().filter((d) => d.name === 'postgres');
// Without Postgres (no TEST_DATABASE_URL) this is a todo, as for the pg-boss runners; CI sets the URL.
if (pgOnly.length === 0) describe('two delivery workers on one postgres database', () => it.todo('runs when TEST_DATABASE_URL=postgres://… is set'));

if (pgOnly.length > 0) describe.each(pgOnly)('two delivery workers on one $name database', (tdb) => {
  it('never deliver one message twice', async () => {
    const first = await tdb.open();
    const second: Store = openStore(first.config);
    const vault = createVault(parseSecretKey(generateSecretKey()));
    // The receiver holds its answers until more requests are in flight than one worker's batch (5)
    // can make: both workers then hold claims at the same moment, the case where a double send could happen.
    const rx = await startReceiver();
    rx.server.removeAllListeners('request');
    const seen: string[] = [];
    const held: Array<() => void> = [];
    let overlapped = false;
    const release = () => {
      for (const answer of held.splice(0)) answer();
    };
    const fallback = setTimeout(release, 10_000);
    rx.server.on('request', (req, res) => {
      seen.push(String(req.headers['webhook-id']));
      req.resume();
      if (overlapped) return void res.end('ok');
      held.push(() => res.end('ok'));
      if (held.length > 5) {
        overlapped = true;
        clearTimeout(fallback);
        release();
      }
    });
    const fetchImpl = createGuardedFetch({ allowInsecure: true });
    const clock = () => new Date();
    const service = createWebhooksService({ repo: createWebhooksRepository(first.db, 'postgres'), vault, audit: createAuditLog({ db: first.db, clock }), clock });
    const workers = [first, second].map((s) => createDeliveryWorker({ repo: createWebhooksRepository(s.db, 'postgres'), vault, fetch: fetchImpl, clock, batch: 5 }));
    try {
      await service.create({ url: rx.url, events: ['job.finished'] }, 'staff:test');
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) ids.push(...(await service.publish({ event: 'job.finished', integrationId: 'int-1', data: { n: i } })));
      const drain = async (w: (typeof workers)[number]) => {
        let sent = 0;
        for (let n = await w.runOnce(); n > 0; n = await w.runOnce()) sent += n;
        return sent;
      };
      const counts = await Promise.all(workers.map(drain));
      expect(counts[0]! + counts[1]!).toBe(60);
      expect(overlapped).toBe(true);
      expect(seen.sort()).toEqual([...ids].sort());
      expect(new Set(seen).size).toBe(60);
    } finally {
      clearTimeout(fallback);
      release();
      await fetchImpl.close();
      await rx.close();
      await second.close();
      await first.close();
    }
  }, 60_000);
});

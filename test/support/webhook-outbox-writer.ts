/**
 * A separate process for the SIGKILL test: env CC_DB_FILE, CC_SECRET_KEY. Appends a change (the
 * outbox row written in the change's transaction), then starts a delivery worker whose HTTP call
 * never answers, prints `sending` once the worker has claimed the row and is sending it, and waits
 * to be killed.
 */
import { createAuditLog } from '../../src/audit/audit-log.js';
import { openStore } from '../../src/store/database.js';
import { createVault, parseSecretKey } from '../../src/vault/vault.js';
import { createDeliveryWorker } from '../../src/webhooks/delivery-worker.js';
import { createWebhooksRepository } from '../../src/webhooks/webhooks-repository.js';
import { createWebhooksService } from '../../src/webhooks/webhooks-service.js';

const store = openStore({ kind: 'sqlite', file: process.env.CC_DB_FILE! });
const vault = createVault(parseSecretKey(process.env.CC_SECRET_KEY!));
const clock = () => new Date();
const repo = createWebhooksRepository(store.db, store.dialect);
const service = createWebhooksService({ repo, vault, audit: createAuditLog({ db: store.db, clock }), clock });
await store.db.transaction().execute(async (tx) => {
  await service.changeListener(tx, [{ seq: 41, at: clock().toISOString(), integrationId: 'int-1', type: 'enrollment.added', courseCanvasId: '101', data: {} }]);
});
process.stdout.write('written\n');
const hang: typeof fetch = () => {
  process.stdout.write('sending\n');
  return new Promise<Response>(() => undefined);
};
createDeliveryWorker({ repo, vault, fetch: hang, clock, pollMs: 50 }).start();
setInterval(() => undefined, 1_000);

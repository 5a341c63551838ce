import { runCli } from '../../../src/cli/main.js';
import type { Container } from '../../../src/container.js';
import { captureIO } from '../../support/cli-io.js';
import { createTestContainer } from '../../support/test-container.js';

describe('CLI: webhooks', () => {
  it('creates (secret printed once on stdout), lists without the secret, shows the delivery log, and refuses unknown events', async () => {
    const c = await createTestContainer();
    // The CLI closes its container after each run; keep the test's one open.
    const shared = async () => Object.assign(Object.create(c) as Container, { close: async () => undefined });
    try {
      const bad = captureIO();
      expect(await runCli(['webhooks', 'create', '--url', 'https://hooks.example.com/in', '--events', 'job.finished,nope'], {}, bad, shared)).not.toBe(0);
      expect(bad.stderr.join('\n')).toContain('unknown event "nope"');

      const io = captureIO();
      expect(await runCli(['webhooks', 'create', '--url', 'https://hooks.example.com/in', '--events', 'job.finished,roster.changed'], {}, io, shared)).toBe(0);
      const secret = io.stdout.join('\n').trim();
      expect(secret).toMatch(/^whsec_/);
      const [endpoint] = await c.webhooks.service.list();
      await c.webhooks.service.publish({ event: 'job.finished', integrationId: 'int-1', data: {} });

      const list = captureIO();
      expect(await runCli(['webhooks', 'list'], {}, list, shared)).toBe(0);
      expect(list.stdout.join('\n')).toContain(`${endpoint!.id}  https://hooks.example.com/in  job.finished,roster.changed  all integrations  enabled`);
      expect(list.stdout.join('\n')).not.toContain(secret);

      const log = captureIO();
      expect(await runCli(['webhooks', 'deliveries', endpoint!.id], {}, log, shared)).toBe(0);
      expect(log.stdout.join('\n')).toMatch(/^msg_\w+ {2}\S+ {2}job\.finished {2}pending {2}attempts 0 {2}next /);
    } finally {
      await c.close();
    }
  });
});

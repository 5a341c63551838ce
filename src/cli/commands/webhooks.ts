import type { Command } from 'commander';
import type { Container } from '../../container.js';
import { presentDelivery, presentWebhook } from '../../http/presenters/webhook.js';
import { createWebhookBody } from '../../http/routes/webhooks.js';
import { parseInput } from '../../http/validate.js';
import { processIO, type CliIO } from '../io.js';

/** `webhooks list`, `webhooks create`, `webhooks deliveries`: the same service as the page and the API. */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const webhooks = program.command('webhooks').description('Webhook endpoints for the exam platform and their delivery logs');

  webhooks
    .command('list')
    .description('List webhook endpoints (never their secrets)')
    .action(async () => {
      const list = await (await getContainer()).webhooks.service.list();
      if (list.length === 0) io.out('No webhook endpoints.');
      for (const w of list.map(presentWebhook)) {
        const state = w.enabled ? (w.failingSince ? `failing since ${w.failingSince}` : 'enabled') : `disabled: ${w.disabledReason ?? ''}`;
        io.out(`${w.id}  ${w.url}  ${w.events.join(',')}  ${w.integrationId ?? 'all integrations'}  ${state}`);
      }
    });

  webhooks
    .command('create')
    .description('Add an endpoint; its signing secret is printed once and cannot be shown again')
    .requiredOption('--url <url>', 'where to POST the events (https, a public host)')
    .requiredOption('--events <events>', 'comma-separated: roster.changed, integration.status_changed, job.finished')
    .option('--integration <id>', 'only this integration’s events (default: all)')
    .action(async (opts: { url: string; events: string; integration?: string }) => {
      const c = await getContainer();
      const input = parseInput(createWebhookBody({ allowInsecure: c.config.allowInsecureCanvasUrls }), {
        url: opts.url,
        events: opts.events.split(',').map((e) => e.trim()).filter(Boolean),
        ...(opts.integration ? { integrationId: opts.integration } : {}),
      });
      const { endpoint, secret } = await c.webhooks.service.create(input, 'system');
      io.out(secret);
      io.err(`Created webhook endpoint ${endpoint.id} for ${endpoint.url}. Store the secret now: it is not shown again.`);
    });

  webhooks
    .command('deliveries')
    .description('The delivery log of an endpoint, newest first')
    .argument('<id>', 'endpoint id (see webhooks list)')
    .action(async (id: string) => {
      const list = (await (await getContainer()).webhooks.service.deliveries(id)).map(presentDelivery);
      if (list.length === 0) io.out('No deliveries yet.');
      for (const d of list) {
        const next = d.nextAttemptAt ? `  next ${d.nextAttemptAt}` : '';
        const last = d.lastStatusCode !== null ? `  HTTP ${d.lastStatusCode}` : d.lastError ? `  ${d.lastError}` : '';
        io.out(`${d.id}  ${d.at}  ${d.event}  ${d.status}  attempts ${d.attempt}${last}${next}`);
      }
    });
}

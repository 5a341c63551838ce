import type { Command } from 'commander';
import type { Container } from '../../container.js';
import { processIO, type CliIO } from '../io.js';

/** `tokens create`, `tokens list`, `tokens revoke`. */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const tokens = program.command('tokens').description('Manage staff API tokens for the JSON API');

  tokens
    .command('create')
    .description('Create an API token; it is printed once and cannot be shown again')
    .requiredOption('--name <name>', 'what the token is for, e.g. "exam-sync job"')
    .action(async (opts: { name: string }) => {
      const c = await getContainer();
      const { token, info } = await c.platformAdmin.createApiToken(opts.name, { label: 'system', via: 'cli' }, 'cli');
      io.out(token);
      io.err(`Created token "${info.name}" (id ${info.id}). Store it now: it is not shown again.`);
    });

  tokens
    .command('list')
    .description('List API tokens (never the token values)')
    .action(async () => {
      const list = await (await getContainer()).apiTokens.list();
      if (list.length === 0) io.out('No API tokens.');
      for (const t of list) {
        const state = t.revokedAt ? `revoked ${t.revokedAt}` : 'active';
        io.out(`${t.id}  cc_…${t.last4}  ${t.name}  ${state}  last used ${t.lastUsedAt ?? 'never'}`);
      }
    });

  tokens
    .command('revoke')
    .description('Revoke an API token by id (see tokens list)')
    .argument('<id>', 'token id')
    .action(async (id: string) => {
      const c = await getContainer();
      await c.platformAdmin.revokeApiToken(id, { label: 'system', via: 'cli' });
      io.out(`Revoked token ${id}.`);
    });
}

import { CommanderError, type Command } from 'commander';
import { FEATURES, INTEGRATION_FEATURES, isFeature, scopesFor } from '../../canvas/endpoints.js';
import type { Feature } from '../../canvas/types.js';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import type { Integration } from '../../integrations/integration.js';
import { AUTHORIZATION_CHECKS, isWorkingState, remedyFor, type Check, type ConnectionStatus } from '../../integrations/reasons.js';
import { zodToAppError } from '../../http/validate.js';
import { processIO, type CliIO } from '../io.js';

/** A comma-separated feature list as typed (the integration schema names an unknown one). */
const featureList = (list: string) => list.split(',').map((s) => s.trim()).filter(Boolean);

/**
 * `integrations create|features|list|status|preflight|auth-link|setup-link|verify|scopes|disconnect`.
 * Output is for people; `--json` prints the API's shapes for scripts. Secrets are never printed.
 */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const cmd = program.command('integrations').description('Canvas integrations: create, preflight, Generate Keys links, status');

  const mustGet = async (c: Container, id: string): Promise<Integration> => {
    const i = await c.integrations.get(id);
    if (!i) throw new AppError('not_found', `No integration with id ${id} (see: integrations list).`);
    return i;
  };
  const printChecks = (checks: Check[]) => {
    for (const ch of checks) {
      io.out(`  ${ch.ok ? 'ok  ' : 'FAIL'} ${ch.name}: ${ch.detail}`);
      if (ch.reason) io.out(`       → ${ch.reason}: ${remedyFor(ch.reason, AUTHORIZATION_CHECKS.includes(ch.name) ? 'authorization' : 'token').remedy}`);
    }
  };
  const printStatus = (s: ConnectionStatus) => {
    io.out(`state: ${s.state}${s.reasons.length ? ` (${s.reasons.join(', ')})` : ''}`);
    if (s.tokenOwner) io.out(`token owner: ${s.tokenOwner.name} (Canvas user ${s.tokenOwner.id})`);
    if (s.missingScopes.length) io.out(`missing scopes:\n${s.missingScopes.map((x) => `  ${x}`).join('\n')}`);
    if (s.checkedAt) io.out(`checked: ${s.checkedAt}${s.verifiedAt ? `, verified: ${s.verifiedAt}` : ''}`);
    const a = s.lastAttempt;
    if (a) {
      const kept = !a.ok && isWorkingState(s.state) ? '; the connection you had still works' : '';
      io.out(`last Generate Keys attempt: ${a.ok ? 'succeeded' : `failed${a.reason ? ` (${a.reason})` : ''}`} at ${a.at}${kept}: ${a.detail}`);
    }
    printChecks(s.checks);
  };

  cmd
    .command('create')
    .description('Create an integration (the client secret is read from stdin with --secret-stdin)')
    .requiredOption('--name <name>', 'institution name')
    .requiredOption('--canvas-url <url>', 'e.g. https://school.instructure.com')
    .requiredOption('--client-id <id>', 'developer key id (digits)')
    .option('--secret-stdin', 'read the developer key secret from stdin')
    .option('--account-id <id>', 'Canvas account to sync (default self)')
    .option('--course-id-type <type>', 'sis_course_id | integration_id | canvas_id')
    .option('--user-id-type <type>', 'sis_user_id | integration_id | email | login_id')
    .option('--features <list>', `comma-separated: ${INTEGRATION_FEATURES.join(',')} (default course_refresh,roster_sync)`)
    .option('--json', 'print JSON')
    .action(async (o: { name: string; canvasUrl: string; clientId: string; secretStdin?: boolean; accountId?: string; courseIdType?: string; userIdType?: string; features?: string; json?: boolean }) => {
      const c = await getContainer();
      const input: Record<string, unknown> = { name: o.name, canvasUrl: o.canvasUrl, clientId: o.clientId };
      if (o.secretStdin) input.clientSecret = (await io.readStdin()).trim();
      if (o.accountId) input.accountId = o.accountId;
      if (o.courseIdType) input.courseIdType = o.courseIdType;
      if (o.userIdType) input.userIdType = o.userIdType;
      if (o.features !== undefined) input.features = featureList(o.features);
      const parsed = c.integrationSchemas.create.safeParse(input);
      if (!parsed.success) throw zodToAppError(parsed.error);
      const created = await c.integrationSettings.create(parsed.data, { scope: 'platform', label: 'system' });
      if (o.json) io.out(JSON.stringify({ id: created.id, name: created.name, canvasUrl: created.canvasUrl, clientId: created.clientId, clientSecretSet: created.clientSecretSet }));
      else io.out(`Created integration ${created.id} (${created.name}, ${created.canvasUrl}).${created.clientSecretSet ? '' : ' No secret yet: set one before Generate Keys.'}`);
    });

  cmd
    .command('features')
    .description("Set an integration's features (the checks re-run; exit code 2 unless verified afterwards)")
    .argument('<id>', 'integration id')
    .argument('<list>', `comma-separated: ${INTEGRATION_FEATURES.join(',')}`)
    .option('--json', 'print JSON')
    .action(async (id: string, list: string, o: { json?: boolean }) => {
      const c = await getContainer();
      await mustGet(c, id);
      const parsed = c.integrationSchemas.patch.safeParse({ features: featureList(list) });
      if (!parsed.success) throw zodToAppError(parsed.error);
      const { integration } = await c.integrationSettings.update(id, parsed.data, { scope: 'platform', label: 'system' });
      const s = (await c.integrations.get(id))?.status ?? integration.status;
      if (o.json) io.out(JSON.stringify({ id, features: integration.features, status: s }));
      else {
        io.out(`Features of ${id}: ${integration.features.join(', ') || 'none'}.`);
        printStatus(s);
      }
      if (s.state !== 'verified') throw new CommanderError(2, 'integrations.not_verified', 'not verified');
    });

  cmd
    .command('list')
    .description('List integrations with their state')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const list = await (await getContainer()).integrations.list();
      if (o.json) {
        io.out(JSON.stringify(list.map((i) => ({ id: i.id, name: i.name, canvasUrl: i.canvasUrl, state: i.status.state, reasons: i.status.reasons }))));
        return;
      }
      if (list.length === 0) io.out('No integrations.');
      for (const i of list) io.out(`${i.id}  ${i.status.state.padEnd(13)} ${i.name}  ${i.canvasUrl}${i.status.reasons.length ? `  [${i.status.reasons.join(', ')}]` : ''}`);
    });

  cmd
    .command('status')
    .description('Show the connection status with each check and its remedy')
    .argument('<id>', 'integration id')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const i = await mustGet(await getContainer(), id);
      if (o.json) io.out(JSON.stringify(i.status));
      else {
        io.out(`${i.name} (${i.canvasUrl}, client ${i.clientId}, secret ${i.clientSecretSet ? 'set' : 'NOT set'})`);
        printStatus(i.status);
      }
    });

  cmd
    .command('preflight')
    .description('Check the developer key at Canvas before anyone authorizes (exit code 2 when not ready)')
    .argument('<id>', 'integration id')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const c = await getContainer();
      const r = await c.connection.preflight(id);
      if (o.json) io.out(JSON.stringify(r));
      else {
        io.out(r.ok ? 'Ready for Generate Keys.' : `Not ready: ${r.reasons.join(', ')}`);
        printChecks(r.checks);
        if (r.missingScopes.length) io.out(`missing scopes:\n${r.missingScopes.map((x) => `  ${x}`).join('\n')}`);
      }
      if (!r.ok) throw new CommanderError(2, 'integrations.not_ready', 'preflight found problems');
    });

  cmd
    .command('auth-link')
    .description('Print an authorization link: opening it in a browser goes straight to Canvas (valid 24 h)')
    .argument('<id>', 'integration id')
    .action(async (id: string) => {
      const c = await getContainer();
      await mustGet(c, id);
      const link = await c.integrationLinks.issue('authorize', id, { label: 'system', via: 'cli' });
      io.out(link.url);
      io.err(`Valid until ${link.expiresAt}.`);
    });

  cmd
    .command('setup-link')
    .description("Print a setup link that opens this integration's LMS settings for a Canvas admin (valid 7 days)")
    .argument('<id>', 'integration id')
    .action(async (id: string) => {
      const c = await getContainer();
      await mustGet(c, id);
      const link = await c.integrationLinks.issue('setup', id, { label: 'system', via: 'cli' });
      io.out(link.url);
      io.err(`Valid until ${link.expiresAt}.`);
    });

  cmd
    .command('verify')
    .description('Re-run the verification probes now (exit code 2 unless verified)')
    .argument('<id>', 'integration id')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const s = await (await getContainer()).connection.verify(id, 'system');
      if (o.json) io.out(JSON.stringify(s));
      else printStatus(s);
      if (s.state !== 'verified') throw new CommanderError(2, 'integrations.not_verified', 'not verified');
    });

  cmd
    .command('scopes')
    .description('Print the exact developer key scopes, one per line')
    .option('--features <list>', `comma-separated: ${Object.keys(FEATURES).join(',')} (default all)`)
    .action((o: { features?: string }) => {
      const names = o.features ? o.features.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
      const bad = (names ?? []).filter((n) => !isFeature(n));
      if (bad.length) throw new AppError('validation_failed', `Unknown ${bad.length === 1 ? 'feature' : 'features'}: ${bad.join(', ')}`);
      for (const s of scopesFor(names as Feature[] | undefined)) io.out(s);
    });

  cmd
    .command('disconnect')
    .description('Revoke the token at Canvas and delete it here')
    .argument('<id>', 'integration id')
    .action(async (id: string) => {
      const r = await (await getContainer()).connection.disconnect(id, 'system');
      io.out(r.revokedAtCanvas ? 'Disconnected: token revoked in Canvas and deleted here.' : 'Disconnected: token deleted here (Canvas did not confirm the revocation).');
    });
}

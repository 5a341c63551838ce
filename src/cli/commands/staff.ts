import type { Command } from 'commander';
import type { Container } from '../../container.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../staff/password-policy.js';
import { processIO, type CliIO } from '../io.js';

/** `staff create`, `staff list`. */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const staff = program.command('staff').description('Manage staff accounts (people who sign in to the web UI)');

  staff
    .command('create')
    .description('Create a staff account; the password is prompted (or read from stdin with --password-stdin)')
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--name <name>', 'display name')
    .option('--password-stdin', 'read the password from stdin instead of prompting (for scripts)')
    .action(async (opts: { email: string; name: string; passwordStdin?: boolean }) => {
      const password = opts.passwordStdin
        ? (await io.readStdin()).replace(/\r?\n$/, '')
        : await io.promptSecret(`Password (${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters, not a common one): `);
      const c = await getContainer();
      const user = await c.platformAdmin.createStaff({ email: opts.email, name: opts.name, password }, { label: 'system', via: 'cli' });
      io.out(`Created staff user ${user.email} (id ${user.id}).`);
    });

  staff
    .command('list')
    .description('List staff accounts')
    .action(async () => {
      const users = await (await getContainer()).staff.list();
      if (users.length === 0) io.out('No staff users yet. Create one with: staff create --email <email> --name <name>');
      for (const u of users) io.out(`${u.id}  ${u.email}  ${u.name}${u.disabledAt ? '  (disabled)' : ''}`);
    });
}

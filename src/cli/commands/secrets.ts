import type { Command } from 'commander';
import type { Container } from '../../container.js';
import { generateSecretKey } from '../../vault/vault.js';
import { processIO, type CliIO } from '../io.js';
import { quantity } from '../../text/quantity.js';

/** `secrets generate-key`, `secrets rotate`. */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const secrets = program.command('secrets').description('Encryption keys for secrets at rest');

  secrets
    .command('generate-key')
    .description('Print a new random SECRET_KEY value (32 bytes, base64)')
    .action(() => {
      io.out(generateSecretKey());
      io.err('To rotate: set SECRET_KEY=2:<new>,1:<old> on every instance, restart them, then run `secrets rotate`.');
    });

  secrets
    .command('rotate')
    .description('Re-encrypt every stored secret under the first key in SECRET_KEY (safe while the service runs)')
    .action(async () => {
      const c = await getContainer();
      const result = await c.platformAdmin.rotateSecrets({ label: 'system' });
      io.out(`Re-encrypted ${quantity(result.reencrypted, 'value')} under key version ${c.vault.currentVersion}; ${result.current} already current.`);
      if (result.raced > 0) io.out(`${quantity(result.raced, 'value')} changed while rotating and ${result.raced === 1 ? 'was' : 'were'} written by the service itself.`);
      if (result.failed.length > 0) {
        for (const f of result.failed) io.err(`cannot decrypt ${f} with any key in SECRET_KEY`);
        throw new Error(`${quantity(result.failed.length, 'value')} could not be decrypted; keep the old key in SECRET_KEY until ${result.failed.length === 1 ? 'it is' : 'they are'} fixed.`);
      }
    });
}

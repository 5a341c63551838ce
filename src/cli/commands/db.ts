import type { Command } from 'commander';
import type { Container } from '../../container.js';
import { isReady } from '../../store/database.js';
import { processIO, type CliIO } from '../io.js';

/** `db migrate`. */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const db = program.command('db').description('Database maintenance');

  db.command('migrate')
    .description('Apply pending database migrations (the service also does this at start)')
    .action(async () => {
      const c = await getContainer(); // opening the container migrates
      if (!(await isReady(c.store.db))) throw new Error('the database is not ready after migrating');
      io.out(`Database (${c.store.dialect}) is up to date.`);
    });
}

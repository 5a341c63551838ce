import type { Command } from 'commander';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { jobDurationSeconds } from '../../http/presenters/job.js';
import { processIO, type CliIO } from '../io.js';
import { progressLine, reportJob } from './refresh.js';

/** `jobs list|show|cancel`: job history and control. */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const cmd = program.command('jobs').description('Course refresh, roster sync and health-check jobs');
  cmd
    .command('list')
    .option('--integration <id>', 'only this integration')
    .option('--limit <n>', 'how many', '30')
    .action(async (o: { integration?: string; limit: string }) => {
      const c = await getContainer();
      for (const j of await c.sync.jobs.list({ integrationId: o.integration, limit: Number(o.limit) || 30 })) {
        const seconds = jobDurationSeconds(j, c.clock());
        const dur = seconds === null ? '—' : `${seconds} s`;
        io.out(`${j.id}\t${j.kind}\t${j.integrationId}\t${j.state}${j.error ? ` (${j.error.code})` : ''}\t${dur}\t${j.createdAt}`);
      }
    });
  cmd
    .command('show')
    .argument('<jobId>')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const c = await getContainer();
      const j = await c.sync.jobs.get(id);
      if (!j) throw new AppError('not_found', `No job ${id}.`);
      if (j.state === 'queued' || j.state === 'running') io.out(o.json ? JSON.stringify(j, null, 2) : `${j.kind} ${j.id}: ${j.state} ${progressLine(j)}`);
      else reportJob(j, io, o.json);
    });
  cmd
    .command('cancel')
    .argument('<jobId>')
    .action(async (id: string) => {
      const c = await getContainer();
      const j = await c.sync.runner.cancel(id);
      if (!j) throw new AppError('not_found', `No job ${id}.`);
      io.out(`${j.id}: ${j.state === 'cancelled' ? 'cancelled' : 'cancel requested'}`);
    });
}

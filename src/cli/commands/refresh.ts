import { CommanderError, type Command } from 'commander';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { ERROR_HELP, type ErrorCode } from '../../errors/error-codes.js';
import { describeProgress } from '../../jobs/describe-progress.js';
import { describeJobSummary } from '../../jobs/job-kinds.js';
import type { Job } from '../../jobs/types.js';
import type { CourseSyncResult } from '../../sync/roster-sync.js';
import { quantity } from '../../text/quantity.js';
import { processIO, type CliIO } from '../io.js';

/**
 * One terminal line for a job's progress, in the same words and units as the pages
 * ({@link describeProgress}): `[#####-----] Reading sections: 50 of 100 syncable courses · ~12 s left`.
 */
export function progressLine(j: Job, width = 30): string {
  const { label, done, total } = describeProgress(j);
  const frac = total ? Math.min(1, done / total) : null;
  const bar = frac === null ? `[${'~'.repeat(width)}]` : `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '-')}]`;
  const open = j.state === 'queued' || j.state === 'running';
  const eta = open && j.etaSeconds !== null ? ` · ~${j.etaSeconds < 90 ? `${j.etaSeconds} s` : `${Math.round(j.etaSeconds / 60)} min`} left` : '';
  return `${bar} ${label}${eta}`;
}

/**
 * Waits for a job while drawing its progress: a redrawn `\r` line on a terminal, one line per
 * phase (and every 10%) otherwise. Runs the job runner in this process too, so the command works
 * without a server (any instance may take the job; the lease keeps it single).
 */
export async function followJob(c: Container, jobId: string, io: CliIO, opts: { tty?: boolean; pollMs?: number } = {}): Promise<Job> {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  await c.sync.runner.start();
  let lastKey = '';
  try {
    for (;;) {
      const j = await c.sync.jobs.get(jobId);
      if (!j) throw new AppError('not_found', `Job ${jobId} disappeared.`);
      const line = progressLine(j);
      if (tty) process.stderr.write(`\r${line.padEnd(80)}`);
      else {
        // Without a terminal: one line per phase and per 10 % of it.
        const decile = j.progress.total ? Math.floor((10 * j.progress.done) / j.progress.total) : 0;
        const key = `${j.progress.phase}:${decile}`;
        if (key !== lastKey) io.err(line);
        lastKey = key;
      }
      if (j.state !== 'queued' && j.state !== 'running') {
        if (tty) process.stderr.write('\n');
        return j;
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    }
  } finally {
    await c.sync.runner.stop();
  }
}

/** Prints a finished job's outcome; returns the exit code (0 only for succeeded). */
export function reportJob(j: Job, io: CliIO, json = false): number {
  if (json) io.out(JSON.stringify({ id: j.id, kind: j.kind, state: j.state, error: j.error, summary: j.summary }, null, 2));
  else if (j.state === 'succeeded') {
    // The same sentence as the Jobs page; the numbers by key are in --json.
    const line = describeJobSummary(j.kind, j.summary);
    io.out(`${j.kind} ${j.id}: succeeded${line ? ` — ${line}` : ''}`);
    const results = j.summary?.courseResults;
    if (Array.isArray(results)) {
      for (const r of results as CourseSyncResult[]) {
        io.out(`  course ${r.courseId}: ${quantity(r.examTakers, 'exam-taker')}, ${r.skipped} skipped (${r.added} added, ${r.removed} removed, ${r.changed} changed)`);
      }
    }
  } else {
    io.out(`${j.kind} ${j.id}: ${j.state}${j.error ? ` — ${j.error.code}: ${j.error.message}` : ''}`);
    const remedy = j.error ? ERROR_HELP[j.error.code as ErrorCode]?.remedy : undefined;
    if (remedy && !j.error!.message.includes(remedy)) io.out(`  → ${remedy}`);
  }
  return j.state === 'succeeded' ? 0 : 1;
}

/** `refresh <integrationId>`: runs a course refresh with a terminal progress bar. */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  program
    .command('refresh')
    .description("Refresh an integration's course list (bulk report when allowed, else REST) with a progress bar")
    .argument('<integrationId>')
    .option('--path <path>', 'force bulk or rest')
    .option('--no-wait', 'only start the job and print its id')
    .option('--json', 'print the finished job as JSON')
    .action(async (integrationId: string, o: { path?: string; wait: boolean; json?: boolean }) => {
      if (o.path !== undefined && o.path !== 'bulk' && o.path !== 'rest') throw new AppError('validation_failed', '--path must be bulk or rest');
      const c = await getContainer();
      if (!(await c.integrations.get(integrationId))) throw new AppError('not_found', `No integration with id ${integrationId} (see: integrations list).`);
      const job = await c.sync.startRefresh(integrationId, { path: o.path as 'bulk' | 'rest' | undefined });
      if (!o.wait) {
        io.out(job.id);
        return;
      }
      const end = await followJob(c, job.id, io);
      const code = reportJob(end, io, o.json);
      if (code !== 0) throw new CommanderError(code, 'canvas-companion.job_failed', '');
    });
}

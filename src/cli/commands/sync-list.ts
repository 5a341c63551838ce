import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Command, CommanderError, Option } from 'commander';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { SYNC_LIST_FORMATS, type SyncListFormat } from '../../sync-list/import-file.js';
import { IMPORT_MODES, ROW_ERRORS, type ImportMode, type ImportResult } from '../../sync-list/sync-list-service.js';
import { processIO, type CliIO } from '../io.js';
import { followJob, reportJob } from './refresh.js';
import { quantity } from '../../text/quantity.js';

const ACTOR = 'cli';

function printImport(io: CliIO, r: ImportResult): void {
  const s = r.summary;
  for (const row of r.rows) {
    const err = (ROW_ERRORS as readonly string[]).includes(row.outcome);
    io.out(`${row.line === null ? '-' : `line ${row.line}`}\t${row.courseId ?? '—'}\t${err ? 'ERROR ' : ''}${row.outcome}${row.reasons?.length ? ` (${row.reasons.join(', ')})` : ''}`);
  }
  const verdict = r.dryRun ? 'preview, nothing changed' : r.applied ? 'applied' : 'NOT applied: fix the rows in error, or pass --ignore-errors';
  io.out(`${s.mode}: ${s.added} added, ${s.removed} removed, ${s.alreadyListed} already listed, ${s.notListed} not listed, ${quantity(s.errors, 'error')}; the list holds ${quantity(s.listed, 'course')} (${verdict})`);
}

/**
 * `sync-list list|add|remove|import|export|sync`: the sync list of an integration at a terminal,
 * through the same service as the pages and the API (audited as `cli`).
 */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const syncList = program.command('sync-list').description('The courses the exam platform keeps in sync (import, export, re-sync)');

  syncList
    .command('list')
    .argument('<integrationId>')
    .option('--json', 'print JSON lines')
    .action(async (id: string, o: { json?: boolean }) => {
      const c = await getContainer();
      let cursor: string | undefined;
      do {
        const page = await c.syncList.list(id, { cursor, limit: 500 });
        for (const co of page.courses) {
          io.out(o.json ? JSON.stringify(co) : `${co.canvasId}\t${co.externalId ?? '—'}\t${co.examTakers} exam-takers\t${co.lastSyncedAt ?? 'never synced'}\t${co.name ?? ''}`);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    });

  for (const verb of ['add', 'remove'] as const) {
    syncList
      .command(verb)
      .description(`${verb === 'add' ? 'Add' : 'Remove'} courses by Canvas id`)
      .argument('<integrationId>')
      .argument('<canvasIds...>')
      .action(async (id: string, ids: string[]) => {
        const c = await getContainer();
        const r = await c.syncList.change(id, { [verb]: ids }, ACTOR);
        io.out(`${r.added.length} added, ${r.removed.length} removed`);
        for (const e of r.errors) io.out(`  ${e.canvasId}: ${e.outcome}${e.reasons?.length ? ` (${e.reasons.join(', ')})` : ''}`);
        if (r.errors.length) throw new CommanderError(1, 'canvas-companion.sync_list_errors', '');
      });
  }

  syncList
    .command('import')
    .description('Import a CSV or XLSX file with a course_id column (exit 1 when rows are in error)')
    .argument('<integrationId>')
    .argument('<file>')
    .addOption(new Option('--mode <mode>', 'add (list ∪ file), remove (list − file) or replace (list = file)').choices([...IMPORT_MODES]).default('add'))
    .option('--dry-run', 'show every row’s outcome and change nothing')
    .option('--ignore-errors', 'apply the valid rows even when some rows are in error')
    .option('--json', 'print JSON')
    .action(async (id: string, file: string, o: { mode: ImportMode; dryRun?: boolean; ignoreErrors?: boolean; json?: boolean }) => {
      const c = await getContainer();
      const data = await readFile(file).catch((err: unknown) => {
        throw new AppError('validation_failed', `file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      });
      const format: SyncListFormat | undefined = /\.xlsx$/i.test(file) ? 'xlsx' : /\.csv$/i.test(file) ? 'csv' : undefined;
      const r = await c.syncList.import(id, data, { mode: o.mode, dryRun: o.dryRun, ignoreErrors: o.ignoreErrors, format }, ACTOR);
      if (o.json) io.out(JSON.stringify(r, null, 2));
      else printImport(io, r);
      if (r.summary.errors > 0 && !(r.applied && o.ignoreErrors)) throw new CommanderError(1, 'canvas-companion.import_errors', '');
    });

  syncList
    .command('export')
    .description('Export the sync list (or the template) as CSV or XLSX')
    .argument('<integrationId>')
    .addOption(new Option('--format <format>', 'file format').choices([...SYNC_LIST_FORMATS]).default('csv'))
    .option('--template', 'the empty template (the header row) instead of the list')
    .option('--out <file>', 'write to this file (default: standard output)')
    .action(async (id: string, o: { format: SyncListFormat; template?: boolean; out?: string }) => {
      const c = await getContainer();
      const f = await c.syncList.export(id, { format: o.format, template: o.template });
      if (o.out) {
        await pipeline(f.body, createWriteStream(o.out));
        io.err(`wrote ${o.out}`);
        return;
      }
      if (o.format === 'xlsx') throw new AppError('validation_failed', '--out: XLSX is a binary file; give a file name with --out');
      const chunks: string[] = [];
      for await (const chunk of f.body) chunks.push(String(chunk));
      io.out(chunks.join('').replace(/\r?\n$/, ''));
    });

  syncList
    .command('sync')
    .description('Re-sync every listed course (a sync_list_sync job)')
    .argument('<integrationId>')
    .option('--wait', 'run the job here and wait for its end, with progress')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { wait?: boolean; json?: boolean }) => {
      const c = await getContainer();
      const job = await c.syncList.startSync(id, ACTOR);
      if (!o.wait) {
        io.out(o.json ? JSON.stringify({ id: job.id, kind: job.kind, state: job.state }) : `sync_list_sync ${job.id}: ${job.state} (follow it with: jobs show ${job.id})`);
        return;
      }
      const end = await followJob(c, job.id, io);
      const code = reportJob(end, io, o.json);
      if (code !== 0) throw new CommanderError(code, 'canvas-companion.job_failed', '');
    });
}

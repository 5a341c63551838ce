import { Command, CommanderError } from 'commander';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import type { WhyAnswer } from '../../sync/diagnostics.js';
import { COURSE_REASONS } from '../../sync/sync-reasons.js';
import { processIO, type CliIO } from '../io.js';
import { followJob, reportJob } from './refresh.js';
import { quantity } from '../../text/quantity.js';

function printWhy(io: CliIO, subject: string, w: WhyAnswer): void {
  const verdict = { syncable: 'is syncable', not_syncable: 'is NOT syncable', exam_taker: 'is an exam-taker', skipped: 'is NOT an exam-taker', not_seen: 'was not seen' }[w.verdict];
  io.out(`${subject} ${verdict}${w.asOf ? ` (as of ${w.asOf})` : ''}.`);
  for (const r of w.reasons) io.out(`  ${r.code}: ${r.title}\n    → ${r.remedy}`);
  const bad = (w.detail.sectionsNotSyncable as Array<{ canvasId: string; name: string; reasons: Array<{ code: string; remedy: string }> }> | undefined) ?? [];
  for (const s of bad) io.out(`  section ${s.canvasId} "${s.name}": ${s.reasons.map((r) => r.code).join(', ')}\n    → ${s.reasons[0]?.remedy ?? ''}`);
}

/**
 * `lookup`, `sync`, `sync-all`, `why-missing`, `why-not-exam-taker` and `courses list`: the specific course
 * refresh, roster sync (with `--preview`) and diagnostics for staff at a terminal.
 */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const integration = async (c: Container, id: string) => {
    if (!(await c.integrations.get(id))) throw new AppError('not_found', `No integration with id ${id} (see: integrations list).`);
  };

  program
    .command('lookup')
    .description('Refresh one course now: Canvas id, sis_course_id:…, sis_integration_id:… or a course URL')
    .argument('<integrationId>')
    .argument('<query>')
    .option('--json', 'print JSON')
    .action(async (id: string, query: string, o: { json?: boolean }) => {
      const c = await getContainer();
      await integration(c, id);
      const r = await c.sync.lookup(id, query);
      if (o.json) return io.out(JSON.stringify(r, null, 2));
      if (!r.found) {
        io.out(`${r.title}.\n  → ${r.remedy}`);
        throw new CommanderError(1, 'canvas-companion.not_found', '');
      }
      const co = r.course;
      io.out(`${co.name} (Canvas ${co.canvasId}${co.externalId ? `, id ${co.externalId}` : ''}): ${co.syncable ? 'syncable' : 'NOT syncable'}, ${quantity(r.sections.length, 'section')}`);
      for (const e of r.explanations) io.out(`  ${e.reason}: ${e.title}\n    → ${e.remedy}`);
      for (const s of r.sections) io.out(`  section ${s.canvasId} "${s.name}": ${s.syncable ? s.externalId : s.reasons.join(', ')}`);
    });

  program
    .command('sync')
    .description('Sync the roster of one or more courses (exam-takers and skipped with reasons)')
    .argument('<integrationId>')
    .argument('<courseIds...>')
    .option('--preview', 'show what would change since the last sync without saving (one course)')
    .option('--json', 'print JSON')
    .action(async (id: string, courseIds: string[], o: { preview?: boolean; json?: boolean }) => {
      const c = await getContainer();
      await integration(c, id);
      if (o.preview) {
        for (const courseId of courseIds) {
          const r = await c.sync.syncRoster(id, courseId, { dryRun: true });
          if (o.json) {
            io.out(JSON.stringify({ courseId, diff: r.diff, counts: r.counts }, null, 2));
            continue;
          }
          io.out(`course ${courseId}: ${r.counts.examTakers} exam-takers, ${r.counts.skipped} skipped (preview, nothing saved)`);
          for (const a of r.diff.added) io.out(`  + ${a.name} (${a.externalId ?? '—'})`);
          for (const x of r.diff.removed) io.out(`  - ${x.name}${x.reasons.length ? `: ${x.reasons.join(', ')}` : ''}`);
          for (const ch of r.diff.changed) io.out(`  ~ ${ch.name}: ${ch.before.externalId} [${ch.before.sectionIds}] → ${ch.after.externalId} [${ch.after.sectionIds}]`);
          if (!r.diff.added.length && !r.diff.removed.length && !r.diff.changed.length) io.out('  no changes');
        }
        return;
      }
      const job = await c.sync.startSync(id, courseIds);
      const end = await followJob(c, job.id, io);
      const code = reportJob(end, io, o.json);
      if (code !== 0) throw new CommanderError(code, 'canvas-companion.job_failed', '');
    });

  program
    .command('sync-all')
    .description('Sync the rosters of every syncable course (one job); asks for the count first')
    .argument('<integrationId>')
    .option('--expected <n>', 'the number of syncable courses you confirm (the command prints it)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { expected?: string; json?: boolean }) => {
      const c = await getContainer();
      await integration(c, id);
      const syncable = (await c.sync.courses.countsFor(id)).syncable;
      if (o.expected === undefined) {
        // The confirmation step of the page: say how many, and the exact line that syncs them.
        io.out(`${syncable} courses are syncable. To sync all of them: npm run cli -- sync-all ${id} --expected ${syncable}`);
        return;
      }
      const expected = Number(o.expected);
      if (!Number.isInteger(expected) || expected < 1) throw new AppError('validation_failed', '--expected: the number of syncable courses (a whole number the command printed)');
      const { job, count } = await c.sync.startSyncAllSyncable(id, expected);
      if (!job) throw new AppError('conflict', `${count} courses are syncable now, not ${expected}: the course list changed.`, { help: `Run it again with --expected ${count}.` });
      const end = await followJob(c, job.id, io);
      const code = reportJob(end, io, o.json);
      if (code !== 0) throw new CommanderError(code, 'canvas-companion.job_failed', '');
    });

  program
    .command('why-missing')
    .description('Why is a course not synced? (from the last refresh)')
    .argument('<integrationId>')
    .argument('<canvasCourseId>')
    .option('--json', 'print JSON')
    .action(async (id: string, courseId: string, o: { json?: boolean }) => {
      const c = await getContainer();
      await integration(c, id);
      const w = await c.sync.diagnostics.whyCourse(id, courseId);
      if (o.json) io.out(JSON.stringify(w, null, 2));
      else printWhy(io, `Course ${courseId}`, w);
    });

  program
    .command('why-not-exam-taker')
    .description('Why is a person not an exam-taker in a course? (from the last sync)')
    .argument('<integrationId>')
    .argument('<canvasCourseId>')
    .argument('<canvasUserId>')
    .option('--json', 'print JSON')
    .action(async (id: string, courseId: string, userId: string, o: { json?: boolean }) => {
      const c = await getContainer();
      await integration(c, id);
      const w = await c.sync.diagnostics.whyPerson(id, courseId, userId);
      if (o.json) io.out(JSON.stringify(w, null, 2));
      else printWhy(io, `User ${userId} in course ${courseId}`, w);
    });

  const courses = program.command('courses').description("An integration's course list, as its last refresh saw Canvas (the sync list is sync-list)");
  courses
    .command('list')
    .description('List the courses with whether each can be synced and why not')
    .argument('<integrationId>')
    .option('--not-syncable', 'only courses that cannot be synced')
    .option('--syncable', 'only syncable courses')
    .option('--reason <code>', `one of ${COURSE_REASONS.join(', ')}`)
    .option('--json', 'print JSON')
    .action(async (id: string, o: { notSyncable?: boolean; syncable?: boolean; reason?: string; json?: boolean }) => {
      const c = await getContainer();
      await integration(c, id);
      if (o.reason && !(COURSE_REASONS as readonly string[]).includes(o.reason)) throw new AppError('validation_failed', `--reason must be one of ${COURSE_REASONS.join(', ')}`);
      let cursor: string | undefined;
      do {
        const page = await c.sync.courses.listCourses(id, { syncable: o.notSyncable ? false : o.syncable ? true : undefined, reason: o.reason, cursor, limit: 500 });
        for (const co of page.courses) {
          io.out(o.json ? JSON.stringify(co) : `${co.canvasId}\t${co.syncable ? 'syncable' : 'NOT'}\t${co.externalId ?? '—'}\t${co.name}${co.reasons.length ? `\t(${co.reasons.join(', ')})` : ''}`);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    });
}

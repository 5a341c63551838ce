import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { parseScoresCsv } from '../../grades/scores-csv.js';
import { processIO, type CliIO } from '../io.js';
import { followJob, reportJob } from './refresh.js';
import { quantity } from '../../text/quantity.js';

type Outcome = { userExternalId: string; outcome: string; detail?: string };

function printOutcomes(io: CliIO, outcomes: Outcome[], verb: string): void {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.outcome, (counts.get(o.outcome) ?? 0) + 1);
  io.out(`${verb}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`);
  for (const o of outcomes) if (o.outcome !== 'posted' && o.outcome !== 'unchanged') io.out(`  ${o.userExternalId}: ${o.outcome}${o.detail ? ` — ${o.detail}` : ''}`);
}

/**
 * `grades post` (a CSV of `user_id,score[,comment]`: a preview first, then the grade_post job
 * unless `--dry-run`) and `grades show` (an exam's last post).
 */
export function register(program: Command, getContainer: () => Promise<Container>, io: CliIO = processIO): void {
  const grades = program.command('grades').description('Post exam scores to a Canvas course gradebook');

  grades
    .command('post')
    .description('Post a CSV of user_id,score[,comment] (user_id of the integration\'s user ID type); shows a preview first')
    .requiredOption('--integration <id>', 'integration id')
    .requiredOption('--course <canvasId>', 'Canvas course id')
    .requiredOption('--exam-key <key>', "the exam's key (the assignment's integration_id in Canvas)")
    .requiredOption('--title <title>', 'the assignment title')
    .requiredOption('--points <n>', 'points possible')
    .option('--dry-run', 'only the preview: write nothing to Canvas')
    .option('--json', 'print JSON')
    .argument('<file>', 'the CSV file')
    .action(async (file: string, o: { integration: string; course: string; examKey: string; title: string; points: string; dryRun?: boolean; json?: boolean }) => {
      const points = Number(o.points);
      if (!Number.isFinite(points) || points < 0) throw new AppError('validation_failed', '--points: a number of points, 0 or more', { details: { field: 'points' } });
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new AppError('validation_failed', `${file}: cannot be read`, { details: { field: 'file' } });
      }
      const input = { exam: { key: o.examKey, title: o.title, pointsPossible: points }, scores: parseScoresCsv(text) };
      const c = await getContainer();
      const actor = 'cli';
      const preview = await c.grades.post(o.integration, o.course, { ...input, dryRun: true }, actor);
      if (preview.kind !== 'preview') throw new Error('unreachable: a dry run answers a preview');
      if (o.json && o.dryRun) return io.out(JSON.stringify({ dryRun: true, assignmentId: preview.assignmentId, notes: preview.notes, outcomes: preview.outcomes.map(({ userExternalId, outcome, detail }) => ({ userExternalId, outcome, detail })) }, null, 2));
      if (!o.json) {
        for (const n of preview.notes) io.out(n);
        printOutcomes(io, preview.outcomes, `Preview of ${quantity(input.scores.length, 'score')} (posted = would be posted)`);
      }
      if (o.dryRun) return;
      const started = await c.grades.post(o.integration, o.course, input, actor);
      if (started.kind !== 'job') throw new Error('unreachable: a post answers a job');
      const end = await followJob(c, started.job.id, io);
      const code = reportJob(end, io, o.json);
      if (!o.json) {
        const last = await c.grades.get(o.integration, o.course, o.examKey).catch(() => undefined);
        if (last) printOutcomes(io, last.outcomes, 'Outcomes');
      }
      if (code !== 0) throw new CommanderError(code, 'canvas-companion.job_failed', '');
    });

  grades
    .command('show')
    .description("An exam's last post: the assignment and every student's outcome")
    .requiredOption('--integration <id>', 'integration id')
    .requiredOption('--course <canvasId>', 'Canvas course id')
    .requiredOption('--exam-key <key>', "the exam's key")
    .option('--json', 'print JSON')
    .action(async (o: { integration: string; course: string; examKey: string; json?: boolean }) => {
      const c = await getContainer();
      const r = await c.grades.get(o.integration, o.course, o.examKey);
      if (o.json) return io.out(JSON.stringify(r, null, 2));
      io.out(`${r.exam.title} (${r.exam.key}, ${r.exam.pointsPossible} points): ${r.state}${r.assignmentUrl ? ` — ${r.assignmentUrl}` : ''}`);
      if (r.message) io.out(`  ${r.message}`);
      printOutcomes(io, r.outcomes, 'Outcomes');
    });
}

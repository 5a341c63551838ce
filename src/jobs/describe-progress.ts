import type { Job } from './types.js';

/** A job's progress as people read it: one labelled line in one unit, and the bar's fill. */
export interface ProgressDescription {
  /** E.g. "Reading sections: 1,200 of 1,800 syncable courses", "Canvas is preparing the report (42 %)". */
  label: string;
  /** What the bar counts (the same units as the label), or a null total while it cannot be known. */
  done: number;
  total: number | null;
}

const n = (x: number) => x.toLocaleString('en-US');

/**
 * Describes a job's progress for the pages, the JSON they poll and the CLI's bar, so all three
 * count the same units under the same words. The phases are the ones the jobs report through
 * `ctx.progress`: on the report path "starting report" → "report" (Canvas's percentage) →
 * "downloading" → "saving courses" (report rows) → "counting sections" → "saving sections"
 * (sections of syncable courses saved, the unit the result reports), on the REST path "courses"
 * (pages listed, total unknown) → "sections" (syncable courses whose sections were read); a roster
 * sync counts courses; a grade post finds the assignment ("assignment"), reads Canvas's scores
 * ("reading scores") and counts the scores sent ("posting"). An ended job says how it ended instead of its last phase.
 */
export function describeProgress(job: Pick<Job, 'kind' | 'state' | 'progress' | 'error'>): ProgressDescription {
  const { phase, done, total } = job.progress;
  const of = (what: string, unit: string) => {
    const count = total !== null ? `${n(done)} of ${n(total)}${unit ? ` ${unit}` : ''}` : `${n(done)}${unit ? ` ${unit}` : ''} so far`;
    return { label: `${what}: ${count}`, done, total };
  };
  switch (job.state) {
    case 'queued':
      return { label: 'Waiting to start', done: 0, total: null };
    case 'succeeded':
      return { label: 'Finished', done: total ?? done, total: total ?? (done || null) };
    case 'failed':
      return { label: `Failed${job.error ? `: ${job.error.message}` : ''}`, done, total };
    case 'cancelled':
      return { label: 'Cancelled', done, total };
    default:
      break;
  }
  if (job.kind === 'course_refresh') {
    switch (phase) {
      case 'starting report':
        return { label: 'Asking Canvas for the provisioning report', done: 0, total: null };
      case 'report':
        return { label: `Canvas is preparing the report (${Math.min(100, Math.round(done))} %)`, done: Math.min(done, 100), total: 100 };
      case 'downloading':
        return { label: 'Downloading the report from Canvas', done: 0, total: null };
      case 'saving courses':
        return of('Saving courses from the report', 'courses');
      case 'counting sections':
        return { label: 'Finding the sections of syncable courses in the report', done: 0, total: null };
      case 'saving sections':
        // Counted in the unit the result reports: sections of syncable courses, saved.
        return of('Saving sections of syncable courses from the report', 'sections');
      case 'courses':
        return of('Listing courses', 'courses');
      case 'sections':
        return of('Reading sections', 'syncable courses');
      default:
        break;
    }
  }
  if (job.kind === 'course_sync' && phase === 'courses') return of('Syncing rosters', total === 1 ? 'course' : 'courses');
  if (job.kind === 'grade_post') {
    if (phase === 'assignment') return { label: "Finding the exam's assignment in Canvas", done: 0, total: null };
    if (phase === 'reading scores') return { label: 'Reading the scores Canvas holds', done: 0, total: null };
    if (phase === 'posting') return of('Posting scores (Canvas grades each batch in the background)', 'scores');
  }
  if (job.kind === 'sync_list_sync' && phase === 'report') return { label: `Canvas is preparing the provisioning report for the whole list (${n(done)} %)`, done, total: 100 };
  if (job.kind === 'sync_list_sync' && phase === 'courses') return of('Syncing the sync list', total === 1 ? 'course' : 'courses');
  if (job.kind === 'health_check' && phase === 'checking') return { label: 'Checking the connection with Canvas', done: 0, total: null };
  const words = phase.charAt(0).toUpperCase() + phase.slice(1);
  return total === null && done === 0 ? { label: words, done, total } : of(words, '');
}

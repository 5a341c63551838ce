import { describeProgress } from '../../jobs/describe-progress.js';
import { describeJobSummary, jobLabel } from '../../jobs/job-kinds.js';
import type { Job } from '../../jobs/types.js';

/** The API's job shape (params and attempts stay internal); pages build on it too. */
export function presentJob(j: Job) {
  return {
    id: j.id,
    kind: j.kind,
    integrationId: j.integrationId,
    state: j.state,
    progress: { ...j.progress, label: describeProgress(j).label },
    etaSeconds: j.etaSeconds,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    error: j.error,
    summary: j.summary,
  };
}

/** Seconds from start to finish (or to now while running), or null before it started. */
export function jobDurationSeconds(j: Job, now: Date): number | null {
  if (!j.startedAt) return null;
  const end = j.finishedAt ? Date.parse(j.finishedAt) : now.getTime();
  return Math.max(0, Math.round((end - Date.parse(j.startedAt)) / 1000));
}

/**
 * A row of the Jobs page: the API shape plus what the registry says of its kind (the label and
 * the summary line), the integration's name and the duration.
 */
export function presentJobRow(j: Job, now: Date, integrationName: string) {
  return {
    ...presentJob(j),
    label: jobLabel(j.kind),
    summaryText: describeJobSummary(j.kind, j.summary),
    integrationName,
    durationSeconds: jobDurationSeconds(j, now),
  };
}

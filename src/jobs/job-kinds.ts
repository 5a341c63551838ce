import { createHash } from 'node:crypto';
import { quantity } from '../text/quantity.js';

/**
 * The job registry: every job kind with the parameters it is enqueued with, the summary its
 * handler returns, and how the pages name it and describe that summary. Adding a kind:
 * 1. here, its params and summary types, an entry in {@link JobKindTypes} and one in
 *    {@link JOB_KIND_INFO} (the compiler asks for the second once the first is there);
 * 2. its handler, a `JobDefinition<'kind', Checkpoint>` in its own file;
 * 3. the feature that owns it (e.g. `sync/sync-feature.ts`): the handler in its definitions and
 *    a start function calling `runner.enqueue('kind', …)`.
 * The runners, the dedupe index, the Jobs page and the API's `kind` enum read the registry.
 */

export type RefreshPath = 'bulk' | 'rest';

export type CourseRefreshParams = {
  /** Force a path (benchmarks, tests); by default bulk is tried first and REST is the fallback. */
  path?: RefreshPath;
};

export type CourseRefreshSummary = {
  path: RefreshPath;
  /** Why the bulk path was left for REST, when it was. */
  fellBackToRest?: string;
  courses: number;
  syncable: number;
  notSyncable: number;
  byReason: Record<string, number>;
  sections: number;
  sectionsMissingId: number;
  removed: number;
  requests: number;
  throttled: number;
  retries: number;
  /** True when an earlier attempt was interrupted and this one continued from its checkpoint. */
  resumed: boolean;
  durationMs: number;
};

export type CourseSyncParams = {
  courseIds: string[];
};

/** Running totals of a roster sync; `skipped_<reason>` counts the people skipped for each reason. */
export type CourseSyncTotals = {
  examTakers: number;
  skipped: number;
  added: number;
  removed: number;
  changed: number;
  [skippedFor: `skipped_${string}`]: number;
};

export type CourseSyncSummary = CourseSyncTotals & {
  courses: number;
  /** Courses Canvas no longer had: each failed alone, the batch went on. */
  failedCourses?: number;
  /** What the job did to each course, in the order synced. */
  courseResults?: Array<{ courseId: string; examTakers: number; skipped: number; added: number; removed: number; changed: number; failed?: { code: string; message: string } }>;
  warnings?: string[];
};

export type SyncListSyncParams = {
  /** What started it: a person (the default) or the integration's schedule. */
  trigger?: 'manual' | 'schedule';
};

/** What a sync list run did: totals over the courses synced, and each course that failed with why. */
export type SyncListSyncSummary = {
  /** Courses on the list when the run started. */
  courses: number;
  synced: number;
  failed: number;
  examTakers: number;
  added: number;
  removed: number;
  changed: number;
  failures: Array<{ courseId: string; code: string; message: string }>;
  resumed: boolean;
  /** How the rosters were read: one provisioning report for the list, or each course by REST. */
  path?: 'report' | 'rest';
  /** Why the report was not used (not allowed for the token, ended without a file…), when it was tried. */
  fellBack?: string;
  /** Courses the report did not hold, synced by REST in the same run. */
  restCourses?: number;
};

export type HealthCheckParams = Record<string, never>;

export type HealthCheckJobSummary = {
  /** The scheduled check of every connected integration: how many were checked, whose state moved. */
  checked?: number;
  changed?: Array<{ integrationId: string; from: string; to: string; reasons?: unknown }>;
  /** The check of one integration: its status afterwards. */
  integrationId?: string;
  status?: unknown;
};

/** The exam a grade post is for (its key becomes the Canvas assignment's integration_id). */
export type GradeExam = { key: string; title: string; pointsPossible: number; published: boolean };

export type GradePostParams = {
  courseId: string;
  exam: GradeExam;
  /** `score` as given: a number of points; anything else ends as `invalid_score`. */
  scores: Array<{ userExternalId: string; score: number | string | null; comment?: string }>;
  /** Who asked for the post (for the audit trail and the webhook event). */
  actor?: string;
};

export type GradePostSummary = {
  examKey: string;
  assignmentId: string | null;
  posted: number;
  unchanged: number;
  unknownUser: number;
  notExamTaker: number;
  invalidScore: number;
  failed: number;
  /** update_grades requests sent (the writes); assignment creation is counted apart. */
  writeRequests: number;
  assignmentCreated: boolean;
  resumed: boolean;
  durationMs: number;
};

/** Each kind → what it is enqueued with and what its handler returns. */
export interface JobKindTypes {
  course_refresh: { params: CourseRefreshParams; summary: CourseRefreshSummary };
  course_sync: { params: CourseSyncParams; summary: CourseSyncSummary };
  grade_post: { params: GradePostParams; summary: GradePostSummary };
  sync_list_sync: { params: SyncListSyncParams; summary: SyncListSyncSummary };
  health_check: { params: HealthCheckParams; summary: HealthCheckJobSummary };
}

export type JobKind = keyof JobKindTypes;
export type JobParams<K extends JobKind> = JobKindTypes[K]['params'];
export type JobSummary<K extends JobKind> = JobKindTypes[K]['summary'];

/** How one kind shows up on the pages and which of its jobs count as the same work. */
export interface JobKindInfo<K extends JobKind> {
  /** What the pages call it ("Course refresh"). */
  label: string;
  /** One line for the Jobs page; null when the progress line says it better. */
  describeSummary(summary: JobSummary<K>): string | null;
  /**
   * Jobs of this kind with the same key are the same work: the database refuses a second one
   * queued or running for the integration. Absent: one per integration.
   */
  dedupeKey?(params: JobParams<K>): string;
}

export const JOB_KIND_INFO: { readonly [K in JobKind]: JobKindInfo<K> } = {
  course_refresh: {
    label: 'Course refresh',
    describeSummary: (s) => `${quantity(s.courses, 'course')}, ${quantity(s.sections, 'section')} of syncable courses (${s.path === 'bulk' ? 'provisioning report' : 'REST API'})`,
  },
  course_sync: {
    label: 'Roster sync',
    describeSummary: (s) => `${quantity(s.examTakers, 'exam-taker')}, ${s.skipped.toLocaleString('en-US')} skipped${s.failedCourses ? `; ${quantity(s.failedCourses, 'course')} not synced` : ''}`,
    // One sync per course, or per identical selection of courses.
    dedupeKey(params) {
      const raw: unknown[] = Array.isArray(params.courseIds) ? params.courseIds : [];
      const ids = [...new Set(raw.map(String))].sort();
      if (ids.length === 1) return `course:${ids[0]}`;
      return `courses:${createHash('sha256').update(ids.join(',')).digest('hex')}`;
    },
  },
  grade_post: {
    label: 'Grade post',
    describeSummary: (s) =>
      `${s.examKey}: ${s.posted} posted, ${s.unchanged} unchanged, ${s.unknownUser + s.notExamTaker + s.invalidScore + s.failed} not posted (${quantity(s.writeRequests, 'write request')})`,
    // One post of an exam in a course at a time.
    dedupeKey: (params) => `grade:${String(params.courseId)}:${String(params.exam?.key)}`,
  },
  sync_list_sync: {
    label: 'Sync list sync',
    describeSummary: (s) =>
      `${s.synced} of ${quantity(s.courses, 'course')} synced${s.path === 'report' ? ' from one report' : ''}: ${s.added} added, ${s.removed} removed, ${s.changed} changed${s.failed ? `; ${s.failed} failed` : ''}`,
    // One run per integration at a time, whether started by a person or by the schedule.
    dedupeKey: () => '',
  },
  health_check: {
    label: 'Health check',
    describeSummary: (s) => (typeof s.checked === 'number' ? `${quantity(s.checked, 'integration')} checked, ${s.changed?.length ?? 0} changed` : null),
  },
};

export const JOB_KINDS = Object.keys(JOB_KIND_INFO) as [JobKind, ...JobKind[]];

/** The registry entry of a stored kind; undefined for a kind this version does not know. */
export function jobKindInfo(kind: string): JobKindInfo<JobKind> | undefined {
  return Object.hasOwn(JOB_KIND_INFO, kind) ? (JOB_KIND_INFO[kind as JobKind] as JobKindInfo<JobKind>) : undefined;
}

/** The label of a stored kind ("Course refresh"), or the kind itself when it is unknown. */
export function jobLabel(kind: string): string {
  return jobKindInfo(kind)?.label ?? kind;
}

/** The Jobs page's line for a stored summary, or null when there is none to show. */
export function describeJobSummary(kind: string, summary: Record<string, unknown> | null): string | null {
  const info = jobKindInfo(kind);
  return summary && info ? info.describeSummary(summary as JobSummary<JobKind>) : null;
}

/** The dedupe key of a job: '' (one per integration) unless its kind says otherwise. */
export function dedupeKeyFor<K extends JobKind>(kind: K, params: JobParams<K>): string {
  return (JOB_KIND_INFO[kind] as JobKindInfo<K>).dedupeKey?.(params) ?? '';
}

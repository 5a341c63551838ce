import type { AppErrorCode } from './app-error.js';
import { REMEDIES, type ReasonCode } from './reason-codes.js';

/**
 * Codes a failed job can carry beyond the connection reasons: things that went wrong in the work
 * itself. Each has the text shown with it (API `help`, job pages, CLI).
 */
const JOB_ONLY_HELP = {
  token_invalid: {
    title: 'Canvas refused the token as invalid, and getting a new one did not help',
    remedy: 'Click Re-check on the integration: it tells apart a key that is OFF from a token owner who is no longer active.',
  },
  report_unreadable: {
    title: 'The provisioning report file from Canvas could not be read',
    remedy: 'Run the refresh again; it asks Canvas for a new report. If it keeps failing, the course list can still be refreshed course by course.',
  },
  course_not_found: {
    title: 'Canvas has no such course',
    remedy: 'The course may have been deleted in Canvas. Refresh the course list.',
  },
  account_not_found: {
    title: 'Canvas has no such account for this token',
    remedy: 'Check the account id on the integration (or use "self" for the root account).',
  },
  canvas_not_found: {
    title: 'Canvas answered 404 Not Found',
    remedy: 'Something this job relied on was deleted in Canvas. Refresh the course list and try again.',
  },
  canvas_bad_request: {
    title: 'Canvas refused the request as malformed',
    remedy: 'Try again; if it keeps failing, the service log has the request that Canvas refused.',
  },
  grade_post_failed: {
    title: 'Canvas did not store some of the scores',
    remedy: 'Open the exam on the course page: each student who was not graded has Canvas\'s answer. Sync the course, fix the enrollments in Canvas, and post again (scores already stored are not sent twice).',
  },
  assignment_unpublished: {
    title: "The exam's assignment is unpublished in Canvas, and Canvas grades only published assignments",
    remedy: 'Publish the assignment in Canvas (it is never re-published behind your back), then post again.',
  },
} as const satisfies Record<string, { title: string; remedy: string }>;

export type JobOnlyCode = keyof typeof JOB_ONLY_HELP;

/** What a failed job records as `error.code`: a connection reason, a job-only code, or a generic one. */
export type JobErrorCode = ReasonCode | JobOnlyCode | 'not_found' | 'validation_failed' | 'internal';

/**
 * The one closed set of error codes the service speaks, on the API, on pages and in job outcomes.
 * The HTTP status of each is in http/error-status.ts (a code without a status fails to compile).
 */
export type ErrorCode = AppErrorCode | JobErrorCode;

/** Help for the codes that have a remedy an admin can act on. */
export const ERROR_HELP: Partial<Record<ErrorCode, { title: string; remedy: string }>> = { ...REMEDIES, ...JOB_ONLY_HELP };

/** `title (detail). remedy` for a code with help, else `detail`: the message a failed job stores. */
export function messageFor(code: ErrorCode, detail: string): string {
  const help = ERROR_HELP[code];
  if (!help) return detail;
  return `${help.title}${detail ? ` (${detail})` : ''}. ${help.remedy}`;
}

import type { GradeOutcome, GradePostRecord } from '../../grades/grade-repository.js';

/** One student's outcome, as the API answers it (the internal Canvas user id and score stay out). */
export function presentOutcome(o: GradeOutcome) {
  return { userExternalId: o.userExternalId, outcome: o.outcome, ...(o.detail ? { detail: o.detail } : {}) };
}

/** An exam's last post: the exam, its Canvas assignment and every student's outcome. */
export function presentGradePost(r: GradePostRecord) {
  return {
    exam: { key: r.exam.key, title: r.exam.title, pointsPossible: r.exam.pointsPossible },
    assignmentId: r.assignmentId,
    assignmentUrl: r.assignmentUrl,
    state: r.state,
    message: r.message,
    jobId: r.jobId,
    postedAt: r.postedAt,
    outcomes: r.outcomes.map(presentOutcome),
  };
}

/** The outcomes a dry run predicts. */
export function presentGradePreview(r: { outcomes: GradeOutcome[]; assignmentId: string | null; notes: string[] }) {
  return { dryRun: true as const, assignmentId: r.assignmentId, notes: r.notes, outcomes: r.outcomes.map(presentOutcome) };
}

const COUNTED = ['posted', 'unchanged', 'unknown_user', 'not_exam_taker', 'invalid_score', 'failed'] as const;

/** The course page's list of posted exams, with counts per outcome. */
export function presentGradePostsForPage(records: GradePostRecord[]) {
  return records.map((r) => ({
    ...presentGradePost(r),
    counts: COUNTED.map((k) => ({ outcome: k, n: r.outcomes.filter((o) => o.outcome === k).length })).filter((c) => c.n > 0),
  }));
}

import type { Kysely, Selectable } from 'kysely';
import type { Database, GradePostsTable } from '../store/schema.js';

/** What happened to one student's score. */
export const GRADE_OUTCOMES = ['posted', 'unchanged', 'unknown_user', 'not_exam_taker', 'invalid_score', 'failed'] as const;
export type GradeOutcomeKind = (typeof GRADE_OUTCOMES)[number];

export interface GradeOutcome {
  userExternalId: string;
  outcome: GradeOutcomeKind;
  /** The roster reason(s) of `not_exam_taker`, Canvas's message of `failed`, what was wrong with an `invalid_score`. */
  detail?: string;
  /** The Canvas user the external id maps to, when it maps to one. */
  canvasUserId?: string;
  score?: number | null;
}

/** `running` while the job works, then `succeeded`, `failed` or `cancelled`; `preview` is never stored. */
export type GradePostState = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One exam of a course as last posted. */
export interface GradePostRecord {
  integrationId: string;
  courseId: string;
  exam: { key: string; title: string; pointsPossible: number };
  assignmentId: string | null;
  assignmentUrl: string | null;
  jobId: string | null;
  state: GradePostState;
  message: string | null;
  outcomes: GradeOutcome[];
  postedAt: string | null;
  updatedAt: string;
}

function toRecord(r: Selectable<GradePostsTable>): GradePostRecord {
  return {
    integrationId: r.integration_id,
    courseId: r.course_canvas_id,
    exam: { key: r.exam_key, title: r.exam_title, pointsPossible: Number(r.points_possible) },
    assignmentId: r.assignment_id,
    assignmentUrl: r.assignment_url,
    jobId: r.job_id,
    state: r.state as GradePostState,
    message: r.message,
    outcomes: JSON.parse(r.outcomes) as GradeOutcome[],
    postedAt: r.posted_at,
    updatedAt: r.updated_at,
  };
}

/**
 * The exam → assignment mapping (by exam key, per course) and the per-student outcomes of each
 * exam's last post, on SQLite or Postgres.
 */
export function createGradeRepository(db: Kysely<Database>) {
  return {
    async get(integrationId: string, courseId: string, examKey: string): Promise<GradePostRecord | undefined> {
      const r = await db
        .selectFrom('grade_posts')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', '=', courseId)
        .where('exam_key', '=', examKey)
        .executeTakeFirst();
      return r ? toRecord(r) : undefined;
    },

    /** The course's posted exams, newest first. */
    async list(integrationId: string, courseId: string): Promise<GradePostRecord[]> {
      const rows = await db
        .selectFrom('grade_posts')
        .selectAll()
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', '=', courseId)
        .orderBy('updated_at', 'desc')
        .orderBy('exam_key')
        .execute();
      return rows.map(toRecord);
    },

    /** Inserts or replaces the exam's record (the key is integration, course and exam key). */
    async save(rec: GradePostRecord): Promise<void> {
      const row: GradePostsTable = {
        integration_id: rec.integrationId,
        course_canvas_id: rec.courseId,
        exam_key: rec.exam.key,
        exam_title: rec.exam.title,
        points_possible: rec.exam.pointsPossible,
        assignment_id: rec.assignmentId,
        assignment_url: rec.assignmentUrl,
        job_id: rec.jobId,
        state: rec.state,
        message: rec.message,
        outcomes: JSON.stringify(rec.outcomes),
        posted_at: rec.postedAt,
        updated_at: rec.updatedAt,
      };
      const { integration_id: _i, course_canvas_id: _c, exam_key: _k, ...rest } = row;
      await db
        .insertInto('grade_posts')
        .values(row)
        .onConflict((oc) => oc.columns(['integration_id', 'course_canvas_id', 'exam_key']).doUpdateSet(rest))
        .execute();
    },

    /** Forgets the exam's mapping (the next post recovers it from Canvas by the assignment's integration_id). */
    async delete(integrationId: string, courseId: string, examKey: string): Promise<void> {
      await db
        .deleteFrom('grade_posts')
        .where('integration_id', '=', integrationId)
        .where('course_canvas_id', '=', courseId)
        .where('exam_key', '=', examKey)
        .execute();
    },
  };
}

export type GradeRepository = ReturnType<typeof createGradeRepository>;

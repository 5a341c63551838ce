import { classifyCourse, classifySection, isoUtc, type CourseFacts, type CourseIdType, type CourseWorkflow, type SectionFacts, type TermFacts } from './classify.js';
import type { CourseRow, SectionRow } from './course-repository.js';

/** Canvas's empty values (absent, null, '') as null; anything else as text. */
export const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));

/** The term of a course JSON asked with `include[]=term`; null when Canvas left it out (includes not allowed). */
function termFromJson(t: unknown): TermFacts | null {
  if (!t || typeof t !== 'object') return null;
  const o = t as Record<string, unknown>;
  return { name: String(o.name ?? ''), startAt: isoUtc(o.start_at), endAt: isoUtc(o.end_at) };
}

/** The name of the course's account from `include[]=account_name`, `include[]=account` or `include[]=subaccount`, whichever came back. */
function departmentFromJson(j: Record<string, unknown>): string | null {
  const account = j.account && typeof j.account === 'object' ? (j.account as Record<string, unknown>).name : undefined;
  return str(j.account_name ?? account ?? j.subaccount_name);
}

/**
 * REST course JSON → facts; an absent SIS key means hidden, a null one means empty. The course's
 * own dates count only when `restrict_enrollments_to_course_dates` is on (Canvas sends them either
 * way, but otherwise the term's dates apply), which is also all the provisioning report shows.
 */
export function courseFactsFromJson(j: Record<string, unknown>): CourseFacts {
  const restricted = j.restrict_enrollments_to_course_dates === true;
  return {
    canvasId: String(j.id),
    name: String(j.original_name ?? j.name ?? ''),
    courseCode: str(j.course_code),
    sisCourseId: 'sis_course_id' in j ? str(j.sis_course_id) : undefined,
    integrationId: 'integration_id' in j ? str(j.integration_id) : undefined,
    workflowState: (['unpublished', 'available', 'completed', 'deleted'].includes(String(j.workflow_state))
      ? j.workflow_state
      : 'unpublished') as CourseWorkflow,
    accountId: str(j.account_id),
    term: termFromJson(j.term),
    startAt: restricted ? isoUtc(j.start_at) : null,
    endAt: restricted ? isoUtc(j.end_at) : null,
    department: departmentFromJson(j),
  };
}

export function sectionFactsFromJson(j: Record<string, unknown>, courseId: string): SectionFacts {
  return {
    canvasId: String(j.id),
    courseCanvasId: courseId,
    name: String(j.name ?? ''),
    sisSectionId: 'sis_section_id' in j ? str(j.sis_section_id) : undefined,
    integrationId: 'integration_id' in j ? str(j.integration_id) : undefined,
    restrictedStartAt: j.restrict_enrollments_to_section_dates === true ? isoUtc(j.start_at) : undefined,
  };
}

export function courseRow(integrationId: string, f: CourseFacts, type: CourseIdType, jobId: string | null, now: string): CourseRow {
  const c = classifyCourse(f, type);
  return {
    integration_id: integrationId,
    canvas_id: f.canvasId,
    name: f.name,
    course_code: f.courseCode,
    sis_course_id: f.sisCourseId ?? null,
    canvas_integration_id: f.integrationId ?? null,
    external_id: c.externalId,
    workflow_state: f.workflowState,
    published: c.published ? 1 : 0,
    syncable: c.syncable ? 1 : 0,
    reasons: JSON.stringify(c.reasons),
    account_id: f.accountId,
    refreshed_at: now,
    refresh_job_id: jobId,
    last_synced_at: null,
    term_name: f.term?.name ?? null,
    term_start_at: f.term?.startAt ?? null,
    term_end_at: f.term?.endAt ?? null,
    start_at: f.startAt ?? null,
    end_at: f.endAt ?? null,
    department: f.department ?? null,
    synced_facts: null,
  };
}

/** `refreshJobId` is the refresh that saw the section; null for a lookup or roster sync (the row then takes its course's). */
export function sectionRow(integrationId: string, f: SectionFacts, type: CourseIdType, now: string, refreshJobId: string | null = null): SectionRow {
  const c = classifySection(f, type);
  return {
    integration_id: integrationId,
    canvas_id: f.canvasId,
    course_canvas_id: f.courseCanvasId,
    name: f.name,
    sis_section_id: f.sisSectionId ?? null,
    canvas_integration_id: f.integrationId ?? null,
    external_id: c.externalId,
    syncable: c.syncable ? 1 : 0,
    reasons: JSON.stringify(c.reasons),
    refreshed_at: now,
    refresh_job_id: refreshJobId,
  };
}

import { indexOf } from './visibility.js';
import type { Enrollment, World } from './world.js';

/**
 * Date-based enrollment states (Canvas `EnrollmentState#recalculate_state`). Only `active` and
 * `invited` workflows are translated. Before the start date a student or observer is
 * `pending_active` / `pending_invited`, while a teacher, TA or designer is `inactive`; after the
 * end both are `completed`. REST lists keep showing the workflow state: this state only drives
 * the caller's own enrollment list (`users/self/enrollments?state[]=…`).
 */
export type DateState = Enrollment['state'] | 'pending_active' | 'pending_invited';

const VIEW_RESTRICTABLE = new Set(['StudentEnrollment', 'ObserverEnrollment']);

/** The dates that count for an enrollment, first match wins (EnrollmentDateBuilder). */
export function effectiveDates(world: World, e: Enrollment): { start: number | null; end: number | null } {
  const at = (s: string | null | undefined): number | null => (s ? Date.parse(s) : null);
  if (e.startAt && e.endAt) return { start: at(e.startAt), end: at(e.endAt) };
  const idx = indexOf(world);
  const section = idx.sections.get(e.sectionId);
  if (section?.restrictEnrollmentsToSectionDates) return { start: at(section.startAt), end: at(section.endAt) };
  const course = idx.courses.get(e.courseId);
  if (course?.restrictEnrollmentsToCourseDates) return { start: at(course.startAt), end: at(course.endAt) };
  const term = world.terms.find((t) => t.id === (course?.termId ?? '1'));
  if (term) return { start: at(term.startAt), end: at(term.endAt) };
  return { start: null, end: null };
}

/** The enrollment's state as Canvas computes it from workflow and dates at `nowMs`. */
export function dateState(world: World, e: Enrollment, nowMs: number): DateState {
  if (e.state !== 'active' && e.state !== 'invited') return e.state;
  const course = indexOf(world).courses.get(e.courseId);
  if (course?.workflowState === 'completed') return 'completed';
  const { start, end } = effectiveDates(world, e);
  if (start === null && end === null) return e.state;
  if ((start === null || start <= nowMs) && (end === null || nowMs <= end)) return e.state;
  if (end !== null && end < nowMs) return 'completed';
  if (!VIEW_RESTRICTABLE.has(e.type)) return 'inactive';
  return e.state === 'active' ? 'pending_active' : 'pending_invited';
}

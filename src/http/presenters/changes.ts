import type { ChangeRecord } from '../../changes/change-log.js';

/** The API's change entry: exactly these fields. */
export function presentChange(c: ChangeRecord) {
  return { seq: c.seq, at: c.at, type: c.type, courseCanvasId: c.courseCanvasId, data: c.data };
}

const WHY: Record<string, string> = {
  left_course: 'left the course',
  role_changed: 'their role changed',
  inactive: 'the enrollment is inactive',
  concluded: 'the enrollment was concluded',
  pending: 'the invitation is pending',
  id_emptied: 'their ID is now empty',
  id_hidden: 'their ID is hidden from the token owner',
};

const FIELD: Record<string, string> = {
  externalId: 'ID',
  name: 'name',
  sectionIds: 'sections',
  pendingUntil: 'pending date',
  courseCode: 'course code',
  sisCourseId: 'SIS id',
  integrationId: 'Reference ID',
  workflowState: 'state',
  published: 'published',
  syncable: 'syncable',
  reasons: 'reasons',
  accountId: 'account',
  termName: 'term',
  termStartAt: 'term start',
  termEndAt: 'term end',
  startAt: 'start date',
  endAt: 'end date',
  department: 'department',
};

const shown = (v: unknown): string => (v === null || v === undefined || v === '' ? '—' : Array.isArray(v) ? (v.length ? v.join(', ') : 'none') : String(v));

/** An ISO instant as the pages show times (`2027-01-11 07:00:00 UTC`). */
const utc = (iso: string): string => (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(iso) ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : iso);

/** One change as a sentence for the course page ("Ann Lee (S1) was added as an exam-taker."). */
export function describeChange(c: ChangeRecord): string {
  const d = c.data;
  const who = `${shown(d.name)}${d.externalId ? ` (${String(d.externalId)})` : ''}`;
  switch (c.type) {
    case 'enrollment.added':
      return `${who} was added as an exam-taker${d.pendingUntil ? ` (pending in Canvas until ${utc(String(d.pendingUntil))})` : ''}.`;
    case 'enrollment.removed':
      return `${who} is no longer an exam-taker: ${WHY[String(d.why)] ?? String(d.why)}.`;
    case 'enrollment.updated': {
      const before = (d.before ?? {}) as Record<string, unknown>;
      const after = (d.after ?? {}) as Record<string, unknown>;
      const parts = Object.keys(after).map((k) => `${FIELD[k] ?? k} ${shown(before[k])} → ${shown(after[k])}`);
      return `${who} changed: ${parts.join('; ')}.`;
    }
    case 'course_admin.added':
      return `${who} became a course admin${d.role ? ` (${String(d.role)})` : ''}.`;
    case 'course_admin.removed':
      return `${who} is no longer a course admin: ${WHY[String(d.why)] ?? String(d.why)}.`;
    case 'course.updated': {
      const changes = (d.changes ?? {}) as Record<string, { before: unknown; after: unknown }>;
      const parts = Object.entries(changes).map(([k, v]) => `${FIELD[k] ?? k} ${shown(v.before)} → ${shown(v.after)}`);
      const notSyncable = d.syncable === false && changes.syncable ? ` It can no longer be synced (${shown(d.reasons)}).` : '';
      return `The course changed: ${parts.join('; ')}.${notSyncable}`;
    }
    case 'integration.status_changed':
      return `The connection went from ${shown(d.from)} to ${shown(d.to)}${Array.isArray(d.reasons) && d.reasons.length ? ` (${d.reasons.join(', ')})` : ''}.`;
  }
}

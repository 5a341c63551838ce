import { describe, expect, it } from '@jest/globals';
import { classifyCourse, classifyRoster, classifySection, type CourseFacts, type EnrollmentJson } from '../../../src/sync/classify.js';
import { parseCourseQuery } from '../../../src/sync/course-lookup.js';
import { diffRoster } from '../../../src/sync/roster-sync.js';

const course = (over: Partial<CourseFacts> = {}): CourseFacts => ({
  canvasId: '1',
  name: 'C',
  courseCode: 'C',
  sisCourseId: 'S',
  integrationId: 'I',
  workflowState: 'available',
  accountId: '1',
  ...over,
});

describe('course and section classification', () => {
  it('a published course with the chosen id is syncable', () => {
    expect(classifyCourse(course(), 'sis_course_id')).toEqual({ externalId: 'S', published: true, syncable: true, reasons: [] });
  });
  it('tells hidden SIS ids (field absent) from empty ones (null)', () => {
    expect(classifyCourse(course({ sisCourseId: undefined }), 'sis_course_id').reasons).toEqual(['sis_ids_hidden']);
    expect(classifyCourse(course({ sisCourseId: null }), 'sis_course_id').reasons).toEqual(['missing_course_id']);
    expect(classifyCourse(course({ integrationId: null }), 'integration_id').reasons).toEqual(['missing_course_id']);
  });
  it('canvas_id never misses, and unpublished/deleted are reasons of their own', () => {
    expect(classifyCourse(course({ sisCourseId: undefined, workflowState: 'unpublished' }), 'canvas_id')).toMatchObject({ externalId: '1', reasons: ['unpublished'] });
    expect(classifyCourse(course({ workflowState: 'deleted', sisCourseId: null }), 'sis_course_id').reasons).toEqual(['deleted', 'missing_course_id']);
    expect(classifyCourse(course({ workflowState: 'completed' }), 'sis_course_id')).toMatchObject({ published: true, syncable: true });
  });
  it('sections use the same id type', () => {
    expect(classifySection({ canvasId: '9', courseCanvasId: '1', name: 's', sisSectionId: null, integrationId: 'X' }, 'sis_course_id').reasons).toEqual(['missing_section_id']);
    expect(classifySection({ canvasId: '9', courseCanvasId: '1', name: 's', sisSectionId: null, integrationId: 'X' }, 'integration_id')).toMatchObject({ externalId: 'X', syncable: true });
  });
});

const enr = (user: string, over: Partial<EnrollmentJson> = {}): EnrollmentJson => ({
  user_id: user,
  course_section_id: 10,
  role: 'StudentEnrollment',
  enrollment_state: 'active',
  user: { id: user, name: `U${user}`, sis_user_id: `S${user}` },
  ...over,
});

describe('roster classification', () => {
  const opts = { userIdType: 'sis_user_id' as const, studentRoles: ['StudentEnrollment', 'Exam Student'] };
  it('merges a person enrolled in two sections into one exam-taker with both sections', () => {
    const [p] = classifyRoster([enr('1'), enr('1', { course_section_id: 11 })], opts);
    expect(p).toMatchObject({ examTaker: true, externalId: 'S1', sectionIds: ['10', '11'], reasons: [] });
  });
  it('gives each skipped person the exact reason', () => {
    const people = classifyRoster(
      [
        enr('2', { enrollment_state: 'invited' }),
        enr('3', { enrollment_state: 'creation_pending' }),
        enr('4', { enrollment_state: 'inactive' }),
        enr('5', { enrollment_state: 'completed' }),
        enr('6', { role: 'TeacherEnrollment' }),
        enr('7', { user: { id: '7', name: 'U7', sis_user_id: null } }),
        enr('8', { user: { id: '8', name: 'U8' } }),
        enr('9', { role: 'Exam Student' }),
        enr('10', { enrollment_state: 'deleted' }),
      ],
      opts,
    );
    const by = Object.fromEntries(people.map((p) => [p.canvasUserId, p.reasons]));
    expect(by).toEqual({ '2': ['pending'], '3': ['pending'], '4': ['inactive'], '5': ['concluded'], '6': ['role_not_selected'], '7': ['missing_user_id'], '8': ['user_id_hidden'], '9': [] });
  });
  it('an active student enrollment wins over a concluded one', () => {
    const [p] = classifyRoster([enr('1', { enrollment_state: 'completed' }), enr('1', { course_section_id: 12 })], opts);
    expect(p).toMatchObject({ examTaker: true, sectionIds: ['12'] });
  });
});

describe('specific course query parsing', () => {
  const canvas = 'https://school.instructure.com';
  it('accepts ids, prefixed ids and course URLs on the same host', () => {
    expect(parseCourseQuery(' 123 ', canvas)).toEqual({ kind: 'canvas_id', id: '123' });
    expect(parseCourseQuery('sis_course_id:BIO-101', canvas)).toEqual({ kind: 'sis_course_id', id: 'BIO-101' });
    expect(parseCourseQuery('sis_integration_id:X1', canvas)).toEqual({ kind: 'sis_integration_id', id: 'X1' });
    expect(parseCourseQuery('https://school.instructure.com/courses/77/assignments/3', canvas)).toEqual({ kind: 'canvas_id', id: '77' });
    expect(parseCourseQuery('school.instructure.com/courses/78', canvas)).toEqual({ kind: 'canvas_id', id: '78' });
  });
  it('rejects another host and non-course URLs, naming the query field', () => {
    expect(() => parseCourseQuery('https://other.instructure.com/courses/77', canvas)).toThrow(expect.objectContaining({ code: 'validation_failed', details: { field: 'query' } }));
    expect(() => parseCourseQuery('https://school.instructure.com/accounts/1', canvas)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    expect(() => parseCourseQuery('', canvas)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
  });
});

describe('roster diff (dry-run preview)', () => {
  it('lists added, removed (with the reason now) and changed exam-takers only', () => {
    const stored = [
      { canvasUserId: '1', name: 'A', roles: [], enrollmentStates: [], externalId: 'S1', sectionIds: ['10'], examTaker: true, reasons: [], courseAdmin: false, pendingUntil: null, syncedAt: '' },
      { canvasUserId: '2', name: 'B', roles: [], enrollmentStates: [], externalId: 'S2', sectionIds: ['10'], examTaker: true, reasons: [], courseAdmin: false, pendingUntil: null, syncedAt: '' },
      { canvasUserId: '3', name: 'C', roles: [], enrollmentStates: [], externalId: null, sectionIds: [], examTaker: false, reasons: ['pending' as const], courseAdmin: false, pendingUntil: null, syncedAt: '' },
    ];
    const now = classifyRoster([enr('1', { course_section_id: 11 }), enr('2', { enrollment_state: 'inactive' }), enr('3')], { userIdType: 'sis_user_id', studentRoles: ['StudentEnrollment'] });
    const d = diffRoster(stored, now);
    expect(d.added.map((a) => a.canvasUserId)).toEqual(['3']);
    expect(d.removed).toEqual([expect.objectContaining({ canvasUserId: '2', reasons: ['inactive'] })]);
    expect(d.changed).toEqual([expect.objectContaining({ canvasUserId: '1', before: { externalId: 'S1', sectionIds: ['10'] }, after: { externalId: 'S1', sectionIds: ['11'] } })]);
  });
});

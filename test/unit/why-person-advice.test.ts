import { describe, expect, it } from '@jest/globals';
import { presentSkipReasons } from '../../src/http/presenters/roster-advice.js';
import type { CourseRepository, RosterEntryView } from '../../src/sync/course-repository.js';
import { createDiagnostics } from '../../src/sync/diagnostics.js';

const person = (over: Partial<RosterEntryView>): RosterEntryView => ({
  canvasUserId: '7',
  name: 'Pat Person',
  roles: ['TeacherEnrollment'],
  baseRoles: ['TeacherEnrollment'],
  enrollmentStates: ['active'],
  externalId: 'p7',
  sectionIds: ['s1'],
  examTaker: false,
  reasons: ['role_not_selected'],
  courseAdmin: false,
  pendingUntil: null,
  syncedAt: '2026-12-06T10:00:00.000Z',
  ...over,
});

/** The API's and the CLI's answer (diagnostics.whyPerson) for one stored roster entry. */
const whyOf = (entry: RosterEntryView) => createDiagnostics({ getRosterEntry: async () => entry } as unknown as CourseRepository).whyPerson('i1', '1001', entry.canvasUserId);

describe('why a person is not an exam-taker: the API and CLI give the course page\'s advice', () => {
  it.each([
    ['a teacher', person({})],
    ['an observer', person({ roles: ['ObserverEnrollment'], baseRoles: ['ObserverEnrollment'] })],
    ['a TA (custom name "Student helper")', person({ roles: ['Student helper'], baseRoles: ['TaEnrollment'] })],
  ])('%s is not told to add the role to Student roles', async (_who, entry) => {
    const why = await whyOf(entry);
    expect(why.verdict).toBe('skipped');
    expect(why.reasons).toHaveLength(1);
    expect(why.reasons[0]!.code).toBe('role_not_selected');
    expect(why.reasons[0]!.title).toMatch(/is not a student role$/);
    expect(why.reasons[0]!.remedy).toBe('Only people in a student role take exams, so nothing needs doing.');
  });

  it('a custom student role is told to add it to Student roles, and why', async () => {
    const why = await whyOf(person({ roles: ['Exam Candidate'], baseRoles: ['StudentEnrollment'] }));
    expect(why.reasons[0]!.remedy).toMatch(/^Canvas says it is a student role: .*add it to Student roles/);
  });

  it('says word for word what the course page says, for every reason', async () => {
    for (const entry of [person({}), person({ roles: ['Exam Candidate'], baseRoles: ['StudentEnrollment'] }), person({ roles: ['StudentEnrollment'], baseRoles: ['StudentEnrollment'], reasons: ['pending', 'missing_user_id'] })]) {
      const why = await whyOf(entry);
      expect(why.reasons).toEqual(presentSkipReasons(entry, '/c').map(({ code, title, remedy }) => ({ code, title, remedy })));
    }
  });
});

import { describe, expect, it } from '@jest/globals';
import { presentLtiCourse } from '../../../src/http/presenters/lti-course.js';
import { compareNrpsWithRoster, toNrpsMember } from '../../../src/lti/nrps-compare.js';
import type { LtiCourseData } from '../../../src/sync/lti-course-view.js';

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2';
const learner = (name: string, over: Record<string, unknown> = {}) => toNrpsMember({ status: 'Active', roles: [`${LIS}/membership#Learner`], user_id: name, name, ...over });

describe('NRPS cross-check compares like with like', () => {
  const roster = [
    { canvasUserId: '1', name: 'Ann A', externalId: 'S1', examTaker: true, reasons: [] },
    { canvasUserId: '2', name: 'Ben B', externalId: null, examTaker: false, reasons: ['missing_user_id'] },
    { canvasUserId: '3', name: 'Cat C', externalId: 'S3', examTaker: false, reasons: ['role_not_selected'] },
    { canvasUserId: '4', name: 'Dan D', externalId: 'S4', examTaker: true, reasons: [] },
    { canvasUserId: '5', name: 'Eve E', externalId: 'S5', examTaker: true, reasons: [] },
    { canvasUserId: '6', name: 'Fay F', externalId: 'S6', examTaker: true, reasons: [] },
  ];
  const members = [
    learner('Ann A', { lis_person_sourcedid: 'S1' }),
    learner('Ben B'), // no SIS id: skipped above for it
    learner('Cat C', { lis_person_sourcedid: 'S3' }), // a learner-type role the integration did not select
    learner('Gus G', { lis_person_sourcedid: 'S7' }), // never seen by the roster sync
    learner('Dan D', { lis_person_sourcedid: 'S4', status: 'Inactive' }),
    toNrpsMember({ status: 'Active', roles: [`${LIS}/membership#Instructor`], name: 'Eve E', lis_person_sourcedid: 'S5' }),
  ];

  it('lists skipped people once, as skipped, and each real difference with why', () => {
    const d = compareNrpsWithRoster(members, roster, 'sis_user_id');
    expect(d.skippedInRoster).toEqual([
      { canvasUserId: '2', name: 'Ben B', reasons: ['missing_user_id'] },
      { canvasUserId: '3', name: 'Cat C', reasons: ['role_not_selected'] },
    ]);
    expect(d.onlyInNrps).toEqual([{ name: 'Gus G', email: null, sourcedId: 'S7', why: 'not_in_roster' }]);
    expect(d.onlyInRoster).toEqual([
      { canvasUserId: '4', name: 'Dan D', why: 'inactive_in_canvas' },
      { canvasUserId: '5', name: 'Eve E', why: 'not_a_learner_in_canvas' },
      { canvasUserId: '6', name: 'Fay F', why: 'not_in_member_list' },
    ]);
    expect(d.matched).toBe(1);
    expect(d.matchedBy).toBe('name'); // Ben has no SIS id in NRPS, so not every learner carries the key
  });

  it('matches by the chosen ID when every learner has it, and still finds the skipped ones', () => {
    const d = compareNrpsWithRoster([learner('Ann A', { lis_person_sourcedid: 'S1' }), learner('Cat C', { lis_person_sourcedid: 'S3' })], roster, 'sis_user_id');
    expect(d.matchedBy).toBe('external_id');
    expect(d.skippedInRoster.map((p) => p.name)).toEqual(['Cat C']);
    expect(d.onlyInNrps).toEqual([]);
  });
});

describe('the instructor page', () => {
  const data = (over: Partial<LtiCourseData> = {}): LtiCourseData => ({
    integration: { id: 'i1', name: 'Institution A', userIdType: 'sis_user_id' },
    courseId: '100',
    course: undefined,
    sections: [],
    roster: [],
    lastSyncJob: undefined,
    nrps: null,
    ...over,
  });

  it('before any refresh, is titled with the course title Canvas sent with the launch', () => {
    const v = presentLtiCourse(data(), { courseTitle: 'Chemistry 101' });
    expect(v.title).toBe('Chemistry 101');
    expect(v.course).toMatchObject({ known: false, title: 'Chemistry 101' });
  });

  it('prefers the refreshed name, and without either names the Canvas course, never just “Course”', () => {
    expect(presentLtiCourse(data(), {}).title).toBe('Canvas course 100');
    const known = presentLtiCourse(
      data({ course: { canvasId: '100', name: 'Chemistry 101 (2026)', courseCode: 'CHEM', sisCourseId: null, integrationId: null, externalId: null, published: true, syncable: true, reasons: [], lastSyncedAt: null } as unknown as LtiCourseData['course'] }),
      { courseTitle: 'Old title' },
    );
    expect(known.title).toBe('Chemistry 101 (2026)');
  });

  it('says why each difference is one, and shows skipped learners by their roster reasons', () => {
    const v = presentLtiCourse(
      data({
        nrps: {
          error: null,
          fetchedAt: '2026-12-06T10:00:00.000Z',
          learners: 2,
          matched: 0,
          matchedBy: 'name',
          onlyInNrps: [{ name: 'Gus G', email: null, sourcedId: null, why: 'not_in_roster' }],
          onlyInRoster: [{ canvasUserId: '6', name: 'Fay F', why: 'not_in_member_list' }],
          skippedInRoster: [{ canvasUserId: '2', name: 'Ben B', reasons: ['missing_user_id'] }],
        },
      }),
    );
    expect(v.nrps?.onlyInNrps[0]?.whyText).toContain('not seen by the last roster sync');
    expect(v.nrps?.onlyInRoster[0]?.whyText).toContain('not in Canvas’s member list');
    expect(v.nrps?.skippedInRoster[0]?.reasonsText).toBe('The person has no ID of the chosen type');
  });
});

import { describe, expect, it } from '@jest/globals';
import { strToU8, zipSync } from 'fflate';
import { classifyRoster, type UserIdType } from '../../../src/sync/classify.js';
import { readReportRosters } from '../../../src/sync/provisioning-rosters.js';
import { createRosterSync } from '../../../src/sync/roster-sync.js';
import { provisioningFiles } from '../../../src/simulator/reports.js';
import type { World } from '../../../src/simulator/world.js';
import { testDatabases } from '../../support/databases.js';
import { buildSyncWorld, useSyncHarnesses } from '../../support/sync-world.js';

/** Course 101's roster plus what only the report path has to translate: a custom role, a second login, a TA, an observer. */
function world(): World {
  const w = buildSyncWorld({ fillers: 3 });
  w.roles.push({ id: '31', label: 'Exam Candidate', baseRoleType: 'StudentEnrollment', accountId: '1', workflowState: 'active' });
  w.users.push(
    { id: '20', name: 'Cora Custom', sortableName: 'Custom, Cora', loginId: 'cora', password: 'pw', sisUserId: 'S20', integrationId: 'I20', email: 'cora@example.edu' },
    {
      id: '21', name: 'Tom Twologins', sortableName: 'Twologins, Tom', loginId: 'tom', password: 'pw', sisUserId: 'S21', integrationId: 'I21', email: 'tom@example.edu',
      extraLogins: [{ loginId: 'tom-old', sisUserId: null, integrationId: null }],
    },
    { id: '22', name: 'Tia Assistant', sortableName: 'Assistant, Tia', loginId: 'tia', password: 'pw', sisUserId: 'S22', email: 'tia@example.edu' },
    { id: '23', name: 'Oli Observer', sortableName: 'Observer, Oli', loginId: 'oli', password: 'pw', sisUserId: 'S23', email: 'oli@example.edu' },
  );
  let id = 7000;
  const enroll = (userId: string, courseId: string, sectionId: string, type: World['enrollments'][number]['type'], role: string = type) =>
    w.enrollments.push({ id: String(id++), userId, courseId, sectionId, type, role, state: 'active' });
  enroll('20', '101', '1011', 'StudentEnrollment', 'Exam Candidate');
  enroll('21', '101', '1012', 'StudentEnrollment');
  enroll('22', '101', '1011', 'TaEnrollment');
  enroll('23', '101', '1011', 'ObserverEnrollment');
  enroll('1', '1000', '10000', 'StudentEnrollment');
  enroll('6', '1000', '10000', 'TeacherEnrollment');
  return w;
}

function reportZip(w: World): Uint8Array {
  const { files } = provisioningFiles(w, '1', { sections: 'true', enrollments: 'true', users: 'true', include_deleted: 'true' });
  return zipSync(Object.fromEntries(Object.entries(files).map(([n, text]) => [n, strToU8(text)])));
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('rosters read from the provisioning report (%s)', (_name, tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());

  it.each<[UserIdType, string[]]>([
    ['sis_user_id', ['StudentEnrollment']],
    ['login_id', ['StudentEnrollment', 'Exam Candidate']],
    ['integration_id', ['StudentEnrollment', 'Exam Candidate']],
    ['email', ['StudentEnrollment', 'TaEnrollment']],
  ])('classify the same as the REST answers (user id %s, roles %j)', async (userIdType, studentRoles) => {
    const w = world();
    const h = await ctx.harness(w, { userIdType, studentRoles });
    const syncRoster = createRosterSync(h.deps);
    const fromReport = await readReportRosters(reportZip(w), new Set(['101', '1000', '102']));
    expect([...fromReport.keys()].sort()).toEqual(['1000', '101', '102']);
    for (const courseId of ['101', '1000']) {
      const rest = await syncRoster(h.integrationId, courseId, { dryRun: true });
      const report = fromReport.get(courseId)!;
      // The report folds creation_pending into invited; both are the reason `pending`.
      const restPeople = rest.people.map((p) => ({ ...p, enrollmentStates: p.enrollmentStates.map((s) => (s === 'creation_pending' ? 'invited' : s)) }));
      expect(classifyRoster(report.enrollments, { userIdType, studentRoles, courseAdminRoles: ['TeacherEnrollment'] })).toEqual(restPeople);
      expect(report.sections.map((s) => s.canvasId).sort()).toEqual(rest.sections.map((s) => s.canvasId).sort());
    }
    const course101 = classifyRoster(fromReport.get('101')!.enrollments, { userIdType, studentRoles });
    // The person with two logins (two users.csv rows) is one person, identified by the login that carries the SIS id.
    expect(course101.filter((p) => p.canvasUserId === '21')).toHaveLength(1);
    if (userIdType === 'login_id') expect(course101.find((p) => p.canvasUserId === '21')?.externalId).toBe('tom');
  });

  it('keeps only the listed courses and the users they name', async () => {
    const got = await readReportRosters(reportZip(world()), new Set(['1000']));
    expect([...got.keys()]).toEqual(['1000']);
    expect(got.get('1000')!.enrollments.map((e) => String(e.user_id)).sort()).toEqual(['1', '6']);
  });

  it('refuses a file that is not a zip, or lacks the users table', async () => {
    await expect(readReportRosters(strToU8('not a zip'), new Set(['101']))).rejects.toMatchObject({ code: 'report_unreadable' });
    const { files } = provisioningFiles(world(), '1', { enrollments: 'true' });
    const zip = zipSync(Object.fromEntries(Object.entries(files).map(([n, t]) => [n, strToU8(t)])));
    await expect(readReportRosters(zip, new Set(['101']))).rejects.toMatchObject({ code: 'report_unreadable', message: expect.stringContaining('users.csv') });
  });
});

describe('a person with several logins', () => {
  it('takes the ids of the login whose SIS id the enrollment names, not the first login listed', async () => {
    const users = [
      'canvas_user_id,user_id,integration_id,authentication_provider_id,login_id,first_name,last_name,full_name,sortable_name,short_name,email,status,created_by_sis',
      '21,,,,tom-old,Tom,Twologins,Tom Twologins,"Twologins, Tom",Tom,tom@example.edu,active,false',
      '21,S21,I21,,tom,Tom,Twologins,Tom Twologins,"Twologins, Tom",Tom,tom@example.edu,active,true',
    ].join('\n');
    const enrollments = [
      'canvas_course_id,course_id,canvas_user_id,user_id,role,role_id,canvas_section_id,section_id,status,canvas_associated_user_id,associated_user_id,created_by_sis,base_role_type,limit_section_privileges,canvas_enrollment_id',
      '101,SIS-101,21,S21,student,3,1011,SEC-1011,active,,,true,StudentEnrollment,false,9001',
    ].join('\n');
    const zip = zipSync({ 'users.csv': strToU8(users), 'enrollments.csv': strToU8(enrollments) });
    const got = await readReportRosters(zip, new Set(['101']));
    const people = classifyRoster(got.get('101')!.enrollments, { userIdType: 'login_id', studentRoles: ['StudentEnrollment'] });
    expect(people).toEqual([
      expect.objectContaining({ canvasUserId: '21', name: 'Tom Twologins', externalId: 'tom', examTaker: true, sectionIds: ['1011'], roles: ['StudentEnrollment'] }),
    ]);
  });
});

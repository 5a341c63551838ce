import {
  allPermissions,
  buildDeveloperKey,
  type Course,
  type Enrollment,
  type EnrollmentState,
  type EnrollmentType,
  type Section,
  type User,
  type World,
} from './world.js';

/**
 * The seeded demo world: a mid-size university (about 2,000 courses by default) that contains
 * every course and roster reason not to sync. Same seed, same world.
 *
 * Logins and keys (copy into the README / demo output):
 * - Developer key: client_id `10000000000001`, secret {@link DEMO_CLIENT_SECRET}; redirect URIs
 *   `http://localhost:3000/oauth/callback` and `http://127.0.0.1:3000/oauth/callback`
 *   (plus `http://localhost:<port>/oauth/callback` for ports 3001–3005); binding ON,
 *   Enforce Scopes OFF (switch with `control.setKey({ requireScopes: true })`: the key already
 *   lists {@link DEMO_SCOPES}), Allow Include Parameters ON.
 * - `admin` / `password` — Demo Admin (user 1), account admin of the root account, every permission.
 * - `limited` / `password` — Limited Admin (user 2), every permission except `read_sis`.
 * - `notoken` / `password` — No-Token Admin (user 3), may not authorize applications
 *   (`client_not_allowed_for_user`).
 * - `teacher` / `password` — Tara Teacher (user 4), teacher of course 1001 (not an admin).
 * - `student` / `password` — Sam Student (user 5), student in course 1001.
 *
 * Fixed courses (ids): 1001 ready (published, SIS ids, two sections, every enrollment case),
 * 1002 unpublished (created), 1003 unpublished (claimed), 1004 no SIS course id, 1005 no
 * integration_id, 1006 deleted, 1007 concluded (completed), 1008 in the sub-account
 * "Department of Mathematics", 1009 a section without SIS id, 1010 cross-listed-looking
 * (its section's SIS id belongs to 1001's series), 1011 in the future term Spring 2027 (students
 * date-pending, the teacher date-inactive; logins `futureteacher`, `futurestudent`), 1012 limited
 * to its own course dates (blended; Tess Twologins has two logins). Generated courses start at 1101.
 * Terms: Default, Fall 2026 (current), Spring 2026 (past), Spring 2027 (future), a deleted one.
 * Sub-accounts: College of Arts & Sciences (2) › Department of Mathematics (4), College of
 * Engineering (3).
 * Course 1001 roster: teacher, TA, active students, invited, creation_pending, inactive,
 * completed, rejected and deleted students, an "Exam Student" (custom role, base
 * StudentEnrollment), students without SIS id, without email, without login, an unconfirmed email.
 */

export const DEMO_CLIENT_ID = '10000000000001';
export const DEMO_CLIENT_SECRET = 'sandboxDemoSecret0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK';

/** The scopes canvas-companion asks for; listed on the demo key so Enforce Scopes can be turned on. */
export const DEMO_SCOPES = [
  'url:GET|/api/v1/users/:id',
  'url:GET|/api/v1/accounts/:account_id/courses',
  'url:GET|/api/v1/accounts/:account_id/roles',
  'url:GET|/api/v1/accounts/:account_id/permissions',
  'url:GET|/api/v1/courses/:id',
  'url:GET|/api/v1/courses/:course_id/sections',
  'url:GET|/api/v1/courses/:course_id/enrollments',
  'url:POST|/api/v1/accounts/:account_id/reports/:report',
  'url:GET|/api/v1/accounts/:account_id/reports/:report/:id',
  'url:GET|/api/v1/accounts/:id',
];

/** Grade passback scopes (assignments, bulk grades, Progress, submissions); also on the demo key. */
export const DEMO_GRADE_SCOPES = [
  'url:POST|/api/v1/courses/:course_id/assignments',
  'url:GET|/api/v1/courses/:course_id/assignments',
  'url:GET|/api/v1/courses/:course_id/assignments/:id',
  'url:POST|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades',
  'url:POST|/api/v1/courses/:course_id/submissions/update_grades',
  'url:GET|/api/v1/courses/:course_id/assignments/:assignment_id/submissions',
  'url:GET|/api/v1/courses/:course_id/students/submissions',
  'url:GET|/api/v1/progress/:id',
];

export interface DemoWorldOptions {
  /** Number of courses (fixed tricky ones included). Default 2000. */
  courses?: number;
  seed?: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Amelia', 'Oliver', 'Sophia', 'Elijah', 'Charlotte', 'Mateo', 'Ava', 'Lucas',
  'Isabella', 'Levi', 'Mia', 'Ezra', 'Harper', 'Asher', 'Luna', 'James', 'Evelyn', 'Leo', 'Aaliyah', 'Kai',
  'Priya', 'Wei', 'Fatima', 'Diego', 'Yuki', 'Chloé', 'Søren', 'Nadia', 'Kwame', 'Aisha', 'Mohammed', 'Ingrid',
  "D'Andre", 'Siobhan', 'José', 'Anh', 'Rahul', 'Zoë', 'Ngozi', 'Tomás', 'Hana', 'Bjørn', 'Leila', 'Omar',
];
const LAST = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez',
  'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Nguyen',
  'Kim', 'Patel', 'Chen', "O'Brien", 'Müller', 'Okafor', 'Sato', 'Kowalski', 'van der Berg', 'Haddad', 'Silva',
  'Ivanova', 'Larsen', 'Mensah', 'Rossi', 'Dubois', 'Novak', 'Fischer', 'Singh', 'Cohen', 'Ahmed', 'Park',
];
const SUBJECTS: Array<[string, string]> = [
  ['BIO', 'Biology'], ['CHEM', 'Chemistry'], ['PHYS', 'Physics'], ['MATH', 'Mathematics'], ['HIST', 'History'],
  ['ENGL', 'English Literature'], ['PSYC', 'Psychology'], ['ECON', 'Economics'], ['CS', 'Computer Science'],
  ['PHIL', 'Philosophy'], ['SOC', 'Sociology'], ['ART', 'Art History'], ['MUS', 'Music Theory'], ['STAT', 'Statistics'],
  ['ME', 'Mechanical Engineering'], ['EE', 'Electrical Engineering'], ['NURS', 'Nursing'], ['LAW', 'Constitutional Law'],
];
const TOPICS = ['Foundations', 'Principles', 'Methods', 'Seminar', 'Advanced Topics', 'Laboratory', 'Survey', 'Workshop'];

const ALL_PERMS = allPermissions();

/** Builds the demo world. Deterministic for a given `{ courses, seed }`. */
export function buildDemoWorld(opts: DemoWorldOptions = {}): World {
  const courseCount = Math.max(12, opts.courses ?? 2000);
  const rand = mulberry32(opts.seed ?? 20260901);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

  const users: User[] = [];
  const person = (id: number, first: string, last: string, extra: Partial<User> = {}): User => {
    const login = `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') + id;
    const u: User = {
      id: String(id),
      name: `${first} ${last}`,
      sortableName: `${last}, ${first}`,
      shortName: first,
      loginId: login,
      email: `${login}@demo.example.edu`,
      sisUserId: `S${String(id).padStart(7, '0')}`,
      integrationId: `INT-U${id}`,
      password: 'password',
      ...extra,
    };
    users.push(u);
    return u;
  };

  person(1, 'Demo', 'Admin', { loginId: 'admin', email: 'admin@demo.example.edu', sisUserId: 'ADMIN1', admin: { accountId: '1', role: 'Account Admin', permissions: ALL_PERMS } });
  person(2, 'Limited', 'Admin', { loginId: 'limited', email: 'limited@demo.example.edu', sisUserId: 'ADMIN2', admin: { accountId: '1', role: 'Support Admin', permissions: { ...ALL_PERMS, read_sis: false } } });
  person(3, 'No-Token', 'Admin', { loginId: 'notoken', email: 'notoken@demo.example.edu', sisUserId: 'ADMIN3', admin: { accountId: '1', role: 'Account Admin', permissions: { ...ALL_PERMS, can_issue_token: false } } });
  const teacher = person(4, 'Tara', 'Teacher', { loginId: 'teacher' });
  const student = person(5, 'Sam', 'Student', { loginId: 'student' });

  // Teachers 100..399, students 1000..(1000 + pool)
  const teachers: User[] = [];
  for (let i = 0; i < 300; i++) teachers.push(person(100 + i, pick(FIRST), pick(LAST)));
  const poolSize = Math.max(200, Math.round(courseCount * 4));
  const students: User[] = [];
  for (let i = 0; i < poolSize; i++) {
    const r = rand();
    const extra: Partial<User> = {};
    if (r < 0.02) extra.sisUserId = null;
    else if (r < 0.03) extra.email = null;
    else if (r < 0.035) extra.integrationId = null;
    students.push(person(10_000 + i, pick(FIRST), pick(LAST), extra));
  }

  const courses: Course[] = [];
  const sections: Section[] = [];
  const enrollments: Enrollment[] = [];
  let sectionSeq = 5000;
  let enrollmentSeq = 100_000;
  const addSection = (course: Course, name: string, sis: string | null, integration: string | null = sis ? `INT-${sis}` : null): Section => {
    const s: Section = { id: String(++sectionSeq), courseId: course.id, name, sisSectionId: sis, integrationId: integration };
    sections.push(s);
    return s;
  };
  const seen = new Set<string>();
  const enroll = (u: User, s: Section, type: EnrollmentType, state: EnrollmentState = 'active', role: string = type): void => {
    const k = `${u.id}/${s.id}/${type}`;
    if (seen.has(k)) return;
    seen.add(k);
    enrollments.push({ id: String(++enrollmentSeq), userId: u.id, courseId: s.courseId, sectionId: s.id, type, role, state });
  };
  const course = (id: number, name: string, code: string, over: Partial<Course> = {}): Course => {
    const c: Course = {
      id: String(id),
      accountId: '2',
      termId: '2',
      name,
      courseCode: code,
      workflowState: 'available',
      sisCourseId: `FA26-${code.replace(/\s+/g, '')}`,
      integrationId: `INT-C${id}`,
      ...over,
    };
    courses.push(c);
    return c;
  };

  // Course 1001: every roster case.
  const ready = course(1001, 'Demo: Introduction to Exams', 'EXAM 101');
  const secA = addSection(ready, 'EXAM 101 Section A', 'FA26-EXAM101-A');
  const secB = addSection(ready, 'EXAM 101 Section B', 'FA26-EXAM101-B');
  enroll(teacher, secA, 'TeacherEnrollment');
  enroll(person(6, 'Tomás', 'Assistant', { loginId: 'ta' }), secA, 'TaEnrollment');
  enroll(student, secA, 'StudentEnrollment');
  for (let i = 0; i < 12; i++) enroll(students[i]!, i % 2 ? secB : secA, 'StudentEnrollment');
  enroll(person(7, 'Ivy', 'Invited'), secA, 'StudentEnrollment', 'invited');
  enroll(person(8, 'Paco', 'Pending'), secB, 'StudentEnrollment', 'creation_pending');
  enroll(person(9, 'Inez', 'Inactive'), secA, 'StudentEnrollment', 'inactive');
  enroll(person(10, 'Connor', 'Completed'), secB, 'StudentEnrollment', 'completed');
  enroll(person(11, 'Rita', 'Rejected'), secA, 'StudentEnrollment', 'rejected');
  enroll(person(12, 'Dana', 'Deleted'), secB, 'StudentEnrollment', 'deleted');
  enroll(person(13, 'Esme', 'Examstudent'), secA, 'StudentEnrollment', 'active', 'Exam Student');
  enroll(person(14, 'Nico', 'Nosis', { sisUserId: null, integrationId: null }), secB, 'StudentEnrollment');
  enroll(person(15, 'Emil', 'Noemail', { email: null }), secA, 'StudentEnrollment');
  enroll(person(16, 'Lou', 'Nologin', { loginId: '' }), secB, 'StudentEnrollment');
  enroll(person(17, 'Una', 'Unconfirmed', { emailConfirmed: false }), secA, 'StudentEnrollment');
  enroll(person(18, 'Owen', 'Observer'), secA, 'ObserverEnrollment');
  enrollments[enrollments.length - 1]!.associatedUserId = student.id;
  enroll(person(19, 'Desi', 'Designer'), secA, 'DesignerEnrollment');

  const small = (c: Course, sis: string | null = `${c.sisCourseId ?? 'X' + c.id}-01`): void => {
    const s = addSection(c, `${c.courseCode} Section 01`, sis);
    enroll(pick(teachers), s, 'TeacherEnrollment');
    for (let i = 0; i < 5; i++) enroll(pick(students), s, 'StudentEnrollment');
  };
  small(course(1002, 'Demo: Unpublished (created)', 'EXAM 102', { workflowState: 'created' }));
  small(course(1003, 'Demo: Unpublished (claimed)', 'EXAM 103', { workflowState: 'claimed' }));
  small(course(1004, 'Demo: No SIS course id', 'EXAM 104', { sisCourseId: null }), 'FA26-EXAM104-01');
  small(course(1005, 'Demo: No integration id', 'EXAM 105', { integrationId: null }));
  small(course(1006, 'Demo: Deleted course', 'EXAM 106', { workflowState: 'deleted' }));
  small(course(1007, 'Demo: Concluded course', 'EXAM 107', { workflowState: 'completed', termId: '3' }));
  small(course(1008, 'Demo: Sub-account course', 'MATH 108', { accountId: '4' }));
  small(course(1009, 'Demo: Section without SIS id', 'EXAM 109'), null);
  small(course(1010, 'Demo: Cross-listed-looking section', 'EXAM 110'), 'FA26-EXAM101-C');

  // 1011: a course in the not-yet-started Spring 2027 term (date-based pending for students,
  // date-inactive for teachers); 1012: participation limited to the course's own dates.
  const next = course(1011, 'Demo: Next-term course', 'EXAM 111', { termId: '4', sisCourseId: 'SP27-EXAM111' });
  const nextSec = addSection(next, 'EXAM 111 Section 01', 'SP27-EXAM111-01');
  enroll(person(20, 'Felix', 'Futureteacher', { loginId: 'futureteacher' }), nextSec, 'TeacherEnrollment');
  enroll(person(21, 'Fay', 'Futurestudent', { loginId: 'futurestudent' }), nextSec, 'StudentEnrollment');
  for (let i = 12; i < 16; i++) enroll(students[i]!, nextSec, 'StudentEnrollment');
  const dated = course(1012, 'Demo: Course with its own dates', 'EXAM 112', {
    restrictEnrollmentsToCourseDates: true,
    startAt: '2026-09-01T06:00:00Z',
    endAt: '2026-12-15T07:00:00Z',
    courseFormat: 'blended',
  });
  const datedSec = addSection(dated, 'EXAM 112 Section 01', 'FA26-EXAM112-01');
  enroll(pick(teachers), datedSec, 'TeacherEnrollment');
  enroll(person(22, 'Tess', 'Twologins', { extraLogins: [{ loginId: 'tess.alt', sisUserId: 'S-ALT22', integrationId: null }] }), datedSec, 'StudentEnrollment');
  for (let i = 16; i < 20; i++) enroll(students[i]!, datedSec, 'StudentEnrollment');

  const generated = courseCount - 12;
  for (let i = 0; i < generated; i++) {
    const id = 1101 + i;
    const [code, subject] = pick(SUBJECTS);
    const level = 100 + Math.floor(rand() * 400);
    const r = rand();
    const over: Partial<Course> = { accountId: code === 'MATH' || code === 'STAT' ? '4' : code === 'ME' || code === 'EE' ? '3' : '2' };
    if (r < 0.05) over.workflowState = rand() < 0.5 ? 'created' : 'claimed';
    else if (r < 0.08) over.workflowState = 'completed';
    else if (r < 0.09) over.workflowState = 'deleted';
    const c = course(id, `${subject}: ${pick(TOPICS)} ${level}`, `${code} ${level}-${id}`, over);
    if (rand() < 0.03) c.sisCourseId = null;
    const nSections = 1 + Math.floor(rand() * 3);
    for (let sIdx = 0; sIdx < nSections; sIdx++) {
      const sis = rand() < 0.03 || !c.sisCourseId ? null : `${c.sisCourseId}-${String(sIdx + 1).padStart(2, '0')}`;
      const s = addSection(c, `${c.courseCode} Section ${String(sIdx + 1).padStart(2, '0')}`, sis);
      enroll(pick(teachers), s, 'TeacherEnrollment');
      if (rand() < 0.3) enroll(pick(teachers), s, 'TaEnrollment');
      const n = 3 + Math.floor(rand() * 10);
      for (let k = 0; k < n; k++) {
        const q = rand();
        const st: EnrollmentState = q < 0.9 ? 'active' : q < 0.94 ? 'invited' : q < 0.96 ? 'creation_pending' : q < 0.98 ? 'inactive' : 'completed';
        enroll(pick(students), s, 'StudentEnrollment', st, rand() < 0.02 ? 'Exam Student' : 'StudentEnrollment');
      }
    }
  }

  return {
    rootAccountId: '1',
    accounts: [
      { id: '1', name: 'Demo State University', parentAccountId: null, sisAccountId: 'DSU' },
      { id: '2', name: 'College of Arts & Sciences', parentAccountId: '1', sisAccountId: 'DSU-AS' },
      { id: '3', name: 'College of Engineering', parentAccountId: '1', sisAccountId: 'DSU-ENG' },
      { id: '4', name: 'Department of Mathematics', parentAccountId: '2', sisAccountId: 'DSU-MATH' },
    ],
    terms: [
      { id: '1', name: 'Default Term', sisTermId: null },
      { id: '2', name: 'Fall 2026', sisTermId: 'FA26', startAt: '2026-08-24T06:00:00Z', endAt: '2026-12-18T06:00:00Z' },
      { id: '3', name: 'Spring 2026', sisTermId: 'SP26', startAt: '2026-01-12T07:00:00Z', endAt: '2026-05-08T06:00:00Z' },
      { id: '4', name: 'Spring 2027', sisTermId: 'SP27', startAt: '2027-01-11T07:00:00Z', endAt: '2027-05-07T06:00:00Z' },
      { id: '5', name: 'Summer 2025 (deleted)', sisTermId: 'SU25', startAt: '2025-06-02T06:00:00Z', endAt: '2025-08-08T06:00:00Z', workflowState: 'deleted' },
    ],
    users,
    courses,
    sections,
    enrollments,
    assignments: [
      { id: '7001', courseId: '1001', name: 'Midterm exam', pointsPossible: 100, gradingType: 'points', submissionTypes: ['external_tool'], published: true, integrationId: 'EXAM-MID-1001', integrationData: { source: 'canvas-companion' }, position: 1, createdAt: '2026-09-01T12:00:00Z' },
      { id: '7002', courseId: '1001', name: 'Final exam (manual posting)', pointsPossible: 100, gradingType: 'points', submissionTypes: ['external_tool'], published: true, postManually: true, position: 2, createdAt: '2026-09-01T12:00:00Z' },
      { id: '7003', courseId: '1001', name: 'Draft quiz (unpublished)', pointsPossible: 10, gradingType: 'points', submissionTypes: ['none'], published: false, position: 3, createdAt: '2026-09-01T12:00:00Z' },
    ],
    submissions: [],
    roles: [{ id: '20', label: 'Exam Student', baseRoleType: 'StudentEnrollment', accountId: '1', workflowState: 'active' }],
    developerKeys: [
      buildDeveloperKey({
        id: DEMO_CLIENT_ID,
        secret: DEMO_CLIENT_SECRET,
        name: 'canvas-companion (demo)',
        redirectUris: [
          'http://localhost:3000/oauth/callback',
          'http://127.0.0.1:3000/oauth/callback',
          ...[3001, 3002, 3003, 3004, 3005].map((p) => `http://localhost:${p}/oauth/callback`),
        ],
        scopes: [...DEMO_SCOPES, ...DEMO_GRADE_SCOPES],
      }),
    ],
  };
}

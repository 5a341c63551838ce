import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The Canvas sandbox's world: everything Canvas would hold in its database that the sandbox
 * needs to behave like it. Plain JSON-serialisable data, so a
 * world can be saved to and loaded from a file. All ids are digit strings (Canvas renders them as
 * integers in JSON; the sandbox converts at the edge).
 */
export interface World {
  /** The domain root account (`/api/v1/accounts/self`). */
  rootAccountId: string;
  accounts: Account[];
  terms: Term[];
  users: User[];
  courses: Course[];
  sections: Section[];
  enrollments: Enrollment[];
  /** Custom roles (built-in roles are implied). */
  roles: CustomRole[];
  developerKeys: DeveloperKey[];
  /** Assignments (absent in worlds saved before grades existed). */
  assignments?: Assignment[];
  /** Stored grades, one per assignment and student. */
  submissions?: Submission[];
  /** Reserved for the LTI platform side (src/simulator/lti-platform.ts). */
  lti?: unknown;
}

export type GradingType = 'pass_fail' | 'percent' | 'letter_grade' | 'gpa_scale' | 'points' | 'not_graded';

export interface Assignment {
  id: string;
  courseId: string;
  name: string;
  pointsPossible: number | null;
  gradingType: GradingType;
  submissionTypes: string[];
  published: boolean;
  deleted?: boolean;
  integrationId?: string | null;
  /** Parsed `integration_data` (Canvas takes it as a JSON string). */
  integrationData?: Record<string, unknown> | null;
  /** Manual post policy: grades stay hidden from the student until posted. */
  postManually?: boolean;
  position: number;
  createdAt: string;
}

export interface SubmissionComment {
  id: string;
  authorId: string;
  comment: string;
  /** Created while the submission was unposted under a manual post policy. */
  hidden: boolean;
  createdAt: string;
}

export interface Submission {
  id: string;
  assignmentId: string;
  userId: string;
  score: number | null;
  grade: string | null;
  excused: boolean;
  workflowState: 'unsubmitted' | 'submitted' | 'graded' | 'pending_review';
  gradedAt: string | null;
  graderId: string | null;
  /** null = not visible to the student. */
  postedAt: string | null;
  comments: SubmissionComment[];
}

/** A developer key and its binding in the root account. */
export interface DeveloperKey {
  /** The client_id: the global id, e.g. `10000000000001`. */
  id: string;
  /** The client secret (`api_key`). */
  secret: string;
  name?: string;
  /** Exact-match redirect URIs. */
  redirectUris: string[];
  /** Legacy single redirect URI: same scheme, host equal or a subdomain; path, port and query not compared. */
  redirectUri?: string;
  workflowState: 'active' | 'inactive' | 'deleted';
  /** Account binding in the root account: only `on` lets the key work. */
  binding: 'on' | 'off';
  /** "Enforce Scopes". */
  requireScopes: boolean;
  scopes: string[];
  /** "Allow Include Parameters". */
  allowIncludes: boolean;
  /** Trusted keys skip the consent page. */
  trusted?: boolean;
  /** Public (PKCE) client: may omit the secret; refresh rotates the refresh token. */
  publicClient?: boolean;
}

export interface Account {
  id: string;
  name: string;
  parentAccountId: string | null;
  sisAccountId?: string | null;
  integrationId?: string | null;
  workflowState?: 'active' | 'deleted';
}

export interface Term {
  id: string;
  name: string;
  sisTermId?: string | null;
  startAt?: string | null;
  endAt?: string | null;
  /** Default `active`. */
  workflowState?: 'active' | 'deleted';
}

/** A further login (pseudonym) of a user besides its main `loginId`: one more users.csv row. */
export interface ExtraLogin {
  loginId: string;
  sisUserId?: string | null;
  integrationId?: string | null;
  state?: 'active' | 'suspended' | 'deleted';
}

/** Account-admin permissions the sandbox models (names as Canvas spells them). */
export interface AdminPermissions {
  read_course_list: boolean;
  read_sis: boolean;
  view_user_logins: boolean;
  read_email_addresses: boolean;
  read_roster: boolean;
  read_reports: boolean;
  can_issue_token: boolean;
  manage_grades: boolean;
}

export const PERMISSION_NAMES: readonly (keyof AdminPermissions)[] = [
  'read_course_list',
  'read_sis',
  'view_user_logins',
  'read_email_addresses',
  'read_roster',
  'read_reports',
  'can_issue_token',
  'manage_grades',
];

export interface User {
  id: string;
  name: string;
  sortableName: string;
  shortName?: string;
  /** The login (pseudonym `unique_id`); also the sandbox login form's username. */
  loginId: string;
  email?: string | null;
  /** An unconfirmed email is never shown. Default true. */
  emailConfirmed?: boolean;
  sisUserId?: string | null;
  integrationId?: string | null;
  /** Sandbox login password (plaintext: this is a test fixture, never a product store). */
  password: string;
  /** A suspended login: tokens stop working (401 Invalid access token.) and login fails. */
  suspended?: boolean;
  /** When set, the user is an account admin of `accountId` and its sub-accounts. */
  admin?: { accountId: string; role: string; permissions: Partial<AdminPermissions> };
  /** Whether the user may authorize an application (AccessToken :create). Default true. */
  canIssueToken?: boolean;
  createdAt?: string;
  /** Logins beyond the main one. */
  extraLogins?: ExtraLogin[];
}

export type CourseWorkflowState = 'created' | 'claimed' | 'available' | 'completed' | 'deleted';

export interface Course {
  id: string;
  accountId: string;
  termId?: string;
  name: string;
  courseCode: string;
  workflowState: CourseWorkflowState;
  sisCourseId?: string | null;
  integrationId?: string | null;
  /** `start_at`; limits access only with {@link Course.restrictEnrollmentsToCourseDates}. */
  startAt?: string | null;
  /** `end_at` (Canvas `conclude_at`). */
  endAt?: string | null;
  /** "Course participation limited to course dates" (otherwise term dates count). */
  restrictEnrollmentsToCourseDates?: boolean;
  courseFormat?: 'on_campus' | 'online' | 'blended' | null;
  createdAt?: string;
}

export interface Section {
  id: string;
  courseId: string;
  name: string;
  sisSectionId?: string | null;
  integrationId?: string | null;
  /** Deleted sections are not listed. */
  deleted?: boolean;
  startAt?: string | null;
  endAt?: string | null;
  restrictEnrollmentsToSectionDates?: boolean;
}

export type EnrollmentType =
  | 'StudentEnrollment'
  | 'TeacherEnrollment'
  | 'TaEnrollment'
  | 'DesignerEnrollment'
  | 'ObserverEnrollment';

export type EnrollmentState =
  | 'active'
  | 'invited'
  | 'creation_pending'
  | 'inactive'
  | 'completed'
  | 'rejected'
  | 'deleted';

export interface Enrollment {
  id: string;
  userId: string;
  courseId: string;
  sectionId: string;
  type: EnrollmentType;
  /** Role name: the base type for built-in roles, the custom role's label otherwise. */
  role: string;
  state: EnrollmentState;
  /** The enrollment's own dates: they count only when both are set. */
  startAt?: string | null;
  endAt?: string | null;
  /** Observee of an observer enrollment. */
  associatedUserId?: string | null;
  limitSectionPrivileges?: boolean;
}

export type BaseRoleType = EnrollmentType | 'AccountMembership';

export interface CustomRole {
  id: string;
  label: string;
  baseRoleType: BaseRoleType;
  accountId: string;
  workflowState: 'active' | 'inactive';
}

/** Built-in role ids as in a fresh Canvas (StudentEnrollment=3, TeacherEnrollment=4, ...). */
export const BUILT_IN_ROLES: ReadonlyArray<{ id: string; label: string; baseRoleType: BaseRoleType }> = [
  { id: '1', label: 'Account Admin', baseRoleType: 'AccountMembership' },
  { id: '3', label: 'StudentEnrollment', baseRoleType: 'StudentEnrollment' },
  { id: '4', label: 'TeacherEnrollment', baseRoleType: 'TeacherEnrollment' },
  { id: '5', label: 'TaEnrollment', baseRoleType: 'TaEnrollment' },
  { id: '6', label: 'DesignerEnrollment', baseRoleType: 'DesignerEnrollment' },
  { id: '7', label: 'ObserverEnrollment', baseRoleType: 'ObserverEnrollment' },
];

/** An empty world with one root account; add to it with the builders or by pushing records. */
export function emptyWorld(rootName = 'Sandbox University'): World {
  return {
    rootAccountId: '1',
    accounts: [{ id: '1', name: rootName, parentAccountId: null, sisAccountId: null }],
    terms: [{ id: '1', name: 'Default Term', sisTermId: null }],
    users: [],
    courses: [],
    sections: [],
    enrollments: [],
    roles: [],
    developerKeys: [],
  };
}

/** A developer key with sensible defaults (active, ON, scopes not enforced). */
export function buildDeveloperKey(over: Partial<DeveloperKey> & { id: string; secret: string }): DeveloperKey {
  return {
    redirectUris: [],
    workflowState: 'active',
    binding: 'on',
    requireScopes: false,
    scopes: [],
    allowIncludes: true,
    ...over,
  };
}

/** Every permission granted. */
export function allPermissions(): AdminPermissions {
  return Object.fromEntries(PERMISSION_NAMES.map((p) => [p, true])) as unknown as AdminPermissions;
}

/** Reads a world saved with {@link saveWorld}. @throws when the file is missing or not a world. */
export function loadWorld(file: string): World {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<World>;
  for (const key of ['rootAccountId', 'accounts', 'users', 'courses', 'sections', 'enrollments', 'developerKeys'] as const) {
    if (parsed[key] === undefined) throw new Error(`${file}: not a sandbox world (missing "${key}")`);
  }
  return { terms: [], roles: [], ...parsed } as World;
}

/** Writes a world as pretty JSON. */
export function saveWorld(world: World, file: string): void {
  writeFileSync(file, JSON.stringify(world, null, 2) + '\n');
}

/** Deep copy, so a sandbox can mutate its world without touching the caller's. */
export function cloneWorld(world: World): World {
  return structuredClone(world);
}

/**
 * Kysely table types. Portable across SQLite and Postgres on purpose:
 * - ids are app-generated text; timestamps are ISO-8601 UTC text (`new Date().toISOString()`);
 * - booleans are integers 0/1; JSON is text (parse/stringify in the repository);
 * - every column ending in `_enc` holds a vault envelope, never plaintext (see vault/).
 * Canvas's own `integration_id` field is called `canvas_integration_id` to avoid the clash with ours.
 */

export interface IntegrationsTable {
  id: string;
  name: string;
  canvas_url: string;
  client_id: string;
  client_secret_enc: string | null;
  account_id: string;
  course_id_type: string;
  user_id_type: string;
  /** JSON string[] */
  student_roles: string;
  /** JSON of the optional LTI registration, or null */
  lti: string | null;
  state: string;
  /** JSON ReasonCode[] */
  reasons: string;
  /** JSON string[] */
  missing_scopes: string;
  /** JSON Check[] */
  checks: string;
  token_owner_id: string | null;
  token_owner_name: string | null;
  verified_at: string | null;
  checked_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface IntegrationTokensTable {
  integration_id: string;
  access_token_enc: string;
  refresh_token_enc: string | null;
  /** When the access token expires (ISO), or null when Canvas sent no expires_in. */
  expires_at: string | null;
  owner_canvas_id: string;
  owner_name: string;
  /** JSON string[]: the scopes requested when this token was minted. */
  scopes: string;
  /** Bumped on every refresh; lets single-flight callers see that someone else refreshed. */
  generation: number;
  created_at: string;
  updated_at: string;
}

export interface OAuthStatesTable {
  /** SHA-256 of the state value: the state itself is never stored. */
  state_hash: string;
  integration_id: string;
  /** SHA-256 of the browser-binding cookie value. */
  browser_hash: string;
  pkce_verifier_enc: string;
  redirect_uri: string;
  scopes: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface StaffUsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: string;
  disabled_at: string | null;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  /** SHA-256 hex of the token; the token is shown once at creation. */
  token_hash: string;
  /** Last four characters, for recognising a token in lists. */
  last4: string;
  created_by: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface SessionsTable {
  sid: string;
  /** JSON of the express-session data */
  sess: string;
  expires_at: string;
}

export interface AuditEventsTable {
  id: string;
  integration_id: string | null;
  /** 'staff:<id>', 'api-token:<id>', 'admin-link:<integration>', 'lti:<sub>', 'system' */
  actor: string;
  action: string;
  /** JSON, never containing secrets */
  detail: string;
  created_at: string;
}

export interface JobsTable {
  id: string;
  kind: string;
  integration_id: string;
  state: string;
  /** JSON of the job's input (e.g. `{ courseId }`) */
  params: string;
  phase: string;
  done: number;
  total: number | null;
  eta_seconds: number | null;
  /** JSON of the last checkpoint, or null before the first unit of work */
  checkpoint: string | null;
  /** JSON summary (counts), or null while running */
  summary: string | null;
  error_code: string | null;
  error_message: string | null;
  cancel_requested: number;
  /** Which process runs it and until when its lease holds (in-process runner on SQLite). */
  lease_owner: string | null;
  lease_expires_at: string | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  /**
   * With integration_id and kind, unique among queued and running jobs: '' for a course refresh or
   * health check, `course:<id>` for a sync of one course, a hash of the selection for a sync of
   * several (rows older than the column carry their own id).
   */
  dedupe_key: string | null;
}

export interface CoursesTable {
  integration_id: string;
  canvas_id: string;
  name: string;
  course_code: string | null;
  sis_course_id: string | null;
  canvas_integration_id: string | null;
  /** The value of the integration's chosen course ID type, or null when empty/hidden. */
  external_id: string | null;
  /** Canvas workflow_state: unpublished | available | completed | deleted */
  workflow_state: string;
  published: number;
  syncable: number;
  /** JSON string[] of course reasons (unpublished, missing_course_id, sis_ids_hidden, deleted, not_in_account) */
  reasons: string;
  account_id: string | null;
  refreshed_at: string;
  /** Job that last saw this course; lets a refresh find courses that disappeared. */
  refresh_job_id: string | null;
  last_synced_at: string | null;
}

export interface SectionsTable {
  integration_id: string;
  canvas_id: string;
  course_canvas_id: string;
  name: string;
  sis_section_id: string | null;
  canvas_integration_id: string | null;
  external_id: string | null;
  syncable: number;
  /** JSON string[] (missing_section_id, sis_ids_hidden) */
  reasons: string;
  refreshed_at: string;
  /** The course refresh that last saw this section; null when a lookup or roster sync wrote it. */
  refresh_job_id: string | null;
}

export interface RosterEntriesTable {
  integration_id: string;
  course_canvas_id: string;
  canvas_user_id: string;
  name: string;
  /** Canvas enrollment role name(s), JSON string[] */
  roles: string;
  /** JSON string[] of enrollment states seen */
  enrollment_states: string;
  external_id: string | null;
  /** JSON string[] of canvas section ids */
  section_ids: string;
  exam_taker: number;
  /** JSON string[] of skip reasons (role_not_selected, pending, inactive, concluded, missing_user_id, user_id_hidden) */
  reasons: string;
  /** JSON string[] of the enrollments' base types (StudentEnrollment, TeacherEnrollment…); null for rows synced before it was kept */
  base_roles: string | null;
  synced_at: string;
  job_id: string | null;
}

export interface LtiHandoffsTable {
  /** SHA-256 hex of the single-use hand-over token; the token itself is never stored. */
  token_hash: string;
  integration_id: string;
  /** 'admin' | 'instructor' | 'student' */
  kind: string;
  /** JSON of the launch facts the main app needs (no secrets). */
  payload: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface LtiNrpsSnapshotsTable {
  integration_id: string;
  course_canvas_id: string;
  /** JSON of the NRPS members (name, email, sourcedid, roles, status, canvas user id when known). */
  members: string;
  /** Why the NRPS call failed, or null. */
  error: string | null;
  fetched_at: string;
}

export interface LtiPlatformOwnersTable {
  /** The launches' `iss` (shared by every hosted Canvas of one environment). */
  issuer: string;
  /** The LTI developer key's client id. */
  client_id: string;
  integration_id: string;
  /** 'launch' | 'staff' once ownership was shown; null while the pair is only registered. */
  proven_by: string | null;
  proven_at: string | null;
  created_at: string;
}

/** Sign-in attempt counters (src/staff/login-throttle.ts). */
export interface LoginThrottleTable {
  /** SHA-256 hex of `account:<email>` or `address:<client address>`. */
  key: string;
  count: number;
  /** ISO time the current window ends. */
  reset_at: string;
}

export interface Database {
  integrations: IntegrationsTable;
  integration_tokens: IntegrationTokensTable;
  oauth_states: OAuthStatesTable;
  staff_users: StaffUsersTable;
  api_tokens: ApiTokensTable;
  sessions: SessionsTable;
  login_throttle: LoginThrottleTable;
  audit_events: AuditEventsTable;
  jobs: JobsTable;
  courses: CoursesTable;
  sections: SectionsTable;
  roster_entries: RosterEntriesTable;
  lti_handoffs: LtiHandoffsTable;
  lti_nrps_snapshots: LtiNrpsSnapshotsTable;
  lti_platform_owners: LtiPlatformOwnersTable;
}

/**
 * Every encrypted column, in one place: the key-rotation command re-encrypts exactly these.
 * `key` lists the primary-key columns used to update a row.
 */
export const ENCRYPTED_COLUMNS = [
  { table: 'integrations', key: ['id'], column: 'client_secret_enc' },
  { table: 'integration_tokens', key: ['integration_id'], column: 'access_token_enc' },
  { table: 'integration_tokens', key: ['integration_id'], column: 'refresh_token_enc' },
  { table: 'oauth_states', key: ['state_hash'], column: 'pkce_verifier_enc' },
] as const;

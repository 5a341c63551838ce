import type { Generated } from 'kysely';

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
  /** JSON string[]: roles that make someone a course admin (instructor) on the exam platform */
  course_admin_roles: Generated<string>;
  /** JSON string[]: course_refresh, roster_sync, grade_passback (default the first two) */
  features: Generated<string>;
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
  /** JSON of the latest Generate Keys attempt `{ at, ok, reason?, detail }`, or null */
  last_attempt: string | null;
  created_at: string;
  updated_at: string;
  /** JSON `{ everyMinutes }` of the sync list's re-sync schedule, or null (manual only). */
  sync_schedule: string | null;
  /** When the scheduled re-sync is next due (ISO), or null without a schedule. */
  next_sync_at: string | null;
  /** The institution's Canvas under another name (origin), where report files may be named; or null. */
  canvas_other_url: Generated<string | null>;
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
  /** The course's term name (null when Canvas did not send it, e.g. includes not allowed). */
  term_name: string | null;
  term_start_at: string | null;
  term_end_at: string | null;
  /** The course's own dates (ISO UTC), only when they limit participation (restricted to course dates). */
  start_at: string | null;
  end_at: string | null;
  /** The name of the course's (sub-)account. */
  department: string | null;
  /** JSON of the course's facts as the last roster sync recorded them (what `course.updated` compares with). */
  synced_facts: string | null;
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
  /** 1 when the person is a course admin (role in course_admin_roles, active, ID populated). */
  course_admin: Generated<number>;
  /** An exam-taker whom Canvas shows as pending until the course/section starts: that start (ISO UTC). */
  pending_until: string | null;
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

/** An open window for LTI Dynamic Registration of one integration (opened from its LTI page). */
export interface LtiRegistrationWindowsTable {
  integration_id: string;
  /** Audit label of who opened it. */
  opened_by: string;
  opened_at: string;
  expires_at: string;
}

/** A registration token that reached the tool (single use), and what came of it. */
export interface LtiRegistrationTokensTable {
  /** The token's `uuid` claim, or `sha256:<hash of the token>` when it has none. */
  token_key: string;
  integration_id: string;
  /** 'started' | 'registered' | 'refused' */
  outcome: string;
  /** The client id Canvas created ('registered' only). */
  client_id: string | null;
  /** When a first launch added its deployment id to the registration. */
  deployment_adopted_at: string | null;
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

/** Server half of an LTI login kept through Canvas's platform storage (src/lti/platform-storage-repository.ts). */
export interface LtiStorageLoginsTable {
  /** SHA-256 hex of the OIDC `state`. */
  state_hash: string;
  /** SHA-256 hex of the `nonce` sent with that state. */
  nonce_hash: string;
  issuer: string;
  client_id: string;
  integration_id: string;
  created_at: string;
  expires_at: string;
  /** When the id_token posted with this state was accepted for validation (single use). */
  used_at: string | null;
  /** When the tool's page was opened after the validated launch (single use). */
  connected_at: string | null;
}

/** Where webhook events go (src/webhooks/). */
export interface WebhookEndpointsTable {
  id: string;
  url: string;
  /** JSON WebhookEvent[] */
  events: string;
  /** null: events of every integration. */
  integration_id: string | null;
  /** The `whsec_…` signing secret, a vault envelope. */
  secret_enc: string;
  created_at: string;
  created_by: string;
  disabled_at: string | null;
  disabled_reason: string | null;
  /** When the current run of failed attempts began (null while deliveries succeed). */
  failing_since: string | null;
}

/** The webhook outbox: one row per message, its id the `webhook-id`. */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  event: string;
  /** JSON of the whole message body `{ type, timestamp, data }`. */
  payload: string;
  /** Attempts made so far (0 before the first). */
  attempt: number;
  /** pending | delivered | failed | dead */
  status: string;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  /** A worker's claim on the row while it sends (expires, so a killed worker's row is sent again). */
  claimed_until: string | null;
}

/** One entry of an integration's change log (src/changes/). */
export interface ChangeLogTable {
  /** Only grows; the API cursor. A bigint on Postgres: read it with Number(). */
  seq: Generated<number>;
  integration_id: string;
  at: string;
  /** enrollment.added | enrollment.removed | enrollment.updated | course_admin.added | course_admin.removed | course.updated | integration.status_changed */
  type: string;
  course_canvas_id: string | null;
  /** JSON object */
  data: string;
}

/** The courses the exam platform keeps in sync (src/sync-list/). */
export interface SyncListTable {
  integration_id: string;
  canvas_course_id: string;
  added_at: string;
  /** The actor who added it ('staff:<id>', 'api-token:<id>', 'import:<actor>'…). */
  added_by: string;
  /** When a sync list run last synced this course, or null. */
  last_synced_at: string | null;
}

/** An uploaded import file kept between its preview and "Apply" (the page's Post/Redirect/Get). */
export interface SyncListImportsTable {
  id: string;
  integration_id: string;
  /** add | remove | replace */
  mode: string;
  /** csv | xlsx */
  format: string;
  file_name: string;
  content_base64: string;
  created_by: string;
  created_at: string;
  applied_at: string | null;
  /** JSON of the applied outcome (rows and summary), or null before Apply. */
  result: string | null;
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
  lti_registration_windows: LtiRegistrationWindowsTable;
  lti_registration_tokens: LtiRegistrationTokensTable;
  lti_storage_logins: LtiStorageLoginsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  grade_posts: GradePostsTable;
  change_log: ChangeLogTable;
  sync_list: SyncListTable;
  sync_list_imports: SyncListImportsTable;
}

/** One posted exam of a course: its Canvas assignment and every student's outcome of the last post. */
export interface GradePostsTable {
  integration_id: string;
  course_canvas_id: string;
  exam_key: string;
  exam_title: string;
  points_possible: number;
  assignment_id: string | null;
  assignment_url: string | null;
  job_id: string | null;
  /** running | succeeded | failed | preview */
  state: string;
  message: string | null;
  /** JSON GradeOutcome[] */
  outcomes: string;
  posted_at: string | null;
  updated_at: string;
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
  { table: 'webhook_endpoints', key: ['id'], column: 'secret_enc' },
] as const;

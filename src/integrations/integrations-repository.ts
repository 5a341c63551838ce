import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { Dialect } from '../store/database.js';
import type { Database, IntegrationsTable, IntegrationTokensTable } from '../store/schema.js';
import { DEFAULT_INTEGRATION_FEATURES, INTEGRATION_FEATURES, type IntegrationFeature } from '../canvas/endpoints.js';
import { AppError } from '../errors/app-error.js';
import type { RefreshedToken, TokenStore } from '../oauth/token-store.js';
import { columnAad, type Vault } from '../vault/vault.js';
import type { CreateIntegrationInput, Integration, LtiRegistration, PatchIntegrationInput, SyncSchedule } from './integration.js';
import type { Check, ConnectionState, ConnectionStatus, LastAttempt, ReasonCode } from './reasons.js';

/** A stored Canvas token, decrypted. Never leaves the server (no presenter may include it). */
export interface StoredToken {
  accessToken: string;
  refreshToken: string | null;
  /** ISO time the access token expires, or null when Canvas sent no `expires_in`. */
  expiresAt: string | null;
  ownerCanvasId: string;
  ownerName: string;
  scopes: string[];
  /** Bumped on every save/refresh; lets a caller holding the lock see someone else refreshed. */
  generation: number;
}

export type NewToken = Omit<StoredToken, 'generation'>;

export type { RefreshedToken };

/**
 * What a change of Canvas URL or client id took away, handed to the caller after the commit so it
 * can revoke the token at the host that issued it. `accessToken` is the dropped token (never log it).
 */
export interface DroppedCredentials {
  /** The fields whose change dropped the credentials. */
  changed: Array<'canvasUrl' | 'clientId'>;
  /** Where the dropped token was issued, and by which developer key. */
  previous: { canvasUrl: string; clientId: string };
  accessToken: string | null;
  /** True when the stored client secret was deleted (the same patch did not bring a new one). */
  secretDropped: boolean;
}

export interface UpdateOptions {
  /** Called after the commit when the patch dropped the token and secret (see {@link IntegrationsRepository.update}). */
  onCredentialsDropped?(dropped: DroppedCredentials): void;
}

/** The check a credentials drop leaves in the status, so pages and the API say why it is not connected. */
export const CREDENTIALS_CHECK = 'credentials_reset';

export interface IntegrationsRepository extends TokenStore {
  /** Stores a new integration; `features` defaults to course refresh and roster sync. */
  create(input: Omit<CreateIntegrationInput, 'features'> & { features?: IntegrationFeature[] }): Promise<Integration>;
  get(id: string): Promise<Integration | undefined>;
  list(): Promise<Integration[]>;
  /**
   * Applies a patch; `clientSecret` replaces the stored secret. Returns undefined for an unknown id.
   * A patch that changes the Canvas URL or the client id drops, in the same transaction, the stored
   * token, the pending authorizations and the client secret (unless the patch brings a new one), and
   * resets the status to `not_connected` with a check saying why: a credential must never reach a
   * host other than the one it was issued for. `opts.onCredentialsDropped` gets the dropped token.
   */
  update(id: string, patch: PatchIntegrationInput, opts?: UpdateOptions): Promise<Integration | undefined>;
  /** Deletes the integration with its token, states, courses (cascade). Returns whether it existed. */
  delete(id: string): Promise<boolean>;
  /** Stores the status; `lastAttempt` only when the status carries it (absent: left as stored). */
  setStatus(id: string, status: ConnectionStatus): Promise<void>;
  /** The decrypted client secret, or undefined when none is set. */
  getClientSecret(id: string): Promise<string | undefined>;
  /**
   * Stores a freshly minted token (replacing any previous one), encrypted. With `issuedFor`, the
   * save happens only while the integration still has that Canvas URL and client id (checked in the
   * same transaction), so a token minted just before a settings change never lands under the new host.
   * @throws AppError conflict when `issuedFor` no longer matches, not_found for an unknown integration.
   */
  saveToken(id: string, token: NewToken, issuedFor?: { canvasUrl: string; clientId: string }): Promise<StoredToken>;
  getToken(id: string): Promise<StoredToken | undefined>;
  deleteToken(id: string): Promise<boolean>;
  /**
   * Runs `fn` with the current token while holding the refresh lock for this integration: on
   * Postgres a `SELECT … FOR UPDATE` row lock inside a transaction (other instances wait, then
   * see the new generation); on SQLite (one process) an optimistic write guarded by `generation`.
   * When `fn` returns `save`, the token's access part is replaced and `generation` bumped.
   */
  withTokenLock<T>(
    id: string,
    fn: (token: StoredToken | undefined) => Promise<{ result: T; save?: RefreshedToken }>,
  ): Promise<T>;
  /** The integration's current Canvas URL: the only host its token may be sent to. */
  tokenCanvasUrl(id: string): Promise<string | undefined>;
  /**
   * Sets the integration `failed` with `reason`, as a `token_refresh` check carrying Canvas's words;
   * the token owner stays on record. Does nothing for an unknown integration.
   */
  markTokenFailed(id: string, reason: ReasonCode, detail: string, missingScopes?: string[]): Promise<void>;
}

/** An integration's connection state moved from `from` to `to` (saved and committed). */
export interface StatusChange {
  integrationId: string;
  from: string;
  to: string;
  reasons: string[];
}

/**
 * Told after an integration's state was saved with a different state than before (a health check,
 * a verification, a token failure, a credentials drop). Errors thrown here are the listener's to
 * handle: the repository awaits it only so a test sees the effect, and never rolls back for it.
 */
export type StatusChangedListener = (change: StatusChange) => void | Promise<void>;

const SECRET_AAD = columnAad('integrations', 'client_secret_enc');
const ACCESS_AAD = columnAad('integration_tokens', 'access_token_enc');
const REFRESH_AAD = columnAad('integration_tokens', 'refresh_token_enc');

/** The stored feature list, in registry order; values this version does not know are dropped. */
function parseFeatures(raw: string): IntegrationFeature[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = null;
  }
  if (!Array.isArray(v)) return [...DEFAULT_INTEGRATION_FEATURES];
  return INTEGRATION_FEATURES.filter((f) => v.includes(f));
}

/** The stored schedule and when it is next due: the first run one period after the schedule is set. */
function scheduleColumns(schedule: SyncSchedule | null, now: string): Pick<IntegrationsTable, 'sync_schedule' | 'next_sync_at'> {
  if (!schedule) return { sync_schedule: null, next_sync_at: null };
  return { sync_schedule: JSON.stringify({ everyMinutes: schedule.everyMinutes }), next_sync_at: new Date(Date.parse(now) + schedule.everyMinutes * 60_000).toISOString() };
}

function toIntegration(row: Selectable<IntegrationsTable>): Integration {
  const status: ConnectionStatus = {
    state: row.state as ConnectionState,
    reasons: JSON.parse(row.reasons) as ReasonCode[],
    missingScopes: JSON.parse(row.missing_scopes) as string[],
    checks: JSON.parse(row.checks) as Check[],
    tokenOwner: row.token_owner_id ? { id: row.token_owner_id, name: row.token_owner_name ?? '' } : null,
    verifiedAt: row.verified_at,
    checkedAt: row.checked_at,
    lastAttempt: row.last_attempt ? (JSON.parse(row.last_attempt) as LastAttempt) : null,
  };
  const integration: Integration = {
    id: row.id,
    name: row.name,
    canvasUrl: row.canvas_url,
    clientId: row.client_id,
    clientSecretSet: row.client_secret_enc !== null,
    accountId: row.account_id,
    courseIdType: row.course_id_type as Integration['courseIdType'],
    userIdType: row.user_id_type as Integration['userIdType'],
    studentRoles: JSON.parse(row.student_roles) as string[],
    courseAdminRoles: JSON.parse(row.course_admin_roles) as string[],
    features: parseFeatures(row.features),
    syncSchedule: row.sync_schedule ? (JSON.parse(row.sync_schedule) as SyncSchedule) : null,
    canvasOtherUrl: row.canvas_other_url ?? null,
    status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.lti) integration.lti = JSON.parse(row.lti) as LtiRegistration;
  return integration;
}

/**
 * Integrations and their Canvas tokens on SQLite or Postgres. Secrets go through the vault with
 * the column as AAD, so an envelope copied to another column fails to decrypt.
 */
export function createIntegrationsRepository(deps: {
  db: Kysely<Database>;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  dialect: Dialect;
  clock?: () => Date;
  /** Optional port: called when a saved state differs from the one before. */
  onStatusChanged?: StatusChangedListener;
}): IntegrationsRepository {
  const { db, vault, dialect } = deps;
  const clock = deps.clock ?? (() => new Date());
  const statusChanged = async (change: StatusChange) => {
    if (change.from === change.to || !deps.onStatusChanged) return;
    try {
      await deps.onStatusChanged(change);
    } catch {
      // The state is saved; a listener that fails (e.g. the outbox is unreachable) must not undo that.
    }
  };

  const readToken = (row: Selectable<IntegrationTokensTable>): StoredToken => ({
    accessToken: vault.decrypt(row.access_token_enc, ACCESS_AAD),
    refreshToken: row.refresh_token_enc ? vault.decrypt(row.refresh_token_enc, REFRESH_AAD) : null,
    expiresAt: row.expires_at,
    ownerCanvasId: row.owner_canvas_id,
    ownerName: row.owner_name,
    scopes: JSON.parse(row.scopes) as string[],
    generation: Number(row.generation),
  });

  const get = async (id: string) => {
    const row = await db.selectFrom('integrations').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toIntegration(row) : undefined;
  };

  async function applyRefresh(
    q: Kysely<Database> | Transaction<Database>,
    id: string,
    current: StoredToken,
    save: RefreshedToken,
  ): Promise<number> {
    const values: Partial<IntegrationTokensTable> = {
      access_token_enc: vault.encrypt(save.accessToken, ACCESS_AAD),
      expires_at: save.expiresAt,
      generation: current.generation + 1,
      updated_at: clock().toISOString(),
    };
    if (save.refreshToken) values.refresh_token_enc = vault.encrypt(save.refreshToken, REFRESH_AAD);
    const r = await q
      .updateTable('integration_tokens')
      .set(values)
      .where('integration_id', '=', id)
      .where('generation', '=', current.generation)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Writes a status (inside the caller's transaction). */
  async function write(trx: Kysely<Database>, id: string, status: ConnectionStatus): Promise<void> {
    await trx
      .updateTable('integrations')
      .set({
        state: status.state,
        reasons: JSON.stringify(status.reasons),
        missing_scopes: JSON.stringify(status.missingScopes),
        checks: JSON.stringify(status.checks),
        token_owner_id: status.tokenOwner?.id ?? null,
        token_owner_name: status.tokenOwner?.name ?? null,
        verified_at: status.verifiedAt,
        checked_at: status.checkedAt,
        ...(status.lastAttempt !== undefined ? { last_attempt: status.lastAttempt ? JSON.stringify(status.lastAttempt) : null } : {}),
        updated_at: clock().toISOString(),
      })
      .where('id', '=', id)
      .execute();
  }

  const repository: IntegrationsRepository = {
    async create(input) {
      const now = clock().toISOString();
      const id = randomUUID();
      await db
        .insertInto('integrations')
        .values({
          id,
          name: input.name,
          canvas_url: input.canvasUrl,
          client_id: input.clientId,
          client_secret_enc: input.clientSecret ? vault.encrypt(input.clientSecret, SECRET_AAD) : null,
          account_id: input.accountId,
          course_id_type: input.courseIdType,
          user_id_type: input.userIdType,
          student_roles: JSON.stringify(input.studentRoles),
          course_admin_roles: JSON.stringify(input.courseAdminRoles ?? ['TeacherEnrollment']),
          features: JSON.stringify(input.features ?? DEFAULT_INTEGRATION_FEATURES),
          lti: input.lti ? JSON.stringify(input.lti) : null,
          canvas_other_url: input.canvasOtherUrl ?? null,
          ...scheduleColumns(input.syncSchedule ?? null, now),
          state: 'not_connected',
          reasons: '[]',
          missing_scopes: '[]',
          checks: '[]',
          token_owner_id: null,
          token_owner_name: null,
          verified_at: null,
          checked_at: null,
          last_attempt: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return (await get(id))!;
    },

    get,

    async list() {
      const rows = await db.selectFrom('integrations').selectAll().orderBy('name').orderBy('id').execute();
      return rows.map(toIntegration);
    },

    async update(id, patch, opts = {}) {
      const now = clock().toISOString();
      const values: Updateable<IntegrationsTable> = { updated_at: now };
      if (patch.name !== undefined) values.name = patch.name;
      if (patch.canvasUrl !== undefined) values.canvas_url = patch.canvasUrl;
      if (patch.clientId !== undefined) values.client_id = patch.clientId;
      if (patch.clientSecret !== undefined) values.client_secret_enc = vault.encrypt(patch.clientSecret, SECRET_AAD);
      if (patch.accountId !== undefined) values.account_id = patch.accountId;
      if (patch.courseIdType !== undefined) values.course_id_type = patch.courseIdType;
      if (patch.userIdType !== undefined) values.user_id_type = patch.userIdType;
      if (patch.studentRoles !== undefined) values.student_roles = JSON.stringify(patch.studentRoles);
      if (patch.courseAdminRoles !== undefined) values.course_admin_roles = JSON.stringify(patch.courseAdminRoles);
      if (patch.features !== undefined) values.features = JSON.stringify(patch.features);
      if (patch.lti !== undefined) values.lti = patch.lti ? JSON.stringify(patch.lti) : null;
      if (patch.canvasOtherUrl !== undefined) values.canvas_other_url = patch.canvasOtherUrl;
      if (patch.syncSchedule !== undefined) Object.assign(values, scheduleColumns(patch.syncSchedule, now));
      const dropped = await db.transaction().execute(async (trx) => {
        let q = trx.selectFrom('integrations').select(['canvas_url', 'client_id', 'state']).where('id', '=', id);
        if (dialect === 'postgres') q = q.forUpdate();
        const current = await q.executeTakeFirst();
        if (!current) return undefined;
        const changed: DroppedCredentials['changed'] = [];
        if (patch.canvasUrl !== undefined && patch.canvasUrl !== current.canvas_url) changed.push('canvasUrl');
        if (patch.clientId !== undefined && patch.clientId !== current.client_id) changed.push('clientId');
        let drop: DroppedCredentials | null = null;
        if (changed.length > 0) {
          const token = await trx.selectFrom('integration_tokens').select('access_token_enc').where('integration_id', '=', id).executeTakeFirst();
          await trx.deleteFrom('integration_tokens').where('integration_id', '=', id).execute();
          await trx.deleteFrom('oauth_states').where('integration_id', '=', id).where('used_at', 'is', null).execute();
          const secretDropped = patch.clientSecret === undefined;
          if (secretDropped) values.client_secret_enc = null;
          const what = changed
            .map((f) => (f === 'canvasUrl' ? `the Canvas URL changed from ${current.canvas_url} to ${patch.canvasUrl}` : `the client id changed from ${current.client_id} to ${patch.clientId}`))
            .join(' and ');
          const next = secretDropped ? 'Enter the client secret again, then Generate Keys.' : 'Run Check configuration, then Generate Keys.';
          const gone = [token ? `the token issued by ${current.canvas_url}` : '', secretDropped ? 'the client secret' : ''].filter(Boolean);
          const check: Check = {
            name: CREDENTIALS_CHECK,
            ok: false,
            detail: `Not connected because ${what}${gone.length ? `: ${gone.join(' and ')} ${gone.length > 1 ? 'were' : 'was'} dropped, so no credential reaches the new address` : ''}. ${next}`,
          };
          Object.assign(values, {
            state: 'not_connected',
            reasons: '[]',
            missing_scopes: '[]',
            checks: JSON.stringify([check]),
            token_owner_id: null,
            token_owner_name: null,
            verified_at: null,
            checked_at: now,
            last_attempt: null,
          } satisfies Updateable<IntegrationsTable>);
          drop = {
            changed,
            previous: { canvasUrl: current.canvas_url, clientId: current.client_id },
            accessToken: token ? vault.decrypt(token.access_token_enc, ACCESS_AAD) : null,
            secretDropped,
          };
        }
        await trx.updateTable('integrations').set(values).where('id', '=', id).execute();
        return { drop, from: current.state };
      });
      if (!dropped) return undefined;
      if (dropped.drop) opts.onCredentialsDropped?.(dropped.drop);
      if (dropped.drop) await statusChanged({ integrationId: id, from: dropped.from, to: 'not_connected', reasons: [] });
      return get(id);
    },

    async delete(id) {
      // Explicit child deletes: SQLite only cascades with foreign_keys=ON, which a foreign handle may lack.
      return db.transaction().execute(async (trx) => {
        for (const t of ['roster_entries', 'sections', 'courses', 'oauth_states', 'integration_tokens', 'lti_platform_owners'] as const) {
          await trx.deleteFrom(t).where('integration_id', '=', id).execute();
        }
        const r = await trx.deleteFrom('integrations').where('id', '=', id).executeTakeFirst();
        return Number(r.numDeletedRows) > 0;
      });
    },

    async setStatus(id, status) {
      const from = await db.transaction().execute(async (trx) => {
        let q = trx.selectFrom('integrations').select('state').where('id', '=', id);
        if (dialect === 'postgres') q = q.forUpdate();
        const before = await q.executeTakeFirst();
        await write(trx, id, status);
        return before?.state;
      });
      if (from !== undefined) await statusChanged({ integrationId: id, from, to: status.state, reasons: [...status.reasons] });
    },

    async getClientSecret(id) {
      const row = await db.selectFrom('integrations').select('client_secret_enc').where('id', '=', id).executeTakeFirst();
      return row?.client_secret_enc ? vault.decrypt(row.client_secret_enc, SECRET_AAD) : undefined;
    },

    async saveToken(id, token, issuedFor) {
      const now = clock().toISOString();
      return db.transaction().execute(async (trx) => {
        if (issuedFor) {
          let q = trx.selectFrom('integrations').select(['canvas_url', 'client_id', 'state']).where('id', '=', id);
          if (dialect === 'postgres') q = q.forUpdate();
          const row = await q.executeTakeFirst();
          if (!row) throw new AppError('not_found', 'No such integration.');
          if (row.canvas_url !== issuedFor.canvasUrl || row.client_id !== issuedFor.clientId) {
            throw new AppError('conflict', 'The Canvas URL or client id changed while this token was being issued; it was not stored.');
          }
        }
        const prev = await trx
          .selectFrom('integration_tokens')
          .select('generation')
          .where('integration_id', '=', id)
          .executeTakeFirst();
        const generation = prev ? Number(prev.generation) + 1 : 1;
        const values = {
          access_token_enc: vault.encrypt(token.accessToken, ACCESS_AAD),
          refresh_token_enc: token.refreshToken ? vault.encrypt(token.refreshToken, REFRESH_AAD) : null,
          expires_at: token.expiresAt,
          owner_canvas_id: token.ownerCanvasId,
          owner_name: token.ownerName,
          scopes: JSON.stringify(token.scopes),
          generation,
          updated_at: now,
        };
        await trx
          .insertInto('integration_tokens')
          .values({ integration_id: id, created_at: now, ...values })
          .onConflict((oc) => oc.column('integration_id').doUpdateSet(values))
          .execute();
        return { ...token, generation };
      });
    },

    async getToken(id) {
      const row = await db.selectFrom('integration_tokens').selectAll().where('integration_id', '=', id).executeTakeFirst();
      return row ? readToken(row) : undefined;
    },

    async deleteToken(id) {
      const r = await db.deleteFrom('integration_tokens').where('integration_id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async withTokenLock(id, fn) {
      if (dialect === 'postgres') {
        return db.transaction().execute(async (trx) => {
          const row = await trx
            .selectFrom('integration_tokens')
            .selectAll()
            .where('integration_id', '=', id)
            .forUpdate()
            .executeTakeFirst();
          const current = row ? readToken(row) : undefined;
          const { result, save } = await fn(current);
          if (save && current) await applyRefresh(trx, id, current, save);
          return result;
        });
      }
      const row = await db.selectFrom('integration_tokens').selectAll().where('integration_id', '=', id).executeTakeFirst();
      const current = row ? readToken(row) : undefined;
      const { result, save } = await fn(current);
      if (save && current) await applyRefresh(db, id, current, save);
      return result;
    },

    async tokenCanvasUrl(id) {
      return (await repository.get(id))?.canvasUrl;
    },

    async markTokenFailed(id, reason, detail, missingScopes = []) {
      const integration = await repository.get(id);
      if (!integration) return;
      await repository.setStatus(id, {
        ...integration.status,
        state: 'failed',
        reasons: [reason],
        missingScopes,
        checks: [{ name: 'token_refresh', ok: false, reason, detail }],
        verifiedAt: null,
        checkedAt: clock().toISOString(),
      });
    },
  };
  return repository;
}

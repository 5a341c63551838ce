import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.js';
import type { Database } from '../store/schema.js';
import { rotateSecrets, type RotationResult } from '../vault/rotate.js';
import type { Vault } from '../vault/vault.js';
import type { ApiTokenInfo, ApiTokens } from './api-tokens.js';
import type { StaffUser, StaffUsers } from './staff-users.js';

/** Who acts (the audit actor: `staff:<id>`, `system` for the CLI) and, when worth saying, through what (`cli`). */
export interface AdminActor {
  label: string;
  via?: string;
}

export interface PlatformAdmin {
  /**
   * Creates a staff API token (shown once) and audits `api_token.created`.
   * @throws AppError validation_failed (name)
   */
  createApiToken(name: string, actor: AdminActor, createdBy?: string): Promise<{ token: string; info: ApiTokenInfo }>;
  /** Revokes an API token and audits `api_token.revoked`. */
  revokeApiToken(id: string, actor: AdminActor): Promise<void>;
  /**
   * Creates a staff account and audits `staff.created`.
   * @throws AppError validation_failed (email, password policy), conflict (email taken)
   */
  createStaff(input: { email: string; name: string; password: string }, actor: AdminActor): Promise<StaffUser>;
  /** The staff account these credentials belong to (audited as `staff.login`), or null. Throttling is the caller's. */
  signIn(email: string, password: string): Promise<StaffUser | null>;
  /**
   * Re-encrypts every stored secret under the current key; audited (`secrets.rotated`) only when
   * every value could be decrypted, since otherwise the rotation is not finished.
   */
  rotateSecrets(actor: AdminActor): Promise<RotationResult>;
}

/** Staff accounts, API tokens, sign-in and secret rotation, each with its audit entry, for pages and CLI alike. */
export function createPlatformAdmin(deps: { staff: StaffUsers; apiTokens: ApiTokens; audit: AuditLog; db: Kysely<Database>; vault: Vault }): PlatformAdmin {
  const { staff, apiTokens, audit } = deps;
  const via = (actor: AdminActor) => (actor.via ? { via: actor.via } : {});
  return {
    async createApiToken(name, actor, createdBy = actor.label) {
      const created = await apiTokens.create({ name, createdBy });
      await audit.record({ actor: actor.label, action: 'api_token.created', detail: { tokenId: created.info.id, name: created.info.name, ...via(actor) } });
      return created;
    },
    async revokeApiToken(id, actor) {
      await apiTokens.revoke(id);
      await audit.record({ actor: actor.label, action: 'api_token.revoked', detail: { tokenId: id, ...via(actor) } });
    },
    async createStaff(input, actor) {
      const user = await staff.create(input);
      await audit.record({ actor: actor.label, action: 'staff.created', detail: { staffId: user.id, email: user.email, ...via(actor) } });
      return user;
    },
    async signIn(email, password) {
      const user = await staff.verifyPassword(email, password);
      if (user) await audit.record({ actor: `staff:${user.id}`, action: 'staff.login', detail: { email: user.email } });
      return user;
    },
    async rotateSecrets(actor) {
      const result = await rotateSecrets(deps.db, deps.vault);
      if (result.failed.length === 0) {
        await audit.record({ actor: actor.label, action: 'secrets.rotated', detail: { ...result, failed: 0, keyVersion: deps.vault.currentVersion } });
      }
      return result;
    },
  };
}

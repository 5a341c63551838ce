import { randomBytes, randomUUID, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError, invalid } from '../errors/app-error.js';
import type { Database } from '../store/schema.js';
import { assertAcceptablePassword, MAX_PASSWORD_LENGTH } from './password-policy.js';

export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './password-policy.js';

/** A staff member as shown to code outside this module (never the password hash). */
export interface StaffUser {
  id: string;
  email: string;
  name: string;
  createdAt: string;
  disabledAt: string | null;
}

export interface StaffUsers {
  /**
   * Creates a staff account.
   * @throws AppError `validation_failed` for a bad email or a password the policy refuses
   * (`details.rule`, see password-policy.ts), `conflict` when the email exists.
   */
  create(input: { email: string; name: string; password: string }): Promise<StaffUser>;
  /**
   * The enabled user with this email and password, or null. Runs scrypt even for unknown emails (no
   * timing oracle); a password longer than any account may have is refused without hashing it.
   */
  verifyPassword(email: string, password: string): Promise<StaffUser | null>;
  get(id: string): Promise<StaffUser | null>;
  list(): Promise<StaffUser[]>;
  /** @throws AppError `not_found` */
  disable(id: string): Promise<void>;
  /**
   * Creates the user, or (same email) re-enables them and sets name and password: for the demo
   * and scripted setups that run more than once.
   * @throws AppError `validation_failed` as {@link StaffUsers.create}.
   */
  ensure(input: { email: string; name: string; password: string }): Promise<StaffUser>;
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keylen, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$N$r$p$<salt b64>$<hash b64>` so parameters can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Constant-time check of a password against {@link hashPassword}'s output. */
export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

type Row = Database['staff_users'];
const present = (r: Pick<Row, 'id' | 'email' | 'name' | 'created_at' | 'disabled_at'>): StaffUser => ({
  id: r.id,
  email: r.email,
  name: r.name,
  createdAt: r.created_at,
  disabledAt: r.disabled_at,
});

/** Staff accounts on the `staff_users` table. Emails are compared lower-cased. */
export function createStaffUsers(deps: { db: Kysely<Database>; clock: () => Date }): StaffUsers {
  const { db, clock } = deps;
  const columns = ['id', 'email', 'name', 'created_at', 'disabled_at'] as const;
  const users: StaffUsers = {
    async create({ email, name, password }) {
      const normalized = email.trim().toLowerCase();
      if (!/^[^\s@]+@[^\s@]+$/.test(normalized)) throw invalid('email', 'is not an email address');
      if (!name.trim()) throw invalid('name', 'is required');
      await assertAcceptablePassword(password, normalized);
      const existing = await db.selectFrom('staff_users').select('id').where('email', '=', normalized).executeTakeFirst();
      if (existing) throw new AppError('conflict', `A staff user with email ${normalized} already exists.`, { details: { field: 'email' } });
      const row: Row = {
        id: randomUUID(),
        email: normalized,
        name: name.trim(),
        password_hash: await hashPassword(password),
        created_at: clock().toISOString(),
        disabled_at: null,
      };
      await db.insertInto('staff_users').values(row).execute();
      return present(row);
    },
    async verifyPassword(email, password) {
      if ([...password].length > MAX_PASSWORD_LENGTH) return null;
      const row = await db
        .selectFrom('staff_users')
        .selectAll()
        .where('email', '=', email.trim().toLowerCase())
        .executeTakeFirst();
      const ok = await checkPassword(password, row?.password_hash ?? DUMMY_HASH);
      return row && ok && !row.disabled_at ? present(row) : null;
    },
    async get(id) {
      const row = await db.selectFrom('staff_users').select(columns).where('id', '=', id).executeTakeFirst();
      return row ? present(row) : null;
    },
    async list() {
      const rows = await db.selectFrom('staff_users').select(columns).orderBy('email').execute();
      return rows.map(present);
    },
    async ensure(input) {
      const email = input.email.trim().toLowerCase();
      const existing = await db.selectFrom('staff_users').select('id').where('email', '=', email).executeTakeFirst();
      if (!existing) return users.create(input);
      await assertAcceptablePassword(input.password, email);
      await db
        .updateTable('staff_users')
        .set({ name: input.name.trim(), password_hash: await hashPassword(input.password), disabled_at: null })
        .where('id', '=', existing.id)
        .execute();
      return (await users.get(existing.id))!;
    },
    async disable(id) {
      const res = await db
        .updateTable('staff_users')
        .set({ disabled_at: clock().toISOString() })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new AppError('not_found', `No staff user ${id}.`);
    },
  };
  return users;
}

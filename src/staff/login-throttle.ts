import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** One budget: at most `limit` counted attempts per `windowMs`. */
export interface ThrottleBudget {
  limit: number;
  windowMs: number;
}

/**
 * Default budgets. Per account: 10 failed sign-ins per 15 minutes, wherever they come from (a
 * forged or rotating client address does not help). Per address: 30 per 15 minutes, whatever
 * emails they name (one address cannot walk through many accounts), with room for an office
 * behind one NAT.
 */
export const LOGIN_BUDGETS = {
  account: { limit: 10, windowMs: 15 * 60 * 1000 },
  address: { limit: 30, windowMs: 15 * 60 * 1000 },
} as const satisfies Record<string, ThrottleBudget>;

export type LoginAttempt =
  | { allowed: true; /** Call after a successful sign-in: the attempt no longer counts. */ succeeded(): Promise<void> }
  | { allowed: false; limitedBy: 'account' | 'address'; retryAfterSeconds: number };

export interface LoginThrottle {
  /**
   * Counts one sign-in attempt against the account (email) and the client address, atomically
   * and in the database, so every instance on one Postgres database shares the counters. The
   * attempt is refused when either budget is spent; a successful sign-in gives its count back.
   */
  attempt(input: { email: string; address: string | undefined }): Promise<LoginAttempt>;
}

/** The throttle key of a client address: IPv4 as is, IPv6 by its /64 (one host usually owns a whole /64). */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIP(address) !== 6) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

const hashKey = (k: string) => createHash('sha256').update(k).digest('hex');

/**
 * Sign-in throttle on the `login_throttle` table (SQLite and Postgres): fixed windows per key,
 * counted with one `INSERT … ON CONFLICT DO UPDATE … RETURNING` so concurrent attempts on any
 * instance never lose a count.
 */
export function createLoginThrottle(deps: {
  db: Kysely<Database>;
  clock: () => Date;
  budgets?: { account: ThrottleBudget; address: ThrottleBudget };
}): LoginThrottle {
  const { db, clock } = deps;
  const budgets = deps.budgets ?? LOGIN_BUDGETS;

  async function hit(key: string, budget: ThrottleBudget): Promise<{ count: number; resetAt: string }> {
    const now = clock();
    const nowIso = now.toISOString();
    const resetAt = new Date(now.getTime() + budget.windowMs).toISOString();
    const row = await db
      .insertInto('login_throttle')
      .values({ key, count: 1, reset_at: resetAt })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          count: sql<number>`CASE WHEN login_throttle.reset_at <= ${nowIso} THEN 1 ELSE login_throttle.count + 1 END`,
          reset_at: sql<string>`CASE WHEN login_throttle.reset_at <= ${nowIso} THEN ${resetAt} ELSE login_throttle.reset_at END`,
        }),
      )
      .returning(['count', 'reset_at'])
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), resetAt: row.reset_at };
  }

  async function giveBack(keys: string[]): Promise<void> {
    await db
      .updateTable('login_throttle')
      .set({ count: sql<number>`count - 1` })
      .where('key', 'in', keys)
      .where('count', '>', 0)
      .where('reset_at', '>', clock().toISOString())
      .execute();
  }

  return {
    async attempt({ email, address }) {
      const account = hashKey(`account:${email.trim().toLowerCase()}`);
      const addr = hashKey(`address:${addressKey(address)}`);
      // Expired windows are dead weight; removing them here keeps the table as small as the traffic.
      await db.deleteFrom('login_throttle').where('reset_at', '<=', clock().toISOString()).execute();
      const byAccount = await hit(account, budgets.account);
      const byAddress = await hit(addr, budgets.address);
      const over = byAccount.count > budgets.account.limit ? { limitedBy: 'account' as const, ...byAccount } : byAddress.count > budgets.address.limit ? { limitedBy: 'address' as const, ...byAddress } : null;
      if (over) {
        const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(over.resetAt) - clock().getTime()) / 1000));
        return { allowed: false, limitedBy: over.limitedBy, retryAfterSeconds };
      }
      return { allowed: true, succeeded: () => giveBack([account, addr]) };
    },
  };
}

import type { ChangeListener, ChangeLogRepository, ChangeRecord, ChangeTx, NewChange } from './change-log-repository.js';

export type { ChangeListener, ChangeRecord, ChangeTx, ChangeType, NewChange } from './change-log-repository.js';
export { CHANGE_TYPES } from './change-log-repository.js';

/** The most entries one page of the change log returns. */
export const MAX_CHANGES_PAGE = 1000;

export interface ChangePage {
  changes: ChangeRecord[];
  /** The last entry's seq as a string, to pass as `after`; null when no more entries follow. */
  nextCursor: string | null;
}

export interface ChangeLog {
  /**
   * Appends inside the caller's transaction, so the stored state and its change entries commit
   * together or not at all; the listeners run in that transaction too. Takes the integration's
   * change-log lock (see {@link ChangeLog.lock}). Nothing happens for no entries.
   * @throws whatever a listener or the database throws (the caller's transaction then rolls back)
   */
  appendIn(tx: ChangeTx, integrationId: string, entries: readonly NewChange[]): Promise<ChangeRecord[]>;
  /**
   * Appends in a transaction of its own (e.g. `integration.status_changed` from the health check).
   * @throws as {@link ChangeLog.appendIn}
   */
  append(integrationId: string, entries: readonly NewChange[]): Promise<ChangeRecord[]>;
  /** Takes the integration's change-log lock in `tx` before reading what a write compares against. */
  lock(tx: ChangeTx, integrationId: string): Promise<void>;
  /** Entries with seq greater than `after` (default 0), oldest first, at most `limit` (default and max 1000). */
  list(integrationId: string, opts?: { after?: number; limit?: number }): Promise<ChangePage>;
  /** The newest entries of one course, newest first (the course page's "Recent changes"). */
  recentForCourse(integrationId: string, courseCanvasId: string, limit?: number): Promise<ChangeRecord[]>;
  /** The newest entries of the integration, newest first (the sync list page's "Recent changes"). */
  recent(integrationId: string, limit?: number): Promise<ChangeRecord[]>;
}

/**
 * The integration change log: what each roster sync found changed (and status changes), in
 * `seq` order. The composition root passes the listeners (a webhook outbox) that must see every
 * append in its transaction.
 */
export function createChangeLog(deps: { repo: ChangeLogRepository; listeners?: readonly ChangeListener[]; clock?: () => Date }): ChangeLog {
  const clock = deps.clock ?? (() => new Date());
  const listeners = deps.listeners ?? [];
  const log: ChangeLog = {
    async appendIn(tx, integrationId, entries) {
      if (entries.length === 0) return [];
      await deps.repo.lock(tx, integrationId);
      const appended = await deps.repo.insert(tx, integrationId, clock().toISOString(), entries);
      for (const listener of listeners) await listener(tx, appended);
      return appended;
    },
    append(integrationId, entries) {
      if (entries.length === 0) return Promise.resolve([]);
      return deps.repo.transaction((tx) => log.appendIn(tx, integrationId, entries));
    },
    lock: (tx, integrationId) => deps.repo.lock(tx, integrationId),
    async list(integrationId, opts = {}) {
      const limit = Math.min(Math.max(opts.limit ?? MAX_CHANGES_PAGE, 1), MAX_CHANGES_PAGE);
      const rows = await deps.repo.list(integrationId, { after: opts.after ?? 0, limit: limit + 1 });
      const changes = rows.slice(0, limit);
      return { changes, nextCursor: rows.length > limit ? String(changes[changes.length - 1]!.seq) : null };
    },
    recentForCourse(integrationId, courseCanvasId, limit = 20) {
      return deps.repo.recentForCourse(integrationId, courseCanvasId, limit);
    },
    recent(integrationId, limit = 20) {
      return deps.repo.recent(integrationId, Math.min(Math.max(1, limit), MAX_CHANGES_PAGE));
    },
  };
  return log;
}

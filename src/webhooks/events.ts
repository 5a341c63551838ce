/**
 * The webhook events and the shapes of the change-log records the outbox listens to. The change
 * log lives in `src/changes/`; its record and listener types are restated here structurally, so
 * this folder compiles on its own and the composition root passes {@link ChangeListenerLike}
 * functions to the log.
 */
import type { OutboxTx } from './webhooks-repository.js';

/** Every event an endpoint may subscribe to. */
export const WEBHOOK_EVENTS = ['roster.changed', 'integration.status_changed', 'job.finished', 'grades.posted'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The change log's entry types (as `src/changes/change-log.ts` declares them). */
export type ChangeTypeLike =
  | 'enrollment.added'
  | 'enrollment.removed'
  | 'enrollment.updated'
  | 'course_admin.added'
  | 'course_admin.removed'
  | 'course.updated'
  | 'integration.status_changed';

/** One appended change-log entry (the change log's `ChangeRecord`). */
export interface ChangeRecordLike {
  seq: number;
  at: string;
  integrationId: string;
  type: ChangeTypeLike;
  courseCanvasId: string | null;
  data: Record<string, unknown>;
}

/** Runs inside the transaction that appended `appended` (the change log's `ChangeListener`). */
export type ChangeListenerLike = (tx: OutboxTx, appended: readonly ChangeRecordLike[]) => Promise<void>;

/** `roster.changed` data: what changed in one course in one append, and where to read it from. */
export interface RosterChangedData {
  integrationId: string;
  courseCanvasId: string;
  added: number;
  removed: number;
  updated: number;
  /** The last `seq` of this course's entries, as a string: `GET …/changes?after=` of the previous cursor reads them. */
  cursor: string;
}

/** `integration.status_changed` data. */
export interface StatusChangedData {
  integrationId: string;
  from: string;
  to: string;
  reasons: string[];
}

/** One event to publish: its name, the integration it is about (`*` for all), and its data. */
export interface WebhookMessage {
  event: WebhookEvent;
  integrationId: string;
  data: Record<string, unknown>;
}

/**
 * Turns one append of the change log into webhook messages: a `roster.changed` per course with
 * the counts of that course's entries, and an `integration.status_changed` per status record.
 */
export function messagesForChanges(appended: readonly ChangeRecordLike[]): WebhookMessage[] {
  const perCourse = new Map<string, RosterChangedData>();
  const out: WebhookMessage[] = [];
  for (const r of appended) {
    if (r.type === 'integration.status_changed') {
      const data: StatusChangedData = {
        integrationId: r.integrationId,
        from: String(r.data.from ?? ''),
        to: String(r.data.to ?? ''),
        reasons: Array.isArray(r.data.reasons) ? r.data.reasons.map(String) : [],
      };
      out.push({ event: 'integration.status_changed', integrationId: r.integrationId, data: { ...data } });
      continue;
    }
    if (r.courseCanvasId === null) continue;
    const key = `${r.integrationId}\u0000${r.courseCanvasId}`;
    let c = perCourse.get(key);
    if (!c) {
      c = { integrationId: r.integrationId, courseCanvasId: r.courseCanvasId, added: 0, removed: 0, updated: 0, cursor: String(r.seq) };
      perCourse.set(key, c);
    }
    if (r.type.endsWith('.added')) c.added++;
    else if (r.type.endsWith('.removed')) c.removed++;
    else c.updated++;
    if (Number(c.cursor) < r.seq) c.cursor = String(r.seq);
  }
  for (const c of perCourse.values()) out.push({ event: 'roster.changed', integrationId: c.integrationId, data: { ...c } });
  return out;
}

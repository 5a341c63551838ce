import type { AccessTokenSource, CanvasClient } from '../canvas/types.js';
import type { ChangeLog } from '../changes/change-log.js';
import type { CourseRepository, SyncSettings } from './course-repository.js';

/** What every sync service needs; `clientFor` returns a client governed by its integration's (shared) governor. */
export interface SyncDeps {
  courses: CourseRepository;
  clientFor(settings: SyncSettings): CanvasClient;
  tokenSourceFor(integrationId: string): AccessTokenSource;
  /**
   * Where roster syncs append what changed, in the transaction that stores it. Without one (tests
   * of other parts), syncs store the same rows and record no change entries.
   */
  changeLog?: ChangeLog;
  clock?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Delays between report status polls; the last one repeats (back off: 2 s, 5 s, then every 10 s). */
  reportPollDelaysMs?: number[];
  /** Give up on the report after this long and use REST instead. */
  reportTimeoutMs?: number;
}

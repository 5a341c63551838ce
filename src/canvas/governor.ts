/**
 * Adaptive concurrency for one Canvas token's leaky bucket.
 *
 * Canvas adds 50 units for every request in flight (credited back when it settles to its real
 * CPU+DB cost) and refuses a request when the count reaches the high-water mark (600); the bucket
 * leaks 10 units/s. So about 11 requests fit at once from a full bucket, and the sustained rate is
 * 10 / mean cost per second. The governor combines:
 * - AIMD on the concurrency limit (start 6, at most 11): +1 slot per window of healthy answers while
 *   the bucket's settled level (without our reservations) is > 300; halve on a throttle or when the
 *   level is < 100; never more slots than the level holds 50-unit reservations.
 * - A model of the bucket's settled level (carried forward: + 10 units/s of leak, − each answer's
 *   `X-Request-Cost`, kept within the bounds each answer's remaining proves): a request starts only
 *   when its 50-unit reservation fits, so near the limit the governor waits for the leak instead of
 *   collecting throttled answers. After a throttle the level is taken to be what the refusal proves
 *   (no more than our in-flight reservations), which means waiting the full (50 − remaining)/10 s
 *   ≈ 5 s when nothing else was in flight, and less when our own in-flight requests will free room.
 * One governor per token (per integration or job): Canvas's buckets are per access token.
 */

/** What the caller learned from one answer; omit for a network error or timeout. */
export interface GovernorResponseInfo {
  throttled: boolean;
  rateLimitRemaining?: number;
  requestCost?: number;
}

export interface GovernorStats {
  limit: number;
  inFlight: number;
  peakInFlight: number;
  throttles: number;
  decreases: number;
  increases: number;
  /** Mean `X-Request-Cost` seen (Canvas CPU+DB seconds), or null before any. */
  meanRequestCost: number | null;
  /** The modelled settled level of the bucket (hwm − count), or null before any answer. */
  level: number | null;
}

export interface ThrottleGovernor {
  /** Waits for a slot and for room in the bucket. Pair every acquire with exactly one release. */
  acquire(): Promise<void>;
  release(info?: GovernorResponseInfo): void;
  /** Milliseconds a bucket at `remaining` needs before one request fits: (50 − remaining)/10 s, ≥ 1 s. */
  recoveryMs(rateLimitRemaining?: number): number;
  limit(): number;
  inFlight(): number;
  peakInFlight(): number;
  stats(): GovernorStats;
}

export interface ThrottleGovernorOptions {
  initial?: number;
  max?: number;
  min?: number;
  /** Settled level above which the limit grows (default 300). */
  increaseAbove?: number;
  /** Settled level below which the limit halves (default 100). */
  decreaseBelow?: number;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

const UP_FRONT_COST = 50;
const OUTFLOW_PER_SECOND = 10;
/** An empty bucket admits 11 reservations under the default hwm of 600 (12 × 50 ≥ 600). */
const MAX_IN_FLIGHT = 11;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Creates an adaptive limiter for one Canvas bucket. Callers `await acquire()` before a request and
 * `release(info)` after reading the answer's headers.
 */
export function createThrottleGovernor(opts: ThrottleGovernorOptions = {}): ThrottleGovernor {
  const max = Math.max(1, opts.max ?? MAX_IN_FLIGHT);
  const min = Math.max(1, Math.min(opts.min ?? 1, max));
  const increaseAbove = opts.increaseAbove ?? 300;
  const decreaseBelow = opts.decreaseBelow ?? 100;
  const now = () => (opts.clock ?? (() => new Date()))().getTime();
  const sleep = opts.sleep ?? realSleep;

  let limit = Math.min(max, Math.max(min, opts.initial ?? 6));
  let inFlight = 0;
  let peak = 0;
  let healthySinceChange = 0;
  /** Answers to requests started before the last decrease must not trigger another one. */
  let epoch = 0;
  const startedEpoch: number[] = [];
  let throttles = 0;
  let decreases = 0;
  let increases = 0;
  let costSum = 0;
  let costCount = 0;
  /** Settled level (hwm − count without our reservations) when last measured, and when. */
  let level: number | null = null;
  let levelAt = 0;
  /** The fullest level seen: the bucket's hwm as far as we know (Canvas's default is 600). */
  let ceiling = 600;
  const waiters: Array<() => void> = [];

  function estimate(t: number): number {
    if (level === null) return ceiling;
    return Math.min(ceiling, level + ((t - levelAt) / 1000) * OUTFLOW_PER_SECOND);
  }

  function wake(): void {
    while (waiters.length > 0) waiters.shift()!();
  }

  function recoveryMs(remaining = 0): number {
    return Math.max(1000, ((UP_FRONT_COST - remaining) / OUTFLOW_PER_SECOND) * 1000);
  }

  function decrease(to = Math.floor(limit / 2)): void {
    limit = Math.max(min, Math.min(limit, to));
    healthySinceChange = 0;
    epoch++;
    decreases++;
  }

  return {
    async acquire() {
      for (;;) {
        if (inFlight < limit) {
          // Canvas refuses when count + 50 ≥ hwm, i.e. when level ≤ 50 × (requests in flight).
          const short = UP_FRONT_COST * (inFlight + 1) - estimate(now());
          if (short < 0) {
            inFlight++;
            startedEpoch.push(epoch);
            peak = Math.max(peak, inFlight);
            return;
          }
          if (inFlight === 0) {
            // Nothing of ours will settle and free room: wait for the leak.
            await sleep(Math.ceil((short / OUTFLOW_PER_SECOND) * 1000) + 1);
            continue;
          }
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },

    release(info) {
      inFlight = Math.max(0, inFlight - 1);
      const started = startedEpoch.shift() ?? epoch;
      const t = now();
      if (info?.requestCost !== undefined) {
        costSum += info.requestCost;
        costCount++;
      }
      if (info?.throttled) {
        throttles++;
        // The refusal proves level ≤ 50 × (our requests in flight then, this one included).
        const proven = UP_FRONT_COST * inFlight + Math.max(0, info.rateLimitRemaining ?? 0);
        level = Math.min(estimate(t), proven);
        levelAt = t;
        if (started === epoch) decrease();
      } else if (info?.rateLimitRemaining !== undefined) {
        // Canvas reports hwm − count after settling this request, and count still holds 50 units
        // for each of our requests it had reserved and not settled then; the bucket is judged by its
        // settled level. That lies between `remaining` (none of ours reserved) and remaining + 50 ×
        // our requests in flight (all reserved) — the upper end overshoots by 50 for every request
        // that had not arrived yet or had settled while its answer was still on its way (many, after
        // an event-loop stall). So the level is carried forward instead: the last level, plus the
        // leak since, minus this request's real cost, kept within those two bounds. (An answer
        // handled out of order can make the upper one 50 too low: the model errs towards waiting.)
        const remaining = info.rateLimitRemaining;
        const carried = estimate(t) - (info.requestCost ?? 0);
        level = Math.min(remaining + UP_FRONT_COST * inFlight, Math.max(remaining, carried));
        levelAt = t;
        // Canvas's hwm is at least any remaining it reports (600 by default, 700 in production).
        ceiling = Math.max(ceiling, remaining);
        const headroom = Math.ceil(level / UP_FRONT_COST) - 1;
        if (level < decreaseBelow) {
          if (started === epoch) decrease();
        } else if (limit > headroom) {
          decrease(headroom);
        } else if (level > increaseAbove || limit + 1 < headroom) {
          healthySinceChange++;
          // Additive increase: one slot per full window of healthy answers (≈ one per round trip),
          // never past the bucket's headroom. Below 300 it still grows while the level holds two
          // more reservations, so a drained-but-steady bucket is not left at one slot.
          if (healthySinceChange >= limit && limit < max && limit + 1 <= headroom) {
            limit++;
            healthySinceChange = 0;
            increases++;
          }
        }
      }
      wake();
    },

    recoveryMs,
    limit: () => limit,
    inFlight: () => inFlight,
    peakInFlight: () => peak,
    stats: () => ({
      limit,
      inFlight,
      peakInFlight: peak,
      throttles,
      decreases,
      increases,
      meanRequestCost: costCount ? costSum / costCount : null,
      level: level === null ? null : estimate(now()),
    }),
  };
}

/**
 * Adaptive concurrency for one Canvas token's leaky bucket (CANVAS-PERFORMANCE §1.4, §6.3).
 * Canvas charges every in-flight request 50 units up front against a high-water mark of 600, so
 * about 11 requests fit at once from a full bucket; the bucket leaks 10 units/s. The governor is
 * AIMD: one more slot per window of healthy answers while `X-Rate-Limit-Remaining` (plus our own
 * in-flight reservations) > 300, halve on a throttle or when it is < 100, and pause everyone for the
 * bucket's recovery time after a throttle. One governor per token (per integration or job): buckets are per access token.
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
}

export interface ThrottleGovernor {
  /** Waits for a slot (and for any throttle pause to end). Pair every acquire with one release. */
  acquire(): Promise<void>;
  release(info?: GovernorResponseInfo): void;
  /** Milliseconds the bucket needs after a throttle: (50 − remaining)/10 s, ~5 s at 0, at least 1 s. */
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
  /** Remaining above which the limit grows (default 300). */
  increaseAbove?: number;
  /** Remaining below which the limit halves (default 100). */
  decreaseBelow?: number;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

const UP_FRONT_COST = 50;
const OUTFLOW_PER_SECOND = 10;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Creates an adaptive limiter for one Canvas bucket. Callers `await acquire()` before a request and
 * `release(info)` after reading the answer's headers.
 */
export function createThrottleGovernor(opts: ThrottleGovernorOptions = {}): ThrottleGovernor {
  const max = Math.max(1, opts.max ?? 10);
  const min = Math.max(1, Math.min(opts.min ?? 1, max));
  const increaseAbove = opts.increaseAbove ?? 300;
  const decreaseBelow = opts.decreaseBelow ?? 100;
  const now = () => (opts.clock ?? (() => new Date()))().getTime();
  const sleep = opts.sleep ?? realSleep;

  let limit = Math.min(max, Math.max(min, opts.initial ?? 6));
  let inFlight = 0;
  let peak = 0;
  let pausedUntil = 0;
  let healthySinceChange = 0;
  /** Answers that started before the last decrease must not trigger another one. */
  let epoch = 0;
  const startedEpoch: number[] = [];
  let throttles = 0;
  let decreases = 0;
  let increases = 0;
  let costSum = 0;
  let costCount = 0;
  const waiters: Array<() => void> = [];

  function wake(): void {
    let free = limit - inFlight;
    while (free > 0 && waiters.length > 0) {
      waiters.shift()!();
      free--;
    }
  }

  function recoveryMs(remaining = 0): number {
    return Math.max(1000, ((UP_FRONT_COST - remaining) / OUTFLOW_PER_SECOND) * 1000);
  }

  function decrease(): void {
    limit = Math.max(min, Math.floor(limit / 2));
    healthySinceChange = 0;
    epoch++;
    decreases++;
  }

  return {
    async acquire() {
      for (;;) {
        const wait = pausedUntil - now();
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        if (inFlight < limit) {
          inFlight++;
          startedEpoch.push(epoch);
          peak = Math.max(peak, inFlight);
          return;
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },

    release(info) {
      inFlight = Math.max(0, inFlight - 1);
      const started = startedEpoch.shift() ?? epoch;
      if (info?.requestCost !== undefined) {
        costSum += info.requestCost;
        costCount++;
      }
      if (info?.throttled) {
        throttles++;
        pausedUntil = Math.max(pausedUntil, now() + recoveryMs(info.rateLimitRemaining));
        if (started === epoch) decrease();
      } else if (info?.rateLimitRemaining !== undefined) {
        // Canvas reports hwm − count, and count still holds 50 units for each of OUR requests in
        // flight (credited back when they settle). Judge the bucket by its settled level, or the
        // governor would read its own concurrency as pressure and never pass ~7 in flight.
        const level = info.rateLimitRemaining + UP_FRONT_COST * inFlight;
        // A request is refused when its 50 units push the count to the hwm, i.e. when
        // level ≤ 50 × (requests in flight). So the bucket holds at most ceil(level/50) − 1.
        const headroom = Math.ceil(level / UP_FRONT_COST) - 1;
        if (headroom < 1) {
          // Not even one request fits: wait for the leak instead of collecting a throttle.
          pausedUntil = Math.max(pausedUntil, now() + ((UP_FRONT_COST - level) / OUTFLOW_PER_SECOND) * 1000);
        }
        if (level < decreaseBelow) {
          if (started === epoch) decrease();
        } else if (limit > headroom) {
          limit = Math.max(min, headroom);
          healthySinceChange = 0;
          decreases++;
        } else if (level > increaseAbove) {
          healthySinceChange++;
          // Additive increase: one slot per full window of healthy answers (≈ one per round trip),
          // never past the bucket's headroom.
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
    }),
  };
}

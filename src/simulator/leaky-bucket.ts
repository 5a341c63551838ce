/**
 * Canvas's request throttle: one leaky bucket per access token.
 * The up-front cost is added when a request starts and replaced by the real cost when it ends,
 * so concurrent requests drain the quota faster; admission rejects when `count >= hwm`.
 */
export interface ThrottleSettings {
  enabled: boolean;
  hwm: number;
  maximum: number;
  /** Leak rate, units per second. */
  outflow: number;
  upFrontCost: number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = { enabled: true, hwm: 600, maximum: 800, outflow: 10, upFrontCost: 50 };

interface Bucket {
  count: number;
  lastTouched: number;
}

export interface LeakyBuckets {
  /** Adds the up-front cost; returns whether the request is admitted. */
  reserve(key: string, nowMs: number): boolean;
  /** Replaces the reservation with the real cost; returns `hwm - count` afterwards. */
  settle(key: string, cost: number, nowMs: number): number;
  /** `hwm - count` right now (after leaking). */
  remaining(key: string, nowMs: number): number;
  reset(): void;
}

export function createLeakyBuckets(settings: () => ThrottleSettings): LeakyBuckets {
  const buckets = new Map<string, Bucket>();

  function increment(key: string, amount: number, nowMs: number): Bucket {
    const s = settings();
    const b = buckets.get(key) ?? { count: 0, lastTouched: nowMs };
    if (b.count > 0) b.count = Math.max(0, b.count - (s.outflow * (nowMs - b.lastTouched)) / 1000);
    b.count = Math.min(s.maximum, Math.max(0, b.count + amount));
    b.lastTouched = nowMs;
    buckets.set(key, b);
    return b;
  }

  return {
    reserve(key, nowMs) {
      const s = settings();
      return increment(key, s.upFrontCost, nowMs).count < s.hwm;
    },
    settle(key, cost, nowMs) {
      const s = settings();
      return s.hwm - increment(key, cost - s.upFrontCost, nowMs).count;
    },
    remaining(key, nowMs) {
      return settings().hwm - increment(key, 0, nowMs).count;
    },
    reset() {
      buckets.clear();
    },
  };
}

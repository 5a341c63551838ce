import { describe, it, expect } from '@jest/globals';
import { createThrottleGovernor, type ThrottleGovernor } from '../../src/canvas/governor.js';

/** Fake time: sleeping advances the clock at once. */
function fakeTime() {
  const t = { now: 0, slept: [] as number[] };
  return {
    t,
    clock: () => new Date(t.now),
    sleep: async (ms: number) => {
      t.slept.push(ms);
      t.now += ms;
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('throttle governor', () => {
  it('admits at most `limit` requests at once and lets the next one in on release', async () => {
    const g = createThrottleGovernor({ initial: 3, ...fakeTime() });
    await Promise.all([g.acquire(), g.acquire(), g.acquire()]);
    let fourth = false;
    const p = g.acquire().then(() => {
      fourth = true;
    });
    await flush();
    expect(fourth).toBe(false);
    expect(g.inFlight()).toBe(3);
    g.release({ throttled: false, rateLimitRemaining: 200 });
    await p;
    expect(fourth).toBe(true);
    expect(g.peakInFlight()).toBe(3);
  });

  it('starts at 6 and grows one slot per window of healthy answers up to the max of 11 (12 × 50 ≥ 600)', async () => {
    const g = createThrottleGovernor(fakeTime());
    expect(g.limit()).toBe(6);
    for (let i = 0; i < 200; i++) {
      await g.acquire();
      g.release({ throttled: false, rateLimitRemaining: 590, requestCost: 0.05 });
    }
    expect(g.limit()).toBe(11);
    expect(g.stats().increases).toBe(5);
    expect(g.stats().meanRequestCost).toBeCloseTo(0.05);
  });

  it('does not read its own in-flight reservations as bucket pressure', async () => {
    const g = createThrottleGovernor({ initial: 8, ...fakeTime() });
    for (let i = 0; i < 8; i++) await g.acquire();
    // 7 others still in flight hold 350 units: remaining 240 means the settled level is 590.
    g.release({ throttled: false, rateLimitRemaining: 240 });
    expect(g.limit()).toBe(8);
    expect(g.stats().decreases).toBe(0);
  });

  it('does not read answers that all settled during a stall as room for more requests', async () => {
    const g = createThrottleGovernor({ initial: 10, ...fakeTime() });
    await g.acquire();
    g.release({ throttled: false, rateLimitRemaining: 300, requestCost: 0 });
    for (let i = 0; i < 5; i++) await g.acquire();
    // Canvas settled all five before the first answer was read: their remaining holds no
    // reservation of ours, so remaining + 50 × (4 others in flight) would claim ~500 units of room.
    g.release({ throttled: false, rateLimitRemaining: 299.5, requestCost: 0.1 });
    expect(g.stats().level).toBeCloseTo(299.9, 5);
    // Back to 5 in flight (250 < 299.9); a sixth reservation would not fit (300 ≥ 299.9).
    await g.acquire();
    let sixth = false;
    void g.acquire().then(() => (sixth = true));
    await flush();
    expect(sixth).toBe(false);
    expect(g.inFlight()).toBe(5);
  });

  it('holds its limit while remaining is between 100 and 300 and the bucket has room', async () => {
    const g = createThrottleGovernor({ initial: 3, ...fakeTime() });
    for (let i = 0; i < 50; i++) {
      await g.acquire();
      g.release({ throttled: false, rateLimitRemaining: 250 });
    }
    expect(g.limit()).toBe(3);
  });

  it("caps the limit to the requests whose 50-unit reservations fit under the bucket's hwm", async () => {
    const g = createThrottleGovernor({ initial: 6, ...fakeTime() });
    await g.acquire();
    // 200 units of headroom: a 4th concurrent request would reach the hwm.
    g.release({ throttled: false, rateLimitRemaining: 200 });
    expect(g.limit()).toBe(3);
  });

  it('waits for the leak, without a throttle, when not even one request fits', async () => {
    const time = fakeTime();
    const g = createThrottleGovernor({ initial: 6, ...time });
    await g.acquire();
    g.release({ throttled: false, rateLimitRemaining: 20 });
    const before = time.t.now;
    await g.acquire();
    expect(time.t.now - before).toBeGreaterThanOrEqual(3000);
    expect(time.t.now - before).toBeLessThan(3010);
    expect(g.stats().throttles).toBe(0);
  });

  it('halves when remaining drops under 100, once per wave of requests started before the cut', async () => {
    const g = createThrottleGovernor({ initial: 8, ...fakeTime() });
    for (let i = 0; i < 8; i++) await g.acquire();
    // Canvas's remaining still counts 50 units for each request of ours in flight.
    for (let i = 0; i < 8; i++) g.release({ throttled: false, rateLimitRemaining: 60 - 50 * (7 - i) });
    expect(g.limit()).toBe(4);
    expect(g.stats().decreases).toBe(1);
    // A request started after the cut that still sees a low bucket cuts again.
    await g.acquire();
    g.release({ throttled: false, rateLimitRemaining: 60 });
    expect(g.limit()).toBe(2);
  });

  it('halves on a throttle and pauses every acquire for the bucket recovery time', async () => {
    const time = fakeTime();
    const g = createThrottleGovernor({ initial: 6, ...time });
    await g.acquire();
    g.release({ throttled: true, rateLimitRemaining: 0 });
    expect(g.limit()).toBe(3);
    const before = time.t.now;
    await g.acquire();
    expect(time.t.now - before).toBeGreaterThanOrEqual(5000);
    expect(time.t.now - before).toBeLessThan(5010);
    expect(g.stats().throttles).toBe(1);
  });

  it('computes recovery as (50 − remaining)/10 seconds, at least one second', () => {
    const g = createThrottleGovernor();
    expect(g.recoveryMs(0)).toBe(5000);
    expect(g.recoveryMs(-200)).toBe(25000);
    expect(g.recoveryMs(45)).toBe(1000);
    expect(g.recoveryMs(undefined)).toBe(5000);
  });

  it('never drops below min and never exceeds max', async () => {
    const g = createThrottleGovernor({ initial: 4, min: 2, max: 5, ...fakeTime() });
    for (let i = 0; i < 5; i++) {
      await g.acquire();
      g.release({ throttled: true, rateLimitRemaining: 0 });
    }
    expect(g.limit()).toBe(2);
    for (let i = 0; i < 100; i++) {
      await g.acquire();
      g.release({ throttled: false, rateLimitRemaining: 590 });
    }
    expect(g.limit()).toBe(5);
  });

  it('treats a release without info (network error) as neutral', async () => {
    const g = createThrottleGovernor(fakeTime());
    await g.acquire();
    g.release();
    expect(g.limit()).toBe(6);
    expect(g.inFlight()).toBe(0);
  });

  it('keeps a simulated Canvas bucket (hwm 600, 50 up front, 10/s leak) from throttling where a fixed pool of 10 is throttled', async () => {
    const adaptive = await simulateBucket(createThrottleGovernor, {});
    expect(adaptive.throttled).toBe(0);
    expect(adaptive.maxInFlight).toBe(11);
    const fixed = await simulateBucket(() => fixedPool(10), {});
    expect(fixed.throttled).toBeGreaterThan(0);
  });

  it.each([
    [20, 0.5, 3000],
    [200, 1.0, 1500],
    [50, 2.0, 1500],
  ])('keeps a cost-bound run (%d ms, cost %d, %d requests) within 1.5x of the throttle floor, in simulated time', async (latencyMs, cost, requests) => {
    const floorSeconds = (requests * cost - 600) / 10;
    const run = await simulateBucket(createThrottleGovernor, {}, { requests, latencyMs, cost });
    expect(run.seconds).toBeLessThanOrEqual(1.5 * floorSeconds);
  });
});

/**
 * Discrete-event model of Canvas's leaky bucket: 16 workers send
 * `requests` requests through the governor; each reserves 50 units while in flight for `latencyMs`,
 * then settles at `cost` units; the bucket leaks 10 units/s and refuses a request when the count reaches 600 (a
 * refused request is answered at once and retried). Time is simulated: timers fire in order.
 */
async function simulateBucket(
  create: (opts: NonNullable<Parameters<typeof createThrottleGovernor>[0]>) => ThrottleGovernor,
  opts: Parameters<typeof createThrottleGovernor>[0],
  { requests = 3000, latencyMs = 200, cost = 0.3 } = {},
) {
  let now = 0;
  const timers: Array<{ at: number; seq: number; resolve: () => void }> = [];
  let seq = 0;
  const sleep = (ms: number) => new Promise<void>((resolve) => timers.push({ at: now + ms, seq: seq++, resolve }));
  const g = create({ ...opts, clock: () => new Date(now), sleep });
  let count = 0;
  let last = 0;
  let throttled = 0;
  let maxInFlight = 0;
  let done = 0;
  let next = 0;
  const leak = () => {
    count = Math.max(0, count - ((now - last) / 1000) * 10);
    last = now;
  };
  const worker = async () => {
    while (next < requests) {
      next++;
      for (;;) {
        await g.acquire();
        maxInFlight = Math.max(maxInFlight, g.inFlight());
        leak();
        count += 50;
        const wasThrottled = count >= 600;
        await sleep(wasThrottled ? 5 : latencyMs);
        leak();
        count += (wasThrottled ? 0 : cost) - 50;
        g.release({ throttled: wasThrottled, rateLimitRemaining: wasThrottled ? 0 : 600 - count, requestCost: cost });
        if (!wasThrottled) break;
        throttled++;
      }
      done++;
    }
  };
  const all = Promise.all(Array.from({ length: 16 }, worker));
  while (done < requests) {
    await new Promise((r) => setImmediate(r));
    if (done >= requests) break;
    timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const t = timers.shift();
    if (!t) throw new Error('simulation deadlocked');
    now = Math.max(now, t.at);
    t.resolve();
  }
  await all;
  return { throttled, maxInFlight, seconds: now / 1000 };
}

/** The naive alternative: a fixed pool of `n` slots that ignores the bucket. */
function fixedPool(n: number): ThrottleGovernor {
  let inFlight = 0;
  let peak = 0;
  const waiters: Array<() => void> = [];
  return {
    async acquire() {
      while (inFlight >= n) await new Promise<void>((r) => waiters.push(r));
      inFlight++;
      peak = Math.max(peak, inFlight);
    },
    release() {
      inFlight--;
      waiters.shift()?.();
    },
    recoveryMs: () => 5000,
    limit: () => n,
    inFlight: () => inFlight,
    peakInFlight: () => peak,
    stats: () => ({ limit: n, inFlight, peakInFlight: peak, throttles: 0, decreases: 0, increases: 0, meanRequestCost: null, level: null }),
  };
}

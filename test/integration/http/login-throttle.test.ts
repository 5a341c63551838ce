import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { openStore } from '../../../src/store/database.js';
import { addressKey, LOGIN_BUDGETS } from '../../../src/staff/login-throttle.js';
import { testDatabases, type TestDatabase } from '../../support/databases.js';
import { createTestContainer } from '../../support/test-container.js';

type TestContainer = Awaited<ReturnType<typeof createTestContainer>>;
type App = ReturnType<typeof createApp>;
const PASSWORD = 'the right passphrase here';

/** One sign-in attempt from a fresh browser (its own session and CSRF token), optionally via a claimed X-Forwarded-For. */
async function attempt(app: App, email: string, password: string, forwardedFor?: string): Promise<number> {
  const agent = request.agent(app);
  const page = await agent.get('/login');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
  const req = agent.post('/login').type('form');
  if (forwardedFor) req.set('X-Forwarded-For', forwardedFor);
  const res = await req.send({ _csrf: csrf, email, password });
  if (res.status === 429) {
    expect(res.text).toContain('data-code="rate_limited"');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  }
  return res.status;
}

describe('client address for the sign-in limits', () => {
  it('keys IPv4 as is and IPv6 by its /64', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});

describe('sign-in limits per account and per address', () => {
  let c: TestContainer;
  let trusting: TestContainer;
  beforeAll(async () => {
    c = await createTestContainer();
    trusting = await createTestContainer({ env: { TRUST_PROXY: '127.0.0.1' } });
    for (const k of [c, trusting]) await k.staff.create({ email: 'victim@example.edu', name: 'Vic', password: PASSWORD });
  });
  afterAll(async () => {
    await c.close();
    await trusting.close();
  });

  it('a forged X-Forwarded-For does not escape the per-account limit: 12 guesses from 12 claimed addresses, the 11th is refused', async () => {
    const app = createApp(c);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await attempt(app, 'victim@example.edu', `guess number ${i}`, `198.51.100.${i + 1}`));
    expect(statuses).toEqual([...Array(LOGIN_BUDGETS.account.limit).fill(401), 429, 429]);
    // Even the right password waits now: the account is what is protected.
    expect(await attempt(app, 'victim@example.edu', PASSWORD)).toBe(429);
  });

  it('even when the header is believed (TRUST_PROXY), 12 guesses from 12 real addresses on one account are limited', async () => {
    const app = createApp(trusting);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await attempt(app, 'victim@example.edu', `guess number ${i}`, `198.51.100.${i + 1}`));
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('15 emails from one address hit the per-address limit; successful sign-ins do not count', async () => {
    const fresh = await createTestContainer();
    try {
      await fresh.staff.create({ email: 'real@example.edu', name: 'Real', password: PASSWORD });
      const app = createApp(fresh);
      for (let i = 0; i < 5; i++) expect(await attempt(app, 'real@example.edu', PASSWORD)).toBe(303);
      const statuses: number[] = [];
      for (let i = 0; i < 15; i++) {
        for (let j = 0; j < 2; j++) statuses.push(await attempt(app, `person${i}@example.edu`, `guess number ${j}`));
      }
      expect(statuses).toEqual(Array(LOGIN_BUDGETS.address.limit).fill(401));
      expect(await attempt(app, 'person15@example.edu', 'one more guess')).toBe(429);
      expect(await attempt(app, 'real@example.edu', PASSWORD)).toBe(429);
    } finally {
      await fresh.close();
    }
  });

  it("with TRUST_PROXY set to the proxy's address the client address comes from X-Forwarded-For; without it the header is ignored", async () => {
    const run = async (env: Record<string, string>) => {
      const k = await createTestContainer({ env });
      try {
        const app = createApp(k);
        for (let i = 0; i < LOGIN_BUDGETS.address.limit; i++) await attempt(app, `user${i}@example.edu`, 'wrong guess here', '203.0.113.7');
        return {
          sameClient: await attempt(app, 'another@example.edu', 'wrong guess here', '203.0.113.7'),
          otherClient: await attempt(app, 'another@example.edu', 'wrong guess here', '203.0.113.8'),
        };
      } finally {
        await k.close();
      }
    };
    expect(await run({ TRUST_PROXY: '127.0.0.1' })).toEqual({ sameClient: 429, otherClient: 401 });
    expect(await run({})).toEqual({ sameClient: 429, otherClient: 429 });
  });
});

describe.each(testDatabases().map((d) => [d.name, d] as const))('two instances on one database (%s)', (_name, tdb) => {
  let first: TestContainer;
  let second: TestContainer;
  beforeAll(async () => {
    const store = await tdb.open();
    const config = store.config;
    first = await createTestContainer({ tdb: { name: tdb.name, open: async () => store } });
    // A second instance: its own connection pool on the same database, as another process would have.
    const sameDb: TestDatabase = { name: tdb.name, open: async () => Object.assign(openStore(config), { config }) };
    second = await createTestContainer({ tdb: sameDb });
    await first.staff.create({ email: 'shared@example.edu', name: 'Shared', password: PASSWORD });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('share the per-account counter: guesses spread over both instances are limited at the same count', async () => {
    const apps = [createApp(first), createApp(second)] as const;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await attempt(apps[i % 2 === 0 ? 0 : 1], 'shared@example.edu', `guess number ${i}`));
    expect(statuses).toEqual([...Array(LOGIN_BUDGETS.account.limit).fill(401), 429, 429]);
  });

  it('count concurrent attempts without losing one', async () => {
    const email = 'concurrent@example.edu';
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? second : first).loginThrottle.attempt({ email, address: `192.0.2.${i}` })),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(LOGIN_BUDGETS.account.limit);
  });
});

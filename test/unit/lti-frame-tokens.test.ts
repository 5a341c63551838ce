import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createFrameTokens, FRAME_TOKEN_TTL_MS } from '../../src/lti/frame-tokens.js';

const T0 = new Date('2026-12-06T12:00:00Z');
const course = { page: 'course' as const, integrationId: 'int-a', courseId: '100', courseTitle: 'Chemistry 101', sub: 'u1' };

describe('frame tokens', () => {
  it('open the page, integration and course they were issued for, and nothing else', () => {
    const t = createFrameTokens({ secrets: ['s1'], clock: () => T0 });
    const token = t.issue(course);
    expect(t.verify(token, { page: 'course', integrationId: 'int-a', courseId: '100' })).toEqual({ ok: true, claims: { ...course, exp: T0.getTime() + FRAME_TOKEN_TTL_MS } });
    expect(t.verify(token, { page: 'course', integrationId: 'int-a', courseId: '101' })).toEqual({ ok: false, reason: 'wrong_course' });
    expect(t.verify(token, { page: 'course', integrationId: 'int-b', courseId: '100' })).toEqual({ ok: false, reason: 'wrong_integration' });
    expect(t.verify(token, { page: 'admin', integrationId: 'int-a' })).toEqual({ ok: false, reason: 'wrong_page' });
    const admin = t.issue({ page: 'admin', integrationId: 'int-a', sub: 'u1' });
    expect(t.verify(admin, { page: 'course', integrationId: 'int-a', courseId: '100' })).toEqual({ ok: false, reason: 'wrong_page' });
    expect(t.verify(admin, { page: 'admin', integrationId: 'int-a' }).ok).toBe(true);
  });

  it('expire after an hour', () => {
    let now = T0;
    const t = createFrameTokens({ secrets: ['s1'], clock: () => now });
    const token = t.issue(course);
    now = new Date(T0.getTime() + FRAME_TOKEN_TTL_MS - 1);
    expect(t.verify(token, { page: 'course', integrationId: 'int-a', courseId: '100' }).ok).toBe(true);
    now = new Date(T0.getTime() + FRAME_TOKEN_TTL_MS);
    expect(t.verify(token, { page: 'course', integrationId: 'int-a', courseId: '100' })).toEqual({ ok: false, reason: 'expired' });
  });

  it('survive a secret rotation (older secret still accepted) but not a foreign secret', () => {
    const old = createFrameTokens({ secrets: ['s1'], clock: () => T0 }).issue(course);
    const rotated = createFrameTokens({ secrets: ['s2', 's1'], clock: () => T0 });
    expect(rotated.verify(old, { page: 'course', integrationId: 'int-a', courseId: '100' }).ok).toBe(true);
    const foreign = createFrameTokens({ secrets: ['s3'], clock: () => T0 });
    expect(foreign.verify(old, { page: 'course', integrationId: 'int-a', courseId: '100' })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuse every changed character (signature over the whole body)', () => {
    const t = createFrameTokens({ secrets: ['s1'], clock: () => T0 });
    const token = t.issue(course);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.constantFrom(...alphabet), (i, c) => {
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        // base64url's last character may carry unused bits: only a change of the decoded bytes counts.
        const same = changed === token || changed.split('.').every((p, k) => k === 0 ? p === token.split('.')[0] : Buffer.from(p, 'base64url').equals(Buffer.from(token.split('.')[k]!, 'base64url')));
        if (same) return;
        expect(t.verify(changed, { page: 'course', integrationId: 'int-a', courseId: '100' }).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
    expect(t.verify('', { page: 'course', integrationId: 'int-a', courseId: '100' })).toEqual({ ok: false, reason: 'malformed' });
    expect(t.verify('v1.e30', { page: 'course', integrationId: 'int-a', courseId: '100' })).toEqual({ ok: false, reason: 'malformed' });
  });
});

import { describe, expect, it } from '@jest/globals';
import { presentJobDetail } from '../../src/http/presenters/job-detail.js';
import type { Job } from '../../src/jobs/types.js';

const job = (over: Partial<Job>): Job => ({ id: 'j1', kind: 'health_check', integrationId: 'i1', state: 'succeeded', params: {}, progress: { phase: 'checking', done: 0, total: null }, etaSeconds: null, createdAt: '2026-12-06T10:00:00.000Z', startedAt: '2026-12-06T10:00:01.000Z', finishedAt: '2026-12-06T10:00:02.000Z', error: null, summary: null, attempts: 1, ...over });

describe("a health check's job page reads as sentences", () => {
  it('the check of one integration: the connection it found, its reasons in words, no JSON', () => {
    const summary = { integrationId: 'i1', status: { state: 'failed', reasons: ['developer_key_off'], missingScopes: [], checks: [{ name: 'users_self', ok: false }] } };
    const d = presentJobDetail(job({ summary }), new Map());
    expect(d.did).toEqual(["Re-checks this integration's connection with Canvas.", 'The connection is Failed: The developer key is OFF for this account.']);
    expect(d.did.join(' ')).not.toMatch(/[{}"]|developer_key_off|integrationId/);
  });

  it('the scheduled check of every integration: how many, and whose state moved', () => {
    const summary = { checked: 3, changed: [{ integrationId: 'i2', from: 'verified', to: 'failed', reasons: ['token_revoked'] }] };
    const d = presentJobDetail(job({ integrationId: '*', summary }), new Map());
    expect(d.did[1]).toBe("Checked 3 connected integrations; 1 connection's state changed.");
    expect(d.did[2]).toMatch(/^Integration i2: from Verified to Failed \(.+\)\.$/);
    expect(d.did.join(' ')).not.toMatch(/[{}"]|token_revoked/);
  });

  it('a grade post is described by its own summary, not as a health check', () => {
    const summary = { examKey: 'midterm', posted: 3, unchanged: 0, unknownUser: 1, notExamTaker: 0, invalidScore: 0, failed: 0, writeRequests: 2 };
    const d = presentJobDetail(job({ kind: 'grade_post', summary }), new Map());
    expect(d.kindTitle).toBe('Grade post');
    expect(d.did).toEqual(['midterm: 3 posted, 0 unchanged, 1 not posted (2 write requests).']);
  });
});

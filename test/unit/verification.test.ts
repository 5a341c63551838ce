import { describe, expect, it } from '@jest/globals';
import { CanvasApiError } from '../../src/canvas/errors.js';
import type { CanvasClient, CanvasRequest, EndpointId } from '../../src/canvas/types.js';
import type { Integration } from '../../src/integrations/integration.js';
import type { IntegrationsRepository } from '../../src/integrations/integrations-repository.js';
import type { ConnectionStatus } from '../../src/integrations/reasons.js';
import { createVerifier, type KeyProbe } from '../../src/integrations/verification.js';
import { anIntegration } from '../support/integration-fixture.js';

const integration: Integration = anIntegration();

type Answer = unknown | ((req: CanvasRequest) => unknown);
const OK: Record<EndpointId, Answer> = {
  'users.self': { id: 7, name: 'Ada' },
  'accounts.courses': [{ id: 101, name: 'Bio', sis_course_id: 'BIO-1', workflow_state: 'available' }],
  'courses.sections': (req: CanvasRequest) => [{ id: 5, name: 'S', ...(req.query?.['include[]'] ? { total_students: 3 } : {}) }],
  'courses.enrollments': [],
  'accounts.permissions': { read_sis: true, manage_sis: false },
} as Record<EndpointId, Answer>;

function run(overrides: Partial<Record<EndpointId, Answer>>, key: KeyProbe = { outcome: 'ready' }, subject: Integration = integration) {
  let stored: ConnectionStatus | undefined;
  const answers = { ...OK, ...overrides };
  const client = {
    async request(req: CanvasRequest) {
      const a = answers[req.endpoint];
      if (a instanceof Error) throw a;
      return { status: 200, body: typeof a === 'function' ? (a as (r: CanvasRequest) => unknown)(req) : a, headers: new Headers(), links: {} };
    },
  } as unknown as CanvasClient;
  const repo = { get: async () => subject, setStatus: async (_: string, s: ConnectionStatus) => void (stored = s) } as unknown as IntegrationsRepository;
  const verifier = createVerifier({
    repo,
    clientFor: () => client,
    tokenSourceFor: () => ({ current: async () => 't', refresh: async () => 't' }),
    probeKey: async () => key,
    clock: () => new Date('2026-01-01T00:00:00Z'),
  });
  return verifier.verify('i1').then((s) => ({ s: s!, stored }));
}

describe('verification probes', () => {
  it('follow the features: without course refresh nothing of the course list is probed, a feature-off scope is never asked for', async () => {
    const notFound = () => new CanvasApiError('not_found', 'x', { status: 404 });
    const insufficient = (endpoint: EndpointId, scope: string) => new CanvasApiError('insufficient_scopes', 'x', { status: 401, endpoint, missingScope: scope });
    const calls: string[] = [];
    const seen = (answer: unknown) => (req: CanvasRequest) => {
      calls.push(req.endpoint);
      if (answer instanceof Error) throw answer;
      return answer;
    };
    const rosterOnly = { ...integration, features: ['roster_sync' as const] };
    const r = await run(
      {
        'accounts.courses': seen(insufficient('accounts.courses', 'url:GET|/api/v1/accounts/:account_id/courses')),
        'courses.sections': seen(insufficient('courses.sections', 'url:GET|/api/v1/courses/:course_id/sections')),
        'courses.enrollments': seen(notFound()),
      },
      { outcome: 'ready' },
      rosterOnly,
    );
    expect(r.s).toMatchObject({ state: 'verified', missingScopes: [] });
    expect(calls).toEqual(['courses.enrollments']);
    expect(r.s.checks.map((c) => c.name)).toEqual(['users_self', 'enrollments', 'sis_visibility']);
    // The same key, enrollments not granted: the exact scope is named.
    const lacking = await run({ 'courses.enrollments': insufficient('courses.enrollments', 'url:GET|/api/v1/courses/:course_id/enrollments') }, { outcome: 'ready' }, rosterOnly);
    expect(lacking.s).toMatchObject({ state: 'degraded', missingScopes: ['url:GET|/api/v1/courses/:course_id/enrollments'] });
  });

  it('verified only when every probe passes; the status is stored', async () => {
    const { s, stored } = await run({});
    expect(s).toMatchObject({ state: 'verified', reasons: [], tokenOwner: { id: '7', name: 'Ada' }, verifiedAt: '2026-01-01T00:00:00.000Z' });
    expect(stored).toEqual(s);
  });

  it('a probe refused with Insufficient scopes → degraded with that exact scope in missingScopes', async () => {
    const err = new CanvasApiError('insufficient_scopes', 'x', { status: 401, endpoint: 'courses.enrollments', missingScope: 'url:GET|/api/v1/courses/:course_id/enrollments' });
    const { s } = await run({ 'courses.enrollments': err });
    expect(s).toMatchObject({ state: 'degraded', reasons: ['missing_scopes'], missingScopes: ['url:GET|/api/v1/courses/:course_id/enrollments'] });
  });

  it('a permission denial names the missing permission (user_not_authorized)', async () => {
    const { s } = await run({ 'accounts.courses': new CanvasApiError('unauthorized', 'x', { status: 401 }) });
    expect(s.state).toBe('degraded');
    expect(s.checks.find((c) => c.name === 'account_courses')).toMatchObject({ ok: false, reason: 'user_not_authorized' });
    expect(s.checks.find((c) => c.name === 'account_courses')!.detail).toContain('read_course_list');
  });

  it('a refreshed token still refused: key OFF → developer_key_off, key ON → token_owner_inactive; other probes are skipped', async () => {
    const refused = () => new CanvasApiError('token_invalid', 'x', { status: 401, tokenProblem: 'invalid' });
    const off = await run({ 'users.self': refused() }, { outcome: 'failed', reason: 'developer_key_off', detail: 'off' });
    expect(off.s).toMatchObject({ state: 'failed', reasons: ['developer_key_off'] });
    expect(off.s.checks).toHaveLength(1);
    const on = await run({ 'users.self': refused() });
    expect(on.s).toMatchObject({ state: 'failed', reasons: ['token_owner_inactive'] });
  });

  it('throttling during a probe is reported, never verified', async () => {
    const { s } = await run({ 'accounts.permissions': new CanvasApiError('throttled', 'x', { status: 403 }) });
    expect(s).toMatchObject({ state: 'degraded', reasons: ['throttled'], verifiedAt: null });
  });

  it('include[] silently dropped → includes_not_allowed; SIS permission missing → sis_ids_hidden', async () => {
    const { s } = await run({ 'courses.sections': [{ id: 5, name: 'S' }], 'accounts.permissions': { read_sis: false, manage_sis: false } });
    expect(s).toMatchObject({ state: 'degraded', reasons: ['includes_not_allowed', 'sis_ids_hidden'] });
  });

  it('an account without courses still verifies, saying what could not be probed', async () => {
    const { s } = await run({ 'accounts.courses': [] });
    expect(s.state).toBe('verified');
    expect(s.checks.find((c) => c.name === 'enrollments')!.detail).toContain('Not probed');
  });
});

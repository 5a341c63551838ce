import { describe, expect, it } from '@jest/globals';
import { endpointsFor, manifestFeatures, scopeFor, scopesFor, type IntegrationFeature } from '../../../src/canvas/endpoints.js';
import type { Integration } from '../../../src/integrations/integration.js';
import type { IntegrationsRepository } from '../../../src/integrations/integrations-repository.js';
import { probeAuthorizeEndpoint } from '../../../src/integrations/preflight.js';
import type { ConnectionStatus } from '../../../src/integrations/reasons.js';
import { createVerifier } from '../../../src/integrations/verification.js';
import { testDatabases } from '../../support/databases.js';
import { ADMIN_ID, buildSyncWorld, KEY_ID, useSyncHarnesses } from '../../support/sync-world.js';
import { anIntegration } from '../../support/integration-fixture.js';

const BASE: IntegrationFeature[] = ['course_refresh', 'roster_sync'];
const WITH_GRADES: IntegrationFeature[] = [...BASE, 'grade_passback'];
const GRADE_SCOPES = endpointsFor('grade_passback').map((e) => scopeFor(e.id)).sort();


/** The integration the harness's sandbox and key stand for, with these features. */
function integrationOn(h: { integrationId: string; sandbox: { url: string } }, features: IntegrationFeature[]): Integration {
  return anIntegration({ id: h.integrationId, canvasUrl: h.sandbox.url, clientId: KEY_ID, features });
}

describe('the grade_passback feature decides which scopes are asked for and probed', () => {
  const ctx = useSyncHarnesses(() => testDatabases()[0].open());

  it('lists exactly six grade scopes, only in the manifest of an integration with the feature', () => {
    expect(GRADE_SCOPES).toEqual([
      'url:GET|/api/v1/courses/:course_id/assignments',
      'url:GET|/api/v1/courses/:course_id/assignments/:assignment_id/submissions',
      'url:GET|/api/v1/courses/:course_id/assignments/:id',
      'url:GET|/api/v1/progress/:id',
      'url:POST|/api/v1/courses/:course_id/assignments',
      'url:POST|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades',
    ]);
    const without = scopesFor(manifestFeatures(BASE));
    expect(without.filter((s) => GRADE_SCOPES.includes(s))).toEqual([]);
    expect(scopesFor(manifestFeatures(WITH_GRADES))).toEqual([...without, ...GRADE_SCOPES].sort());
  });

  it('a key without the grade scopes: degraded with exactly those missing until the token has them; without the feature, verified', async () => {
    const narrow = scopesFor(manifestFeatures(BASE));
    const h = await ctx.harness(buildSyncWorld(), { key: { requireScopes: true, allowIncludes: true, scopes: narrow }, tokenScopes: narrow });
    const verifyWith = async (features: IntegrationFeature[]) => {
      const integration = integrationOn(h, features);
      const repo = { get: async () => integration, setStatus: async (_: string, _s: ConnectionStatus) => undefined } as unknown as IntegrationsRepository;
      const verifier = createVerifier({ repo, clientFor: h.deps.clientFor, tokenSourceFor: () => h.auth, probeKey: async () => ({ outcome: 'ready' }), clock: () => new Date() });
      return (await verifier.verify(h.integrationId))!;
    };
    const before = h.sandbox.control.counters().writes;

    const degraded = await verifyWith(WITH_GRADES);
    expect(degraded).toMatchObject({ state: 'degraded', reasons: ['missing_scopes'], missingScopes: GRADE_SCOPES });
    const check = degraded.checks.find((c) => c.name === 'grade_scopes')!;
    expect(check).toMatchObject({ ok: false, reason: 'missing_scopes' });
    for (const s of GRADE_SCOPES) expect(check.detail).toContain(s);

    // The same token, feature off: nothing grade-related is asked for.
    const plain = await verifyWith(BASE);
    expect(plain).toMatchObject({ state: 'verified', missingScopes: [] });
    expect(plain.checks.some((c) => c.name === 'grade_scopes')).toBe(false);

    // The key gets the scopes and a new token carries them: verified, and the probe wrote nothing.
    h.sandbox.control.addScopes({ keyId: KEY_ID, scopes: GRADE_SCOPES });
    const admin = h.sandbox.state.user(ADMIN_ID)!;
    const token = h.sandbox.state.issueToken(admin, h.sandbox.state.findKey(KEY_ID)!, [...narrow, ...GRADE_SCOPES]);
    const auth = h.auth;
    const original = auth.current;
    auth.current = async () => token.accessToken;
    try {
      const ok = await verifyWith(WITH_GRADES);
      expect(ok).toMatchObject({ state: 'verified', missingScopes: [] });
      expect(ok.checks.find((c) => c.name === 'grade_scopes')).toMatchObject({ ok: true });
    } finally {
      auth.current = original;
    }
    expect(h.sandbox.control.counters().writes).toEqual(before);
  });

  it('preflight names the missing grade scopes when the feature is on, and nothing when it is off', async () => {
    const narrow = scopesFor(manifestFeatures(BASE));
    const h = await ctx.harness(buildSyncWorld(), { key: { requireScopes: true, scopes: narrow } });
    const ask = (features: IntegrationFeature[]) =>
      probeAuthorizeEndpoint(fetch, { canvasUrl: h.sandbox.url, clientId: KEY_ID, redirectUri: 'http://127.0.0.1/oauth/callback', scopes: scopesFor(manifestFeatures(features)) });
    const on = await ask(WITH_GRADES);
    expect(on).toMatchObject({ outcome: 'failed', reason: 'missing_scopes' });
    expect(on.outcome === 'failed' ? [...on.missingScopes].sort() : []).toEqual(GRADE_SCOPES);
    expect(await ask(BASE)).toEqual({ outcome: 'ready' });
  });

  it('a token owner without "Grades - edit" (manage_grades) is degraded user_not_authorized naming the permission, only with the feature on', async () => {
    const h = await ctx.harness(buildSyncWorld());
    h.sandbox.control.setPermissions({ userId: ADMIN_ID, permissions: { manage_grades: false } });
    const integration = (features: IntegrationFeature[]): Integration => integrationOn(h, features);
    const verifyWith = async (features: IntegrationFeature[]) => {
      const repo = { get: async () => integration(features), setStatus: async () => undefined } as unknown as IntegrationsRepository;
      return (await createVerifier({ repo, clientFor: h.deps.clientFor, tokenSourceFor: () => h.auth, probeKey: async () => ({ outcome: 'ready' }), clock: () => new Date() }).verify(h.integrationId))!;
    };
    const degraded = await verifyWith(WITH_GRADES);
    expect(degraded).toMatchObject({ state: 'degraded', reasons: ['user_not_authorized'] });
    expect(degraded.checks.find((c) => c.name === 'grade_permission')).toMatchObject({ ok: false, reason: 'user_not_authorized', detail: expect.stringContaining('"Grades - edit" (manage_grades)') });
    expect(await verifyWith(BASE)).toMatchObject({ state: 'verified' });
    h.sandbox.control.setPermissions({ userId: ADMIN_ID, permissions: { manage_grades: true } });
    const ok = await verifyWith(WITH_GRADES);
    expect(ok).toMatchObject({ state: 'verified' });
    expect(ok.checks.find((c) => c.name === 'grade_permission')).toMatchObject({ ok: true });
  });
});

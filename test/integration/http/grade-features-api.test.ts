import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { endpointsFor, manifestFeatures, scopeFor, scopesFor } from '../../../src/canvas/endpoints.js';
import { testDatabases } from '../../support/databases.js';
import { startHarness, type Harness } from '../../support/generate-keys-harness.js';

const BASE = ['course_refresh', 'roster_sync'] as const;
const GRADE_SCOPES = endpointsFor('grade_passback').map((e) => scopeFor(e.id)).sort();

/** A scoped developer key that grants the refresh and roster scopes but not the grade ones. */
describe.each(testDatabases().map((d) => [d.name, d] as const))('features through the real paths with a key without the grade scopes (%s)', (_name, tdb) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(tdb, { courses: 4 });
    h.sandbox.control.setKey({ requireScopes: true, allowIncludes: true, scopes: scopesFor(manifestFeatures([...BASE])) });
  });
  afterAll(async () => {
    await h.close();
  });

  it('PATCH features re-runs the checks: adding grade_passback is degraded with exactly the grade scopes missing, removing it is verified again', async () => {
    const id = await h.createIntegration({ features: [...BASE] });
    await h.authorize(id);
    expect((await h.api('GET', `/api/v1/integrations/${id}`)).body.status.state).toBe('verified');

    const on = await h.api('PATCH', `/api/v1/integrations/${id}`, { features: [...BASE, 'grade_passback'] });
    expect(on.status).toBe(200);
    const degraded = (await h.api('GET', `/api/v1/integrations/${id}`)).body.status;
    expect(degraded).toMatchObject({ state: 'degraded', reasons: ['missing_scopes'] });
    expect([...degraded.missingScopes].sort()).toEqual(GRADE_SCOPES);

    await h.api('PATCH', `/api/v1/integrations/${id}`, { features: [...BASE] });
    expect((await h.api('GET', `/api/v1/integrations/${id}`)).body.status).toMatchObject({ state: 'verified', missingScopes: [] });
  });

  it('preflight and Generate Keys follow the features: the grade scopes are named missing and asked for only with grade_passback', async () => {
    const withGrades = await h.createIntegration({ features: [...BASE, 'grade_passback'] });
    const pre = await h.api('POST', `/api/v1/integrations/${withGrades}/preflight`, {});
    expect(pre.status).toBe(200);
    expect(pre.body.ok).toBe(false);
    expect([...pre.body.missingScopes].sort()).toEqual(GRADE_SCOPES);
    const link = await h.api('POST', `/api/v1/integrations/${withGrades}/authorization-links`, {});
    const asked = async (url: string) => {
      const first = await fetch(url, { redirect: 'manual' });
      const authorize = new URL(first.headers.get('location')!, url);
      return (authorize.searchParams.get('scope') ?? '').split(' ');
    };
    expect(await asked(link.body.url)).toEqual(expect.arrayContaining(GRADE_SCOPES));

    const without = await h.createIntegration({ features: [...BASE] });
    const ok = await h.api('POST', `/api/v1/integrations/${without}/preflight`, {});
    expect(ok.body).toMatchObject({ ok: true, missingScopes: [] });
    const plain = await h.api('POST', `/api/v1/integrations/${without}/authorization-links`, {});
    const scopes = await asked(plain.body.url);
    expect(scopes.length).toBeGreaterThan(0);
    expect(scopes.filter((s) => GRADE_SCOPES.includes(s))).toEqual([]);
  });
});

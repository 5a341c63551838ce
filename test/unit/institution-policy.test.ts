import { describe, expect, it } from '@jest/globals';
import { assertInstitutionMayChange } from '../../src/integrations/integration-settings.js';
import type { Integration } from '../../src/integrations/integration.js';
import { anIntegration } from '../support/integration-fixture.js';

const current: Integration = anIntegration({
  name: 'Springfield U',
  canvasUrl: 'https://canvas.springfield.edu',
  clientId: '10000000000042',
  lti: { environment: 'custom', clientId: '7', deploymentIds: ['1:a'], issuer: 'https://canvas.springfield.edu', authUrl: 'https://sso.springfield.edu/auth', jwksUrl: 'https://sso.springfield.edu/jwks' },
});

const refusal = (patch: Parameters<typeof assertInstitutionMayChange>[1], tokenStored: boolean) => {
  try {
    assertInstitutionMayChange(current, patch, { tokenStored });
    return null;
  } catch (err) {
    const e = err as { code: string; details?: { field?: string } };
    return { code: e.code, field: e.details?.field };
  }
};

describe('what an institution session may change', () => {
  it('refuses the Canvas URL and client id while a token is stored, naming the field', () => {
    expect(refusal({ canvasUrl: 'https://evil.example' }, true)).toEqual({ code: 'forbidden', field: 'canvasUrl' });
    expect(refusal({ clientId: '99' }, true)).toEqual({ code: 'forbidden', field: 'clientId' });
  });

  it('allows them without a token, and never refuses a value that does not change', () => {
    expect(refusal({ canvasUrl: 'https://other.instructure.com', clientId: '99' }, false)).toBeNull();
    expect(refusal({ canvasUrl: current.canvasUrl, clientId: current.clientId, clientSecret: 'new' }, true)).toBeNull();
    expect(refusal({ courseIdType: 'canvas_id', userIdType: 'email', studentRoles: ['Exam Student'] }, true)).toBeNull();
  });

  it('keeps the name, the account and the custom LTI endpoints for staff', () => {
    expect(refusal({ name: 'Other' }, false)).toEqual({ code: 'forbidden', field: 'name' });
    expect(refusal({ accountId: '5' }, false)).toEqual({ code: 'forbidden', field: 'accountId' });
    expect(refusal({ lti: { ...current.lti!, jwksUrl: 'https://evil.example/jwks' } }, false)).toEqual({ code: 'forbidden', field: 'lti.jwksUrl' });
    expect(refusal({ lti: { ...current.lti!, authUrl: 'https://evil.example/auth' } }, false)).toEqual({ code: 'forbidden', field: 'lti.authUrl' });
    expect(refusal({ lti: { ...current.lti!, clientId: '8', deploymentIds: ['2:b'] } }, false)).toBeNull();
  });

  it("keeps the Canvas's other name (a host the token may go to) for staff, with or without a token", () => {
    expect(refusal({ canvasOtherUrl: 'https://springfield.instructure.com' }, false)).toEqual({ code: 'forbidden', field: 'canvasOtherUrl' });
    expect(refusal({ canvasOtherUrl: 'https://evil.instructure.com' }, true)).toEqual({ code: 'forbidden', field: 'canvasOtherUrl' });
    expect(refusal({ canvasOtherUrl: null }, true)).toBeNull();
  });
});

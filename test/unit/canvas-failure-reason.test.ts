import { describe, expect, it } from '@jest/globals';
import { CanvasApiError } from '../../src/canvas/errors.js';
import { jobCodeForFailure, reasonForCanvasFailure } from '../../src/integrations/canvas-failure-reason.js';
import { TokenUnavailableError } from '../../src/oauth/token-source.js';
import { toJobFailure } from '../../src/sync/job-failures.js';
import { JobFailure } from '../../src/jobs/types.js';

describe('reasonForCanvasFailure', () => {
  it.each([
    ['insufficient_scopes', 'missing_scopes'],
    ['unauthorized', 'user_not_authorized'],
    ['throttled', 'throttled'],
    ['server', 'canvas_unreachable'],
    ['network', 'canvas_unreachable'],
    ['timeout', 'canvas_unreachable'],
    ['malformed', 'canvas_unreachable'],
    ['not_found', null],
    ['bad_request', null],
  ] as const)('maps %s to %s', (kind, reason) => {
    expect(reasonForCanvasFailure({ kind })).toBe(reason);
  });

  it('leaves an invalid or expired token to the caller (refresh first) but calls a revoked token token_revoked', () => {
    expect(reasonForCanvasFailure({ kind: 'token_invalid', tokenProblem: 'invalid' })).toBeNull();
    expect(reasonForCanvasFailure({ kind: 'token_invalid', tokenProblem: 'expired' })).toBeNull();
    expect(reasonForCanvasFailure({ kind: 'token_invalid', tokenProblem: 'revoked' })).toBe('token_revoked');
  });
});

describe('the code a failed job records for a Canvas or token failure', () => {
  it('keeps token_invalid for a token Canvas called invalid (not revoked)', () => {
    const invalid = new CanvasApiError('token_invalid', 'Invalid access token.', { status: 401, tokenProblem: 'invalid' });
    expect(jobCodeForFailure(invalid)?.code).toBe('token_invalid');
    const f = toJobFailure(invalid);
    expect(f).toBeInstanceOf(JobFailure);
    expect((f as JobFailure).code).toBe('token_invalid');
  });

  it('calls a revoked token token_revoked', () => {
    expect(jobCodeForFailure(new CanvasApiError('token_invalid', 'Revoked access token.', { status: 401, tokenProblem: 'revoked' }))?.code).toBe('token_revoked');
  });

  it('maps Canvas failures to reason codes with the remedy in the message', () => {
    const f = toJobFailure(new CanvasApiError('insufficient_scopes', 'Insufficient scopes on access token.', { status: 401 })) as JobFailure;
    expect(f.code).toBe('missing_scopes');
    expect(f.message).toContain('Developer Keys');
    expect((toJobFailure(new CanvasApiError('throttled', 'x')) as JobFailure).code).toBe('throttled');
    expect((toJobFailure(new CanvasApiError('network', 'x')) as JobFailure).code).toBe('canvas_unreachable');
    expect((toJobFailure(new CanvasApiError('not_found', 'x', { status: 404 })) as JobFailure).code).toBe('canvas_not_found');
  });

  it("says Canvas was not called when this service's URL guard stopped the request, without 'try again later'", () => {
    const refused = 'request to http://127.0.0.1:4000 refused: it must use https://';
    const f = toJobFailure(new CanvasApiError('network', `Canvas courses.get not sent: ${refused}`, { refused })) as JobFailure;
    expect(f.code).toBe('canvas_unreachable');
    expect(f.message).toBe(`Canvas was not called: ${refused}. Check the Canvas URL on the integration's LMS settings (an https address of the institution's Canvas).`);
    expect(f.message).not.toContain('few minutes');
    // A report file on a host the token may not go to keeps its own code and fix.
    const why = 'https://files.example is not this Canvas; set canvasOtherUrl if it is';
    const host = toJobFailure(new CanvasApiError('bad_request', `download: ${why}`, { refused: why })) as JobFailure;
    expect(host.code).toBe('canvas_bad_request');
    expect(host.message).toContain(why);
    expect(host.message).not.toContain('Canvas was not called');
  });

  it('keeps the reason a token source gave', () => {
    expect(jobCodeForFailure(new TokenUnavailableError('invalid_client', 'no secret'))).toEqual({ code: 'invalid_client', detail: 'no secret' });
  });

  it('recognises errors by class, not by a look-alike name or kind', () => {
    const lookAlike = Object.assign(new Error('x'), { name: 'CanvasApiError', kind: 'throttled' });
    expect(jobCodeForFailure(lookAlike)).toBeNull();
    expect(toJobFailure(lookAlike)).toBe(lookAlike);
  });
});

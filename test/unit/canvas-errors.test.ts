import { describe, it, expect } from '@jest/globals';
import { CanvasApiError, classifyCanvasResponse } from '../../src/canvas/errors.js';

const W = { 'WWW-Authenticate': 'Bearer realm="canvas-lms"' };
const json = (message: string, extra: Record<string, unknown> = {}) => JSON.stringify({ errors: [{ message }], ...extra });
const classify = (status: number, headers: Record<string, string>, body: string) =>
  classifyCanvasResponse(status, new Headers(headers), body);

describe('classifyCanvasResponse (auth failures and throttling)', () => {
  it('returns null for success', () => {
    expect(classify(200, {}, '[]')).toBeNull();
    expect(classify(204, {}, '')).toBeNull();
  });

  it.each([
    ['Invalid access token.', 'invalid'],
    ['Expired access token.', 'expired'],
    ['Revoked access token.', 'revoked'],
    ['user authorization required', 'invalid'],
  ])('classifies 401 %s with WWW-Authenticate as token_invalid (%s)', (message, problem) => {
    const f = classify(401, W, json(message));
    expect(f?.kind).toBe('token_invalid');
    expect(f?.tokenProblem).toBe(problem);
    expect(f?.canvasMessage).toBe(message);
  });

  it('classifies 401 Insufficient scopes (no WWW-Authenticate) as insufficient_scopes', () => {
    expect(classify(401, {}, json('Insufficient scopes on access token.'))?.kind).toBe('insufficient_scopes');
  });

  it('classifies the permission denial at 401 and at 403 as unauthorized', () => {
    const body = JSON.stringify({ status: 'unauthorized', errors: [{ message: 'user not authorized to perform that action' }] });
    expect(classify(401, {}, body)?.kind).toBe('unauthorized');
    expect(classify(403, {}, body)?.kind).toBe('unauthorized');
  });

  it('classifies 403 Rate Limit Exceeded and 429 as throttled, keeping X-Rate-Limit-Remaining', () => {
    const f = classify(403, { 'X-Rate-Limit-Remaining': '0.0' }, '403 Forbidden (Rate Limit Exceeded)\n');
    expect(f?.kind).toBe('throttled');
    expect(f?.rateLimitRemaining).toBe(0);
    expect(classify(429, {}, '429 Forbidden (Rate Limit Exceeded)\n')?.kind).toBe('throttled');
    expect(classify(429, {}, '')?.kind).toBe('throttled');
  });

  it('classifies a plain 403 as unauthorized, not throttled', () => {
    expect(classify(403, {}, 'Forbidden')?.kind).toBe('unauthorized');
  });

  it('classifies 404, 5xx and other 4xx', () => {
    expect(classify(404, {}, json('The specified resource does not exist.'))?.kind).toBe('not_found');
    expect(classify(500, {}, json('An error occurred.', { error_code: 'internal_server_error' }))?.kind).toBe('server');
    expect(classify(503, {}, '<html>')?.kind).toBe('server');
    const bad = classify(400, {}, JSON.stringify({ message: 'Insufficient permissions to filter by SIS fields' }));
    expect(bad?.kind).toBe('bad_request');
    expect(bad?.canvasMessage).toBe('Insufficient permissions to filter by SIS fields');
    expect(classify(401, {}, JSON.stringify({ errors: 'Invalid as_user_id' }))?.canvasMessage).toBe('Invalid as_user_id');
  });
});

describe('CanvasApiError', () => {
  it('carries what Canvas answered and no connection reason (the integration layer decides that)', () => {
    const err = new CanvasApiError('insufficient_scopes', 'x', { missingScope: 'url:GET|/api/v1/accounts' });
    expect(err.kind).toBe('insufficient_scopes');
    expect(err.missingScope).toBe('url:GET|/api/v1/accounts');
    expect('reason' in err).toBe(false);
    expect(err).toBeInstanceOf(Error);
  });
});

import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../src/errors/app-error.js';
import { createLogger, redactUrl } from '../../src/logger/logger.js';
import { captureLog } from '../support/test-container.js';

const CANARY = 'CANARY-4b1d-secret';

/** Logs one line through the real logger and returns it parsed. */
function logged(fields: Record<string, unknown>): Record<string, any> {
  const out = captureLog();
  createLogger('info', out.stream).info(fields, 'test line');
  const text = out.text();
  expect(text).not.toBe('');
  return JSON.parse(text.trim().split('\n').at(-1)!) as Record<string, any>;
}

describe('logger redaction', () => {
  it('redacts secrets by field name, top level and one level down', () => {
    const fields = {
      clientSecret: CANARY,
      access_token: CANARY,
      authorizationCode: CANARY,
      authorization_code: CANARY,
      codeVerifier: CANARY,
      password: CANARY,
      nested: { refreshToken: CANARY, authorizationCode: CANARY, token: CANARY, secret: CANARY },
      req: { query: { code: CANARY, state: CANARY } },
      query: { code: CANARY },
    };
    const line = logged(fields);
    expect(JSON.stringify(line)).not.toContain(CANARY);
    expect(line.authorizationCode).toBe('[redacted]');
    expect(line.nested.authorizationCode).toBe('[redacted]');
    expect(line.req.query.code).toBe('[redacted]');
    expect(line.query.code).toBe('[redacted]');
  });

  it("keeps an AppError's code and a reason code visible, at the top level and on err", () => {
    const err = new AppError('canvas_error', 'Canvas refused the token.');
    const line = logged({ err, code: err.code, reason: { code: 'token_revoked' } });
    expect(line.code).toBe('canvas_error');
    expect(line.err.code).toBe('canvas_error');
    expect(line.reason.code).toBe('token_revoked');
  });

  it('logs a job failure with its reason code (the shape the job runner logs)', () => {
    const line = logged({ jobId: 'j1', kind: 'course_refresh', code: 'token_revoked' });
    expect(line.code).toBe('token_revoked');
  });

  it('replaces secret query values in URLs', () => {
    expect(redactUrl(`/oauth/callback?code=${CANARY}&state=${CANARY}&x=1`)).toBe('/oauth/callback?code=[redacted]&state=[redacted]&x=1');
  });

  it('replaces the LTI registration token, also where it sits URL-encoded inside openid_configuration', () => {
    const openid = encodeURIComponent(`https://canvas.example/api/lti/security/openid-configuration?registration_token=${CANARY}`);
    const url = `/lti/register?integration=i1&openid_configuration=${openid}&registration_token=${CANARY}`;
    expect(redactUrl(url)).not.toContain(CANARY);
    expect(redactUrl(url)).toContain('integration=i1&openid_configuration=https%3A%2F%2Fcanvas.example%2Fapi%2Flti%2Fsecurity%2Fopenid-configuration%3Fregistration_token%3D[redacted]&registration_token=[redacted]');
  });
});

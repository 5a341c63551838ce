import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Field paths whose values are never logged. Secrets also never go into log messages: code passes
 * ids, not tokens. test/unit/logger.test.ts proves the paths; the canary test in
 * test/integration/http/app.test.ts proves that a request's secrets stay out of the request log.
 *
 * `code` is redacted only where it is an OAuth authorization code (a callback's query); a bare
 * `code` field is an error or reason code (`canvas_error`, `token_revoked`) and must stay visible.
 */
export const REDACT_PATHS = [
  'clientSecret',
  'client_secret',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'authorizationCode',
  'authorization_code',
  'code_verifier',
  'codeVerifier',
  'password',
  'token',
  'secret',
  'authorization',
  'cookie',
  '*.clientSecret',
  '*.client_secret',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.authorizationCode',
  '*.authorization_code',
  '*.code_verifier',
  '*.codeVerifier',
  '*.password',
  '*.token',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'query.code',
  'req.query.code',
  'req.query.state',
  'frameToken',
  'frame_token',
  '*.frameToken',
  '*.frame_token',
  'req.query.frame_token',
];

/** Query parameters whose values are replaced before a URL is logged. */
// `registration_token` also appears URL-encoded inside the `openid_configuration` parameter Canvas sends.
const SECRET_QUERY = /([?&](?:code|state|access_token|refresh_token|client_secret|code_verifier|ltik|id_token|token|frame_token|registration_token)=|(?:%3F|%26)registration_token%3D)[^&#\s]*/gi;

/** Replaces secret query values in a URL or any string (`?code=abc` -> `?code=[redacted]`). */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

/**
 * Creates the process logger (JSON lines on stdout, or to `destination` in tests).
 * @param destination a writable stream; tests pass one to read the log back.
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as never) : pino(options);
}

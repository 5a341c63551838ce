import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Field paths whose values are never logged. Secrets also never go into log messages: code passes
 * ids, not tokens. The canary test in test/unit/logger.test.ts proves both.
 */
export const REDACT_PATHS = [
  'clientSecret',
  'client_secret',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'code',
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
  '*.code_verifier',
  '*.codeVerifier',
  '*.password',
  '*.token',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'req.query.code',
  'req.query.state',
];

/** Query parameters whose values are replaced before a URL is logged. */
const SECRET_QUERY = /([?&](?:code|state|access_token|refresh_token|client_secret|code_verifier|ltik|id_token|token)=)[^&#\s]*/gi;

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

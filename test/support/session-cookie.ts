import { createHmac, randomBytes } from 'node:crypto';
import type session from 'express-session';
import { SESSION_COOKIE } from '../../src/app.js';
import type { Container } from '../../src/container.js';

/**
 * Stores a session with these fields in the app's real session store and returns the `Cookie`
 * header a browser holding it would send (signed with the app's current session secret), so a
 * test can act as a Canvas admin or an LTI instructor without running the launch that grants it.
 */
export async function mintSessionCookie(c: Pick<Container, 'sessionStore' | 'vault'>, fields: Partial<session.SessionData>): Promise<string> {
  const sid = randomBytes(18).toString('base64url');
  const data = {
    cookie: { originalMaxAge: 60 * 60 * 1000, expires: new Date(Date.now() + 60 * 60 * 1000), httpOnly: true, path: '/' },
    ...fields,
  } as unknown as session.SessionData;
  await new Promise<void>((resolve, reject) => c.sessionStore.set(sid, data, (err) => (err ? reject(err as Error) : resolve())));
  const [secret] = c.vault.sessionSecrets();
  if (secret === undefined) throw new Error('the vault gives no session secret to sign the cookie with');
  return `${SESSION_COOKIE}=${encodeURIComponent(`s:${sign(sid, secret)}`)}`;
}

/** express-session's cookie signature (cookie-signature's `sign`): `value.base64(HMAC-SHA256)` without padding. */
function sign(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`;
}

import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { MAX_PASSWORD_LENGTH } from '../../staff/password-policy.js';
import '../session.js';

const loginSchema = z.object({
  email: z.string().trim().max(320).default(''),
  password: z.string().default(''),
  next: z.string().max(2048).optional(),
  _csrf: z.string().optional(),
});

/** Only same-origin absolute paths are followed after sign-in (no open redirect). */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/integrations';
  return next;
}

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

/** Sign-in and sign-out pages for staff, and `/` → `/integrations`. */
export function createAuthRouter(container: Pick<Container, 'staff' | 'audit' | 'logger' | 'loginThrottle'>): Router {
  const router = Router();

  const renderLogin = (email: string, next: string, error?: string) => ({ title: 'Sign in', email, next, error });

  router.get('/', (req, res) => {
    const access = req.session.integrationAccess;
    res.redirect(302, !req.session.staff && access ? `/integrations/${encodeURIComponent(access.integrationId)}` : '/integrations');
  });

  router.get('/login', (req, res) => {
    if (req.session.staff) return res.redirect(303, safeNext(req.query.next));
    res.render('login', renderLogin('', safeNext(req.query.next)));
  });

  router.post('/login', async (req, res) => {
    const input = loginSchema.parse(req.body ?? {});
    const next = safeNext(input.next);
    // Every attempt counts against the account and the client address (req.ip: X-Forwarded-For
    // only from proxies TRUST_PROXY names); a successful sign-in gives its count back.
    const attempt = await container.loginThrottle.attempt({ email: input.email, address: req.ip });
    if (!attempt.allowed) {
      res.setHeader('Retry-After', String(attempt.retryAfterSeconds));
      res.status(429).render('login', {
        ...renderLogin(
          input.email,
          next,
          `Too many sign-in attempts. Wait ${Math.ceil(attempt.retryAfterSeconds / 60)} minutes and try again, or ask another staff member to check your account.`,
        ),
        code: 'rate_limited',
      });
      return;
    }
    if ([...input.password].length > MAX_PASSWORD_LENGTH) {
      // No account can have such a password (the same limit applies when one is set): say so, hash nothing.
      res.status(400).render('login', { ...renderLogin(input.email, next, `Passwords are at most ${MAX_PASSWORD_LENGTH} characters.`), code: 'validation_failed' });
      return;
    }
    const user = input.email && input.password ? await container.staff.verifyPassword(input.email, input.password) : null;
    if (!user) {
      res.status(401).render('login', { ...renderLogin(input.email, next, 'That email and password do not match an active staff account.'), code: 'unauthenticated' });
      return;
    }
    await attempt.succeeded();
    await regenerate(req);
    req.session.staff = { id: user.id, email: user.email, name: user.name };
    // The session's CSRF token (every page has the sign-out form) is made now and saved with the
    // sign-in, so the pages read afterwards do not each write the session again.
    void res.locals.csrfToken;
    await container.audit.record({ actor: `staff:${user.id}`, action: 'staff.login', detail: { email: user.email } });
    res.redirect(303, next);
  });

  router.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.clearCookie('cc.sid');
      res.redirect(303, '/login');
    });
  });

  return router;
}

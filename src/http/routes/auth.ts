import { Router, type Request } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import type { Container } from '../../container.js';
import '../session.js';

const loginSchema = z.object({
  email: z.string().trim().max(320).default(''),
  password: z.string().max(1024).default(''),
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
export function createAuthRouter(container: Pick<Container, 'staff' | 'audit' | 'logger'>): Router {
  const router = Router();

  const renderLogin = (email: string, next: string, error?: string) => ({ title: 'Sign in', email, next, error });

  // 10 failed tries per IP and email per 15 minutes (successful sign-ins do not count).
  // In-memory per instance: with N instances the effective limit is at most N × 10.
  const limiter = rateLimit({
    windowMs: 15 * 60 * 1000,
    limit: 10,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => {
      const email = typeof req.body?.email === 'string' ? req.body.email.trim().toLowerCase() : '';
      return `${ipKeyGenerator(req.ip ?? '')}|${email}`;
    },
    handler: (req, res) => {
      res.status(429).render('login', {
        ...renderLogin(typeof req.body?.email === 'string' ? req.body.email : '', safeNext(req.body?.next)),
        error: 'Too many sign-in attempts. Wait 15 minutes and try again, or ask another staff member to check your account.',
        code: 'rate_limited',
      });
    },
  });

  router.get('/', (req, res) => {
    const access = req.session.integrationAccess;
    res.redirect(302, !req.session.staff && access ? `/integrations/${encodeURIComponent(access.integrationId)}` : '/integrations');
  });

  router.get('/login', (req, res) => {
    if (req.session.staff) return res.redirect(303, safeNext(req.query.next));
    res.render('login', renderLogin('', safeNext(req.query.next)));
  });

  router.post('/login', limiter, async (req, res) => {
    const input = loginSchema.parse(req.body ?? {});
    const next = safeNext(input.next);
    const user = input.email && input.password ? await container.staff.verifyPassword(input.email, input.password) : null;
    if (!user) {
      res.status(401).render('login', { ...renderLogin(input.email, next, 'That email and password do not match an active staff account.'), code: 'unauthenticated' });
      return;
    }
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

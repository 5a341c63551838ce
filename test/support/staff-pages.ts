import type { Express } from 'express';
import { createApp } from '../../src/app.js';
import type { Integration } from '../../src/integrations/integration.js';
import { mintSessionCookie } from './session-cookie.js';
import { createTestContainer } from './test-container.js';

type TestContainer = Awaited<ReturnType<typeof createTestContainer>>;

/** What the page tests share: the app, one integration ("Institution A") and a signed-in staff member. */
export interface StaffPages {
  c: TestContainer;
  app: Express;
  /** The integration's id. */
  id: string;
  /** A staff session's `Cookie` header; its CSRF token is {@link StaffPages.csrfToken}. */
  cookie: string;
  csrfToken: string;
}

/**
 * Starts the app on a fresh test container with one integration and a staff session whose CSRF
 * token is known, so a test can post page forms with supertest. LTI launches answer a stub.
 * Close with `c.close()`.
 */
export async function startStaffPages(csrfToken = 'csrf-token-for-page-tests-0123456789abcdef'): Promise<StaffPages> {
  const c = await createTestContainer();
  const staff = await c.staff.create({ email: 'ops@example.edu', name: 'Olga Ops', password: 'correct horse battery staple 42' });
  const base = { canvasUrl: 'https://a.instructure.com', clientId: '10000000000001', accountId: 'self', courseIdType: 'sis_course_id', userIdType: 'sis_user_id', studentRoles: ['StudentEnrollment'] } satisfies Omit<Parameters<TestContainer['integrations']['create']>[0], 'name'>;
  const integration: Integration = await c.integrations.create({ name: 'Institution A', ...base });
  const cookie = await mintSessionCookie(c, { staff: { id: staff.id, email: staff.email, name: staff.name }, csrfToken } as never);
  const app = createApp({ ...c, lti: { handler: (_req, res) => void res.status(200).send('ltijs'), frameAncestors: ['https://*.instructure.com'] } });
  return { c, app, id: integration.id, cookie, csrfToken };
}

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { AUDIT_ACTIONS_WITH_SENTENCES } from '../../../src/http/presenters/audit-sentence.js';
import { mintSessionCookie } from '../../support/session-cookie.js';
import { seedCourses } from '../../support/sync-list-seed.js';
import { createTestContainer } from '../../support/test-container.js';

/**
 * Every link the audit log page draws leads to a page that opens: one entry of each action that has
 * a sentence, with details naming things that exist (a job, a course, a webhook endpoint, another
 * integration), followed as staff and as the institution's own admin (a setup link).
 */
describe('audit log links', () => {
  let c: Awaited<ReturnType<typeof createTestContainer>>;
  let app: Express;
  let id: string;
  let staffCookie: string;
  let adminCookie: string;

  beforeAll(async () => {
    c = await createTestContainer();
    const staff = await c.staff.create({ email: 'ops@example.edu', name: 'Olga Ops', password: 'correct horse battery staple 42' });
    const base = { canvasUrl: 'https://a.instructure.com', clientId: '10000000000001', accountId: 'self', courseIdType: 'sis_course_id' as const, userIdType: 'sis_user_id' as const, studentRoles: ['StudentEnrollment'] };
    id = (await c.integrations.create({ name: 'Institution A', ...base })).id;
    const other = (await c.integrations.create({ name: 'Institution B', ...base, canvasUrl: 'https://b.instructure.com' })).id;
    await seedCourses(c.store, id);
    const job = (await c.sync.jobs.createUnlessActive('sync_list_sync', id, { trigger: 'manual' })).job;
    const { endpoint } = await c.webhooks.service.create({ url: 'https://hooks.example.edu/canvas', events: ['job.finished'], integrationId: id }, 'staff:test');
    const details: Record<string, Record<string, unknown>> = {
      'integration.created': { name: 'Institution A', canvasUrl: base.canvasUrl },
      'integration.updated': { fields: ['name'] },
      'integration.configured': { courseIdType: 'sis_course_id' },
      'integration.deleted': { name: 'Old' },
      'integration.disconnected': { revokedAtCanvas: true },
      'integration.credentials_dropped': { changed: ['canvasUrl'], tokenDropped: true },
      'integration.status_changed': { from: 'verified', to: 'failed', reasons: ['developer_key_off'] },
      'preflight.completed': { ok: true },
      'authorization.started': {},
      'authorization.failed': { reason: 'access_denied' },
      'authorization.callback_rejected': { why: 'expired' },
      'authorization_link.created': { expiresAt: '2030-01-01T00:00:00.000Z' },
      'setup_link.created': { expiresAt: '2030-01-01T00:00:00.000Z' },
      'setup_link.opened': {},
      'token.issued': { tokenOwner: { id: '1', name: 'Demo Admin' } },
      'token.discarded': {},
      'lti.registration.updated': { clientId: '170000000000001', deployments: 1 },
      'lti.registration.moved': { clientId: '170000000000001', to: other },
      'lti.registration.window_opened': { expiresAt: '2030-01-01T00:00:00.000Z' },
      'lti.registration.window_closed': {},
      'lti.registration.dynamic': { clientId: '170000000000001' },
      'lti.registration.deployment_added': { clientId: '170000000000001', deploymentId: '1:abc' },
      'lti.registration.refused': { reason: 'window_closed' },
      'sync_list.changed': { addedCount: 2, removedCount: 0 },
      'sync_list.imported': { format: 'csv', rows: 3, mode: 'add', added: 3, removed: 0 },
      'sync_list.sync_started': { jobId: job.id },
      'grades.post_started': { examKey: 'midterm', courseId: '101', scores: 2 },
      'webhook.created': { endpointId: endpoint.id, url: endpoint.url, events: endpoint.events },
      'webhook.deleted': { url: endpoint.url },
      'webhook.enabled': { endpointId: endpoint.id, url: endpoint.url },
      'webhook.redelivered': { endpointId: endpoint.id, event: 'job.finished' },
    };
    // A new action with a sentence must be added here, so its link is followed too.
    expect(Object.keys(details).sort()).toEqual([...AUDIT_ACTIONS_WITH_SENTENCES].sort());
    for (const [action, detail] of Object.entries(details)) await c.audit.record({ integrationId: id, actor: `staff:${staff.id}`, action, detail });
    staffCookie = await mintSessionCookie(c, { staff: { id: staff.id, email: staff.email, name: staff.name } });
    adminCookie = await mintSessionCookie(c, { integrationAccess: { integrationId: id, via: 'setup-link', label: 'setup link' } });
    app = createApp({ ...c, lti: { handler: (_req, res) => void res.status(200).send('ltijs'), frameAncestors: ['https://*.instructure.com'] } });
  });
  afterAll(async () => {
    await c.close();
  });

  const linksOf = async (cookie: string): Promise<string[]> => {
    const page = await request(app).get(`/integrations/${id}/audit`).set('Cookie', cookie);
    expect(page.status).toBe(200);
    const table = /<table[^>]*id="audit"[\s\S]*?<\/table>/.exec(page.text)?.[0] ?? '';
    return [...table.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  };

  it('as staff: every link opens (200), the sync list re-sync links its job page', async () => {
    const links = await linksOf(staffCookie);
    expect(links.length).toBeGreaterThanOrEqual(25);
    expect(links.some((l) => new RegExp(`^/integrations/${id}/jobs/[^/]+$`).test(l))).toBe(true);
    expect(links.some((l) => l.startsWith('/webhooks/'))).toBe(true);
    for (const href of new Set(links)) {
      const res = await request(app).get(href).set('Cookie', staffCookie);
      expect({ href, status: res.status }).toEqual({ href, status: 200 });
    }
  });

  it("as the institution's admin: every link opens (200); none leads to staff-only pages or another integration", async () => {
    const links = await linksOf(adminCookie);
    expect(links.length).toBeGreaterThanOrEqual(20);
    expect(links.every((l) => l === `/integrations/${id}` || l.startsWith(`/integrations/${id}/`))).toBe(true);
    for (const href of new Set(links)) {
      const res = await request(app).get(href).set('Cookie', adminCookie);
      expect({ href, status: res.status }).toEqual({ href, status: 200 });
    }
  });
});

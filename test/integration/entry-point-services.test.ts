import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestContainer } from '../support/test-container.js';

/**
 * The application services every entry point (pages, JSON API, CLI, link landing pages, LTI)
 * calls: each writes its own audit entry, so no entry point has to remember to.
 */
describe('application services behind the entry points', () => {
  let c: Awaited<ReturnType<typeof createTestContainer>>;
  const base = { accountId: 'self', courseIdType: 'sis_course_id' as const, userIdType: 'sis_user_id' as const, studentRoles: ['StudentEnrollment'] };
  const staffActor = { scope: 'platform' as const, label: 'staff:s1' };
  const actions = async (id: string | null) => (await c.audit.list(id, 50)).map((e) => ({ action: e.action, actor: e.actor, detail: e.detail }));

  beforeAll(async () => {
    c = await createTestContainer();
  }, 60_000);
  afterAll(async () => {
    await c.close();
  });

  it('deleting an integration deletes it and audits integration.deleted with its name, whoever asks', async () => {
    const i = await c.integrations.create({ ...base, name: 'Gone University', canvasUrl: 'https://gone.instructure.com', clientId: '30000000000011' });
    const deleted = await c.integrationSettings.delete(i.id, staffActor);
    expect(deleted.name).toBe('Gone University');
    expect(await c.integrations.get(i.id)).toBeUndefined();
    expect(await actions(i.id)).toContainEqual({ action: 'integration.deleted', actor: 'staff:s1', detail: { name: 'Gone University' } });
    await expect(c.integrationSettings.delete(i.id, staffActor)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('configure saves the ID types and audits integration.configured next to integration.updated', async () => {
    const i = await c.integrations.create({ ...base, name: 'Config College', canvasUrl: 'https://config.instructure.com', clientId: '30000000000012' });
    const { integration } = await c.integrationSettings.configure(i.id, { courseIdType: 'canvas_id', userIdType: 'email', studentRoles: ['StudentEnrollment'] }, staffActor);
    expect(integration.courseIdType).toBe('canvas_id');
    const logged = (await actions(i.id)).map((e) => e.action);
    expect(logged).toEqual(expect.arrayContaining(['integration.updated', 'integration.configured']));
  });

  it('an authorization link needs the client secret, for the CLI as for the API', async () => {
    const i = await c.integrations.create({ ...base, name: 'No Secret U', canvasUrl: 'https://nosecret.instructure.com', clientId: '30000000000013' });
    await expect(c.integrationLinks.issue('authorize', i.id, { label: 'system', via: 'cli' })).rejects.toMatchObject({ code: 'validation_failed', details: { field: 'clientSecret' } });
    expect((await actions(i.id)).map((e) => e.action)).not.toContain('authorization_link.created');
  });

  it('issuing and opening a setup link are both audited; a forged link is refused', async () => {
    const i = await c.integrations.create({ ...base, name: 'Linked U', canvasUrl: 'https://linked.instructure.com', clientId: '30000000000014' });
    const link = await c.integrationLinks.issue('setup', i.id, { label: 'system', via: 'cli' });
    const token = new URL(link.url, 'http://x').searchParams.get('token')!;
    expect((await c.integrationLinks.open('setup', token)).id).toBe(i.id);
    expect(await actions(i.id)).toEqual(
      expect.arrayContaining([
        { action: 'setup_link.created', actor: 'system', detail: { via: 'cli', expiresAt: link.expiresAt } },
        { action: 'setup_link.opened', actor: `admin-link:${i.id}`, detail: {} },
      ]),
    );
    await expect(c.integrationLinks.open('setup', `${token}x`)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(c.integrationLinks.open('authorize', token)).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('staff sign-in is audited only when the password matches', async () => {
    const password = 'correct horse battery staple 42';
    const user = await c.platformAdmin.createStaff({ email: 'pat@example.edu', name: 'Pat', password }, { label: 'system', via: 'cli' });
    expect(await c.platformAdmin.signIn('pat@example.edu', 'wrong password entirely')).toBeNull();
    expect((await actions(null)).filter((e) => e.action === 'staff.login')).toEqual([]);
    expect((await c.platformAdmin.signIn('pat@example.edu', password))?.id).toBe(user.id);
    expect(await actions(null)).toEqual(
      expect.arrayContaining([
        { action: 'staff.created', actor: 'system', detail: { staffId: user.id, email: 'pat@example.edu', via: 'cli' } },
        { action: 'staff.login', actor: `staff:${user.id}`, detail: { email: 'pat@example.edu' } },
      ]),
    );
  });

  it('API tokens created and revoked through the service leave their audit entries', async () => {
    const { info } = await c.platformAdmin.createApiToken('nightly', { label: 'staff:s1' });
    await c.platformAdmin.revokeApiToken(info.id, { label: 'staff:s1' });
    expect(await actions(null)).toEqual(
      expect.arrayContaining([
        { action: 'api_token.created', actor: 'staff:s1', detail: { tokenId: info.id, name: 'nightly' } },
        { action: 'api_token.revoked', actor: 'staff:s1', detail: { tokenId: info.id } },
      ]),
    );
  });

  it('the last roster sync of a course is the newest job whose selection included it (staff and LTI course pages)', async () => {
    const i = await c.integrations.create({ ...base, name: 'Synced U', canvasUrl: 'https://synced.instructure.com', clientId: '30000000000015' });
    expect(await c.sync.lastCourseSync(i.id, '100')).toBeUndefined();
    await expect(c.sync.startSync(i.id, ['100'])).rejects.toMatchObject({ code: 'not_connected' });
    await c.integrations.saveToken(i.id, { accessToken: 'a', refreshToken: null, expiresAt: null, ownerCanvasId: '1', ownerName: 'A', scopes: [] });
    const job = await c.sync.startSync(i.id, ['100', '200']);
    expect((await c.sync.lastCourseSync(i.id, '100'))?.id).toBe(job.id);
    expect((await c.sync.lastCourseSync(i.id, '200'))?.id).toBe(job.id);
    expect(await c.sync.lastCourseSync(i.id, '300')).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import { scopesFor } from '../../../src/canvas/endpoints.js';
import { AppError } from '../../../src/errors/app-error.js';
import { createCourseLookup } from '../../../src/sync/course-lookup.js';
import { createCourseRefreshJob } from '../../../src/sync/course-refresh.js';
import { createDiagnostics } from '../../../src/sync/diagnostics.js';
import { createCourseSyncJob, createRosterSync } from '../../../src/sync/roster-sync.js';
import { testDatabases } from '../../support/databases.js';
import { runJob } from '../../support/run-job.js';
import { buildSyncWorld, useSyncHarnesses } from '../../support/sync-world.js';

describe.each(testDatabases().map((d) => [d.name, d] as const))('roster sync, lookup and diagnostics against the sandbox (%s)', (_name, tdb) => {
  const ctx = useSyncHarnesses(() => tdb.open());
  const harness = ctx.harness;
  // A scoped key with "Allow Include Parameters" OFF: section membership must still come through.
  const scoped = { key: { requireScopes: true, allowIncludes: false }, tokenScopes: scopesFor() };

  it('splits a course into exam-takers and skipped people with every roster reason, sections from course_section_id', async () => {
    const h = await harness(buildSyncWorld(), scoped);
    const job = await runJob(ctx.store, createCourseSyncJob(h.deps), h.integrationId, { courseIds: ['101'] });
    expect(job.state).toBe('succeeded');
    expect(job.summary).toMatchObject({ courses: 1, examTakers: 2, skipped: 6 });
    const roster = await h.deps.courses.getRoster(h.integrationId, '101');
    const byId = Object.fromEntries(roster.map((r) => [r.canvasUserId, r]));
    expect(byId['1']).toMatchObject({ examTaker: true, externalId: 'S1', sectionIds: ['1011'], reasons: [] });
    expect(byId['8']).toMatchObject({ examTaker: true, externalId: 'S8', sectionIds: ['1011', '1012'] });
    expect(byId['2']!.reasons).toEqual(['pending']);
    expect(byId['3']!.reasons).toEqual(['pending']);
    expect(byId['4']!.reasons).toEqual(['inactive']);
    expect(byId['5']!.reasons).toEqual(['concluded']);
    expect(byId['6']!.reasons).toEqual(['role_not_selected']);
    expect(byId['7']!.reasons).toEqual(['missing_user_id']);
    expect((await h.deps.courses.getSections(h.integrationId, '101')).map((s) => s.externalId)).toEqual(['SEC-1011', 'SEC-1012']);
  });

  it('says user_id_hidden when the token owner cannot read SIS ids', async () => {
    const h = await harness(buildSyncWorld({ permissions: { read_sis: false } }));
    const r = await createRosterSync(h.deps)(h.integrationId, '101');
    const amy = r.people.find((p) => p.canvasUserId === '1')!;
    expect(amy).toMatchObject({ examTaker: false, reasons: ['user_id_hidden'] });
  });

  it('detects include[]=email being stripped (Allow Include Parameters off) and says user_id_hidden', async () => {
    const h = await harness(buildSyncWorld(), { ...scoped, userIdType: 'email' });
    const r = await createRosterSync(h.deps)(h.integrationId, '101');
    expect(r.includesStripped).toBe(true);
    expect(r.people.find((p) => p.canvasUserId === '1')!.reasons).toEqual(['user_id_hidden']);
    const open = await harness(buildSyncWorld(), { userIdType: 'email' });
    const r2 = await createRosterSync(open.deps)(open.integrationId, '101');
    expect(r2.includesStripped).toBe(false);
    expect(r2.people.find((p) => p.canvasUserId === '1')).toMatchObject({ examTaker: true, externalId: 'u1@example.edu' });
  });

  it('previews what would change since the last sync without saving, then the sync applies it', async () => {
    const h = await harness(buildSyncWorld());
    const sync = createRosterSync(h.deps);
    await sync(h.integrationId, '101');
    const w = h.sandbox.world;
    w.enrollments.find((e) => e.userId === '4')!.state = 'active'; // Ina re-activated
    w.enrollments.find((e) => e.userId === '1')!.state = 'completed'; // Amy concluded
    w.enrollments = w.enrollments.filter((e) => !(e.userId === '8' && e.sectionId === '1012')); // Bo left a section
    const preview = await sync(h.integrationId, '101', { dryRun: true });
    expect(preview.diff.added.map((a) => a.canvasUserId)).toEqual(['4']);
    expect(preview.diff.removed).toEqual([expect.objectContaining({ canvasUserId: '1', reasons: ['concluded'] })]);
    expect(preview.diff.changed).toEqual([expect.objectContaining({ canvasUserId: '8', after: { externalId: 'S8', sectionIds: ['1011'] } })]);
    const stored = await h.deps.courses.getRoster(h.integrationId, '101');
    expect(stored.find((r) => r.canvasUserId === '1')!.examTaker).toBe(true);
    const applied = await sync(h.integrationId, '101');
    expect(applied.diff.added).toHaveLength(1);
    expect((await h.deps.courses.getRosterEntry(h.integrationId, '101', '1'))!.reasons).toEqual(['concluded']);
    const again = await sync(h.integrationId, '101', { dryRun: true });
    expect(again.diff).toEqual({ added: [], removed: [], changed: [] });
  });

  it('answers "why is course X missing" and "why is student Y not an exam-taker" from the last refresh/sync', async () => {
    const h = await harness(buildSyncWorld());
    await runJob(ctx.store, createCourseRefreshJob(h.deps), h.integrationId, {});
    await createRosterSync(h.deps)(h.integrationId, '101');
    const why = createDiagnostics(h.deps.courses);
    const c = await why.whyCourse(h.integrationId, '102');
    expect(c.verdict).toBe('not_syncable');
    expect(c.reasons.map((r) => r.code)).toEqual(['unpublished']);
    expect(c.reasons[0]!.remedy.length).toBeGreaterThan(10);
    expect((await why.whyCourse(h.integrationId, '999999')).verdict).toBe('not_seen');
    const s106 = await why.whyCourse(h.integrationId, '106');
    expect(s106).toMatchObject({ verdict: 'syncable', detail: { sectionsNotSyncable: [expect.objectContaining({ canvasId: '1062' })] } });
    const p = await why.whyPerson(h.integrationId, '101', '6');
    expect(p).toMatchObject({ verdict: 'skipped', reasons: [expect.objectContaining({ code: 'role_not_selected' })] });
    expect((await why.whyPerson(h.integrationId, '101', '1')).verdict).toBe('exam_taker');
    expect((await why.whyPerson(h.integrationId, '101', '424242')).verdict).toBe('not_seen');
  });

  it('looks a course up by id, sis_course_id:, URL, and explains unpublished, deleted, not in this account and a wrong host', async () => {
    const h = await harness(buildSyncWorld());
    const lookup = createCourseLookup(h.deps);
    const bySis = await lookup(h.integrationId, 'sis_course_id:SIS-101');
    expect(bySis).toMatchObject({ found: true, course: { canvasId: '101', syncable: true } });
    if (bySis.found) expect(bySis.sections).toHaveLength(2);
    expect(await lookup(h.integrationId, 'sis_integration_id:INT-106')).toMatchObject({ found: true, course: { canvasId: '106' } });
    const unpublished = await lookup(h.integrationId, '102');
    expect(unpublished).toMatchObject({ found: true, course: { reasons: ['unpublished'] }, explanations: [expect.objectContaining({ reason: 'unpublished' })] });
    expect(await lookup(h.integrationId, `${h.sandbox.url}/courses/103/assignments`)).toMatchObject({ found: true, course: { reasons: ['missing_course_id'] } });
    expect(await lookup(h.integrationId, '104')).toMatchObject({ found: false, reason: 'deleted_or_missing' });
    await expect(lookup(h.integrationId, 'https://other.instructure.com/courses/101')).rejects.toMatchObject({ code: 'validation_failed', details: { field: 'query' } });
    await expect(lookup(h.integrationId, 'not a course')).rejects.toBeInstanceOf(AppError);

    const sub = await harness(buildSyncWorld(), { accountId: '2' });
    const lookupSub = createCourseLookup(sub.deps);
    expect(await lookupSub(sub.integrationId, '107')).toMatchObject({ found: true, course: { syncable: true } });
    expect(await lookupSub(sub.integrationId, '101')).toMatchObject({ found: true, course: { syncable: false, reasons: ['not_in_account'] } });
  });

  it('marks a known course deleted when Canvas now answers 404 for it', async () => {
    const h = await harness(buildSyncWorld());
    const lookup = createCourseLookup(h.deps);
    await lookup(h.integrationId, '105');
    h.sandbox.world.courses.find((c) => c.id === '105')!.workflowState = 'deleted';
    expect(await lookup(h.integrationId, '105')).toMatchObject({ found: true, course: { syncable: false, reasons: ['deleted'] } });
  });
});

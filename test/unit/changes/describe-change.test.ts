import { describe, expect, it } from '@jest/globals';
import type { ChangeRecord, ChangeType } from '../../../src/changes/change-log.js';
import { CHANGE_TYPES } from '../../../src/changes/change-log.js';
import { describeChange, presentChange } from '../../../src/http/presenters/changes.js';

const change = (type: ChangeType, data: Record<string, unknown>): ChangeRecord => ({ seq: 7, at: '2026-12-06T20:00:00.000Z', integrationId: 'int-1', type, courseCanvasId: '101', data });

describe('change log sentences and API shape', () => {
  it('says what happened to whom, and why someone left', () => {
    expect(describeChange(change('enrollment.added', { name: 'Ann Lee', externalId: 'S1', pendingUntil: '2099-01-10T07:00:00.000Z' }))).toBe(
      'Ann Lee (S1) was added as an exam-taker (pending in Canvas until 2099-01-10 07:00:00 UTC).',
    );
    expect(describeChange(change('enrollment.removed', { name: 'Ann Lee', externalId: 'S1', why: 'concluded' }))).toBe('Ann Lee (S1) is no longer an exam-taker: the enrollment was concluded.');
    expect(describeChange(change('enrollment.updated', { name: 'Ann Lee', externalId: 'S1', before: { sectionIds: ['1'] }, after: { sectionIds: ['2', '3'] } }))).toBe('Ann Lee (S1) changed: sections 1 → 2, 3.');
    expect(describeChange(change('course_admin.added', { name: 'Tea T', externalId: 'T6', role: 'TeacherEnrollment' }))).toBe('Tea T (T6) became a course admin (TeacherEnrollment).');
    expect(describeChange(change('course_admin.removed', { name: 'Tea T', externalId: 'T6', why: 'left_course' }))).toBe('Tea T (T6) is no longer a course admin: left the course.');
    expect(
      describeChange(change('course.updated', { syncable: false, reasons: ['unpublished'], changes: { workflowState: { before: 'available', after: 'unpublished' }, syncable: { before: true, after: false } } })),
    ).toBe('The course changed: state available → unpublished; syncable true → false. It can no longer be synced (unpublished).');
    expect(describeChange(change('integration.status_changed', { from: 'verified', to: 'failed', reasons: ['token_revoked'] }))).toBe('The connection went from verified to failed (token_revoked).');
  });

  it('has a sentence for every change type and presents exactly the API fields', () => {
    for (const t of CHANGE_TYPES) expect(describeChange(change(t, {})).length).toBeGreaterThan(10);
    expect(Object.keys(presentChange(change('enrollment.added', {}))).sort()).toEqual(['at', 'courseCanvasId', 'data', 'seq', 'type']);
  });
});

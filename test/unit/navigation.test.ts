import { describe, expect, it } from '@jest/globals';
import { INTEGRATION_TABS, presentNavigation } from '../../src/http/presenters/navigation.js';
import { judgeRoles, presentSkipReasons } from '../../src/http/presenters/roster-advice.js';

describe('one navigation per role', () => {
  it('staff: header links everywhere, the integration tabs under /integrations/:id (not /integrations/new)', () => {
    const n = presentNavigation({ kind: 'staff' }, '/integrations/a1/courses/1001');
    expect(n.main.map((l) => l.label)).toEqual(['Integrations', 'Jobs', 'Webhooks', 'API tokens', 'API reference']);
    expect(n.integration?.tabs.map((t) => t.label)).toEqual(INTEGRATION_TABS.map((t) => t.label));
    expect(n.integration?.tabs.filter((t) => t.current).map((t) => t.label)).toEqual(['Courses']);
    expect(presentNavigation({ kind: 'staff' }, '/integrations/new').integration).toBeNull();
    expect(presentNavigation({ kind: 'staff' }, '/integrations/a1').integration?.tabs.filter((t) => t.current).map((t) => t.label)).toEqual(['LMS settings']);
    expect(presentNavigation({ kind: 'staff' }, '/integrations/a1/jobs/j1').integration?.tabs.find((t) => t.current)?.label).toBe('Courses');
  });

  it('a Canvas admin: no header links, tabs only on their own integration, never a staff-only tab', () => {
    const mine = presentNavigation({ kind: 'integration-admin', integrationId: 'a1' }, '/integrations/a1/audit');
    expect(mine.main).toEqual([]);
    expect(mine.integration?.tabs.map((t) => t.label)).toEqual(INTEGRATION_TABS.filter((t) => !t.staffOnly).map((t) => t.label));
    expect(mine.integration?.tabs.every((t) => t.href.startsWith('/integrations/a1'))).toBe(true);
    expect(presentNavigation({ kind: 'integration-admin', integrationId: 'a1' }, '/integrations/b2').integration).toBeNull();
    expect(presentNavigation({ kind: 'lti-course' }, '/launch/course')).toEqual({ main: [], integration: null });
    expect(presentNavigation(null, '/integrations/a1')).toEqual({ main: [], integration: null });
  });
});

describe('advice for people skipped because of their role', () => {
  it('judges by the base role type when Canvas gave it, else by the name (and says which)', () => {
    expect(judgeRoles(['Exam Candidate'], ['StudentEnrollment'])).toEqual({ studentLike: true, basis: 'base_role_type' });
    expect(judgeRoles(['Student helper'], ['TaEnrollment'])).toEqual({ studentLike: false, basis: 'base_role_type' });
    expect(judgeRoles(['TeacherEnrollment'], undefined)).toEqual({ studentLike: false, basis: 'name' });
    expect(judgeRoles(['StudentEnrollment'], undefined)).toEqual({ studentLike: true, basis: 'name' });
    expect(judgeRoles(['Exam Candidate'], undefined)).toEqual({ studentLike: true, basis: 'name' });
    expect(judgeRoles(['Teaching Assistant'], undefined)).toEqual({ studentLike: false, basis: 'name' });
    expect(judgeRoles(['ObserverEnrollment'], [])).toEqual({ studentLike: false, basis: 'name' });
  });

  it('"add it to Student roles" only for a student-like role; other reasons keep their own remedy', () => {
    const [teacher] = presentSkipReasons({ roles: ['TeacherEnrollment'], baseRoles: ['TeacherEnrollment'], reasons: ['role_not_selected'] }, '/c');
    expect(teacher!.title).toBe('Teacher is not a student role');
    expect(teacher!.remedy).not.toContain('Student roles');
    expect(teacher!.link).toBeNull();
    const [custom] = presentSkipReasons({ roles: ['Exam Student'], baseRoles: ['StudentEnrollment'], reasons: ['role_not_selected'] }, '/c');
    expect(custom!.remedy).toMatch(/^Canvas says it is a student role: .*add it to Student roles/);
    expect(custom!.link).toEqual({ href: '/c', label: 'Configure › Student roles' });
    const [pending] = presentSkipReasons({ roles: ['StudentEnrollment'], reasons: ['pending'] }, '/c');
    expect(pending!.link).toBeNull();
  });
});

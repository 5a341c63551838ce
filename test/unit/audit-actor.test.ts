import { describe, expect, it } from '@jest/globals';
import { auditActorLabel } from '../../src/http/presenters/audit-actor.js';

describe('audit log actors in words', () => {
  const names = { staff: new Map([['s1', 'Ada (ada@example.edu)']]), apiTokens: new Map([['t1', 'nightly sync']]) };

  it('names staff members and API tokens that still exist', () => {
    expect(auditActorLabel('staff:s1', names)).toBe('Ada (ada@example.edu)');
    expect(auditActorLabel('api-token:t1', names)).toBe('API token “nightly sync”');
  });

  it('keeps the id of a staff member or token deleted since, so the trail stays traceable', () => {
    expect(auditActorLabel('staff:gone', names)).toContain('gone');
    expect(auditActorLabel('api-token:gone', names)).toContain('gone');
  });

  it('says who acted for links and launches, and names the service itself', () => {
    expect(auditActorLabel('admin-link:int-1', names)).toMatch(/Canvas admin/);
    expect(auditActorLabel('lti:abc', names)).toMatch(/LTI/);
    expect(auditActorLabel('system', names)).toBe('canvas-companion');
  });

  it("shows staff members and API tokens as 'platform staff' to an institution's admin", () => {
    expect(auditActorLabel('staff:s1', names, 'institution')).toBe('platform staff');
    expect(auditActorLabel('staff:gone', names, 'institution')).toBe('platform staff');
    expect(auditActorLabel('api-token:t1', names, 'institution')).toBe('platform staff');
    expect(auditActorLabel('admin-link:int-1', names, 'institution')).toMatch(/Canvas admin/);
  });
});

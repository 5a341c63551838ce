import { describe, expect, it } from '@jest/globals';
import { reachabilityRow } from '../../src/http/presenters/lti-reachability.js';

describe("the LTI page's reachability row", () => {
  it('the demo (http://localhost): no red Fix, a label that does not read as a success, and what to do in production', () => {
    const row = reachabilityRow('http://localhost:3000');
    expect(row).toMatchObject({ ok: false, badge: 'degraded', badgeLabel: 'Demo only' });
    expect(row.label).toMatch(/^Not reachable by a hosted Canvas/);
    expect(row.label).not.toMatch(/is reachable/);
    expect(row.detail).toContain('http://localhost:3000 exists only on this computer');
    expect(row.detail).toContain('set PUBLIC_URL to the https address Canvas can reach');
  });

  it('plain http on a public name is a Fix, saying why', () => {
    const row = reachabilityRow('http://exams.example.edu');
    expect(row).toMatchObject({ ok: false, badge: 'failed', badgeLabel: 'Fix' });
    expect(row.label).toMatch(/^Not reachable over https/);
    expect(row.detail).toContain('Canvas launches only https tools');
  });

  it('https on a public name is OK with a label that says so', () => {
    expect(reachabilityRow('https://exams.example.edu')).toMatchObject({ ok: true, badge: 'verified', badgeLabel: 'OK', label: 'Canvas can reach this service over https (https://exams.example.edu)' });
    expect(reachabilityRow('https://127.0.0.1:3443')).toMatchObject({ ok: false, badge: 'degraded' });
  });
});

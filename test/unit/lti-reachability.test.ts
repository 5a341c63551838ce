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

  it.each([
    ['https://10.1.2.3', 'a private address 10.1.2.3'],
    ['https://192.168.1.20:8443', 'a private address 192.168.1.20'],
    ['https://172.20.0.5', 'a private address 172.20.0.5'],
    ['https://[fd12:3456::1]', 'unique local'],
    ['https://exams.local', 'private host name'],
    ['https://companion.internal', 'private host name'],
  ])('https on a private address or name (%s) is not OK: a hosted Canvas cannot reach it, said plainly', (url, why) => {
    const row = reachabilityRow(url);
    expect(row).toMatchObject({ ok: false, badge: 'failed', badgeLabel: 'Fix' });
    expect(row.label).toMatch(/^Not reachable by a hosted Canvas/);
    expect(row.label).toContain(why);
    expect(row.detail).toContain('cannot reach a private address');
    expect(row.detail).toContain('set PUBLIC_URL');
  });

  it('plain http on a private address names both problems', () => {
    const row = reachabilityRow('http://10.0.0.8:3000');
    expect(row).toMatchObject({ ok: false, badgeLabel: 'Fix' });
    expect(row.detail).toContain('Canvas launches only https tools');
    expect(row.detail).toContain('a private address 10.0.0.8');
  });

  it('https on a public address is OK', () => {
    expect(reachabilityRow('https://93.184.216.34')).toMatchObject({ ok: true, badgeLabel: 'OK' });
  });
});

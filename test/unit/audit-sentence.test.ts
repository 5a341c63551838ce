import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_ACTIONS_WITH_SENTENCES, describeAuditEvent } from '../../src/http/presenters/audit-sentence.js';
import { LEGACY_AUDIT_ACTIONS } from '../../src/http/presenters/audit-action.js';

const ROOT = join(import.meta.dirname, '..', '..');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.ts') ? [p] : [];
  });

/** Actions recorded with an integration id (the ones an integration's audit page shows). */
function integrationActions(): string[] {
  const out = new Set<string>();
  for (const f of files(join(ROOT, 'src'))) {
    if (f.includes(join('src', 'simulator'))) continue;
    for (const call of readFileSync(f, 'utf8').matchAll(/audit\.record\(\{([\s\S]*?)\}\);/g)) {
      if (!/integrationId/.test(call[1]!)) continue;
      const a = /\baction:\s*'([^']+)'/.exec(call[1]!);
      if (a) out.add(a[1]!);
    }
  }
  return [...out];
}

const RAW = /[{}"]|\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z_.]+\b/;
// StudentEnrollment is the role's name in Canvas (what an admin sees there).

describe('audit entries as sentences', () => {
  it('every action an integration records has its own sentence', () => {
    const actions = integrationActions();
    expect(actions.length).toBeGreaterThan(10);
    expect(actions.filter((a) => !AUDIT_ACTIONS_WITH_SENTENCES.includes(a))).toEqual([]);
  });

  it('no sentence shows JSON or an event name, for current and legacy names alike', () => {
    const detail = { from: 'verified', to: 'failed', reasons: ['developer_key_off'], fields: ['canvasUrl', 'clientId'], clientSecretChanged: true, ok: false, reason: 'missing_scopes', missingScopes: ['url:GET|/api/v1/accounts'], why: 'expired', changed: ['canvasUrl'], tokenDropped: true, revokedAtCanvas: true, name: 'State U', courseIdType: 'sis_course_id', userIdType: 'login_id', studentRoles: ['StudentEnrollment'], canvasUrl: 'https://s.example.edu', clientId: '10000000000001', deployments: 2 };
    for (const action of [...AUDIT_ACTIONS_WITH_SENTENCES, ...Object.keys(LEGACY_AUDIT_ACTIONS)]) {
      const s = describeAuditEvent(action, detail, 'int-1');
      // Scopes are Canvas's own notation and may appear; nothing else raw.
      expect([action, s.text.replace(/url:GET\|\S+/g, '').replace(/https:\/\/\S+/g, '')]).not.toEqual([action, expect.stringMatching(RAW)]);
      expect(s.text).toMatch(/^[A-Z].*\.$/);
    }
  });

  it('says what changed in words and links to the page it concerns', () => {
    expect(describeAuditEvent('integration.status_changed', { from: 'verified', to: 'failed', reasons: ['developer_key_off'] }, 'a b')).toEqual({
      text: 'Connection status went from Verified to Failed (The developer key is OFF for this account).',
      link: { href: '/integrations/a%20b', label: 'LMS settings' },
    });
    expect(describeAuditEvent('integration.updated', { fields: ['canvasUrl'], clientSecretChanged: true }, 'x').text).toBe('Changed the Canvas URL and client secret.');
    expect(describeAuditEvent('integration.configured', { courseIdType: 'sis_course_id', studentRoles: ['StudentEnrollment'] }, 'x').link).toEqual({ href: '/integrations/x/configure', label: 'Configure' });
    expect(describeAuditEvent('lti.registration.moved', { clientId: '7', to: 'other' }, 'x').link).toEqual({ href: '/integrations/other/lti', label: 'Its new integration' });
  });

  it('an action without a sentence yet reads as words with its details, never JSON', () => {
    expect(describeAuditEvent('webhook_endpoint.created', { endpointUrl: 'https://h.example', events: ['a'], secretShown: true }, 'x')).toEqual({
      text: 'Webhook endpoint created (endpoint url: https://h.example, secret shown: true).',
      link: null,
    });
  });
});

import type { AuditEvent } from '../../audit/audit-log.js';
import type { ApiTokenInfo } from '../../staff/api-tokens.js';
import type { StaffUser } from '../../staff/staff-users.js';
import { describeAuditEvent } from './audit-sentence.js';
import { auditActorLabel, PLATFORM_STAFF_LABEL } from './audit-actor.js';

/**
 * An integration's audit trail as its page shows it: actors in words, each entry a sentence with
 * a link to what it concerns (for an institution's admin, only links to this integration's pages). An institution's admin (`viewer: 'institution'`) sees no staff name or email, not even
 * inside an event's detail.
 */
export function presentAuditTrail(
  events: AuditEvent[],
  people: { staff: Array<Pick<StaffUser, 'id' | 'name' | 'email'>>; apiTokens: Array<Pick<ApiTokenInfo, 'id' | 'name'>> },
  viewer: 'staff' | 'institution',
) {
  const names = {
    staff: new Map(people.staff.map((s) => [s.id, `${s.name} (${s.email})`])),
    apiTokens: new Map(people.apiTokens.map((t) => [t.id, t.name])),
  };
  const hideStaff = (text: string) => (viewer === 'staff' ? text : people.staff.reduce((t, s) => t.split(s.email).join(PLATFORM_STAFF_LABEL), text));
  return events.map((e) => {
    const s = describeAuditEvent(e.action, e.detail, e.integrationId ?? '');
    const base = `/integrations/${encodeURIComponent(e.integrationId ?? '')}`;
    // An institution's admin may open only this integration's pages: a webhook's page or another
    // integration's would answer 403, so such a link is not offered.
    const link = s.link && (viewer === 'staff' || s.link.href === base || s.link.href.startsWith(`${base}/`)) ? s.link : null;
    return { at: e.createdAt, actor: auditActorLabel(e.actor, names, viewer), text: hideStaff(s.text), link };
  });
}

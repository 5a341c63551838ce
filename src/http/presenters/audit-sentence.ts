import { REASON_CODES, REMEDIES, type ReasonCode } from '../../errors/reason-codes.js';
import { auditActionName } from './audit-action.js';
import { STATE_LABELS } from './integration-page.js';

/** One audit entry as a sentence, with a link to what it concerns (when that has a page). */
export interface AuditSentence {
  text: string;
  link: { href: string; label: string } | null;
}

type Detail = Record<string, unknown>;
type Describe = (d: Detail, base: string) => AuditSentence;

const FIELD_WORDS: Record<string, string> = {
  name: 'name',
  canvasUrl: 'Canvas URL',
  clientId: 'client ID',
  clientSecret: 'client secret',
  accountId: 'account',
  courseIdType: 'course ID type',
  userIdType: 'user ID type',
  studentRoles: 'student roles',
  lti: 'LTI registration',
};

const ID_TYPES: Record<string, string> = {
  sis_course_id: 'SIS ID',
  integration_id: 'Reference ID',
  canvas_id: 'Canvas ID',
  sis_user_id: 'SIS user ID',
  email: 'email',
  login_id: 'login ID',
};
const idType = (v: unknown): string => ID_TYPES[str(v)] ?? words(str(v));

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
const list = (items: string[]): string => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(str).filter(Boolean) : []);
const isReason = (r: string): r is ReasonCode => (REASON_CODES as readonly string[]).includes(r);
/** Reason codes in words ("The developer key is OFF for this account"); unknown codes in plain words. */
const reasonWords = (v: unknown): string => list(strings(v).map((r) => (isReason(r) ? REMEDIES[r].title : words(r))));
const state = (v: unknown): string => STATE_LABELS[str(v)] ?? words(str(v));
const sentence = (text: string, link: AuditSentence['link'] = null): AuditSentence => ({ text, link });

/** `integration.status_changed` → "integration status changed"; `clientSecretChanged` → "client secret changed". */
export function words(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[._-]+/g, ' ')
    .trim()
    .toLowerCase();
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Every action the service records, in words. An action missing here still reads as words (see {@link describeAuditEvent}). */
const SENTENCES: Record<string, Describe> = {
  'integration.created': (d, base) => sentence(`Created the integration${d.name ? ` “${str(d.name)}”` : ''}${d.canvasUrl ? ` for ${str(d.canvasUrl)}` : ''}.`, { href: base, label: 'LMS settings' }),
  'integration.updated': (d, base) => {
    const fields = strings(d.fields).map((f) => FIELD_WORDS[f] ?? words(f));
    if (d.clientSecretChanged === true) fields.push('client secret');
    return sentence(fields.length ? `Changed the ${list(fields)}.` : 'Saved the settings without changes.', { href: base, label: 'LMS settings' });
  },
  'integration.configured': (d, base) => {
    const parts: string[] = [];
    if (d.courseIdType) parts.push(`course IDs: ${idType(d.courseIdType)}`);
    if (d.userIdType) parts.push(`user IDs: ${idType(d.userIdType)}`);
    if (Array.isArray(d.studentRoles)) parts.push(`student roles: ${strings(d.studentRoles).join(', ') || 'none'}`);
    return sentence(`Saved the configuration${parts.length ? ` (${parts.join('; ')})` : ''}.`, { href: `${base}/configure`, label: 'Configure' });
  },
  'integration.deleted': (d) => sentence(`Deleted the integration${d.name ? ` “${str(d.name)}”` : ''}.`),
  'integration.disconnected': (d, base) =>
    sentence(d.revokedAtCanvas === true ? 'Disconnected: the token was revoked in Canvas and deleted here.' : 'Disconnected: the token was deleted here.', { href: base, label: 'LMS settings' }),
  'integration.credentials_dropped': (d, base) => {
    const changed = strings(d.changed).map((f) => FIELD_WORDS[f] ?? words(f));
    const token = d.tokenDropped === true ? (d.revokedAtCanvas === true ? ' The token was revoked in Canvas and deleted.' : ' The token was deleted.') : '';
    const secret = d.secretDropped === true ? ' The client secret was cleared.' : '';
    return sentence(`The ${list(changed) || 'connection settings'} changed, so the old connection was dropped.${token}${secret}`, { href: base, label: 'LMS settings' });
  },
  'integration.status_changed': (d, base) => {
    const why = reasonWords(d.reasons);
    const scopes = strings(d.missingScopes);
    if (!d.from || !d.to) return sentence(`Connection status changed${why ? ` (${why})` : ''}.`, { href: base, label: 'LMS settings' });
    return sentence(
      `Connection status went from ${state(d.from)} to ${state(d.to)}${why ? ` (${why})` : ''}${scopes.length ? `; missing scopes: ${scopes.join(', ')}` : ''}.`,
      { href: base, label: 'LMS settings' },
    );
  },
  'preflight.completed': (d, base) => {
    const why = reasonWords(d.reasons);
    return sentence(d.ok === true ? 'Checked the configuration: every check passed.' : `Checked the configuration: ${why || 'a check failed'}.`, { href: base, label: 'LMS settings' });
  },
  'authorization.started': (_d, base) => sentence('Started Generate Keys (went to Canvas to authorize).', { href: base, label: 'LMS settings' }),
  'authorization.failed': (d, base) => {
    const why = reasonWords([d.reason]);
    const scopes = strings(d.missingScopes);
    return sentence(`Generate Keys failed: ${why || 'Canvas refused'}${scopes.length ? ` (missing scopes: ${scopes.join(', ')})` : ''}.`, { href: `${base}/troubleshoot`, label: 'Troubleshooting' });
  },
  'authorization.callback_rejected': (d, base) =>
    sentence(`A return from Canvas was refused (${d.why === 'expired' ? 'the authorization had expired' : d.why === 'used' ? 'it had already been used' : d.why === 'foreign_browser' ? 'it came back in a different browser from the one that started it' : 'it did not match an authorization started here'}).`, {
      href: `${base}/troubleshoot`,
      label: 'Troubleshooting',
    }),
  'authorization_link.created': (d) => sentence(`Created an authorization link${d.expiresAt ? ` valid until ${str(d.expiresAt).slice(0, 10)}` : ''}.`),
  'setup_link.created': (d, base) => sentence(`Created a setup link for the institution's Canvas admin${d.expiresAt ? `, valid until ${str(d.expiresAt).slice(0, 10)}` : ''}.`, { href: base, label: 'LMS settings' }),
  'setup_link.opened': (_d, base) => sentence('A Canvas admin opened a setup link.', { href: base, label: 'LMS settings' }),
  'token.issued': (d, base) => {
    const owner = d.tokenOwner && typeof d.tokenOwner === 'object' ? str((d.tokenOwner as Detail).name) : '';
    return sentence(`Canvas issued a token${owner ? ` on behalf of ${owner}` : ''}.`, { href: base, label: 'LMS settings' });
  },
  'token.discarded': (d, base) =>
    sentence(`A new token was discarded because the settings changed during Generate Keys${d.revokedAtCanvas === true ? ' (it was revoked in Canvas)' : ''}.`, { href: base, label: 'LMS settings' }),
  'lti.registration.updated': (d, base) =>
    sentence(`Saved the LTI registration${d.clientId ? ` (client ID ${str(d.clientId)}` : ''}${d.clientId && typeof d.deployments === 'number' ? `, ${d.deployments} deployment${d.deployments === 1 ? '' : 's'})` : d.clientId ? ')' : ''}.`, {
      href: `${base}/lti`,
      label: 'LTI',
    }),
  'lti.registration.moved': (d, base) =>
    sentence(
      d.to ? `The LTI registration (client ID ${str(d.clientId)}) was moved to another integration.` : `The LTI registration (client ID ${str(d.clientId)}) was moved here from another integration.`,
      d.to ? { href: `/integrations/${encodeURIComponent(str(d.to))}/lti`, label: 'Its new integration' } : { href: `${base}/lti`, label: 'LTI' },
    ),
  'lti.registration.window_opened': (d, base) =>
    sentence(`Allowed registration by URL${d.expiresAt ? ` until ${str(d.expiresAt).slice(0, 16).replace('T', ' ')} UTC` : ''}.`, { href: `${base}/lti`, label: 'LTI' }),
  'lti.registration.window_closed': (_d, base) => sentence('Closed registration by URL.', { href: `${base}/lti`, label: 'LTI' }),
  'lti.registration.dynamic': (d, base) =>
    sentence(
      `Canvas${d.accountName ? ` (${str(d.accountName)})` : ''} registered this tool by URL: client ID ${str(d.clientId)}${d.replacedClientId ? `, replacing client ID ${str(d.replacedClientId)}` : ''}.`,
      { href: `${base}/lti`, label: 'LTI' },
    ),
  'lti.registration.deployment_added': (d, base) =>
    sentence(`The first launch from Canvas added deployment ${str(d.deploymentId)} to client ID ${str(d.clientId)}.`, { href: `${base}/lti`, label: 'LTI' }),
  'lti.registration.refused': (d, base) => sentence(`A registration by URL was refused${d.detail ? `: ${str(d.detail)}` : d.reason ? ` (${words(str(d.reason))})` : ''}.`, { href: `${base}/lti`, label: 'LTI' }),
  'sync_list.changed': (d, base) => {
    const added = typeof d.addedCount === 'number' ? d.addedCount : strings(d.added).length;
    const removed = typeof d.removedCount === 'number' ? d.removedCount : strings(d.removed).length;
    const parts = [added ? `added ${added} course${added === 1 ? '' : 's'}` : '', removed ? `removed ${removed} course${removed === 1 ? '' : 's'}` : ''].filter(Boolean);
    return sentence(`Changed the sync list: ${parts.join(' and ') || 'nothing'}.`, { href: `${base}/sync-list`, label: 'Sync list' });
  },
  'sync_list.imported': (d, base) => {
    const n = (v: unknown) => (typeof v === 'number' ? v : 0);
    const errors = Array.isArray(d.errors) ? d.errors.length : n(d.errors);
    return sentence(
      `Imported a ${str(d.format).toUpperCase() || 'file'} of ${n(d.rows)} row${n(d.rows) === 1 ? '' : 's'} into the sync list (${str(d.mode) || 'add'} mode): ${n(d.added)} added, ${n(d.removed)} removed${errors ? `, ${errors} row${errors === 1 ? '' : 's'} in error${d.ignoreErrors === true ? ' (ignored)' : ''}` : ''}.`,
      { href: `${base}/sync-list`, label: 'Sync list' },
    );
  },
  'sync_list.sync_started': (d, base) => sentence('Started a re-sync of every course on the sync list.', d.jobId ? { href: `${base}/jobs/${encodeURIComponent(str(d.jobId))}`, label: 'The job' } : null),
  'grades.post_started': (d, base) =>
    sentence(
      `Started posting ${typeof d.scores === 'number' ? `${d.scores} score${d.scores === 1 ? '' : 's'}` : 'scores'} of exam “${str(d.examKey)}” to course ${str(d.courseId)}'s gradebook.`,
      d.courseId ? { href: `${base}/courses/${encodeURIComponent(str(d.courseId))}`, label: 'The course' } : null,
    ),
  'webhook.created': (d) => sentence(`Added a webhook endpoint ${str(d.url)} for ${list(strings(d.events))}.`, d.endpointId ? { href: `/webhooks/${encodeURIComponent(str(d.endpointId))}`, label: 'The endpoint' } : null),
  'webhook.deleted': (d) => sentence(`Deleted the webhook endpoint ${str(d.url)}.`),
  'webhook.enabled': (d) => sentence(`Enabled the webhook endpoint ${str(d.url)} again.`, d.endpointId ? { href: `/webhooks/${encodeURIComponent(str(d.endpointId))}`, label: 'The endpoint' } : null),
  'webhook.redelivered': (d) =>
    sentence(`Asked for a ${str(d.event) || 'webhook'} message to be delivered again.`, d.endpointId ? { href: `/webhooks/${encodeURIComponent(str(d.endpointId))}`, label: 'The endpoint' } : null),
};

/**
 * An audit entry as a sentence a person reads ("Connection status went from Verified to Failed
 * (The developer key is OFF for this account)"), never raw JSON or an event name. Actions added
 * later without a sentence here read as their words plus their details as "field: value" pairs,
 * so a new event is readable before anyone writes its sentence.
 */
export function describeAuditEvent(action: string, detail: unknown, integrationId: string): AuditSentence {
  const name = auditActionName(action);
  const d: Detail = detail && typeof detail === 'object' && !Array.isArray(detail) ? (detail as Detail) : {};
  const base = `/integrations/${encodeURIComponent(integrationId)}`;
  const known = SENTENCES[name];
  if (known) return known(d, base);
  const pairs = Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${words(k)}: ${str(v)}`);
  return sentence(`${capital(words(name))}${pairs.length ? ` (${pairs.join(', ')})` : ''}.`);
}

/** The actions that have their own sentence (a test checks every action an integration records is among them). */
export const AUDIT_ACTIONS_WITH_SENTENCES: readonly string[] = Object.keys(SENTENCES);

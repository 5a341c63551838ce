import type { NrpsMember } from './launch-store.js';

/** A REST roster row as the comparison needs it (from `roster_entries`). */
export interface RosterPerson {
  canvasUserId: string;
  name: string;
  externalId: string | null;
  examTaker: boolean;
}

export interface NrpsDifference {
  /** Learners Canvas's NRPS lists as active but the REST roster sync did not see (often permission-hidden users). */
  onlyInNrps: Array<{ name: string | null; email: string | null; sourcedId: string | null }>;
  /** Exam-takers from the REST roster that NRPS does not list as active learners (dropped, or not visible to the tool). */
  onlyInRoster: Array<{ canvasUserId: string; name: string }>;
  matched: number;
  /** How members were matched, so the page can say how much to trust it. */
  matchedBy: 'canvas_user_id' | 'external_id' | 'name';
}

const LEARNER = /membership#Learner$|^Learner$/;
const norm = (s: string | null | undefined) => (s ?? '').trim().toLowerCase().replace(/\s+/g, ' ');

/**
 * Compares NRPS members with the REST roster. NRPS `user_id` is an opaque LTI id, so people are
 * matched by the Canvas user id when NRPS carries it (custom `canvas_user_id`), else by the chosen
 * user ID type when NRPS exposes the same value (`email` → email, `sis_user_id` → lis_person_sourcedid),
 * else by name. Only active learners on the NRPS side and exam-takers on the roster side count.
 */
export function compareNrpsWithRoster(members: NrpsMember[], roster: RosterPerson[], userIdType: string): NrpsDifference {
  const learners = members.filter((m) => m.status.toLowerCase() === 'active' && m.roles.some((r) => LEARNER.test(r)));
  const takers = roster.filter((r) => r.examTaker);

  let matchedBy: NrpsDifference['matchedBy'] = 'name';
  let nrpsKey: (m: NrpsMember) => string = (m) => norm(m.name);
  let rosterKey: (r: RosterPerson) => string = (r) => norm(r.name);
  if (learners.length > 0 && learners.every((m) => m.canvasUserId)) {
    matchedBy = 'canvas_user_id';
    nrpsKey = (m) => m.canvasUserId ?? '';
    rosterKey = (r) => r.canvasUserId;
  } else if (userIdType === 'email' && learners.every((m) => m.email)) {
    matchedBy = 'external_id';
    nrpsKey = (m) => norm(m.email);
    rosterKey = (r) => norm(r.externalId);
  } else if (userIdType === 'sis_user_id' && learners.every((m) => m.sourcedId)) {
    matchedBy = 'external_id';
    nrpsKey = (m) => m.sourcedId ?? '';
    rosterKey = (r) => r.externalId ?? '';
  }

  const rosterKeys = new Set(takers.map(rosterKey));
  const nrpsKeys = new Set(learners.map(nrpsKey));
  const onlyInNrps = learners
    .filter((m) => !rosterKeys.has(nrpsKey(m)))
    .map((m) => ({ name: m.name, email: m.email, sourcedId: m.sourcedId }));
  const onlyInRoster = takers.filter((r) => !nrpsKeys.has(rosterKey(r))).map((r) => ({ canvasUserId: r.canvasUserId, name: r.name }));
  return { onlyInNrps, onlyInRoster, matched: learners.length - onlyInNrps.length, matchedBy };
}

/** Normalises one NRPS member object from Canvas into {@link NrpsMember}. */
export function toNrpsMember(raw: Record<string, unknown>): NrpsMember {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const message = Array.isArray(raw.message) ? (raw.message[0] as Record<string, unknown> | undefined) : undefined;
  const custom = message?.['https://purl.imsglobal.org/spec/lti/claim/custom'] as Record<string, unknown> | undefined;
  const canvasUserId = str(custom?.canvas_user_id);
  return {
    userId: String(raw.user_id ?? ''),
    name: str(raw.name),
    email: str(raw.email),
    sourcedId: str(raw.lis_person_sourcedid),
    canvasUserId: canvasUserId && !canvasUserId.startsWith('$') ? canvasUserId : null,
    roles: Array.isArray(raw.roles) ? raw.roles.map(String) : [],
    status: typeof raw.status === 'string' ? raw.status : 'Active',
  };
}

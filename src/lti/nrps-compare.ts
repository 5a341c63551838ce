import type { NrpsMember } from './launch-store.js';

/** A REST roster row as the comparison needs it (from `roster_entries`). */
export interface RosterPerson {
  canvasUserId: string;
  name: string;
  externalId: string | null;
  examTaker: boolean;
  /** Why a person who is not an exam-taker was skipped (role not selected, no ID…). */
  reasons?: string[];
}

/** Why an exam-taker of the roster is not among Canvas's active learners. */
export type MissingFromNrps =
  /** Canvas's member list does not have them at all (dropped since the last sync, or hidden from the tool). */
  | 'not_in_member_list'
  /** Canvas lists them, but not as active (deactivated or concluded since the last sync). */
  | 'inactive_in_canvas'
  /** Canvas lists them, but not in a learner role. */
  | 'not_a_learner_in_canvas';

export interface NrpsDifference {
  /**
   * Active learners in Canvas's list that the roster sync did not record at all (often users hidden
   * from the API user by permissions, or enrolled since the last sync). Learners the roster lists
   * as skipped are not here: they are in {@link NrpsDifference.skippedInRoster}.
   */
  onlyInNrps: Array<{ name: string | null; email: string | null; sourcedId: string | null; why: 'not_in_roster' }>;
  /** Exam-takers from the REST roster that NRPS does not list as active learners, each with why. */
  onlyInRoster: Array<{ canvasUserId: string; name: string; why: MissingFromNrps }>;
  /** Active learners in Canvas whom the roster lists as skipped, with the roster's reasons: the same people, not a difference. */
  skippedInRoster: Array<{ canvasUserId: string; name: string; reasons: string[] }>;
  /** Active learners that match an exam-taker. */
  matched: number;
  /** How members were matched, so the page can say how much to trust it. */
  matchedBy: 'canvas_user_id' | 'external_id' | 'name';
}

const LEARNER = /membership#Learner$|^Learner$/;
const norm = (s: string | null | undefined) => (s ?? '').trim().toLowerCase().replace(/\s+/g, ' ');
const isLearner = (m: NrpsMember) => m.roles.some((r) => LEARNER.test(r));
const isActive = (m: NrpsMember) => m.status.toLowerCase() === 'active';

/**
 * Compares NRPS members with the REST roster, like with like: every active learner in Canvas is
 * looked up among ALL people the roster recorded (exam-takers and skipped), so someone the page
 * lists as skipped is not listed again as "in Canvas, not in the roster". NRPS `user_id` is an
 * opaque LTI id, so people are matched by the Canvas user id when NRPS carries it (custom
 * `canvas_user_id`), else by the chosen user ID type when NRPS exposes the same value (`email` →
 * email, `sis_user_id` → lis_person_sourcedid), else by name; a person the chosen key cannot place
 * (a skipped person has no ID) is then tried by Canvas user id and by name.
 */
export function compareNrpsWithRoster(members: NrpsMember[], roster: RosterPerson[], userIdType: string): NrpsDifference {
  const learners = members.filter((m) => isActive(m) && isLearner(m));

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

  const byKey = new Map<string, RosterPerson>();
  const byId = new Map<string, RosterPerson>();
  const byName = new Map<string, RosterPerson>();
  for (const r of roster) {
    const k = rosterKey(r);
    if (k && !byKey.has(k)) byKey.set(k, r);
    byId.set(r.canvasUserId, r);
    if (!byName.has(norm(r.name))) byName.set(norm(r.name), r);
  }
  /** The roster person a member is, or undefined. */
  const personOf = (m: NrpsMember): RosterPerson | undefined => {
    const k = nrpsKey(m);
    return (k ? byKey.get(k) : undefined) ?? (m.canvasUserId ? byId.get(m.canvasUserId) : undefined) ?? (m.name ? byName.get(norm(m.name)) : undefined);
  };

  const onlyInNrps: NrpsDifference['onlyInNrps'] = [];
  const skippedInRoster: NrpsDifference['skippedInRoster'] = [];
  const seenTakers = new Set<string>();
  let matched = 0;
  for (const m of learners) {
    const p = personOf(m);
    if (!p) onlyInNrps.push({ name: m.name, email: m.email, sourcedId: m.sourcedId, why: 'not_in_roster' });
    else if (!p.examTaker) skippedInRoster.push({ canvasUserId: p.canvasUserId, name: p.name, reasons: p.reasons ?? [] });
    else if (!seenTakers.has(p.canvasUserId)) {
      seenTakers.add(p.canvasUserId);
      matched++;
    }
  }

  // Exam-takers no active learner matched: say what Canvas's list says about them, if anything.
  const listed = new Map<string, NrpsMember>();
  for (const m of members) {
    const p = personOf(m);
    if (p && !listed.has(p.canvasUserId)) listed.set(p.canvasUserId, m);
  }
  const onlyInRoster = roster
    .filter((r) => r.examTaker && !seenTakers.has(r.canvasUserId))
    .map((r) => {
      const m = listed.get(r.canvasUserId);
      const why: MissingFromNrps = !m ? 'not_in_member_list' : !isActive(m) ? 'inactive_in_canvas' : 'not_a_learner_in_canvas';
      return { canvasUserId: r.canvasUserId, name: r.name, why };
    });
  return { onlyInNrps, onlyInRoster, skippedInRoster, matched, matchedBy };
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

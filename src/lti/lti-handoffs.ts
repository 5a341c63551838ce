import type { AuditLog } from '../audit/audit-log.js';
import { createFrameTokens, type FrameCheck, type FramePage } from './frame-tokens.js';
import type { ConsumeResult, HandoffPayload, LaunchStore } from './launch-store.js';

/** A hand-over used up inside Canvas's iframe: the frame token for the read-only page, and (admins) a fresh new-window hand-over. */
export type FrameHandoff =
  | { ok: true; integrationId: string; payload: Exclude<HandoffPayload, { kind: 'student' }>; frameToken: string; newWindowToken: string | null }
  | { ok: false; reason: 'unknown' | 'expired' | 'used' | 'not_in_frame' };

export interface LtiHandoffs {
  /** The integration an LTI launch or session belongs to (name, Canvas URL, LTI registration), if it still exists. */
  integration: LaunchStore['getIntegration'];
  /** Reads a hand-over token without using it up. */
  peek(token: string): Promise<ConsumeResult>;
  /**
   * Uses a hand-over token up. A used-up admin or instructor hand-over is the launch's sign-in:
   * it is audited (`lti.launch.admin` / `lti.launch.instructor`, actor `lti:<sub>`).
   */
  consume(token: string): Promise<ConsumeResult>;
  /**
   * Uses up the hand-over of a platform-storage launch whose browser dropped the session cookie
   * inside Canvas's iframe, and answers with a frame token for the launch's read-only page (no
   * session is created). An admin also gets a fresh two-minute hand-over for "Manage in a new
   * window": changes still need the cookie session with CSRF. Audited like `consume`, with
   * `inFrame: true`. A hand-over of a cookie-path launch is refused (`not_in_frame`) and left unused.
   */
  consumeForFrame(token: string): Promise<FrameHandoff>;
  /** Checks a frame token against the page, integration and course being opened (never throws). */
  openFrame(token: string, expected: { page: FramePage; integrationId: string; courseId?: string }): FrameCheck;
}

/** The main app's side of an LTI launch: the single-use hand-over from the ltijs sub-app, with its audit entry. */
export function createLtiHandoffs(deps: {
  launches: Pick<LaunchStore, 'getIntegration' | 'peekHandoff' | 'consumeHandoff' | 'createHandoff'>;
  audit: AuditLog;
  /** Session secrets (newest first) the frame tokens' key is derived from. */
  secrets: string[];
  clock: () => Date;
}): LtiHandoffs {
  const { launches, audit } = deps;
  const frames = createFrameTokens({ secrets: deps.secrets, clock: deps.clock });
  const record = async (integrationId: string, p: Exclude<HandoffPayload, { kind: 'student' }>, inFrame: boolean) =>
    audit.record({
      integrationId,
      actor: `lti:${p.sub}`,
      action: `lti.launch.${p.kind}`,
      detail: { ...(p.kind === 'instructor' ? { courseId: p.courseId } : {}), ...(inFrame ? { inFrame: true } : {}) },
    });
  return {
    integration: (id) => launches.getIntegration(id),
    peek: (token) => launches.peekHandoff(token),
    async consume(token) {
      const used = await launches.consumeHandoff(token);
      if (used.ok && used.payload.kind !== 'student') await record(used.integrationId, used.payload, false);
      return used;
    },
    async consumeForFrame(token) {
      const found = await launches.peekHandoff(token);
      if (!found.ok) return found;
      if (found.payload.kind === 'student' || found.payload.inFrame !== true) return { ok: false, reason: 'not_in_frame' };
      const used = await launches.consumeHandoff(token);
      if (!used.ok) return used;
      const p = used.payload;
      if (p.kind === 'student') return { ok: false, reason: 'not_in_frame' };
      await record(used.integrationId, p, true);
      const frameToken =
        p.kind === 'instructor'
          ? frames.issue({ page: 'course', integrationId: used.integrationId, courseId: p.courseId, courseTitle: p.courseTitle, sub: p.sub })
          : frames.issue({ page: 'admin', integrationId: used.integrationId, sub: p.sub });
      const { inFrame: _dropped, ...rest } = p;
      const newWindowToken = p.kind === 'admin' ? await launches.createHandoff(used.integrationId, rest) : null;
      return { ok: true, integrationId: used.integrationId, payload: p, frameToken, newWindowToken };
    },
    openFrame: (token, expected) => frames.verify(token, expected),
  };
}

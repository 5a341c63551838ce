import type { AuditLog } from '../audit/audit-log.js';
import type { ConsumeResult, LaunchStore } from './launch-store.js';

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
}

/** The main app's side of an LTI launch: the single-use hand-over from the ltijs sub-app, with its audit entry. */
export function createLtiHandoffs(deps: { launches: Pick<LaunchStore, 'getIntegration' | 'peekHandoff' | 'consumeHandoff'>; audit: AuditLog }): LtiHandoffs {
  const { launches, audit } = deps;
  return {
    integration: (id) => launches.getIntegration(id),
    peek: (token) => launches.peekHandoff(token),
    async consume(token) {
      const used = await launches.consumeHandoff(token);
      if (used.ok && used.payload.kind !== 'student') {
        const p = used.payload;
        await audit.record({ integrationId: used.integrationId, actor: `lti:${p.sub}`, action: `lti.launch.${p.kind}`, detail: p.kind === 'instructor' ? { courseId: p.courseId } : {} });
      }
      return used;
    },
  };
}

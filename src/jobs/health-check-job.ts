import type { HealthCheckJobSummary } from './job-kinds.js';
import type { JobDefinition } from './types.js';

/** Integration id used by the scheduled job that checks every connected integration. */
export const ALL_INTEGRATIONS = '*';

/**
 * The `health_check` kind: re-verifies one integration (or every connected one when the job's
 * integration is {@link ALL_INTEGRATIONS}) through the verification service, which moves each
 * integration's status when Canvas changed underneath. The service is injected so jobs/ does not
 * depend on how verification is built.
 */
export function createHealthCheckJob(deps: {
  runHealthChecks: (integrationId: string | undefined, signal: AbortSignal) => Promise<HealthCheckJobSummary>;
}): JobDefinition<'health_check'> {
  return {
    kind: 'health_check',
    async run(ctx) {
      await ctx.progress('checking', 0, null);
      const target = ctx.integrationId === ALL_INTEGRATIONS ? undefined : ctx.integrationId;
      return deps.runHealthChecks(target, ctx.signal);
    },
  };
}

import { createThrottleGovernor, type ThrottleGovernor, type ThrottleGovernorOptions } from './governor.js';

/** One throttle governor per Canvas token (keyed by integration id), for the whole process. */
export interface GovernorRegistry {
  /** The governor every Canvas call of this integration goes through (created on first use). */
  forIntegration(integrationId: string): ThrottleGovernor;
}

/**
 * Canvas throttles per access token, so every caller using one integration's token — refresh and
 * sync jobs, lookups, sync previews, verification probes, page helpers — must share one governor:
 * separate governors each believe the bucket is theirs and together overrun it (thirty lookups at
 * once drew a dozen throttled answers).
 */
export function createGovernorRegistry(opts: ThrottleGovernorOptions = {}): GovernorRegistry {
  const governors = new Map<string, ThrottleGovernor>();
  return {
    forIntegration(integrationId) {
      let g = governors.get(integrationId);
      if (!g) {
        g = createThrottleGovernor(opts);
        governors.set(integrationId, g);
      }
      return g;
    },
  };
}

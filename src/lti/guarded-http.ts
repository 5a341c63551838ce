/**
 * Puts ltijs's HTTP client (got 11: platform JWKS, LTI Advantage token endpoint, Names and Roles,
 * grades, dynamic registration) behind the outbound-URL guard. ltijs has no option for its HTTP
 * client; every ltijs module calls the methods of one shared got instance (`dist/Utils/Http.js`),
 * so those methods are replaced by the ones of an extension that checks every URL (each redirect
 * too) before the request and resolves names through the guarded lookup at connect time.
 */
import ltijsHttp from 'ltijs/dist/Utils/Http.js';
import { createGuardedLookup, type HostResolver } from '../net/guarded-fetch.js';
import { assertOutboundUrl, type OutboundPolicy } from '../net/url-guard.js';

const METHODS = ['get', 'post', 'put', 'patch', 'head', 'delete'] as const;

/**
 * Installs the guard on ltijs's shared HTTP client (process-wide, like ltijs itself; a second call
 * replaces the policy).
 */
export function guardLtijsHttp(policy: OutboundPolicy & { resolve?: HostResolver }): void {
  const check = (url: URL) => {
    // got reads host "unix" as a UNIX socket path: never a platform.
    if (url.hostname === 'unix') assertOutboundUrl('http://unix./', { allowInsecure: false }, 'LTI request');
    assertOutboundUrl(url, policy, 'LTI request');
  };
  const guarded = ltijsHttp.extend({
    lookup: createGuardedLookup(policy),
    hooks: {
      beforeRequest: [(options: { url: URL }) => check(options.url)],
      beforeRedirect: [(options: { url: URL }) => check(options.url)],
    },
  });
  for (const m of METHODS) (ltijsHttp as unknown as Record<string, unknown>)[m] = guarded[m];
}

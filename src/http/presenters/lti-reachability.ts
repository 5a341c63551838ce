import { describeNonPublicHost } from '../../net/url-guard.js';

/**
 * The LTI page's row about whether Canvas can reach this service. Canvas launches only https tools
 * that it can reach: a hosted Canvas calls from the internet, so neither plain http nor a loopback
 * or private address works. The row never pairs a warning badge with text that reads as a success:
 * the label says what is, the detail what to do.
 */
export interface ReachabilityRow {
  name: 'https';
  ok: boolean;
  /** Badge class suffix (a connection state's colours) and its text. */
  badge: 'verified' | 'degraded' | 'failed';
  badgeLabel: string;
  label: string;
  detail: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The row for `publicUrl` (PUBLIC_URL). Private and reserved addresses (10/8, 172.16/12,
 * 192.168/16, fc00::/7 and the rest ipaddr.js knows) and private names (`.local`, `.internal`, …)
 * are judged by the outbound URL guard's rules: a hosted Canvas cannot reach them either.
 */
export function reachabilityRow(publicUrl: string): ReachabilityRow {
  let u: URL | undefined;
  try {
    u = new URL(publicUrl);
  } catch {
    u = undefined;
  }
  const production = 'In production, set PUBLIC_URL to the https address Canvas can reach (e.g. https://exams.your-institution.edu) and restart the service.';
  const nonPublic = u ? describeNonPublicHost(u.hostname) : null;
  if (u && (LOOPBACK.test(u.hostname) || nonPublic?.includes('loopback'))) {
    return {
      name: 'https',
      ok: false,
      badge: 'degraded',
      badgeLabel: 'Demo only',
      label: `Not reachable by a hosted Canvas: this service's address is ${u.origin}`,
      detail: `${u.origin} exists only on this computer, so only a Canvas on the same computer (like the demo's Canvas sandbox) can launch the tool; a hosted Canvas cannot. ${production}`,
    };
  }
  if (!u || u.protocol !== 'https:') {
    return {
      name: 'https',
      ok: false,
      badge: 'failed',
      badgeLabel: 'Fix',
      label: `Not reachable over https: this service's address is ${u ? u.origin : publicUrl}`,
      detail: `Canvas launches only https tools.${nonPublic ? ` The address also ${nonPublic}, which a hosted Canvas cannot reach from the internet.` : ''} ${production}`,
    };
  }
  if (nonPublic) {
    return {
      name: 'https',
      ok: false,
      badge: 'failed',
      badgeLabel: 'Fix',
      label: `Not reachable by a hosted Canvas: this service's address ${u.origin} ${nonPublic}`,
      detail: `A hosted Canvas (such as instructure.com) calls tools from the internet, so it cannot reach a private address or a name only your network knows; https alone does not help. Only a Canvas inside the same network could launch the tool. ${production}`,
    };
  }
  return { name: 'https', ok: true, badge: 'verified', badgeLabel: 'OK', label: `Canvas can reach this service over https (${u.origin})`, detail: '' };
}

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

/** The row for `publicUrl` (PUBLIC_URL). */
export function reachabilityRow(publicUrl: string): ReachabilityRow {
  let u: URL | undefined;
  try {
    u = new URL(publicUrl);
  } catch {
    u = undefined;
  }
  const production = 'In production, set PUBLIC_URL to the https address Canvas can reach (e.g. https://exams.your-institution.edu) and restart the service.';
  if (u && u.protocol === 'https:' && !LOOPBACK.test(u.hostname)) {
    return { name: 'https', ok: true, badge: 'verified', badgeLabel: 'OK', label: `Canvas can reach this service over https (${u.origin})`, detail: '' };
  }
  if (u && LOOPBACK.test(u.hostname)) {
    return {
      name: 'https',
      ok: false,
      badge: 'degraded',
      badgeLabel: 'Demo only',
      label: `Not reachable by a hosted Canvas: this service's address is ${u.origin}`,
      detail: `${u.origin} exists only on this computer, so only a Canvas on the same computer (like the demo's Canvas sandbox) can launch the tool; a hosted Canvas cannot. ${production}`,
    };
  }
  return {
    name: 'https',
    ok: false,
    badge: 'failed',
    badgeLabel: 'Fix',
    label: `Not reachable over https: this service's address is ${u ? u.origin : publicUrl}`,
    detail: `Canvas launches only https tools. ${production}`,
  };
}

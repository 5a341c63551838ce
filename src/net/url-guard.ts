/**
 * The outbound-URL guard: decides whether the service may call a URL (Canvas, LTI endpoints, report
 * files, webhooks, redirect targets). One policy for every caller:
 * - `http:`/`https:` only; `https:` only unless insecure URLs are allowed;
 * - no user name or password in the URL;
 * - the host must be a public unicast address or a public host name. IP literals are classified
 *   with ipaddr.js in every form the URL parser accepts (IPv4-mapped, NAT64, 6to4, decimal, octal
 *   and hex IPv4, compressed or expanded IPv6); names such as `localhost.` or `x.internal` are
 *   refused by suffix. Names are resolved when the connection is made (see guarded-fetch.ts).
 * Insecure URLs (development and tests) allow `http:` and private or loopback hosts.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/** Whether insecure (http, private, loopback) URLs are allowed: `ALLOW_INSECURE_CANVAS_URLS`. */
export interface OutboundPolicy {
  allowInsecure: boolean;
}

/** A verdict on one URL: the parsed URL, or why it is refused (a phrase that follows the field name). */
export type OutboundUrlCheck = { ok: true; url: URL } | { ok: false; why: string };

/** Thrown by the guarded HTTP clients when a request (or a redirect, or a resolved address) is refused. */
export class OutboundRequestRefusedError extends Error {
  readonly code = 'outbound_refused';
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRequestRefusedError';
  }
}

/** True for an {@link OutboundRequestRefusedError} anywhere in an error's `cause` chain; returns it. */
export function findOutboundRefusal(err: unknown): OutboundRequestRefusedError | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof OutboundRequestRefusedError || (e instanceof Error && e.name === 'OutboundRequestRefusedError')) {
      return e as OutboundRequestRefusedError;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const RANGE_WORDS: Record<string, string> = {
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  reserved: 'a reserved address',
  benchmarking: 'a benchmarking address',
  uniqueLocal: 'a private (unique local) address',
  deprecatedSiteLocal: 'a site-local address',
  teredo: 'a Teredo tunnel address',
  rfc6145: 'an IPv4-translated address',
  rfc6052: 'a NAT64 address',
  discard: 'a discard-only address',
  as112: 'an AS112 sink address',
  as112v6: 'an AS112 sink address',
  amt: 'a multicast relay (AMT) address',
};

const BENCHMARKING_V4 = ipaddr.parseCIDR('198.18.0.0/15');
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

function describeV4(a: ipaddr.IPv4): string | null {
  const range = a.range() as string;
  if (range === 'unicast') return null;
  if (a.match(BENCHMARKING_V4)) return `a benchmarking address ${a.toString()}`;
  return `${RANGE_WORDS[range] ?? 'not a public unicast address'} ${a.toString()}`;
}

function v4FromParts(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

function describeV6(a: ipaddr.IPv6): string | null {
  const range = a.range() as string;
  const text = a.toString();
  if (range === 'ipv4Mapped') {
    const v4 = describeV4(a.toIPv4Address());
    return v4 ? `an IPv4-mapped form of ${v4}` : null;
  }
  if (range === 'rfc6052' && a.match(NAT64_WELL_KNOWN)) {
    // 64:ff9b::a.b.c.d is how DNS64 networks reach IPv4 hosts: judge the embedded address.
    const embedded = v4FromParts(a.parts[6]!, a.parts[7]!);
    const v4 = describeV4(embedded);
    return v4 ? `a NAT64 form of ${v4}` : null;
  }
  if (range === '6to4') {
    const embedded = v4FromParts(a.parts[1]!, a.parts[2]!);
    const v4 = describeV4(embedded);
    return v4 ? `a 6to4 form of ${v4}` : null;
  }
  if (range !== 'unicast') return `${RANGE_WORDS[range] ?? 'not a public unicast address'} ${text}`;
  // ipaddr.js calls everything it has no name for "unicast"; only 2000::/3 is global unicast
  // (this also refuses the deprecated IPv4-compatible form ::a.b.c.d).
  if (!a.match(GLOBAL_UNICAST_V6)) return `not a public unicast address ${text}`;
  return null;
}

/**
 * Says why an IP address (v4 or v6, without brackets) is not a public unicast address, e.g.
 * "a private address 10.0.0.5", "an IPv4-mapped form of a loopback address 127.0.0.1";
 * `null` when it is public.
 * @throws Error when `ip` is not an IP address.
 */
export function describeNonPublicAddress(ip: string): string | null {
  const a = ipaddr.parse(ip.replace(/^\[|\]$/g, ''));
  return a.kind() === 'ipv4' ? describeV4(a as ipaddr.IPv4) : describeV6(a as ipaddr.IPv6);
}

/** Name suffixes that never name a public host (mDNS, loopback, private DNS zones). */
const PRIVATE_NAME_SUFFIXES = ['localhost', 'local', 'internal', 'localdomain', 'home.arpa', 'lan', 'intranet', 'corp'];

/**
 * Says why a host (as `URL.hostname` gives it: lower case, IPv6 in brackets, IPv4 normalised)
 * cannot be a public host; `null` when it may be one (a name is only judged by its form here).
 */
export function describeNonPublicHost(hostname: string): string | null {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (isIP(bare)) {
    const d = describeNonPublicAddress(bare);
    return d ? `is ${d}` : null;
  }
  const name = bare.toLowerCase().replace(/\.+$/, '');
  if (!name) return 'has no host name';
  for (const suffix of PRIVATE_NAME_SUFFIXES) {
    if (name === suffix || name.endsWith(`.${suffix}`)) return `is a private host name (${hostname}), not a public host`;
  }
  // Numeric-looking names the URL parser did not turn into an address (e.g. "1.2.3.4.5") are not hosts.
  if (/^[0-9.]+$/.test(name) || /^0x[0-9a-f]+$/i.test(name)) return `is not a valid public host (${hostname})`;
  if (!name.includes('.')) return `is not a fully qualified public host name (${hostname})`;
  return null;
}

/**
 * Checks one URL against the policy. Accepts a string or a URL; never throws.
 * `why` reads after the field name: "canvasUrl must use https://".
 */
export function checkOutboundUrl(raw: string | URL, policy: OutboundPolicy): OutboundUrlCheck {
  let u: URL;
  try {
    u = raw instanceof URL ? raw : new URL(raw);
  } catch {
    return { ok: false, why: 'is not a URL' };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, why: 'must be an https:// URL' };
  if (u.username || u.password) return { ok: false, why: 'must not contain a user name or password' };
  if (!u.hostname) return { ok: false, why: 'has no host' };
  if (policy.allowInsecure) return { ok: true, url: u };
  if (u.protocol !== 'https:') return { ok: false, why: 'must use https://' };
  const host = describeNonPublicHost(u.hostname);
  if (host) return { ok: false, why: `${host}; only public hosts may be called` };
  return { ok: true, url: u };
}

/**
 * Checks a URL about to be requested.
 * @throws OutboundRequestRefusedError naming the URL's host and why.
 */
export function assertOutboundUrl(raw: string | URL, policy: OutboundPolicy, what = 'request'): URL {
  const r = checkOutboundUrl(raw, policy);
  if (!r.ok) {
    let shown = String(raw);
    try {
      const u = new URL(shown);
      shown = `${u.protocol}//${u.host}`;
    } catch {
      shown = shown.slice(0, 100);
    }
    throw new OutboundRequestRefusedError(`${what} to ${shown} refused: it ${r.why}`);
  }
  return r.url;
}

/**
 * A zod schema for a URL field the service will call (LTI endpoints, webhooks…): a string that
 * passes {@link checkOutboundUrl}, output trimmed but otherwise as given (an LTI issuer must keep
 * its exact spelling). The issue message names the field and the reason ("lti.jwksUrl must use
 * https://"), so any schema reuses the same guard.
 */
export function outboundUrl(field: string, policy: OutboundPolicy) {
  return z.string().transform((v, ctx) => {
    const trimmed = v.trim();
    const r = checkOutboundUrl(trimmed, policy);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: `${field} ${r.why}` });
      return z.NEVER;
    }
    return trimmed;
  });
}

import { isIP } from 'node:net';
import { invalid } from '../errors/app-error.js';
import { systemResolver, type HostResolver } from './guarded-fetch.js';
import { describeNonPublicAddress, type OutboundPolicy } from './url-guard.js';

/**
 * Resolves a URL's host name now and refuses it when any address is not public, so a person
 * saving a URL hears "resolves to a private address 10.0.0.5" at once rather than at the first
 * call. This is advice, not the guarantee: names can change, and every connection is checked
 * again by the guarded fetch. A name that does not resolve (yet) is accepted.
 * Call after the URL passed the form checks (`outboundUrl` / `checkOutboundUrl`).
 * @throws AppError `validation_failed` naming `field`.
 */
export async function assertResolvesToPublic(field: string, url: string, policy: OutboundPolicy & { resolve?: HostResolver }): Promise<void> {
  if (policy.allowInsecure) return;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return;
  }
  if (!host || isIP(host)) return;
  let addresses: Array<{ address: string }>;
  try {
    addresses = await (policy.resolve ?? systemResolver)(host);
  } catch {
    return;
  }
  for (const a of addresses) {
    const why = describeNonPublicAddress(a.address);
    if (why) throw invalid(field, `${host} resolves to ${why}; only public addresses may be called`, 'Use the public address of the service.');
  }
}

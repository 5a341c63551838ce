/**
 * The HTTP client for every outbound call: a `fetch` whose connections are made only to addresses
 * the URL guard accepts. Names are resolved at connect time by a guarded DNS lookup (so a public
 * name that resolves to 10.0.0.5 is refused, whatever it resolved to when the URL was saved), IP
 * literals are judged before the request, and redirects are followed here, hop by hop, through the
 * same checks.
 */
import { promises as dns, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { assertOutboundUrl, describeNonPublicAddress, findOutboundRefusal, OutboundRequestRefusedError, type OutboundPolicy } from './url-guard.js';

/** Resolves a host name to its addresses (every one of them is checked). Injected by tests. */
export type HostResolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

/** The system resolver (getaddrinfo, so /etc/hosts counts), every address. */
export const systemResolver: HostResolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** The `lookup` signature of `net.connect` (also got's `dnsLookup`). */
export type GuardedLookup = (hostname: string, options: { all?: boolean; family?: number | string } | number | LookupCallback, callback?: LookupCallback) => void;

/**
 * A `dns.lookup`-compatible function for socket connections that resolves with `resolve` and
 * fails with {@link OutboundRequestRefusedError} when any address is not public (unless insecure
 * URLs are allowed). Handles both `all: true` (Node's happy-eyeballs connect) and single answers.
 */
export function createGuardedLookup(policy: OutboundPolicy & { resolve?: HostResolver }): GuardedLookup {
  const resolve = policy.resolve ?? systemResolver;
  return (hostname, options, callback) => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts = typeof options === 'object' && options !== null ? options : {};
    const wantFamily = typeof options === 'number' ? options : Number(opts.family ?? 0) || 0;
    resolve(hostname)
      .then((found) => {
        let addresses = found.map((a) => ({ address: a.address, family: a.family === 6 || isIP(a.address) === 6 ? 6 : 4 }));
        if (wantFamily === 4 || wantFamily === 6) addresses = addresses.filter((a) => a.family === wantFamily);
        if (addresses.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = 'ENOTFOUND';
          return cb(err, '');
        }
        if (!policy.allowInsecure) {
          for (const a of addresses) {
            const why = describeNonPublicAddress(a.address);
            if (why) return cb(new OutboundRequestRefusedError(`${hostname} resolves to ${why}; only public addresses may be called`) as NodeJS.ErrnoException, '');
          }
        }
        if (opts.all) return cb(null, addresses);
        return cb(null, addresses[0]!.address, addresses[0]!.family);
      })
      .catch((err: unknown) => cb(err as NodeJS.ErrnoException, ''));
  };
}

export interface GuardedFetchOptions extends Partial<OutboundPolicy> {
  /** Name resolution for connections (default: the system resolver). */
  resolve?: HostResolver;
  /** Redirects followed for `redirect: 'follow'` (default 5). */
  maxRedirects?: number;
}

/** A `fetch` that also has `close()` to release its connection pool. */
export type GuardedFetch = typeof globalThis.fetch & { close(): Promise<void> };

const REDIRECT = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * Creates the guarded fetch. Each request URL is checked by the URL guard; connections resolve
 * names through the guarded lookup; `redirect: 'follow'` (the default) is done here with every hop
 * checked, credentials (Authorization, Cookie) dropped on a cross-origin hop, and at most
 * `maxRedirects` hops; `redirect: 'manual'` returns the 3xx answer as it is.
 * The returned promise rejects with {@link OutboundRequestRefusedError} for a refused URL, redirect
 * or resolved address, and with a TypeError (as fetch does) for network failures.
 */
export function createGuardedFetch(opts: GuardedFetchOptions = {}): GuardedFetch {
  const policy: OutboundPolicy = { allowInsecure: opts.allowInsecure ?? false };
  const maxRedirects = opts.maxRedirects ?? 5;
  const agent = new Agent({ connect: { lookup: createGuardedLookup({ ...policy, resolve: opts.resolve }) as never } });

  async function once(url: URL, init: RequestInit): Promise<Response> {
    try {
      const res = await undiciFetch(url, { ...(init as object), redirect: 'manual', dispatcher: agent } as never);
      return res as unknown as Response;
    } catch (err) {
      const refusal = findOutboundRefusal(err);
      if (refusal) throw new OutboundRequestRefusedError(refusal.message);
      throw err;
    }
  }

  const guarded = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let req: RequestInit = init;
    let target: string;
    if (typeof input === 'string' || input instanceof URL) {
      target = String(input);
    } else {
      target = input.url;
      req = { method: input.method, headers: input.headers, body: input.body, signal: input.signal, redirect: input.redirect, ...init };
      if (req.body) (req as { duplex?: string }).duplex = 'half';
    }
    const mode = req.redirect ?? 'follow';
    let url = assertOutboundUrl(target, policy);
    let method = (req.method ?? 'GET').toUpperCase();
    let body = req.body;
    const headers = new Headers(req.headers);
    for (let hop = 0; ; hop++) {
      const res = await once(url, { ...req, method, body, headers });
      const location = res.headers.get('location');
      if (!REDIRECT.has(res.status) || mode === 'manual' || location === null) return res;
      await res.body?.cancel().catch(() => undefined);
      if (mode === 'error') throw new TypeError(`fetch failed: ${url.origin} redirected and redirect is "error"`);
      if (hop >= maxRedirects) throw new TypeError(`fetch failed: more than ${maxRedirects} redirects from ${url.origin}`);
      const next = assertOutboundUrl(new URL(location, url), policy, 'redirect');
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        if (method !== 'HEAD') method = 'GET';
        body = undefined;
        headers.delete('content-type');
        headers.delete('content-length');
      } else if (body instanceof ReadableStream) {
        throw new TypeError('fetch failed: cannot replay a streamed body on a redirect');
      }
      if (next.origin !== url.origin) for (const h of CREDENTIAL_HEADERS) headers.delete(h);
      url = next;
    }
  };
  return Object.assign(guarded as typeof globalThis.fetch, { close: () => agent.close() });
}

import type { HostResolver } from '../net/guarded-fetch.js';
import { assertResolvesToPublic } from '../net/resolve-check.js';
import type { OutboundPolicy } from '../net/url-guard.js';

interface Writable<C, P, I> {
  create(input: C): Promise<I>;
  update(id: string, patch: P, ...rest: never[]): Promise<I | undefined>;
}

type UrlFields = { canvasUrl?: string; lti?: { issuer?: string; authUrl?: string; jwksUrl?: string } | null };

/** The URL fields of an integration input the service will call, with their field names. */
function urlFields(input: UrlFields): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (input.canvasUrl) out.push(['canvasUrl', input.canvasUrl]);
  for (const k of ['issuer', 'authUrl', 'jwksUrl'] as const) {
    const v = input.lti?.[k];
    if (v) out.push([`lti.${k}`, v]);
  }
  return out;
}

/**
 * Wraps an integrations repository so that creating or changing an integration first resolves its
 * Canvas URL and custom LTI endpoints: a name resolving to a private or loopback address is a 400
 * naming the field. Every entry point (pages, API, CLI) writes through the container's repository,
 * so all of them get it; the guarded fetch still checks every connection.
 * @throws AppError `validation_failed` from create/update.
 */
export function withPublicUrlCheck<R extends Writable<C, P, I>, C extends UrlFields, P extends UrlFields, I>(
  repo: R,
  policy: OutboundPolicy & { resolve?: HostResolver },
): R {
  const check = async (input: UrlFields) => {
    for (const [field, url] of urlFields(input)) await assertResolvesToPublic(field, url, policy);
  };
  return Object.assign(Object.create(repo) as R, {
    async create(input: C) {
      await check(input);
      return repo.create(input);
    },
    // Options after the patch (e.g. the credentials-dropped callback) pass through untouched.
    async update(id: string, patch: P, ...rest: never[]) {
      await check(patch);
      return repo.update(id, patch, ...rest);
    },
  });
}

import type { Response } from 'express';

/**
 * Adds `origin` to this response's CSP `form-action`. Needed on pages whose form POSTs to us and
 * is answered with a redirect to Canvas (Generate Keys): Chromium applies `form-action` to the
 * redirect target too, so `'self'` alone blocks the hop to Canvas's authorize page.
 */
export function allowFormActionTo(res: Response, origin: string): void {
  const header = res.getHeader('Content-Security-Policy');
  if (typeof header !== 'string') return;
  const directives = header.split(';').map((d) => d.trim());
  const i = directives.findIndex((d) => d.startsWith('form-action'));
  if (i >= 0) {
    if (!directives[i]!.split(/\s+/).includes(origin)) directives[i] = `${directives[i]} ${origin}`;
  } else {
    directives.push(`form-action 'self' ${origin}`);
  }
  res.setHeader('Content-Security-Policy', directives.filter(Boolean).join(';'));
}

import { REMEDIES, type Check } from '../../integrations/reasons.js';

/** View-model of checks (a status's or a preflight's) for pages: name, result, detail and the remedy to show. */
export function checkRows(checks: Check[]) {
  return checks.map((c) => ({
    name: c.name,
    ok: c.ok,
    detail: c.detail,
    reason: c.reason ?? null,
    title: c.reason ? REMEDIES[c.reason].title : null,
    remedy: c.reason ? REMEDIES[c.reason].remedy : null,
  }));
}

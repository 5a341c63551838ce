import { AUTHORIZATION_CHECKS, remedyFor, type Check } from '../../integrations/reasons.js';

/**
 * View-model of checks (a status's or a preflight's) for pages: name, result, detail and the remedy
 * to show. The remedy is chosen for where the check was made (an authorization check gets the
 * authorization advice). `shown` collects the remedies already on the page: a remedy shown once is
 * not repeated on a later row (the row keeps its title), and each one shown here is added to it.
 */
export function checkRows(checks: Check[], shown: Set<string> = new Set()) {
  return checks.map((c) => {
    const help = c.reason ? remedyFor(c.reason, AUTHORIZATION_CHECKS.includes(c.name) ? 'authorization' : 'token') : null;
    const repeat = help !== null && shown.has(help.remedy);
    if (help) shown.add(help.remedy);
    return {
      name: c.name,
      ok: c.ok,
      detail: c.detail,
      reason: c.reason ?? null,
      title: help?.title ?? null,
      remedy: help && !repeat ? help.remedy : null,
    };
  });
}

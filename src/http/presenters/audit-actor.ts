/**
 * Turns a stored audit actor (`staff:<id>`, `api-token:<id>`, `admin-link:<integration>`,
 * `lti:<sub>`, `system` — the service itself: callbacks, preflight, CLI, scheduled checks) into words. Unknown staff or tokens (deleted since)
 * keep their id so the trail stays traceable.
 */
export function auditActorLabel(
  actor: string,
  names: { staff: Map<string, string>; apiTokens: Map<string, string> },
): string {
  const [kind, ...rest] = actor.split(':');
  const id = rest.join(':');
  switch (kind) {
    case 'staff':
      return names.staff.get(id) ?? `Staff member ${id}`;
    case 'api-token':
      return names.apiTokens.has(id) ? `API token “${names.apiTokens.get(id)}”` : `API token ${id}`;
    case 'admin-link':
      return 'Canvas admin (setup or authorization link)';
    case 'lti':
      return 'Canvas admin (LTI launch)';
    case 'system':
      return 'canvas-companion';
    default:
      return actor;
  }
}

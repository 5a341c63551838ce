/** How an institution's own admin sees anyone on the platform side (no staff names or emails). */
export const PLATFORM_STAFF_LABEL = 'platform staff';

/**
 * Turns a stored audit actor (`staff:<id>`, `api-token:<id>`, `admin-link:<integration>`,
 * `lti:<sub>`, `system` — the service itself: callbacks, preflight, CLI, scheduled checks) into words. Unknown staff or tokens (deleted since)
 * keep their id so the trail stays traceable. With `viewer: 'institution'` (a Canvas admin's
 * session) staff members and API tokens are all {@link PLATFORM_STAFF_LABEL}: who works for the
 * platform, and their emails, are not the institution's to see.
 */
export function auditActorLabel(
  actor: string,
  names: { staff: Map<string, string>; apiTokens: Map<string, string> },
  viewer: 'staff' | 'institution' = 'staff',
): string {
  const [kind, ...rest] = actor.split(':');
  const id = rest.join(':');
  if (viewer === 'institution' && (kind === 'staff' || kind === 'api-token')) return PLATFORM_STAFF_LABEL;
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

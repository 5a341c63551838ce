/**
 * The one navigation: which links each role sees in the header and which tabs an integration's
 * pages show. The layout renders it; pages declare nothing. A new page under an integration adds
 * ONE entry to {@link INTEGRATION_TABS} (and, if it is staff-only, `staffOnly: true` so an
 * institution session never sees a tab it would get 403 on).
 */

/** Who is looking at the page, as the layout knows it. */
export type NavRole =
  | { kind: 'staff' }
  | { kind: 'integration-admin'; integrationId: string }
  | { kind: 'lti-course' }
  | null;

export interface NavLink {
  label: string;
  href: string;
  current: boolean;
}

export interface Navigation {
  /** Header links (empty for anonymous and LTI-instructor sessions). */
  main: NavLink[];
  /** The integration the page belongs to, with its tabs; null outside an integration's pages. */
  integration: { id: string; tabs: NavLink[] } | null;
}

interface TabSpec {
  key: string;
  label: string;
  /** Path after `/integrations/:id` ('' for the integration's own page). */
  path: string;
  /** Other paths (after `/integrations/:id`) that light this tab, e.g. a course page lights Courses. */
  alsoFor?: RegExp;
  /** Only platform staff may open it (institution sessions would get 403): hidden from them. */
  staffOnly?: boolean;
}

/** Every tab of an integration's pages, in order. Add a page here and it shows for every role that may open it. */
export const INTEGRATION_TABS: readonly TabSpec[] = [
  { key: 'settings', label: 'LMS settings', path: '' },
  { key: 'configure', label: 'Configure', path: '/configure' },
  { key: 'courses', label: 'Courses', path: '/courses', alsoFor: /^\/(courses\/.+|jobs\/.+)$/ },
  { key: 'sync-list', label: 'Sync list', path: '/sync-list', alsoFor: /^\/sync-list\/.+$/ },
  { key: 'lti', label: 'LTI', path: '/lti' },
  { key: 'scopes', label: 'Scoped token', path: '/scopes' },
  { key: 'troubleshoot', label: 'Troubleshooting', path: '/troubleshoot' },
  { key: 'audit', label: 'Audit log', path: '/audit' },
];

/** The staff header links, in order. */
export const STAFF_LINKS: ReadonlyArray<{ label: string; href: string }> = [
  { label: 'Integrations', href: '/integrations' },
  { label: 'Jobs', href: '/jobs' },
  { label: 'Webhooks', href: '/webhooks' },
  { label: 'API tokens', href: '/settings/api-tokens' },
  { label: 'API reference', href: '/docs/api' },
];

const INTEGRATION_PATH = /^\/integrations\/([^/]+)(\/.*)?$/;
const NOT_AN_INTEGRATION = new Set(['new']);

/**
 * The navigation for `role` on the page at `path` (the request path, not the URL with its query).
 * A Canvas admin's header holds no links of its own: their integration's tabs are the navigation,
 * shown on every page of that integration (and only that one; another integration's page is 403
 * anyway). An LTI instructor sees no navigation: their session opens one course view only.
 */
export function presentNavigation(role: NavRole, path: string): Navigation {
  const m = INTEGRATION_PATH.exec(path);
  const id = m && !NOT_AN_INTEGRATION.has(m[1]!) ? safeDecode(m[1]!) : null;
  const rest = m?.[2] ?? '';
  if (role?.kind === 'staff') {
    return {
      main: STAFF_LINKS.map((l) => ({ ...l, current: path === l.href || path.startsWith(`${l.href}/`) })),
      integration: id ? { id, tabs: tabsFor(id, rest, true) } : null,
    };
  }
  if (role?.kind === 'integration-admin') {
    const own = id === role.integrationId ? id : null;
    return { main: [], integration: own ? { id: own, tabs: tabsFor(own, rest, false) } : null };
  }
  return { main: [], integration: null };
}

function tabsFor(id: string, rest: string, staff: boolean): NavLink[] {
  const base = `/integrations/${encodeURIComponent(id)}`;
  return INTEGRATION_TABS.filter((t) => staff || !t.staffOnly).map((t) => ({
    label: t.label,
    href: `${base}${t.path}`,
    current: rest === t.path || (t.path !== '' && rest === `${t.path}/`) || Boolean(t.alsoFor?.test(rest)),
  }));
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

import { isCanvasApiError } from '../canvas/errors.js';
import { ENDPOINTS, endpointsFor, scopeFor } from '../canvas/endpoints.js';
import type { AccessTokenSource, CanvasClient, EndpointId } from '../canvas/types.js';
import { TokenUnavailableError } from '../oauth/token-source.js';
import type { Integration, IntegrationFeature } from './integration.js';
import type { IntegrationsRepository } from './integrations-repository.js';
import type { Check, ConnectionState, ConnectionStatus, ReasonCode, TokenOwner } from './reasons.js';

/** What Canvas's authorize endpoint says about the key right now (see oauth/preflight.ts). */
export type KeyProbe = { outcome: 'ready' } | { outcome: 'failed'; reason: ReasonCode; detail: string; missingScopes?: string[] };

export interface VerificationDeps {
  repo: IntegrationsRepository;
  clientFor(integration: Integration): CanvasClient;
  tokenSourceFor(integrationId: string): AccessTokenSource;
  /**
   * Asks Canvas's authorize endpoint about the key. Used only when a freshly refreshed token is
   * still refused: key OFF (`unauthorized_client`) vs. key ON (so the token owner is inactive); and
   * when the refresh token is gone: a scope removed from the key (Canvas then deletes every token
   * of the key) vs. a token revoked.
   */
  probeKey(integration: Integration): Promise<KeyProbe>;
  clock: () => Date;
}

export interface Verifier {
  /**
   * Runs every probe against Canvas and stores the resulting status: `verified` only when all
   * pass; `degraded` when the token works but a feature-limiting check failed; `failed` when
   * the token itself does not work. Returns the stored status. Never throws for Canvas answers.
   * @param tokenOwner recorded from the token exchange, kept when users/self cannot be read.
   */
  verify(integrationId: string, opts?: { tokenOwner?: TokenOwner }): Promise<ConnectionStatus | undefined>;
}

const PERMISSION_NAMES: Partial<Record<EndpointId, string>> = {
  'users.self': 'read own profile',
  'accounts.courses': 'Courses - view list (read_course_list) on the account',
  'courses.sections': 'Courses - view (read) / Sections',
  'courses.enrollments': 'Users - view list (read_roster)',
  'accounts.permissions': 'account membership (the token owner must be an admin of the account)',
};

/** The grade passback endpoints, probed when the integration uses the feature. */
const GRADE_ENDPOINTS: EndpointId[] = endpointsFor('grade_passback').map((e) => e.id);

type ProbeError = { reason: ReasonCode; detail: string; missingScope?: string; missingScopes?: string[]; tokenLevel: boolean };

/**
 * What a gone token means when the key probe names scopes the key no longer grants: Canvas deletes
 * every token of a key when a scope is removed from it, so the cause is `missing_scopes` naming
 * them, not a revoked token. Undefined when the probe names none (the token was revoked).
 * Shared by the health check and by a job whose token refresh Canvas refused.
 */
export function scopesRemovedFromKey(key: KeyProbe): { reason: 'missing_scopes'; detail: string; missingScopes: string[] } | undefined {
  if (key.outcome !== 'failed' || key.reason !== 'missing_scopes' || !key.missingScopes?.length) return undefined;
  const scopes = key.missingScopes;
  return {
    reason: 'missing_scopes',
    detail: `Canvas deleted the token because the developer key no longer grants ${scopes.length === 1 ? 'the scope' : 'the scopes'} ${scopes.join(', ')} (Canvas deletes every token of a key when a scope is removed from it).`,
    missingScopes: scopes,
  };
}

/**
 * The verification probes: users/self, the account's courses, one course's sections and
 * enrollments, an `include[]` probe, and SIS visibility (account permissions + fields present).
 */
export function createVerifier(deps: VerificationDeps): Verifier {
  const { repo, clock } = deps;

  async function explain(err: unknown, endpoint: EndpointId, integration: Integration): Promise<ProbeError> {
    if (err instanceof TokenUnavailableError) {
      if (err.reason === 'token_revoked') {
        // Canvas deletes every token of a key when a scope is removed from it: name the scopes.
        const removed = scopesRemovedFromKey(await deps.probeKey(integration));
        if (removed) return { ...removed, tokenLevel: true };
      }
      return { reason: err.reason, detail: err.message, ...(err.missingScopes.length ? { missingScopes: err.missingScopes } : {}), tokenLevel: true };
    }
    if (!isCanvasApiError(err)) return { reason: 'canvas_unreachable', detail: 'Unexpected error while calling Canvas.', tokenLevel: false };
    switch (err.kind) {
      case 'insufficient_scopes': {
        const scope = err.missingScope ?? scopeFor(endpoint);
        return { reason: 'missing_scopes', detail: `Canvas refused ${scope}: Insufficient scopes on access token.`, missingScope: scope, tokenLevel: false };
      }
      case 'unauthorized':
        return {
          reason: 'user_not_authorized',
          detail: `The token owner's role lacks the permission: ${PERMISSION_NAMES[endpoint] ?? endpoint}.`,
          tokenLevel: false,
        };
      case 'token_invalid': {
        if (err.tokenProblem === 'revoked') return { reason: 'token_revoked', detail: 'Canvas says the token was revoked.', tokenLevel: true };
        // The client already refreshed once and Canvas still refuses the new token.
        const key = await deps.probeKey(integration);
        if (key.outcome === 'failed' && (key.reason === 'developer_key_off' || key.reason === 'invalid_client')) {
          return { reason: key.reason, detail: `Canvas refuses the token: ${key.detail}`, tokenLevel: true };
        }
        return {
          reason: 'token_owner_inactive',
          detail: 'Canvas refuses a freshly refreshed token while the key is ON: the account that generated it is suspended or deleted.',
          tokenLevel: true,
        };
      }
      case 'throttled':
        return { reason: 'throttled', detail: 'Canvas kept throttling the probe.', tokenLevel: false };
      case 'not_found':
        return { reason: 'user_not_authorized', detail: `Canvas answered 404 for ${endpoint} (is account "${integration.accountId}" right?).`, tokenLevel: false };
      default:
        if (err.refused) return { reason: 'canvas_unreachable', detail: `Canvas was not called: ${err.refused}.`, tokenLevel: true };
        return { reason: 'canvas_unreachable', detail: `Canvas did not answer ${endpoint} properly (${err.kind}${err.status ? `, HTTP ${err.status}` : ''}).`, tokenLevel: err.kind !== 'bad_request' };
    }
  }

  /**
   * grade_scopes: each grade passback endpoint is called against ids that do not exist (course
   * and assignment `0`), so nothing is read or written. Canvas checks a scoped token before it
   * looks anything up: `Insufficient scopes` names a scope the key lacks, a 404 proves the scope
   * is granted. One check for the feature, listing every missing scope.
   */
  async function gradeScopeProbe(
    client: CanvasClient,
    auth: AccessTokenSource,
    integration: Integration,
    fail: (name: string, e: ProbeError) => void,
    checks: Check[],
  ): Promise<void> {
    const missing: string[] = [];
    let other: ProbeError | undefined;
    const none = { course_id: '0', assignment_id: '0', id: '0' };
    for (const endpoint of GRADE_ENDPOINTS) {
      try {
        const ep = ENDPOINTS[endpoint];
        await client.request({ endpoint, path: none, ...(ep.method === 'POST' ? { form: {} } : {}) }, auth);
      } catch (err) {
        if (isCanvasApiError(err) && err.kind === 'not_found') continue;
        const e = await explain(err, endpoint, integration);
        if (e.reason === 'missing_scopes' && e.missingScope) missing.push(e.missingScope);
        else other ??= e;
      }
    }
    if (missing.length > 0) {
      for (const scope of missing) fail('grade_scopes', { reason: 'missing_scopes', detail: '', missingScope: scope, tokenLevel: false });
      // One check for the feature, naming every scope it lacks.
      const merged = checks.filter((c) => c.name === 'grade_scopes');
      for (const c of merged) checks.splice(checks.indexOf(c), 1);
      checks.push({
        name: 'grade_scopes',
        ok: false,
        reason: 'missing_scopes',
        detail: `Grade passback is on, and the key does not grant ${missing.length} of its scopes: ${missing.join(', ')}.`,
      });
    } else if (other) {
      fail('grade_scopes', other);
    } else {
      checks.push({ name: 'grade_scopes', ok: true, detail: 'The key grants every grade passback scope.' });
    }
  }

  return {
    async verify(integrationId, opts = {}) {
      const integration = await repo.get(integrationId);
      if (!integration) return undefined;
      const client = deps.clientFor(integration);
      const auth = deps.tokenSourceFor(integrationId);
      const checks: Check[] = [];
      const missingScopes = new Set<string>();
      let tokenOwner = opts.tokenOwner ?? integration.status.tokenOwner;
      let tokenDead: ProbeError | undefined;
      const account = { account_id: integration.accountId };

      const fail = (name: string, e: ProbeError) => {
        if (e.missingScope) missingScopes.add(e.missingScope);
        for (const scope of e.missingScopes ?? []) missingScopes.add(scope);
        checks.push({ name, ok: false, reason: e.reason, detail: e.detail });
      };

      // users_self: the token works and whose it is.
      try {
        const r = await client.request<{ id: number | string; name?: string }>({ endpoint: 'users.self', path: { id: 'self' } }, auth);
        tokenOwner = { id: String(r.body.id), name: r.body.name ?? '' };
        checks.push({ name: 'users_self', ok: true, detail: `The token belongs to ${tokenOwner.name} (Canvas user ${tokenOwner.id}).` });
      } catch (err) {
        const e = await explain(err, 'users.self', integration);
        fail('users_self', e);
        if (e.tokenLevel) tokenDead = e;
      }

      let course: Record<string, unknown> | undefined;
      // Probes follow the integration's features: a key scoped without a feature's endpoints is not degraded for them.
      const uses = (f: IntegrationFeature) => integration.features.includes(f);
      if (!tokenDead) {
        if (uses('course_refresh')) try {
          const r = await client.request<Array<Record<string, unknown>>>({ endpoint: 'accounts.courses', path: account, query: { per_page: 10 } }, auth);
          course = r.body.find((c) => c.workflow_state !== 'deleted') ?? r.body[0];
          checks.push({
            name: 'account_courses',
            ok: true,
            detail: course ? `The account's course list is readable (e.g. "${String(course.name ?? course.id)}").` : 'The account course list is readable (it is empty).',
          });
        } catch (err) {
          fail('account_courses', await explain(err, 'accounts.courses', integration));
        }

        const courseId = course ? String(course.id) : undefined;
        for (const [name, endpoint, feature] of [
          ['course_sections', 'courses.sections', 'course_refresh'],
          ['enrollments', 'courses.enrollments', 'roster_sync'],
        ] as const) {
          if (!uses(feature)) continue;
          if (!uses('course_refresh')) {
            // No course list to pick a course from: a course that does not exist proves the scope (404) without reading anything.
            try {
              await client.request({ endpoint, path: { course_id: '0' }, query: { per_page: 1 } }, auth);
              checks.push({ name, ok: true, detail: 'The key grants this scope.' });
            } catch (err) {
              if (isCanvasApiError(err) && err.kind === 'not_found') checks.push({ name, ok: true, detail: 'The key grants this scope (probed without a course).' });
              else fail(name, await explain(err, endpoint, integration));
            }
            continue;
          }
          if (!courseId) {
            checks.push({ name, ok: true, detail: 'Not probed: no course was found to probe with. It is re-checked once the account has courses.' });
            continue;
          }
          try {
            await client.request({ endpoint, path: { course_id: courseId }, query: { per_page: 1 } }, auth);
            checks.push({ name, ok: true, detail: `Readable for course ${courseId}.` });
          } catch (err) {
            fail(name, await explain(err, endpoint, integration));
          }
        }

        // include_params: a scoped key without "Allow Include Parameters" silently drops include[].
        if (!uses('course_refresh')) {
          // Probed with a course's sections, which this integration does not read.
        } else if (courseId) {
          try {
            const r = await client.request<Array<Record<string, unknown>>>(
              { endpoint: 'courses.sections', path: { course_id: courseId }, query: { 'include[]': ['total_students'], per_page: 1 } },
              auth,
            );
            const first = r.body[0];
            if (!first || 'total_students' in first) {
              checks.push({ name: 'include_params', ok: true, detail: first ? 'Canvas honours include[] parameters.' : 'The probed course has no sections; include[] could not be observed.' });
            } else {
              checks.push({ name: 'include_params', ok: false, reason: 'includes_not_allowed', detail: 'Sent include[]=total_students and the field did not come back: "Allow Include Parameters" is off on the key.' });
            }
          } catch (err) {
            fail('include_params', await explain(err, 'courses.sections', integration));
          }
        } else {
          checks.push({ name: 'include_params', ok: true, detail: 'Not probed: no course was found to probe with.' });
        }

        // sis_visibility: needed when the chosen ID types are SIS fields.
        const needsSis = integration.courseIdType !== 'canvas_id' || integration.userIdType === 'sis_user_id' || integration.userIdType === 'integration_id';
        try {
          const r = await client.request<Record<string, boolean>>(
            { endpoint: 'accounts.permissions', path: account, query: { 'permissions[]': ['read_sis', 'manage_sis', ...(uses('grade_passback') ? ['manage_grades'] : [])] } },
            auth,
          );
          // Grade passback needs "Grades - edit": an account admin's role grants it for the account's courses.
          if (uses('grade_passback')) {
            checks.push(
              r.body.manage_grades
                ? { name: 'grade_permission', ok: true, detail: 'The token owner may edit grades (Grades - edit).' }
                : {
                    name: 'grade_permission',
                    ok: false,
                    reason: 'user_not_authorized',
                    detail: 'The token owner\'s role lacks the permission "Grades - edit" (manage_grades) on the account, so Canvas refuses to create assignments and post scores. Grant it to the role in Canvas (Admin > Permissions), then check again.',
                  },
            );
          }
          const canReadSis = Boolean(r.body.read_sis || r.body.manage_sis);
          const courseHidesSis = course !== undefined && integration.courseIdType === 'sis_course_id' && !('sis_course_id' in course);
          if (!needsSis) {
            checks.push({ name: 'sis_visibility', ok: true, detail: `The chosen ID types (${integration.courseIdType}, ${integration.userIdType}) do not need SIS data.` });
          } else if (!canReadSis || courseHidesSis) {
            checks.push({
              name: 'sis_visibility',
              ok: false,
              reason: 'sis_ids_hidden',
              detail: `The token owner lacks "SIS Data - read" (read_sis), so ${integration.courseIdType}/${integration.userIdType} come back empty.`,
            });
          } else {
            checks.push({ name: 'sis_visibility', ok: true, detail: 'The token owner may read SIS ids.' });
          }
        } catch (err) {
          fail('sis_visibility', await explain(err, 'accounts.permissions', integration));
        }

        if (integration.features.includes('grade_passback')) await gradeScopeProbe(client, auth, integration, fail, checks);
      }

      const reasons = [...new Set(checks.flatMap((c) => (c.reason ? [c.reason] : [])))];
      // `verified` only when every probe passed on this check (a Canvas outage is not verification).
      const state: ConnectionState = reasons.length === 0 ? 'verified' : tokenDead ? 'failed' : 'degraded';
      const now = clock().toISOString();
      const status: ConnectionStatus = {
        state,
        reasons,
        missingScopes: [...missingScopes].sort(),
        checks,
        tokenOwner,
        verifiedAt: state === 'verified' ? now : null,
        checkedAt: now,
        lastAttempt: integration.status.lastAttempt ?? null,
      };
      await repo.setStatus(integrationId, status);
      return status;
    },
  };
}

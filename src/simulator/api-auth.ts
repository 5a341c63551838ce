import { json, type SimRequest, type SimResponse } from './http-kit.js';
import { bearerToken } from './oauth-routes.js';
import type { SandboxState, TokenRecord } from './sandbox-state.js';
import type { DeveloperKey, User } from './world.js';

/**
 * API authentication as Canvas answers it: token problems carry
 * `WWW-Authenticate: Bearer realm="canvas-lms"`, insufficient scopes and permission denials don't.
 */

export const WWW_AUTH = { 'WWW-Authenticate': 'Bearer realm="canvas-lms"' };

export interface ApiCaller {
  token: TokenRecord;
  user: User;
  key: DeveloperKey;
}

function tokenError(message: string, extra: Record<string, unknown> = {}): SimResponse {
  return json(401, { errors: [{ message, ...extra }] }, WWW_AUTH);
}

/** Resolves the caller or answers the documented 401. */
export function authenticate(req: SimRequest, state: SandboxState): ApiCaller | SimResponse {
  const presented = bearerToken(req);
  if (!presented) return json(401, { status: 'unauthenticated', errors: [{ message: 'user authorization required' }] }, WWW_AUTH);
  const token = state.byAccess.get(presented);
  if (!token) return tokenError('Invalid access token.');
  const modern = state.settings.tokenErrorStyle === 'modern';
  if (token.state === 'deleted') return tokenError(modern ? 'Revoked access token.' : 'Invalid access token.');
  const now = state.now();
  if (token.permanentExpiresAt !== undefined && token.permanentExpiresAt < now) {
    return modern
      ? tokenError('Expired access token.', { expired_at: new Date(token.permanentExpiresAt).toISOString() })
      : tokenError('Invalid access token.');
  }
  if (token.expiresAt < now) return tokenError('Invalid access token.');
  const key = state.findKey(token.keyId);
  const user = state.user(token.userId);
  if (!key || key.workflowState !== 'active' || key.binding !== 'on' || !user || user.suspended) {
    return tokenError('Invalid access token.');
  }
  return { token, user, key };
}

/**
 * `url:<METHOD>|<path>` → anchored regex: `:param` → `[^/]+`, `*glob` → `.+`, `(opt)` optional,
 * optional `.format` suffix.
 */
export function scopeRegex(path: string): RegExp {
  let src = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch === ':' || ch === '*') {
      const m = /^[A-Za-z0-9_]+/.exec(path.slice(i + 1));
      if (m) {
        src += ch === ':' ? '[^/]+' : '.+';
        i += m[0].length;
        continue;
      }
    }
    if (ch === '(') src += '(?:';
    else if (ch === ')') src += ')?';
    else src += ch.replace(/[.+?^${}|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${src}(?:\\.[^/]+)?$`);
}

/** Whether the token's scopes cover this request (HEAD counts as GET; the token endpoint always passes). */
export function scopeAllows(scopes: string[], method: string, path: string): boolean {
  if (path === '/login/oauth2/token') return true;
  const verb = method === 'HEAD' ? 'GET' : method;
  return scopes.some((s) => {
    const m = /^url:([A-Z]+)\|(.+)$/.exec(s);
    return m !== null && m[1] === verb && scopeRegex(m[2]!).test(path);
  });
}

/**
 * Scope enforcement and `include[]` filtering for scoped keys (without `allow_includes`,
 * `include[]` is cut down to `uuid`, not rejected). Mutates the
 * request's params like Canvas does; returns the 401 when the path is not covered.
 */
export function enforceScopes(req: SimRequest, caller: ApiCaller): SimResponse | undefined {
  if (!caller.key.requireScopes) return undefined;
  if (!scopeAllows(caller.token.scopes, req.method, req.path)) {
    return json(401, { errors: [{ message: 'Insufficient scopes on access token.' }] });
  }
  if (!caller.key.allowIncludes) {
    for (const name of ['include', 'includes']) {
      // Only `params` is filtered: pagination links are built from the raw query string, as in Rails.
      const v = req.params[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) req.params[name] = v.filter((x) => x === 'uuid');
      else delete req.params[name];
    }
  }
  return undefined;
}

/** `user not authorized to perform that action` (401, or 403 with api_auth_error_updates). */
export function permissionDenied(state: SandboxState): SimResponse {
  return json(state.settings.permissionDeniedStatus, { status: 'unauthorized', errors: [{ message: 'user not authorized to perform that action' }] });
}

import type { Request, Response } from 'express';
import type { ThrottleSettings } from './leaky-bucket.js';
import { emptyCounters, type Counters, type FaultKind, type SandboxSettings, type SandboxState } from './sandbox-state.js';
import type { AdminPermissions, DeveloperKey } from './world.js';

/**
 * Fault injection and inspection for tests and demos. Every method is also reachable over HTTP:
 * `GET /__sandbox/counters`, and `POST /__sandbox/<method>` with the method's argument as the
 * JSON body (e.g. `POST /__sandbox/setKey {"binding":"off"}`); the answer is `{"result": …}`.
 * `keyId` defaults to the world's first developer key.
 */
export interface SandboxControl {
  /** Changes key fields: binding on/off, workflowState (deactivate), requireScopes, allowIncludes, trusted, ... */
  setKey(args: { keyId?: string } & Partial<Omit<DeveloperKey, 'id'>>): DeveloperKey;
  /** Adds scopes; existing tokens keep working without gaining them (reference §8.3). */
  addScopes(args: { keyId?: string; scopes: string[] }): DeveloperKey;
  /** Removes scopes and, as Canvas does, deletes every token of the key. Returns tokens deleted. */
  removeScopes(args: { keyId?: string; scopes: string[] }): number;
  /** Deletes (revokes) tokens of a user and/or key (all when neither given). Returns how many. */
  revokeTokens(args?: { userId?: string; keyId?: string }): number;
  /** Makes access tokens need a refresh now (refresh tokens stay valid). Returns how many. */
  expireTokens(args?: { userId?: string; keyId?: string }): number;
  suspendUser(args: { userId: string; suspended?: boolean }): void;
  /** Overrides some admin permissions of a user (creates the admin role on the root account if absent). */
  setPermissions(args: { userId: string; permissions: Partial<AdminPermissions> }): void;
  /** Changes runtime settings: latencyMs, requestCost, rateLimitMode, permissionDeniedStatus, tokenTtlSeconds, ... */
  configure(args: Partial<Omit<SandboxSettings, 'throttle'>> & { throttle?: Partial<ThrottleSettings> }): SandboxSettings;
  /** The next `count` (default 1) requests whose path matches the regex `path` get the fault. */
  injectFault(args: { path: string; method?: string; kind: FaultKind; count?: number }): void;
  clearFaults(): void;
  /** A snapshot of the counters (exact: tests assert on them). */
  counters(): Counters;
  resetCounters(): void;
  /** Empties every throttle bucket. */
  resetThrottle(): void;
  /** Active access tokens (ids only, never the secrets), for assertions. */
  activeTokens(args?: { userId?: string; keyId?: string }): Array<{ id: number; userId: string; keyId: string; scopes: string[] }>;
  handleHttp(req: Request, res: Response, method: string): Promise<void>;
}

const HTTP_METHODS = [
  'setKey',
  'addScopes',
  'removeScopes',
  'revokeTokens',
  'expireTokens',
  'suspendUser',
  'setPermissions',
  'configure',
  'injectFault',
  'clearFaults',
  'counters',
  'resetCounters',
  'resetThrottle',
  'activeTokens',
] as const;

export function createControl(state: SandboxState): SandboxControl {
  function key(keyId?: string): DeveloperKey {
    const k = keyId ? state.findKey(keyId) : state.world.developerKeys[0];
    if (!k) throw new Error(`unknown developer key ${keyId ?? '(none in world)'}`);
    return k;
  }
  const matching = (args: { userId?: string; keyId?: string } = {}) =>
    state.tokens.filter((t) => t.state === 'active' && (!args.userId || t.userId === args.userId) && (!args.keyId || t.keyId === key(args.keyId).id));

  const control: SandboxControl = {
    setKey({ keyId, ...fields }) {
      const k = key(keyId);
      const removed = fields.scopes ? k.scopes.filter((s) => !fields.scopes!.includes(s)) : [];
      Object.assign(k, fields);
      if (removed.length) for (const t of matching({ keyId: k.id })) state.deleteToken(t);
      return k;
    },
    addScopes({ keyId, scopes }) {
      const k = key(keyId);
      k.scopes = [...new Set([...k.scopes, ...scopes])];
      return k;
    },
    removeScopes({ keyId, scopes }) {
      const k = key(keyId);
      k.scopes = k.scopes.filter((s) => !scopes.includes(s));
      const tokens = matching({ keyId: k.id });
      for (const t of tokens) state.deleteToken(t);
      return tokens.length;
    },
    revokeTokens(args) {
      const tokens = matching(args);
      for (const t of tokens) state.deleteToken(t);
      return tokens.length;
    },
    expireTokens(args) {
      const tokens = matching(args);
      for (const t of tokens) t.expiresAt = state.now() - 1;
      return tokens.length;
    },
    suspendUser({ userId, suspended = true }) {
      const u = state.user(userId);
      if (!u) throw new Error(`unknown user ${userId}`);
      u.suspended = suspended;
    },
    setPermissions({ userId, permissions }) {
      const u = state.user(userId);
      if (!u) throw new Error(`unknown user ${userId}`);
      u.admin ??= { accountId: state.world.rootAccountId, role: 'Account Admin', permissions: {} };
      u.admin.permissions = { ...u.admin.permissions, ...permissions };
    },
    configure({ throttle, ...rest }) {
      Object.assign(state.settings, rest);
      if (throttle) state.settings.throttle = { ...state.settings.throttle, ...throttle };
      return state.settings;
    },
    injectFault({ path, method, kind, count = 1 }) {
      new RegExp(path);
      state.faults.push({ path, method: method?.toUpperCase(), kind, remaining: count });
    },
    clearFaults() {
      state.faults = [];
    },
    counters() {
      return structuredClone(state.counters);
    },
    resetCounters() {
      const inFlight = state.counters.inFlight;
      state.counters = { ...emptyCounters(), inFlight, peakConcurrency: inFlight };
    },
    resetThrottle() {
      state.buckets.reset();
    },
    activeTokens(args) {
      return matching(args).map((t) => ({ id: t.id, userId: t.userId, keyId: t.keyId, scopes: t.scopes }));
    },
    async handleHttp(req, res, method) {
      const fn = (HTTP_METHODS as readonly string[]).includes(method) ? method : undefined;
      if (!fn) {
        res.status(404).json({ error: `unknown control method ${method}` });
        return;
      }
      let args: unknown = undefined;
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          args = raw ? JSON.parse(raw) : undefined;
        } catch {
          res.status(400).json({ error: 'body must be JSON' });
          return;
        }
      }
      try {
        const result = (control as unknown as Record<string, (a: unknown) => unknown>)[fn]!(args ?? {});
        res.status(200).json({ result: result ?? null });
      } catch (err) {
        res.status(400).json({ error: (err as Error).message });
      }
    },
  };
  return control;
}

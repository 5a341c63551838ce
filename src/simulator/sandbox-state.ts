import { randomBytes } from 'node:crypto';
import { createLeakyBuckets, DEFAULT_THROTTLE, type LeakyBuckets, type ThrottleSettings } from './leaky-bucket.js';
import type { DeveloperKey, User, World } from './world.js';

/** Runtime knobs; all can be changed while the sandbox runs (see control). */
export interface SandboxSettings {
  /** Delay applied while each request is in flight (so the throttle sees concurrency). */
  latencyMs: number;
  throttle: ThrottleSettings;
  /** Cost charged per request in seconds; by default a deterministic per-endpoint value. */
  requestCost?: number;
  /** `429` (hosted Canvas since 2025-10, default) or `403` (open-source Canvas). */
  rateLimitMode: '403' | '429';
  /**
   * `error` of a refresh with an unknown or revoked refresh token: `invalid_grant` (hosted Canvas,
   * default) or `invalid_request` (the open-source code).
   */
  refreshNotFoundError: 'invalid_grant' | 'invalid_request';
  /**
   * `json` (default): token-endpoint errors are JSON. `redirect`: an old self-hosted Canvas that
   * 302-redirects token-endpoint errors to the request's `redirect_uri` (JSON when it is absent or OOB).
   */
  tokenEndpointErrors: 'json' | 'redirect';
  /** Status of `user not authorized to perform that action` (Site Admin flag api_auth_error_updates). */
  permissionDeniedStatus: 401 | 403;
  tokenTtlSeconds: number;
  /**
   * `modern` (default): revoked tokens answer `Revoked access token.`, tokens past their permanent
   * expiry `Expired access token.`; `classic`: every token problem is `Invalid access token.`
   */
  tokenErrorStyle: 'modern' | 'classic';
  /** How long a provisioning report takes to become `complete`. */
  reportDelayMs: number;
  canvasRegion: string;
  /** Reject API requests without a User-Agent (Canvas production since January 2026). */
  requireUserAgent: boolean;
  /**
   * `GET /api/v1/progress/:id` calls a job needs to finish: the first answers `running`, the last
   * runs the job and answers `completed` / `failed` (0: the first GET already finishes it).
   */
  progressPolls: number;
  /**
   * Host name a report's `file_url` and `attachment.url` use instead of the request's (same scheme
   * and port), e.g. `localhost` for a sandbox reached at 127.0.0.1: plays a Canvas that names its
   * files on another of its names (vanity domain vs `*.instructure.com`). Null: the request's host.
   */
  reportFileHost: string | null;
  /**
   * How long after it was queued a bulk grade job runs on its own, polled or not (Canvas's job
   * queue does not wait for anyone to ask). Checked whenever the sandbox answers a request or
   * its counters are read.
   */
  progressRunMs: number;
}

export interface TokenRecord {
  id: number;
  userId: string;
  keyId: string;
  accessToken: string;
  refreshToken: string;
  /** Scopes granted (only recorded when the key enforced scopes at issue time). */
  scopes: string[];
  purpose?: string;
  /** ms epoch; past it the token needs a refresh (`Invalid access token.`). */
  expiresAt: number;
  /** ms epoch; hard expiry (public clients). */
  permanentExpiresAt?: number;
  state: 'active' | 'deleted';
}

export interface PendingOAuth {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  purpose?: string;
  state?: string;
  nonce?: string;
  codeChallenge?: string;
}

export interface BrowserSession {
  id: string;
  userId?: string;
  oauth?: PendingOAuth;
  csrf: string;
}

export interface CodeRecord {
  userId: string;
  clientId: string;
  scopes: string[];
  purpose?: string;
  codeChallenge?: string;
  createdAt: number;
}

export interface ReportRecord {
  id: number;
  accountId: string;
  report: string;
  parameters: Record<string, string>;
  createdAt: number;
  fileId: number;
  /** The tables, built when the report started (file name → CSV text). */
  files: Record<string, string>;
  /** Data rows over all tables (`current_line` once compiled). */
  rows: number;
  /** The served file (one CSV, or the zip), built on first use. */
  body?: Buffer;
  /** Builds `files`, `rows` and `body` while the report is still to be built (then unset). */
  build?: () => void;
  /** Set by abort / delete; otherwise the status follows the clock. */
  finalState?: 'aborted' | 'deleted';
  stoppedFraction?: number;
  endedAt?: number;
}

/** A background job's Progress (bulk grade update). */
export interface ProgressRecord {
  id: number;
  courseId: string;
  userId: string;
  tag: string;
  createdAt: number;
  updatedAt: number;
  /** GETs seen so far; the job finishes after `settings.progressPolls` of them. */
  polls: number;
  workflowState: 'queued' | 'running' | 'completed' | 'failed';
  message: string | null;
  /** Runs the job once (stores the grades) and returns the failure message, if any. */
  run: () => string | null;
}

/** `unauthorized`: Canvas's "user not authorized to perform that action" answer (a permission refusal). */
export type FaultKind = '500' | '502' | '503' | 'timeout' | 'malformed' | 'reset' | 'unauthorized';

export interface Fault {
  /** Regular expression (source) tested against the request path. */
  path: string;
  method?: string;
  kind: FaultKind;
  /** How many matching requests still get the fault. */
  remaining: number;
  /** The request is handled (Canvas acts on it) and only then is its answer replaced by the fault. */
  afterApplying?: boolean;
}

export interface Counters {
  /** Requests per endpoint, keyed `METHOD /route/:template`. */
  requests: Record<string, number>;
  tokenGrants: { authorization_code: number; refresh_token: number };
  throttled: number;
  /** Writes that change grades: update_grades calls, grades stored by finished jobs, assignments created. */
  writes: { updateGrades: number; gradesStored: number; assignmentsCreated: number };
  peakConcurrency: number;
  inFlight: number;
  faultsInjected: number;
}

export interface SandboxState {
  world: World;
  settings: SandboxSettings;
  clock: () => Date;
  now(): number;
  buckets: LeakyBuckets;
  tokens: TokenRecord[];
  /** Current and revoked access strings; a refreshed (replaced) string is removed. */
  byAccess: Map<string, TokenRecord>;
  byRefresh: Map<string, TokenRecord>;
  codes: Map<string, CodeRecord>;
  sessions: Map<string, BrowserSession>;
  reports: Map<number, ReportRecord>;
  progresses: Map<number, ProgressRecord>;
  faults: Fault[];
  counters: Counters;
  nextId(): number;
  findKey(clientId: string | undefined): DeveloperKey | undefined;
  user(id: string): User | undefined;
  issueToken(user: User, key: DeveloperKey, scopes: string[], purpose?: string): TokenRecord;
  regenerate(token: TokenRecord, rotateRefresh: boolean): void;
  deleteToken(token: TokenRecord): void;
}

export const DEFAULT_SETTINGS: SandboxSettings = {
  latencyMs: 0,
  throttle: DEFAULT_THROTTLE,
  rateLimitMode: '429',
  refreshNotFoundError: 'invalid_grant',
  tokenEndpointErrors: 'json',
  permissionDeniedStatus: 401,
  tokenTtlSeconds: 3600,
  tokenErrorStyle: 'modern',
  reportDelayMs: 50,
  canvasRegion: 'us-east-1',
  requireUserAgent: true,
  progressPolls: 2,
  reportFileHost: null,
  progressRunMs: 2000,
};

/** `CanvasSlug.generate(nil, 64)`: 64 URL-safe random characters. */
export function slug64(): string {
  return randomBytes(48).toString('base64url');
}

export function emptyCounters(): Counters {
  return {
    requests: {},
    tokenGrants: { authorization_code: 0, refresh_token: 0 },
    throttled: 0,
    writes: { updateGrades: 0, gradesStored: 0, assignmentsCreated: 0 },
    peakConcurrency: 0,
    inFlight: 0,
    faultsInjected: 0,
  };
}

const SHARD = 10_000_000_000_000n;

export function createSandboxState(world: World, settings: SandboxSettings, clock: () => Date): SandboxState {
  let seq = 1000;
  const usersById = new Map<string, User>();
  const state: SandboxState = {
    world,
    settings,
    clock,
    now: () => clock().getTime(),
    buckets: createLeakyBuckets(() => state.settings.throttle),
    tokens: [],
    byAccess: new Map(),
    byRefresh: new Map(),
    codes: new Map(),
    sessions: new Map(),
    reports: new Map(),
    progresses: new Map(),
    faults: [],
    counters: emptyCounters(),
    nextId: () => ++seq,
    findKey(clientId) {
      if (!clientId || !/^-?\d+$/.test(clientId)) return undefined;
      const n = BigInt(clientId);
      if (n < 0n || n.toString(2).length >= 64) return undefined;
      return world.developerKeys.find((k) => {
        const id = BigInt(k.id);
        return id === n || id % SHARD === n;
      });
    },
    user(id) {
      if (usersById.size !== world.users.length) {
        usersById.clear();
        for (const u of world.users) usersById.set(u.id, u);
      }
      return usersById.get(id) ?? world.users.find((u) => u.id === id);
    },
    issueToken(user, key, scopes, purpose) {
      const token: TokenRecord = {
        id: state.nextId(),
        userId: user.id,
        keyId: key.id,
        accessToken: slug64(),
        refreshToken: slug64(),
        scopes,
        purpose,
        expiresAt: state.now() + state.settings.tokenTtlSeconds * 1000,
        state: 'active',
      };
      if (key.publicClient) token.permanentExpiresAt = state.now() + 2 * 3600 * 1000;
      state.tokens.push(token);
      state.byAccess.set(token.accessToken, token);
      state.byRefresh.set(token.refreshToken, token);
      return token;
    },
    regenerate(token, rotateRefresh) {
      state.byAccess.delete(token.accessToken);
      token.accessToken = slug64();
      token.expiresAt = state.now() + state.settings.tokenTtlSeconds * 1000;
      state.byAccess.set(token.accessToken, token);
      if (rotateRefresh) {
        state.byRefresh.delete(token.refreshToken);
        token.refreshToken = slug64();
        token.permanentExpiresAt = state.now() + 2 * 3600 * 1000;
        state.byRefresh.set(token.refreshToken, token);
      }
    },
    deleteToken(token) {
      token.state = 'deleted';
      state.byRefresh.delete(token.refreshToken);
    },
  };
  return state;
}

/** Global id as Canvas renders it in `user.global_id` (shard 1). */
export function globalId(id: string): string {
  return String(SHARD + BigInt(id));
}

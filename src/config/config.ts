import { isIP } from 'node:net';
import { z } from 'zod';

/** The service's typed configuration. Built only by {@link loadConfig}; nothing else reads `process.env`. */
export interface Config {
  port: number;
  /** Base of every absolute URL the service hands out, without a trailing slash. */
  publicUrl: string;
  /** `{publicUrl}/oauth/callback`: the redirect URI that must be on the developer key. */
  redirectUri: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  /** Folder for the embedded default's files (SQLite file, generated secret key). */
  dataDir: string;
  /** Raw `SECRET_KEY` value, if set; the vault parses it and may generate one into `dataDir`. */
  secretKey: string | undefined;
  bootstrapApiToken: string | undefined;
  /** `METRICS_TOKEN`: a scrape-only bearer token for `/metrics` (a staff API token works too). */
  metricsToken: string | undefined;
  allowInsecureCanvasUrls: boolean;
  /** Minutes between scheduled health checks of every connected integration; 0 turns them off. */
  healthCheckIntervalMinutes: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Whether cookies get `Secure` (true when PUBLIC_URL is https). */
  secureCookies: boolean;
  /**
   * Express's `trust proxy`: which peers' `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
   * `false` (the default) trusts none, a number trusts that many hops, a list trusts those
   * addresses, CIDR ranges or Express names (`loopback`, `linklocal`, `uniquelocal`).
   */
  trustProxy: false | number | string[];
}

/** Thrown by {@link loadConfig}; `problems` lists every bad variable at once, each naming the fix. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const boolFlag = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return false;
      const s = v.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(s)) return true;
      if (['false', '0', 'no', 'off'].includes(s)) return false;
      ctx.addIssue({ code: 'custom', message: `${name} must be true or false (got "${v}")` });
      return z.NEVER;
    });

const intIn = (name: string, min: number, max: number, def: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max} (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

const envSchema = z.object({
  PORT: intIn('PORT', 0, 65535, 3000),
  PUBLIC_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  SECRET_KEY: z.string().optional(),
  BOOTSTRAP_API_TOKEN: z.string().optional(),
  METRICS_TOKEN: z.string().optional(),
  ALLOW_INSECURE_CANVAS_URLS: boolFlag('ALLOW_INSECURE_CANVAS_URLS'),
  HEALTH_CHECK_INTERVAL_MINUTES: intIn('HEALTH_CHECK_INTERVAL_MINUTES', 0, 7 * 24 * 60, 60),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .optional(),
  DATA_DIR: z.string().optional(),
  TRUST_PROXY: z.string().optional(),
});

/** The variables {@link loadConfig} reads; `.env.example` must list exactly these (a test checks). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);

/**
 * Parses the environment into a {@link Config}. Pure: pass `process.env` from the entry point.
 * @throws ConfigError listing every problem at once (the entry point prints it and exits non-zero).
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? '');
      problems.push(issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`);
    }
  }
  const e = parsed.success ? parsed.data : undefined;
  const port = e?.PORT ?? 3000;

  let publicUrl = `http://localhost:${port}`;
  if (env.PUBLIC_URL !== undefined && env.PUBLIC_URL.trim() !== '') {
    try {
      const u = new URL(env.PUBLIC_URL.trim());
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      if (u.search || u.hash) throw new Error('query');
      publicUrl = u.toString().replace(/\/+$/, '');
    } catch {
      problems.push(
        `PUBLIC_URL must be an absolute http or https URL without query or fragment, e.g. https://exams.example.edu (got "${env.PUBLIC_URL}")`,
      );
    }
  }

  const dataDir = env.DATA_DIR?.trim() || './data';
  let database: Config['database'] = { kind: 'sqlite', file: `${dataDir}/canvas-companion.sqlite` };
  const dbUrl = env.DATABASE_URL?.trim();
  if (dbUrl) {
    if (dbUrl.startsWith('sqlite:')) {
      const file = dbUrl.slice('sqlite:'.length);
      if (!file) problems.push('DATABASE_URL: a sqlite URL needs a file, e.g. sqlite:./data/canvas-companion.sqlite');
      database = { kind: 'sqlite', file };
    } else if (/^postgres(ql)?:\/\//.test(dbUrl)) {
      database = { kind: 'postgres', url: dbUrl };
    } else {
      problems.push('DATABASE_URL must start with sqlite: or postgres:// (e.g. postgres://user@host:5432/db)');
    }
  }

  const secretKey = env.SECRET_KEY?.trim() || undefined;
  if (database.kind === 'postgres' && !secretKey) {
    problems.push(
      'SECRET_KEY is required with Postgres (every instance must share it): generate one with `npm run cli -- secrets generate-key`',
    );
  }
  const bootstrap = env.BOOTSTRAP_API_TOKEN?.trim() || undefined;
  if (bootstrap !== undefined && bootstrap.length < 24) {
    problems.push('BOOTSTRAP_API_TOKEN must be at least 24 characters (use a long random value)');
  }

  const metricsToken = env.METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && metricsToken.length < 24) {
    problems.push('METRICS_TOKEN must be at least 24 characters (use a long random value)');
  }

  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems);

  if (problems.length > 0 || !e) throw new ConfigError(problems);
  return {
    port,
    publicUrl,
    redirectUri: `${publicUrl}/oauth/callback`,
    database,
    dataDir,
    secretKey,
    bootstrapApiToken: bootstrap,
    metricsToken,
    allowInsecureCanvasUrls: e.ALLOW_INSECURE_CANVAS_URLS,
    healthCheckIntervalMinutes: e.HEALTH_CHECK_INTERVAL_MINUTES,
    logLevel: e.LOG_LEVEL ?? 'info',
    secureCookies: publicUrl.startsWith('https://'),
    trustProxy,
  };
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `TRUST_PROXY`: unset, empty or `false` → trust no proxy; a whole number 0–10 → that many hops;
 * otherwise a comma-separated list of IP addresses, CIDR ranges (`10.0.0.0/8`) or Express's
 * names. `true` (trust every peer) is refused: it would let any client choose its own address.
 */
function parseTrustProxy(raw: string | undefined, problems: string[]): Config['trustProxy'] {
  const v = raw?.trim() ?? '';
  if (v === '' || v.toLowerCase() === 'false' || v.toLowerCase() === 'none') return false;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops <= 10) return hops === 0 ? false : hops;
    problems.push(`TRUST_PROXY as a hop count must be from 0 to 10 (got "${raw}")`);
    return false;
  }
  if (v.toLowerCase() === 'true') {
    problems.push('TRUST_PROXY=true would trust X-Forwarded-For from anyone: list your proxies\' addresses instead, e.g. TRUST_PROXY=10.0.0.5 or TRUST_PROXY=10.0.0.0/8');
    return false;
  }
  const entries = v.split(',').map((p) => p.trim()).filter(Boolean);
  const bad = entries.filter((p) => !PROXY_NAMES.includes(p) && !isAddressOrRange(p));
  if (bad.length > 0) {
    problems.push(
      `TRUST_PROXY must be a hop count or a comma-separated list of IP addresses, CIDR ranges or ${PROXY_NAMES.join('/')} (not understood: ${bad.map((b) => `"${b}"`).join(', ')})`,
    );
    return false;
  }
  return entries;
}

/** `10.0.0.5`, `10.0.0.0/8`, `fd00::/8`, or an IPv4 range with a netmask (`10.0.0.0/255.0.0.0`), as Express accepts. */
function isAddressOrRange(s: string): boolean {
  const [addr = '', range, extra] = s.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return false;
  if (range === undefined) return true;
  if (/^\d+$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(range) === 4;
}

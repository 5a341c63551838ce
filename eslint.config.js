// Lint holds the layer boundaries (which folder may import which library) and two type-aware rules
// that catch what the compiler does not: promises nobody awaits and switches that miss a case.
import tseslint from 'typescript-eslint';

/** Import groups a layer may be forbidden, with the reason shown to whoever adds the import. */
const RESTRICTED = {
  'openid-client': { group: ['openid-client', 'openid-client/*'], message: 'Only src/oauth/ talks OAuth: call its functions instead.' },
  ltijs: { group: ['ltijs', 'ltijs/*'], message: 'Only src/lti/ uses ltijs: go through the LTI feature.' },
  express: { group: ['express', 'express/*'], message: 'Express stays in src/http/ (and src/lti/, app.ts, main.ts, container.ts): services take plain values.' },
  kysely: { group: ['kysely', 'kysely/*'], message: 'Only the store layer (src/store/, *-repository.ts and the listed store files) queries the database.' },
  simulator: { group: ['**/simulator/**', '**/simulator'], message: 'The Canvas sandbox is for tests, benches and the demo only: product code never depends on it.' },
};

const restrict = (...names) => ['error', { patterns: names.map((n) => RESTRICTED[n]) }];

/**
 * Files outside src/store/ that are the store layer of their aggregate, besides `*-repository.ts`:
 * they may import kysely.
 */
const KYSELY_STORE_FILES = [
  'src/lti/kysely-lti-database.ts', // ltijs's database plugin on our own tables
  'src/lti/launch-store.ts', // LTI handoffs and NRPS snapshots
  'src/lti/platform-owners.ts', // which integration owns an LTI issuer + client id
  'src/lti/platform-registry.ts', // reads integrations' LTI settings to keep ltijs's platform list in line
  'src/http/session-store.ts', // express-session store on the sessions table
  'src/audit/audit-log.ts', // the audit_events table
  'src/staff/api-tokens.ts', // the api_tokens table
  'src/staff/login-throttle.ts', // the login_attempts counters
  'src/staff/platform-admin.ts', // platform admin flags on staff_users
  'src/staff/staff-users.ts', // the staff_users table
  'src/vault/rotate.ts', // re-encrypts every encrypted column in place, table by table
];

/**
 * Product code, split into zones that do not overlap (ESLint replaces, not merges, a rule's options
 * when several blocks match one file, so each zone lists everything it may not import).
 */
const ZONES = [
  // Any new folder or top-level file: everything restricted until it is placed in a zone below.
  { files: ['src/**/*.ts'], forbid: ['openid-client', 'ltijs', 'express', 'kysely', 'simulator'] },
  { dirs: ['src/oauth'], forbid: ['ltijs', 'express', 'kysely', 'simulator'] },
  { dirs: ['src/lti'], forbid: ['openid-client', 'kysely', 'simulator'] },
  { dirs: ['src/http'], files: ['src/app.ts', 'src/main.ts', 'src/container.ts'], forbid: ['openid-client', 'ltijs', 'kysely', 'simulator'] },
  {
    dirs: ['src/integrations', 'src/sync', 'src/jobs', 'src/canvas', 'src/store', 'src/vault', 'src/config', 'src/errors', 'src/logger', 'src/net', 'src/text', 'src/staff', 'src/audit', 'src/metrics', 'src/changes', 'src/sync-list', 'src/webhooks', 'src/grades'],
    forbid: ['openid-client', 'ltijs', 'express', 'kysely', 'simulator'],
  },
  { dirs: ['src/cli'], forbid: ['openid-client', 'ltijs', 'kysely', 'simulator'] },
  // The sandbox plays Canvas: it is no place for our OAuth client, ltijs or our database.
  { dirs: ['src/simulator'], forbid: ['openid-client', 'ltijs', 'kysely'] },
  // The demo starts the sandbox next to the service.
  { files: ['src/demo.ts', 'src/demo-setup.ts'], forbid: ['openid-client', 'ltijs', 'kysely'] },
];

const zoneBlocks = ZONES.flatMap(({ dirs = [], files = [], forbid }) => {
  const zoneFiles = [...dirs.map((d) => `${d}/**/*.ts`), ...files];
  const storeFiles = [
    ...dirs.flatMap((d) => (d === 'src/store' ? [`${d}/**/*.ts`] : [`${d}/**/*-repository.ts`])),
    ...KYSELY_STORE_FILES.filter((f) => dirs.some((d) => f.startsWith(`${d}/`)) || files.includes(f)),
  ];
  const blocks = [{ files: zoneFiles, rules: { 'no-restricted-imports': restrict(...forbid) } }];
  if (forbid.includes('kysely') && storeFiles.length > 0) {
    blocks.push({ files: storeFiles, rules: { 'no-restricted-imports': restrict(...forbid.filter((n) => n !== 'kysely')) } });
  }
  return blocks;
});

export default tseslint.config(
  { ignores: ['dist/**', 'data/**', 'node_modules/**', 'coverage/**', 'public/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    // Some files carry directives for rules this config does not turn on; they are not worth a warning.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // A `default` branch handles the remaining members on purpose; a switch without one must list them all.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  ...zoneBlocks,
);

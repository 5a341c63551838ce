import type { RequestHandler } from 'express';
import type { Config } from './config/config.js';
import { createLogger, type Logger } from './logger/logger.js';
import { createAuditLog, type AuditLog } from './audit/audit-log.js';
import { createSessionStore, type ClosableSessionStore } from './http/session-store.js';
import { createApiTokens, type ApiTokens } from './staff/api-tokens.js';
import { createStaffUsers, type StaffUsers } from './staff/staff-users.js';
import { createLoginThrottle, type LoginThrottle } from './staff/login-throttle.js';
import { migrateToLatest, openStore, type Store } from './store/database.js';
import { createReadinessProbe, type ReadinessProbe } from './store/readiness.js';
import { createVault, parseSecretKey, resolveSecretKey, type Vault } from './vault/vault.js';
import { createCanvasClient } from './canvas/client.js';
import { createGovernorRegistry } from './canvas/governor-registry.js';
import { createGuardedFetch, type HostResolver } from './net/guarded-fetch.js';
import type { CanvasClient } from './canvas/types.js';
import { createConnectionService, type ConnectionService } from './integrations/connection-service.js';
import { createIntegrationSchemas, type Integration, type IntegrationSchemas } from './integrations/integration.js';
import { createIntegrationsRepository, type IntegrationsRepository } from './integrations/integrations-repository.js';
import { createIntegrationSettings, type IntegrationSettings } from './integrations/integration-settings.js';
import { createLtiDynamicRegistration, type LtiDynamicRegistration } from './integrations/lti-dynamic-registration.js';
import { withPublicUrlCheck } from './integrations/public-url-check.js';
import { createSignedLinks, type SignedLinks } from './integrations/signed-links.js';
import { createIntegrationLinks, type IntegrationLinks } from './integrations/integration-links.js';
import { createStudentRoles, type StudentRoles } from './integrations/student-roles.js';
import { createLaunchStore } from './lti/launch-store.js';
import { createLtiCourseView, type LtiCourseView } from './sync/lti-course-view.js';
import { createLtiHandoffs, type LtiHandoffs } from './lti/lti-handoffs.js';
import { createPlatformAdmin, type PlatformAdmin } from './staff/platform-admin.js';
import { createPlatformOwners } from './lti/platform-owners.js';
import { keepLtiInSync } from './lti/keep-in-sync.js';
import { createRegistrationRepository } from './lti/registration-repository.js';
import type { LtiFeature } from './lti/provider.js';
import { createSyncFeature, type SyncFeature } from './sync/sync-feature.js';
import { createCourseRepository } from './sync/course-repository.js';
import { createGradePostEndings, createGradePostJob, type GradePostDeps, type GradesPostedPort } from './grades/grade-post.js';
import { createGradeRepository } from './grades/grade-repository.js';
import { createGradesService, type GradesService } from './grades/grades-service.js';
import { createChangeLog, type ChangeListener, type ChangeLog } from './changes/change-log.js';
import { createChangeLogRepository } from './changes/change-log-repository.js';
import { createSyncListService, type SyncListService } from './sync-list/sync-list-service.js';
import { createCanvasOAuth, type CanvasOAuth } from './oauth/canvas-oauth.js';
import { createOAuthStates } from './store/oauth-states.js';
import { createTokenSources, type TokenSources } from './oauth/token-source.js';
import { refreshFailure } from './integrations/token-endpoint-reason.js';
import { createWebhooksRepository } from './webhooks/webhooks-repository.js';
import { createWebhooksService, type WebhooksService } from './webhooks/webhooks-service.js';
import { createDeliveryWorker, type DeliveryWorker } from './webhooks/delivery-worker.js';
import { setIntegrationStateSource } from './metrics/metrics.js';
import { presentJob } from './http/presenters/job.js';

/**
 * What the LTI feature plugs in (src/lti/ sets `container.lti`): the ltijs app, mounted at `/lti`
 * before any body parser, and the origins allowed to frame the tool (CSP frame-ancestors).
 */
export interface LtiMount {
  handler: RequestHandler;
  /** e.g. ["https://*.instructure.com"]; added to frame-ancestors next to 'self'. */
  frameAncestors?: string[];
  /** Call after an integration's `lti` (or Canvas URL) changed: keeps ltijs's platform list in sync. */
  syncIntegration?(integrationId: string): Promise<void>;
}

/**
 * The composition root's product: every long-lived dependency, built once per process.
 * Feature helpers add their services as fields here (and build them in {@link createContainer}).
 */
export interface Container {
  config: Config;
  logger: Logger;
  store: Store;
  /** The cached database check behind `/readyz` (a background probe every 2 s). */
  readiness: ReadinessProbe;
  clock: () => Date;
  /** The HTTP client of every outbound call: the guarded fetch unless a test replaced it. */
  fetch: typeof globalThis.fetch;
  vault: Vault;
  staff: StaffUsers;
  /** Sign-in attempt budgets per account and per client address, shared through the database. */
  loginThrottle: LoginThrottle;
  apiTokens: ApiTokens;
  audit: AuditLog;
  sessionStore: ClosableSessionStore;
  /** Integrations and their encrypted Canvas tokens. */
  integrations: IntegrationsRepository;
  /** Creating and changing integrations for every entry point: policy, LTI ownership, credential drop, audit. */
  integrationSettings: IntegrationSettings;
  /** zod schemas for integration bodies (Canvas URL rules depend on config). */
  integrationSchemas: IntegrationSchemas;
  /** Single-flight refreshing token sources: `tokenSources.forIntegration(id)` for the Canvas client. */
  tokenSources: TokenSources;
  /**
   * A Canvas REST client for one integration's Canvas (declared endpoints only). Given the
   * integration's id, it shares that integration's throttle governor with its jobs and lookups.
   */
  canvasFor(integration: Pick<Integration, 'canvasUrl' | 'canvasOtherUrl'> & { id?: string }): CanvasClient;
  canvasOAuth: CanvasOAuth;
  /** Preflight, Generate Keys, verification, disconnect, health checks. */
  connection: ConnectionService;
  /** Course refresh, lookup, roster sync, diagnostics and the job runner (started by main.ts). */
  sync: SyncFeature;
  /** Grade passback: posting exam scores (the grade_post job), previews, the posted exams of a course. */
  grades: GradesService;
  /**
   * Where a finished grade post is announced: the `grades.posted` webhook. Read at each post's end,
   * so a test may replace it after the container is built.
   */
  gradesPosted: { port?: GradesPostedPort };
  /**
   * The integrations' change log: roster syncs append to it in the transaction that stores the
   * roster; `append` is the port for `integration.status_changed` entries.
   */
  changes: ChangeLog;
  /** The sync list: list, add/remove, import/export, the re-sync job (its runner and schedule are in `sync`). */
  syncList: SyncListService;
  /** Signed, expiring setup and authorization links. */
  signedLinks: SignedLinks;
  /** Issuing and opening setup / authorization links and starting Generate Keys, with their audit entries. */
  integrationLinks: IntegrationLinks;
  /** The student roles of an integration's Canvas account (Configure). */
  studentRoles: StudentRoles;
  /** Staff accounts, API tokens, staff sign-in and secret rotation, with their audit entries. */
  platformAdmin: PlatformAdmin;
  /** The main app's side of an LTI launch (hand-over tokens, audited sign-in). */
  ltiHandoffs: LtiHandoffs;
  /** The instructor's LTI course page: course, roster and NRPS comparison. */
  ltiCourseView: LtiCourseView;
  /** LTI Dynamic Registration: the registration window of the LTI page and `GET /lti/register`. */
  ltiRegistration: LtiDynamicRegistration;
  /**
   * Webhook endpoints, the outbox and its delivery worker (started and stopped with the job runner
   * by main.ts). `webhooks.service.changeListener` is what the change log calls in its transaction.
   */
  webhooks: { service: WebhooksService; worker: DeliveryWorker };
  /** Set by the LTI feature; createApp mounts it. */
  lti?: LtiMount;
  /** Registers a closer (job runner, timers, ltijs…); closers run in reverse order, before the store closes. */
  onClose(fn: () => void | Promise<void>): void;
  /** Runs every closer, then closes the session store and the database. Idempotent. */
  close(): Promise<void>;
}

/** What tests (and the demo) may replace. */
export interface ContainerOverrides {
  logger?: Logger;
  clock?: () => Date;
  /** Replaces the guarded fetch entirely (then no outbound guard applies: tests of other things). */
  fetch?: typeof globalThis.fetch;
  /** Name resolution for the guarded fetch and LTI calls (tests: "this name resolves to 127.0.0.1"). */
  resolve?: HostResolver;
  /** An already opened store (tests); it is migrated, and closed by `close()`. */
  store?: Store;
  /** Listeners that see every change-log append in its transaction (a webhook outbox; tests). */
  changeListeners?: ChangeListener[];
  /**
   * Set up the LTI provider (ltijs: once per process, ~3 s to load). Default: on when the container
   * opens its own store (src/main.ts), off when a test passes `store`; LTI tests pass `lti: true`.
   * `'on-demand'` (the CLI): no `/lti` mount, and ltijs is loaded only if an LTI registration is
   * saved, to register its platform.
   */
  lti?: boolean | 'on-demand';
}

/**
 * Builds the container: opens the store and runs migrations, resolves SECRET_KEY (generating one
 * into the data folder in the embedded default), and applies BOOTSTRAP_API_TOKEN.
 * @throws Error when the database cannot be reached or migrated, or SECRET_KEY is malformed.
 */
export async function createContainer(config: Config, overrides: ContainerOverrides = {}): Promise<Container> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? (() => new Date());
  const guarded = overrides.fetch ? undefined : createGuardedFetch({ allowInsecure: config.allowInsecureCanvasUrls, resolve: overrides.resolve });
  const fetchImpl = overrides.fetch ?? guarded!;
  const store = overrides.store ?? openStore(config.database, { logger });
  const readiness = createReadinessProbe(store.db, { logger });
  const closers: Array<() => void | Promise<void>> = guarded ? [() => guarded.close()] : [];
  let sessionStore: ClosableSessionStore | undefined;
  let closed: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const fn of closers.reverse()) {
        try {
          await fn();
        } catch (err) {
          logger.error({ err }, 'a closer failed during shutdown');
        }
      }
      readiness.stop();
      await sessionStore?.close();
      await store.close();
    })();
    return closed;
  };

  try {
    await migrateToLatest(store.db);
    await readiness.start();
    const vault = createVault(parseSecretKey(resolveSecretKey(config)));
    const db = store.db;
    const apiTokens = createApiTokens({ db, clock, onError: (err) => logger.warn({ err }, 'could not record when an API token was last used') });
    if (config.bootstrapApiToken) {
      const info = await apiTokens.ensureBootstrap(config.bootstrapApiToken);
      logger.info({ tokenId: info.id }, 'bootstrap API token is active');
    }
    sessionStore = createSessionStore(store, clock);
    const userAgent = 'canvas-companion/0.1 (+https://github.com/canvas-companion)';
    const audit = createAuditLog({ db, clock });
    const webhookRepo = createWebhooksRepository(db, store.dialect);
    const webhookWorker = createDeliveryWorker({ repo: webhookRepo, vault, fetch: fetchImpl, clock, logger });
    const webhooks = createWebhooksService({
      repo: webhookRepo,
      vault,
      audit,
      clock,
      logger,
      onPublished: () => webhookWorker.kick(),
      integrationExists: async (id) => (await integrations.get(id)) !== undefined,
    });
    // Roster syncs and status moves append here; the webhook outbox is written in the same transaction.
    const changes = createChangeLog({
      repo: createChangeLogRepository(db),
      listeners: [
        async (tx, appended) => {
          await webhooks.changeListener(tx, appended);
          if (appended.length > 0) setImmediate(() => webhookWorker.kick());
        },
        ...(overrides.changeListeners ?? []),
      ],
      clock,
    });
    const integrations = createIntegrationsRepository({
      db,
      vault,
      dialect: store.dialect,
      clock,
      // A state move becomes a change-log entry; the change log's listener queues its webhook.
      onStatusChanged: async (change) => {
        try {
          await changes.append(change.integrationId, [
            { type: 'integration.status_changed', courseCanvasId: null, data: { from: change.from, to: change.to, reasons: change.reasons } },
          ]);
        } catch (err) {
          logger.warn({ err, integrationId: change.integrationId }, 'could not record the integration.status_changed change');
        }
      },
    });
    const countStates = async () => Object.fromEntries((await integrations.list()).map((i) => i.status.state).reduce((m, st) => m.set(st, (m.get(st) ?? 0) + 1), new Map<string, number>()));
    closers.push(setIntegrationStateSource(countStates));
    closers.push(() => webhookWorker.stop());
    const canvasOAuth = createCanvasOAuth({ fetch: fetchImpl, redirectUri: config.redirectUri, allowInsecure: config.allowInsecureCanvasUrls, userAgent });
    const tokenSources = createTokenSources({
      repo: integrations,
      clock,
      // The connection service is built below; a refusal is only explained while the service runs.
      explainRefusal: (id) => connection.explainRefusedRefresh(id),
      refreshGrant: async (id) => {
        const i = await integrations.get(id);
        const clientSecret = await integrations.getClientSecret(id);
        return async (refreshToken) => {
          if (!i || !clientSecret) return { ok: false, reason: 'invalid_client', detail: 'The integration has no client secret.' };
          const r = await canvasOAuth.refresh({ canvasUrl: i.canvasUrl, clientId: i.clientId, clientSecret }, refreshToken);
          return r.ok ? r : { ok: false, ...refreshFailure(r) };
        };
      },
    });
    // One governor per integration token in this process, shared by jobs and ad-hoc calls.
    const governors = createGovernorRegistry({ clock });
    const canvasFor = (i: Pick<Integration, 'canvasUrl' | 'canvasOtherUrl'> & { id?: string }) =>
      createCanvasClient({ baseUrl: i.canvasUrl, otherUrl: i.canvasOtherUrl, fetch: fetchImpl, userAgent, clock, logger, governor: i.id ? governors.forIntegration(i.id) : undefined });
    const connection = createConnectionService({
      repo: integrations,
      states: createOAuthStates({ db, vault, clock }),
      oauth: canvasOAuth,
      tokenSources,
      clientFor: canvasFor,
      audit,
      clock,
      fetch: fetchImpl,
      redirectUri: config.redirectUri,
      logger,
    });
    let ltiRegistration: LtiDynamicRegistration | undefined;
    const startLti = async (): Promise<LtiFeature | undefined> => {
      const { createLtiFeature, ltiAlreadySetUp } = await import('./lti/provider.js');
      if (ltiAlreadySetUp()) {
        logger.warn('LTI is already set up by another container in this process (ltijs is a singleton): this one has no /lti');
        return undefined;
      }
      const feature = await createLtiFeature({
        config,
        store,
        vault,
        logger,
        clock,
        resolve: overrides.resolve,
        // Late-bound: the registration service is built after the LTI feature it serves.
        adoptFirstDeployment: (id, clientId, deploymentId) => ltiRegistration?.adoptFirstDeployment(id, clientId, deploymentId) ?? Promise.resolve(false),
        noteNamesAndRoles: (id, clientId, granted) => ltiRegistration?.noteNamesAndRoles(id, clientId, granted) ?? Promise.resolve(),
      });
      closers.push(() => feature.close());
      return feature;
    };
    let lti: LtiFeature | undefined;
    let syncLti: ((integrationId: string) => Promise<void>) | undefined;
    const ltiMode = overrides.lti ?? overrides.store === undefined;
    if (ltiMode === 'on-demand') {
      let started: Promise<LtiFeature | undefined> | undefined;
      syncLti = async (id) => {
        const feature = await (started ??= startLti());
        await feature?.syncIntegration(id);
      };
    } else if (ltiMode) {
      lti = await startLti();
      await lti?.reconcile();
      syncLti = lti?.syncIntegration;
    }
    // Entry points write through this: a URL whose name resolves to a private address is a 400.
    const checkedIntegrations = withPublicUrlCheck(integrations, { allowInsecure: config.allowInsecureCanvasUrls, resolve: overrides.resolve });
    const integrationsRepo = syncLti ? keepLtiInSync(checkedIntegrations, syncLti) : checkedIntegrations;
    const staff = createStaffUsers({ db, clock });
    const gradesPosted: { port?: GradesPostedPort } = {
      port: async (e) => {
        const { integrationId, courseId, ...rest } = e;
        await webhooks.publish({ event: 'grades.posted', integrationId, data: { integrationId, courseCanvasId: courseId, ...rest } });
      },
    };
    const gradePost: GradePostDeps = {
      grades: createGradeRepository(db),
      courses: createCourseRepository(db, { pgPool: store.pgPool }),
      clientFor: (s) => canvasFor({ canvasUrl: s.canvasUrl, canvasOtherUrl: s.canvasOtherUrl, id: s.id }),
      tokenSourceFor: (id) => tokenSources.forIntegration(id),
      clock,
      logger,
    };
    const gradePostEnded = createGradePostEndings({ grades: gradePost.grades, onPosted: (e) => gradesPosted.port?.(e), clock, logger });
    const sync = createSyncFeature({
      config,
      store,
      logger,
      clock,
      fetch: fetchImpl,
      userAgent,
      tokenSources,
      health: connection,
      governors,
      hasToken: async (id) => (await integrations.getToken(id)) !== undefined,
      onJobFinished: async (job) => {
        // The exam's record and grades.posted first: they never throw.
        await gradePostEnded(job);
        await webhooks.publish({ event: 'job.finished', integrationId: job.integrationId, data: { job: presentJob(job) } });
      },
      moreJobs: [createGradePostJob(gradePost)],
      changeLog: changes,
    });
    const grades = createGradesService({ integrations, courses: gradePost.courses, grades: gradePost.grades, runner: sync.runner, audit, post: gradePost });
    const signedLinks = createSignedLinks({ secret: vault.sessionSecrets()[0]!, clock, publicUrl: config.publicUrl });
    const launches = createLaunchStore({ db, clock });
    const ltiRegistrations = createRegistrationRepository({ db, clock });
    const integrationSettings = createIntegrationSettings({
      repo: integrationsRepo,
      owners: createPlatformOwners({ db, clock }),
      oauth: canvasOAuth,
      audit,
      disconnect: (id, actor) => connection.disconnect(id, actor),
      verify: (id, actor) => connection.verify(id, actor),
      logger,
    });
    ltiRegistration = createLtiDynamicRegistration({
      repo: integrationsRepo,
      registrations: ltiRegistrations,
      settings: integrationSettings,
      audit,
      fetch: fetchImpl,
      publicUrl: config.publicUrl,
      allowInsecure: config.allowInsecureCanvasUrls,
      clock,
      rootAccountLtiGuid: async (id) => {
        const i = await integrationsRepo.get(id);
        if (!i) return null;
        const res = await canvasFor(i).request<{ lti_guid?: unknown }>({ endpoint: 'accounts.get', path: { id: 'self' }, query: { 'include[]': ['lti_guid'] } }, tokenSources.forIntegration(id));
        return typeof res.body.lti_guid === 'string' ? res.body.lti_guid : null;
      },
    });
    return {
      config,
      logger,
      store,
      readiness,
      clock,
      fetch: fetchImpl,
      vault,
      staff,
      loginThrottle: createLoginThrottle({ db, clock }),
      apiTokens,
      audit,
      sessionStore,
      integrations: integrationsRepo,
      integrationSettings,
      integrationSchemas: createIntegrationSchemas({ allowInsecureCanvasUrls: config.allowInsecureCanvasUrls }),
      tokenSources,
      canvasFor,
      canvasOAuth,
      connection,
      sync,
      grades,
      gradesPosted,
      changes,
      syncList: createSyncListService({
        repo: sync.syncList,
        integrations: integrationsRepo,
        audit,
        startSync: (id) => sync.startSyncListSync(id),
        clock,
      }),
      signedLinks,
      integrationLinks: createIntegrationLinks({ repo: integrationsRepo, signedLinks, audit, startAuthorization: (id, secret) => connection.startAuthorization(id, secret) }),
      studentRoles: createStudentRoles({ clientFor: canvasFor, tokenFor: (id) => tokenSources.forIntegration(id) }),
      platformAdmin: createPlatformAdmin({ staff, apiTokens, audit, db, vault }),
      ltiHandoffs: createLtiHandoffs({ launches, audit, secrets: vault.sessionSecrets(), clock }),
      ltiCourseView: createLtiCourseView({ launches, courses: sync.courses, lastCourseSync: (id, courseId) => sync.lastCourseSync(id, courseId) }),
      ltiRegistration,
      webhooks: { service: webhooks, worker: webhookWorker },
      lti,
      onClose: (fn) => void closers.push(fn),
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

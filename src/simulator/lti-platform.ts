import { createHash, createPublicKey, randomBytes, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { escapeHtml, json, type SimRequest } from './http-kit.js';
import { sandboxLtiGuid } from './canvas-api.js';
import { forwardingFramePage, parentFallbackScript } from './lti-platform-storage.js';
import { normaliseToolConfiguration, openIdConfiguration, TOOL_CONFIGURATION, validateRegistration, type RegistrationMessage } from './lti-registration.js';
import type { SandboxPlugin, SandboxPluginApi } from './sandbox.js';
import type { SandboxState } from './sandbox-state.js';
import type { Course, Enrollment, User, World } from './world.js';

/**
 * The sandbox as an LTI 1.3 platform (Canvas-flavoured): OIDC login
 * initiation towards a tool, the authorize redirect that form-posts an RS256 id_token, its JWKS,
 * the client_credentials grant for LTI scopes and the Names and Roles service.
 *
 * Tools are registered in `world.lti.tools` (an LTI developer key: client id, deployment ids and
 * the tool's configuration URL, which the platform fetches "by URL" the way Canvas does).
 *
 * Try a launch in a browser: `GET /__lti/launch?user=<id>&placement=account_navigation` or
 * `GET /__lti/launch?user=<id>&course=<id>&placement=course_navigation` (add `&frame=1` to see it
 * inside an iframe, as Canvas shows it, with the hidden `post_message_forwarding` storage frame next
 * to it, and `&storage_delay_ms=1500` to have that frame load later than the tool; add `&mobile=1` for a launch from the Canvas mobile apps, which gets no
 * `lti_storage_target`). `/__lti/*` because `/__sandbox/*` belongs to the control API.
 */

/** One LTI developer key with its deployment(s) — the shape of `world.lti.tools[i]`. */
export interface LtiToolRegistration {
  clientId: string;
  deploymentIds: string[];
  /** Where the platform fetches the tool's Canvas JSON configuration (keys made by hand). */
  configUrl?: string;
  /** Exact redirect URIs; defaults to the configuration's target_link_uri. */
  redirectUris?: string[];
  /** Keys made by Dynamic Registration: the stored configuration (instead of `configUrl`). */
  dynamic?: {
    uuid: string;
    config: ToolJson;
    /** The registration as the tool sent it (normalised tool configuration included). */
    registration: Record<string, unknown>;
  };
  /** The key's binding: a dynamically registered key is `off` until the admin confirms. Default on. */
  binding?: 'on' | 'off';
}

export interface LtiWorld {
  /** `iss`; defaults to the sandbox's own origin (an integration with environment `custom`). */
  issuer?: string;
  /**
   * The origin the OIDC authorization endpoint is reached under, where the storage frame lives
   * (hosted Canvas: `https://sso.canvaslms.com`, another site than the Canvas page). Defaults to
   * the origin the launch page was opened on.
   */
  authOrigin?: string;
  tools: LtiToolRegistration[];
  /**
   * Validation messages every registration POST fails with (422), as a Canvas whose validation
   * differs would answer; unset: the normal validation.
   */
  registrationErrors?: string[];
}

/** The subset of Canvas's LTI 1.3 JSON configuration the platform reads. */
interface ToolJson {
  oidc_initiation_url: string;
  target_link_uri: string;
  public_jwk_url?: string;
  scopes?: string[];
  custom_fields?: Record<string, string>;
  extensions?: Array<{ settings?: { placements?: Array<{ placement: string; target_link_uri?: string; custom_fields?: Record<string, string> }> } }>;
}

/** `lti_storage_target` Canvas sends in login initiation and launch (the storage frame's name). */
export const STORAGE_TARGET = 'post_message_forwarding';
const NRPS_SCOPE = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';
const NRPS_TYPE = 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json';
const LIS = 'http://purl.imsglobal.org/vocab/lis/v2';
const ENROLLMENT_ROLES: Record<string, string> = {
  StudentEnrollment: `${LIS}/membership#Learner`,
  TeacherEnrollment: `${LIS}/membership#Instructor`,
  TaEnrollment: `${LIS}/membership/Instructor#TeachingAssistant`,
  DesignerEnrollment: `${LIS}/membership#ContentDeveloper`,
  ObserverEnrollment: `${LIS}/membership#Mentor`,
};

/** What a test can do with the platform beyond the HTTP endpoints. */
export interface LtiPlatformHandle {
  plugin: SandboxPlugin;
  /** The platform's current signing key id. */
  kid(): string;
  /** Signs arbitrary id_token claims with the platform key (or a stranger's key with the same kid). */
  signIdToken(claims: Record<string, unknown>, opts?: { wrongKey?: boolean }): Promise<string>;
  /** Canvas-like claims for a launch, for tests that craft their own id_token. */
  launchClaims(input: { user: string; course?: string; placement: string; clientId: string; deploymentId: string; nonce: string; origin: string }): Promise<Record<string, unknown>>;
  /** Access tokens issued by the client_credentials grant so far. */
  issuedServiceTokens(): number;
  /** A registration token as Canvas puts in the registration iframe URL (1 h, platform-signed). */
  registrationToken(userId?: string): Promise<string>;
  /** The admin's confirmation after Dynamic Registration: turns the key on and deploys it. Returns the deployment id. */
  confirmRegistration(clientId: string): string;
  /** Validation messages of the last refused registration (Canvas does not send them to the tool). */
  lastRegistrationErrors(): string[];
}

const b64u = (b: Buffer) => b.toString('base64url');
const ltiUserId = (userId: string) => createHash('sha256').update(`lti-user:${userId}`).digest('hex').slice(0, 32);
const ltiContextId = (courseId: string) => createHash('sha256').update(`lti-context:${courseId}`).digest('hex').slice(0, 40);

/**
 * Creates the platform side. Pass `handle.plugin` in the sandbox's `plugins`.
 * Keys are generated per sandbox (RS256, 2048 bits).
 */
export async function createLtiPlatform(): Promise<LtiPlatformHandle> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const stranger = await generateKeyPair('RS256', { modulusLength: 2048 });
  const kid = b64u(randomBytes(8));
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const messageHintSecret = randomBytes(32);
  const toolConfigs = new Map<string, ToolJson>();
  /** Tool public keys by kid (refreshed from public_jwk_url on every launch; the grant must answer synchronously). */
  const toolKeys = new Map<string, { clientId: string; key: KeyObject }>();
  const serviceTokens = new Map<string, { clientId: string; scopes: string[]; expiresAt: number }>();
  const usedAssertionJtis = new Set<string>();
  let sandboxState: SandboxState | undefined;

  const ltiWorld = (world: World): LtiWorld => (world.lti as LtiWorld | undefined) ?? { tools: [] };
  const issuerOf = (world: World, origin: string) => ltiWorld(world).issuer ?? origin;
  const toolOf = (world: World, clientId: string) => ltiWorld(world).tools.find((t) => t.clientId === clientId);

  async function loadTool(tool: LtiToolRegistration): Promise<ToolJson> {
    let cfg: ToolJson;
    if (tool.dynamic) cfg = tool.dynamic.config;
    else {
      if (!tool.configUrl) throw new Error(`LTI tool ${tool.clientId} has neither configUrl nor a dynamic registration`);
      const res = await fetch(tool.configUrl);
      if (!res.ok) throw new Error(`tool configuration ${tool.configUrl} answered ${res.status}`);
      cfg = (await res.json()) as ToolJson;
    }
    toolConfigs.set(tool.clientId, cfg);
    if (cfg.public_jwk_url) {
      try {
        const jwks = (await (await fetch(cfg.public_jwk_url)).json()) as { keys?: JWK[] };
        for (const k of jwks.keys ?? []) {
          if (k.kid) toolKeys.set(k.kid, { clientId: tool.clientId, key: createPublicKey({ key: k as never, format: 'jwk' }) });
        }
      } catch {
        // The grant will answer invalid_client for an unknown kid.
      }
    }
    return cfg;
  }

  function rolesFor(world: World, user: User, course: Course | undefined): { roles: string[]; canvasRoles: string[] } {
    const roles = new Set<string>([`${LIS}/system/person#User`]);
    const canvasRoles: string[] = [];
    const mine = world.enrollments.filter((e) => e.userId === user.id && e.state !== 'deleted');
    if (mine.some((e) => e.type === 'TeacherEnrollment')) roles.add(`${LIS}/institution/person#Instructor`);
    if (mine.some((e) => e.type === 'StudentEnrollment')) roles.add(`${LIS}/institution/person#Student`);
    if (user.admin) {
      roles.add(`${LIS}/institution/person#Administrator`);
      canvasRoles.push('Account Admin');
    }
    if (course) {
      for (const e of mine.filter((x: Enrollment) => x.courseId === course.id && x.state === 'active')) {
        const r = ENROLLMENT_ROLES[e.type];
        if (r) roles.add(r);
        canvasRoles.push(e.role);
      }
    }
    return { roles: [...roles], canvasRoles };
  }

  function substitute(fields: Record<string, string>, vars: Record<string, string | undefined>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) out[k] = v.startsWith('$') && vars[v] !== undefined ? vars[v]! : v;
    return out;
  }

  async function launchClaims(input: {
    user: string;
    course?: string;
    placement: string;
    clientId: string;
    deploymentId: string;
    nonce: string;
    origin: string;
  }): Promise<Record<string, unknown>> {
    const world = sandboxState!.world;
    const user = world.users.find((u) => u.id === input.user);
    if (!user) throw new Error(`unknown user ${input.user}`);
    const course = input.course ? world.courses.find((c) => c.id === input.course) : undefined;
    if (input.course && !course) throw new Error(`unknown course ${input.course}`);
    const tool = toolOf(world, input.clientId);
    const cfg = toolConfigs.get(input.clientId) ?? (tool ? await loadTool(tool) : undefined);
    if (!cfg) throw new Error(`no LTI tool with client id ${input.clientId}`);
    const placement = cfg.extensions?.flatMap((e) => e.settings?.placements ?? []).find((p) => p.placement === input.placement);
    const { roles, canvasRoles } = rolesFor(world, user, course);
    const vars: Record<string, string | undefined> = {
      '$Canvas.user.id': user.id,
      '$Canvas.course.id': course?.id,
      '$Canvas.account.id': course?.accountId ?? world.rootAccountId,
      '$Canvas.membership.roles': canvasRoles.join(','),
    };
    const now = Math.floor(sandboxState!.now() / 1000);
    const issuer = issuerOf(world, input.origin);
    const [given, ...rest] = user.name.split(' ');
    const claims: Record<string, unknown> = {
      iss: issuer,
      aud: input.clientId,
      azp: input.clientId,
      sub: ltiUserId(user.id),
      iat: now,
      exp: now + 3600,
      nonce: input.nonce,
      name: user.name,
      given_name: given,
      family_name: rest.join(' '),
      email: user.email ?? undefined,
      'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiResourceLinkRequest',
      'https://purl.imsglobal.org/spec/lti/claim/version': '1.3.0',
      'https://purl.imsglobal.org/spec/lti/claim/deployment_id': input.deploymentId,
      'https://purl.imsglobal.org/spec/lti/claim/target_link_uri': placement?.target_link_uri ?? cfg.target_link_uri,
      'https://purl.imsglobal.org/spec/lti/claim/resource_link': {
        id: createHash('sha256').update(`rl:${input.placement}:${course?.id ?? 'account'}`).digest('hex').slice(0, 40),
        title: course ? course.name : 'Account',
      },
      'https://purl.imsglobal.org/spec/lti/claim/roles': roles,
      'https://purl.imsglobal.org/spec/lti/claim/custom': substitute({ ...(cfg.custom_fields ?? {}), ...(placement?.custom_fields ?? {}) }, vars),
      'https://purl.imsglobal.org/spec/lti/claim/tool_platform': {
        guid: 'sandbox-canvas',
        name: world.accounts.find((a) => a.id === world.rootAccountId)?.name ?? 'Canvas sandbox',
        product_family_code: 'canvas',
        version: 'cloud',
      },
      'https://purl.imsglobal.org/spec/lti/claim/launch_presentation': { document_target: 'iframe', locale: 'en' },
      'https://www.instructure.com/placement': input.placement,
    };
    if (course) {
      claims['https://purl.imsglobal.org/spec/lti/claim/context'] = {
        id: ltiContextId(course.id),
        label: course.courseCode,
        title: course.name,
        type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering'],
      };
      if ((cfg.scopes ?? []).includes(NRPS_SCOPE)) {
        claims['https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice'] = {
          context_memberships_url: `${input.origin}/api/lti/courses/${course.id}/names_and_roles`,
          service_versions: ['2.0'],
        };
      }
    }
    return claims;
  }

  async function signIdToken(claims: Record<string, unknown>, opts: { wrongKey?: boolean } = {}): Promise<string> {
    return new SignJWT(claims as never).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(opts.wrongKey ? stranger.privateKey : privateKey);
  }

  const router: Router = express.Router();
  router.use(express.urlencoded({ extended: false }));

  // The same keys under both paths: LTI launches name the first, the OpenID configuration's `jwks_uri` the second.
  router.get(['/api/lti/security/jwks', '/login/oauth2/jwks'], (_req, res) => {
    res.json({ keys: [publicJwk] });
  });

  /** Launch trigger: what clicking the tool's navigation link in Canvas does. */
  router.get('/__lti/launch', async (req, res) => {
    const world = sandboxState!.world;
    const q = req.query as Record<string, string | undefined>;
    const origin = `${req.protocol}://${req.get('host')}`;
    if (q.frame === '1') {
      const inner = new URLSearchParams(Object.entries(q).filter(([k, v]) => k !== 'frame' && k !== 'storage_delay_ms' && v !== undefined) as [string, string][]);
      const storageOrigin = ltiWorld(world).authOrigin ?? origin;
      // `storage_delay_ms`: the storage frame loads this much later than the tool (a slow Canvas page).
      const frameQuery = new URLSearchParams({ parent_origin: origin, ...(q.storage_delay_ms ? { delay_ms: q.storage_delay_ms } : {}) });
      const frameSrc = `${storageOrigin}/post_message_forwarding?${frameQuery.toString()}`;
      res.type('html').send(
        `<!doctype html><html><head><title>Canvas sandbox</title><script src="/__lti/platform-storage.js"></script></head><body><h1>Canvas sandbox</h1>` +
          `<iframe id="tool" title="Tool" src="/__lti/launch?${escapeHtml(inner.toString())}" style="width:100%;height:80vh;border:1px solid #ccc"></iframe>` +
          `<iframe name="post_message_forwarding" id="post_message_forwarding" title="post_message_forwarding" src="${escapeHtml(frameSrc)}" sandbox="allow-scripts allow-same-origin" hidden></iframe></body></html>`,
      );
      return;
    }
    const tools = ltiWorld(world).tools;
    const tool = q.client_id ? toolOf(world, q.client_id) : tools[0];
    if (!tool) {
      res.status(404).json({ error: 'no LTI tool registered in world.lti.tools' });
      return;
    }
    const user = world.users.find((u) => u.id === q.user);
    if (!user) {
      res.status(400).json({ error: 'user= must name a sandbox user id' });
      return;
    }
    if (tool.binding === 'off' || tool.deploymentIds.length === 0) {
      res.status(404).json({ error: `LTI key ${tool.clientId} is off or not deployed (confirm the registration first)` });
      return;
    }
    const placement = q.placement ?? (q.course ? 'course_navigation' : 'account_navigation');
    let cfg: ToolJson;
    try {
      cfg = await loadTool(tool);
    } catch (err) {
      res.status(502).json({ error: (err as Error).message });
      return;
    }
    const deploymentId = q.deployment_id ?? tool.deploymentIds[0]!; // non-empty: checked above
    // Launches inside the Canvas mobile apps get no lti_storage_target (they fall back to cookies).
    const includeStorageTarget = q.mobile !== '1';
    const hint = await new SignJWT({ course: q.course ?? null, placement, deploymentId, clientId: tool.clientId, includeStorageTarget })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(messageHintSecret);
    const placementCfg = cfg.extensions?.flatMap((e) => e.settings?.placements ?? []).find((p) => p.placement === placement);
    const params = new URLSearchParams({
      iss: q.iss ?? issuerOf(world, origin),
      login_hint: user.id,
      target_link_uri: placementCfg?.target_link_uri ?? cfg.target_link_uri,
      client_id: tool.clientId,
      lti_deployment_id: deploymentId,
      lti_message_hint: hint,
      canvas_region: 'unknown',
      canvas_environment: 'production',
    });
    if (includeStorageTarget) params.set('lti_storage_target', STORAGE_TARGET);
    res.redirect(302, `${cfg.oidc_initiation_url}?${params.toString()}`);
  });

  /**
   * Canvas's hidden storage frame, on the OIDC auth origin. It relays to the Canvas page named by
   * `parent_origin` (Canvas puts the parent domain in a signed token; here a plain parameter).
   */
  router.get('/post_message_forwarding', (req, res) => {
    const own = `${req.protocol}://${req.get('host')}`;
    const asked = typeof req.query.parent_origin === 'string' ? req.query.parent_origin : '';
    let parentOrigin = own;
    if (asked && URL.canParse(asked) && new URL(asked).origin === asked) parentOrigin = asked;
    const delay = Math.min(5000, Math.max(0, Number(req.query.delay_ms) || 0));
    setTimeout(() => res.type('html').send(forwardingFramePage(parentOrigin)), delay);
  });

  /** The script of the page hosting the tool: Canvas's storage behind the frame, and the `window.parent` fallback. */
  router.get('/__lti/platform-storage.js', (req, res) => {
    const world = sandboxState!.world;
    const origin = `${req.protocol}://${req.get('host')}`;
    res.type('application/javascript').send(parentFallbackScript(ltiWorld(world).authOrigin ?? origin));
  });

  router.get('/__lti/autosubmit.js', (_req, res) => {
    res.type('application/javascript').send("document.getElementById('lti-form').submit();\n");
  });

  /** OIDC authorization endpoint (GET or POST): validates the tool's request, form-posts the id_token. */
  router.all('/api/lti/authorize_redirect', async (req: Request, res: Response) => {
    const p = { ...(req.query as Record<string, string>), ...((req.body ?? {}) as Record<string, string>) };
    const fail = (description: string) => res.status(400).json({ error: 'invalid_request', error_description: description });
    const world = sandboxState!.world;
    if (p.scope !== 'openid') return fail('scope must be openid');
    if (p.response_type !== 'id_token') return fail('response_type must be id_token');
    if (p.response_mode !== 'form_post') return fail('response_mode must be form_post');
    if (!p.nonce) return fail('nonce is required');
    if (p.prompt && p.prompt !== 'none') return fail('prompt must be none');
    const tool = toolOf(world, p.client_id ?? '');
    if (!tool) return fail('unknown client_id');
    if (tool.binding === 'off') return fail('the developer key is off');
    const cfg = toolConfigs.get(tool.clientId) ?? (await loadTool(tool));
    const redirectUris = tool.redirectUris ?? [cfg.target_link_uri];
    if (!p.redirect_uri || !redirectUris.includes(p.redirect_uri)) return fail('redirect_uri does not match any of the key\'s redirect URIs');
    let hint: { course: string | null; placement: string; deploymentId: string; clientId: string; includeStorageTarget?: boolean };
    try {
      hint = (await jwtVerify(p.lti_message_hint ?? '', messageHintSecret)).payload as typeof hint;
    } catch {
      return fail('lti_message_hint is invalid or expired');
    }
    if (hint.clientId !== tool.clientId) return fail('lti_message_hint belongs to another client');
    const origin = `${req.protocol}://${req.get('host')}`;
    let claims: Record<string, unknown>;
    try {
      claims = await launchClaims({
        user: p.login_hint ?? '',
        course: hint.course ?? undefined,
        placement: hint.placement,
        clientId: tool.clientId,
        deploymentId: hint.deploymentId,
        nonce: p.nonce,
        origin,
      });
    } catch (err) {
      return fail((err as Error).message);
    }
    const idToken = await signIdToken(claims);
    const fields: Array<[string, string]> = [['id_token', idToken]];
    if (p.state) fields.push(['state', p.state]);
    if (hint.includeStorageTarget) fields.push(['lti_storage_target', STORAGE_TARGET]);
    res.type('html').send(
      `<!doctype html><html><head><title>Launching…</title><script src="/__lti/autosubmit.js" defer></script></head><body>` +
        `<form id="lti-form" method="post" action="${escapeHtml(p.redirect_uri)}">` +
        fields.map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeHtml(v)}">`).join('') +
        `<noscript><button type="submit">Continue</button></noscript></form></body></html>`,
    );
  });

  /** Names and Roles: course memberships, paginated with Link headers. */
  router.get('/api/lti/courses/:courseId/names_and_roles', (req, res) => {
    const auth = /^Bearer (\S+)$/i.exec(req.get('authorization') ?? '');
    const tok = auth?.[1] ? serviceTokens.get(auth[1]) : undefined;
    if (!tok || tok.expiresAt < sandboxState!.now()) {
      res.status(401).json({ errors: [{ message: 'Invalid access token.' }] });
      return;
    }
    if (!tok.scopes.includes(NRPS_SCOPE)) {
      res.status(401).json({ errors: [{ message: 'Insufficient scopes on access token.' }] });
      return;
    }
    const world = sandboxState!.world;
    const course = world.courses.find((c) => c.id === req.params.courseId);
    if (!course) {
      res.status(404).json({ errors: [{ message: 'The specified resource does not exist.' }] });
      return;
    }
    const cfg = toolConfigs.get(tok.clientId);
    const byUser = new Map<string, Enrollment[]>();
    for (const e of world.enrollments) {
      if (e.courseId !== course.id || e.state === 'deleted' || e.state === 'rejected') continue;
      byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), e]);
    }
    const all = [...byUser.entries()].flatMap(([userId, es]) => {
      const u = sandboxState!.user(userId);
      if (!u) return [];
      const active = es.some((e) => e.state === 'active');
      const member: Record<string, unknown> = {
        status: active ? 'Active' : 'Inactive',
        name: u.name,
        given_name: u.name.split(' ')[0],
        family_name: u.name.split(' ').slice(1).join(' '),
        email: u.email ?? undefined,
        lis_person_sourcedid: u.sisUserId ?? undefined,
        user_id: ltiUserId(u.id),
        roles: [...new Set(es.map((e) => ENROLLMENT_ROLES[e.type]).filter(Boolean))],
      };
      if (req.query.rlid && cfg?.custom_fields) {
        member.message = [
          {
            'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiResourceLinkRequest',
            'https://purl.imsglobal.org/spec/lti/claim/custom': substitute(cfg.custom_fields, {
              '$Canvas.user.id': u.id,
              '$Canvas.course.id': course.id,
              '$Canvas.account.id': course.accountId,
              '$Canvas.membership.roles': es.map((e) => e.role).join(','),
            }),
          },
        ];
      }
      return [member];
    });
    const limit = Math.min(Math.max(Number(req.query.limit) || 10, 1), 100);
    const page = Math.max(Number(req.query.page) || 1, 1);
    const slice = all.slice((page - 1) * limit, page * limit);
    const origin = `${req.protocol}://${req.get('host')}`;
    const base = `${origin}/api/lti/courses/${course.id}/names_and_roles`;
    const link = (n: number) => {
      const qs = new URLSearchParams({ ...(req.query.rlid ? { rlid: String(req.query.rlid) } : {}), page: String(n), limit: String(limit) });
      return `${base}?${qs.toString()}`;
    };
    const links = [`<${link(page)}>; rel="current"`];
    if (page * limit < all.length) links.push(`<${link(page + 1)}>; rel="next"`);
    links.push(`<${link(1)}>; rel="first"`, `<${link(Math.max(1, Math.ceil(all.length / limit)))}>; rel="last"`);
    res
      .status(200)
      .set('Content-Type', NRPS_TYPE)
      .set('Link', links.join(','))
      .send(JSON.stringify({ id: link(page), context: { id: ltiContextId(course.id), label: course.courseCode, title: course.name }, members: slice }));
  });

  // ---- Dynamic Registration ----
  const REGISTRATION_CLAIMS = ['exp', 'initiated_at', 'root_account_global_id', 'user_id', 'uuid'];
  let lastRegistrationErrors: string[] = [];

  const GLOBAL_ID_PREFIX = '1000000000000';

  /** A registration token for `userId` in the root account `rootAccountId` (default the world's; another plays a foreign institution). */
  async function registrationToken(userId = '1', rootAccountId = sandboxState!.world.rootAccountId): Promise<string> {
    const now = Math.floor(sandboxState!.now() / 1000);
    return new SignJWT({
      uuid: randomBytes(16).toString('hex'),
      initiated_at: new Date(now * 1000).toISOString(),
      user_id: userId,
      root_account_global_id: `${GLOBAL_ID_PREFIX}${rootAccountId}`,
      exp: now + 3600,
    })
      .setProtectedHeader({ alg: 'RS256', kid })
      .sign(privateKey);
  }

  /** The registration token's claims, or undefined when it is not Canvas's, expired or malformed. */
  async function readRegistrationToken(token: string | undefined): Promise<Record<string, unknown> | undefined> {
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, publicKey, { currentDate: new Date(sandboxState!.now()) });
      if (Object.keys(payload).sort().join(',') !== REGISTRATION_CLAIMS.join(',')) return undefined;
      return payload as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  const bearerOf = (req: Request) => /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
  const jwtRefused = (res: Response) => res.status(401).json({ errors: [{ message: 'JWT did not include expected contents' }] });

  /** What the admin sees: the tool's registration page in an iframe; on `org.imsglobal.lti.close` the review. */
  router.get('/__lti/register', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.url || !/^https?:\/\//.test(q.url)) {
      res.status(400).json({ error: 'url= must be the tool\'s registration URL' });
      return;
    }
    const origin = `${req.protocol}://${req.get('host')}`;
    const token = await registrationToken(q.user ?? '1', q.root_account && /^\d{1,12}$/.test(q.root_account) ? q.root_account : undefined);
    const uuid = ((await readRegistrationToken(token)) ?? {})['uuid'];
    const openid = `${origin}/api/lti/security/openid-configuration?registration_token=${encodeURIComponent(token)}`;
    const src = `${q.url}${q.url.includes('?') ? '&' : '?'}${new URLSearchParams({ openid_configuration: openid, registration_token: token }).toString()}`;
    res.type('html').send(
      `<!doctype html><html><head><title>Register an app</title><script src="/__lti/register-close.js" defer></script></head><body>` +
        `<h1>Canvas sandbox: register an app</h1><div id="registration" data-uuid="${escapeHtml(String(uuid))}">` +
        `<iframe id="tool" title="Tool registration" src="${escapeHtml(src)}" style="width:100%;height:80vh;border:1px solid #ccc"></iframe></div></body></html>`,
    );
  });

  router.get('/__lti/register-close.js', (_req, res) => {
    res.type('application/javascript').send(
      "window.addEventListener('message', function (e) {\n" +
        "  if (!e.data || e.data.subject !== 'org.imsglobal.lti.close') return;\n" +
        "  var uuid = document.getElementById('registration').getAttribute('data-uuid');\n" +
        "  window.location.href = '/__lti/register/review?uuid=' + encodeURIComponent(uuid);\n" +
        '});\n',
    );
  });

  /** The review screen after the tool closed the iframe: confirm turns the key on and deploys it. */
  router.get('/__lti/register/review', (req, res) => {
    const tool = ltiWorld(sandboxState!.world).tools.find((t) => t.dynamic?.uuid === req.query.uuid);
    if (!tool) {
      res.status(404).type('html').send('<!doctype html><html><body><h1 id="review">No registration was made.</h1></body></html>');
      return;
    }
    res.type('html').send(
      `<!doctype html><html><body><h1 id="review">Review ${escapeHtml(String(tool.dynamic!.registration['client_name'] ?? ''))}</h1>` +
        `<p>Client id <code id="client-id">${escapeHtml(tool.clientId)}</code>, scopes <code>${escapeHtml(String(tool.dynamic!.registration['scope'] ?? ''))}</code>, key ${tool.binding}.</p>` +
        `<form method="post" action="/__lti/register/confirm"><input type="hidden" name="client_id" value="${escapeHtml(tool.clientId)}">` +
        // Canvas's review lets the admin switch scopes off (stored as the registration overlay's disabledScopes).
        `<p><label><input type="checkbox" id="scope-nrps" name="nrps" value="on"${(tool.dynamic!.config.scopes ?? []).includes(NRPS_SCOPE) ? ' checked' : ''}> Names and Roles (read the class list)</label></p>` +
        `<button id="confirm" type="submit">Install</button></form></body></html>`,
    );
  });

  router.post('/__lti/register/confirm', (req, res) => {
    try {
      const form = req.body as Record<string, string>;
      // The review's Names and Roles box: unticked (absent), or nrps=off, switches the scope off.
      if (form.nrps !== 'on') disableScope(String(form.client_id ?? ''), NRPS_SCOPE);
      const deploymentId = confirmRegistration(String(form.client_id ?? ''));
      res.type('html').send(`<!doctype html><html><body><h1 id="installed">Installed: deployment <code>${escapeHtml(deploymentId)}</code></h1></body></html>`);
    } catch (err) {
      res.status(404).json({ error: (err as Error).message });
    }
  });

  /** What the review's unticked scope does: the key no longer has it (launches and tokens follow). */
  function disableScope(clientId: string, scope: string): void {
    const tool = toolOf(sandboxState!.world, clientId);
    if (!tool?.dynamic) return;
    tool.dynamic.config.scopes = (tool.dynamic.config.scopes ?? []).filter((s) => s !== scope);
    toolConfigs.delete(clientId);
  }

  function confirmRegistration(clientId: string): string {
    const tool = toolOf(sandboxState!.world, clientId);
    if (!tool) throw new Error(`no LTI key ${clientId}`);
    tool.binding = 'on';
    if (tool.deploymentIds.length === 0) tool.deploymentIds.push(`${sandboxState!.nextId()}:${createHash('sha256').update(clientId).digest('hex').slice(0, 40)}`);
    return tool.deploymentIds[0]!;
  }

  router.get('/api/lti/security/openid-configuration', async (req, res) => {
    const claims = await readRegistrationToken(bearerOf(req) ?? (req.query.registration_token as string | undefined));
    if (!claims) return void jwtRefused(res);
    const world = sandboxState!.world;
    const origin = `${req.protocol}://${req.get('host')}`;
    // The configuration describes the root account the registration token was issued in.
    const rootId = String(claims['root_account_global_id']).slice(GLOBAL_ID_PREFIX.length);
    const root = world.accounts.find((a) => a.id === rootId);
    const name = rootId === world.rootAccountId ? (root?.name ?? 'Canvas sandbox') : `Another institution (account ${rootId})`;
    res.json(openIdConfiguration(origin, issuerOf(world, origin), name, sandboxLtiGuid(rootId)));
  });

  router.post('/api/lti/registrations', express.json({ limit: '1mb' }), async (req, res) => {
    const claims = await readRegistrationToken(bearerOf(req));
    if (!claims) return void jwtRefused(res);
    // A registration token registers one key: a second POST with it is refused like a foreign token.
    if (ltiWorld(sandboxState!.world).tools.some((t) => t.dynamic?.uuid === claims['uuid'])) return void jwtRefused(res);
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    if (typeof body['scope'] !== 'string') {
      // Canvas splits the scope string without checking it first: a missing scope is a server error.
      lastRegistrationErrors = ['scope: missing (Canvas fails on .split)'];
      res.status(500).json({ errors: [{ message: 'An error occurred.', error_code: 'internal_server_error' }] });
      return;
    }
    const errors = [...(ltiWorld(sandboxState!.world).registrationErrors ?? []), ...validateRegistration(body)];
    if (errors.length) {
      lastRegistrationErrors = errors;
      // RecordInvalid from save!: the tool gets a generic 422 without the validation messages.
      res.status(422).json({ errors: [{ message: 'Unprocessable Entity' }] });
      return;
    }
    lastRegistrationErrors = [];
    const world = sandboxState!.world;
    world.lti ??= { tools: [] };
    const tools = ltiWorld(world).tools;
    const toolConfig = normaliseToolConfiguration(body[TOOL_CONFIGURATION] as Record<string, unknown>);
    const used = [...world.developerKeys.map((k) => BigInt(k.id)), ...tools.map((t) => (/^\d+$/.test(t.clientId) ? BigInt(t.clientId) : 0n))];
    const clientId = String(used.reduce((m, v) => (v > m ? v : m), 10000000000000n) + 1n);
    const messages = toolConfig['messages'] as RegistrationMessage[];
    const custom = (toolConfig['custom_parameters'] ?? {}) as Record<string, string>;
    const config: ToolJson = {
      oidc_initiation_url: String(body['initiate_login_uri']),
      target_link_uri: String(toolConfig['target_link_uri']),
      public_jwk_url: String(body['jwks_uri']),
      scopes: String(body['scope']).split(' ').filter(Boolean),
      custom_fields: custom,
      extensions: [
        {
          settings: {
            placements: messages.flatMap((m) =>
              m.placements.map((placement) => ({ placement, target_link_uri: m.target_link_uri ?? String(toolConfig['target_link_uri']), custom_fields: m.custom_parameters })),
            ),
          },
        },
      ],
    };
    const origin = `${req.protocol}://${req.get('host')}`;
    const answer: Record<string, unknown> = {
      client_id: clientId,
      application_type: body['application_type'],
      grant_types: body['grant_types'],
      initiate_login_uri: body['initiate_login_uri'],
      redirect_uris: body['redirect_uris'],
      response_types: body['response_types'],
      client_name: body['client_name'],
      jwks_uri: body['jwks_uri'],
      logo_uri: body['logo_uri'] ?? null,
      token_endpoint_auth_method: body['token_endpoint_auth_method'],
      scope: config.scopes!.join(' '),
      [TOOL_CONFIGURATION]: { ...toolConfig, 'https://canvas.instructure.com/lti/registration_config_url': `${origin}/api/lti/registrations/${clientId}/view` },
    };
    tools.push({
      clientId,
      deploymentIds: [],
      redirectUris: body['redirect_uris'] as string[],
      binding: 'off',
      dynamic: { uuid: String(claims['uuid']), config, registration: answer },
    });
    toolConfigs.delete(clientId);
    res.status(200).json(answer);
  });

  /**
   * `grant_type=client_credentials` at `/login/oauth2/token`: verifies the tool's
   * RS256 client assertion against the tool's JWKS (cached at launch: the sandbox's grant hook is
   * synchronous) and issues a bearer token for the requested LTI scopes.
   */
  function clientCredentials(req: SimRequest, state: SandboxState) {
    const p = req.params as Record<string, unknown>;
    const bad = (description: string) => json(400, { error: 'invalid_request', error_description: description });
    if (p.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return bad('client_assertion_type is invalid');
    const assertion = typeof p.client_assertion === 'string' ? p.client_assertion : '';
    const [h, pl, sig] = assertion.split('.');
    if (!h || !pl || !sig) return bad('client_assertion is not a JWT');
    let header: { alg?: string; kid?: string };
    let payload: { iss?: string; sub?: string; aud?: string | string[]; exp?: number; jti?: string };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      payload = JSON.parse(Buffer.from(pl, 'base64url').toString('utf8'));
    } catch {
      return bad('client_assertion is not a JWT');
    }
    const key = header.kid ? toolKeys.get(header.kid) : undefined;
    if (header.alg !== 'RS256' || !key) return json(401, { error: 'invalid_client', error_description: 'unknown client' });
    const ok = cryptoVerify('RSA-SHA256', Buffer.from(`${h}.${pl}`), key.key, Buffer.from(sig, 'base64url'));
    if (!ok || payload.sub !== key.clientId || payload.iss !== key.clientId) return json(401, { error: 'invalid_client', error_description: 'invalid client' });
    const tokenUrl = `${req.origin}/login/oauth2/token`;
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!auds.includes(tokenUrl)) return bad(`aud must be ${tokenUrl}`);
    if (!payload.exp || payload.exp * 1000 < state.now()) return bad('client_assertion has expired');
    if (!payload.jti || usedAssertionJtis.has(payload.jti)) return bad('jti has already been used');
    usedAssertionJtis.add(payload.jti);
    const tool = toolOf(state.world, key.clientId);
    if (tool?.binding === 'off') return json(401, { error: 'invalid_client', error_description: 'unknown client' });
    const allowed = toolConfigs.get(key.clientId)?.scopes ?? [];
    const scopes = String(p.scope ?? '').split(' ').filter(Boolean);
    if (!tool || scopes.length === 0 || scopes.some((s) => !allowed.includes(s))) return bad('invalid_scope');
    const access = b64u(randomBytes(32));
    serviceTokens.set(access, { clientId: key.clientId, scopes, expiresAt: state.now() + 3600 * 1000 });
    return json(200, { access_token: access, token_type: 'Bearer', expires_in: 3600, scope: scopes.join(' ') });
  }

  const plugin: SandboxPlugin = (api: SandboxPluginApi) => {
    sandboxState = api.state;
    api.setClientCredentialsGrant(clientCredentials);
    api.app.use(router);
  };

  return {
    plugin,
    kid: () => kid,
    signIdToken,
    launchClaims,
    issuedServiceTokens: () => serviceTokens.size,
    registrationToken,
    confirmRegistration,
    lastRegistrationErrors: () => [...lastRegistrationErrors],
  };
}

import { createHash } from 'node:crypto';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { platformEndpoints, type IntegrationLti } from '../../lti/canvas-platforms.js';
import { allowFrameAncestors, canvasFrameAncestor } from '../../lti/frame-policy.js';
import { FRAME_TOKEN_PARAM } from '../../lti/frame-tokens.js';
import type { HandoffPayload } from '../../lti/launch-store.js';
import { NRPS_SCOPE, toolUrls } from '../../lti/tool-config.js';
import { requireIntegrationAccess, settingsActor } from '../middleware/auth.js';
import { presentLtiCourse } from '../presenters/lti-course.js';
import { presentRegistrationStatus } from '../presenters/lti-registration.js';
import { reachabilityRow } from '../presenters/lti-reachability.js';
import '../session.js';
import { flash } from '../flash.js';
import { keepFormState, takeFormState } from '../form-state.js';

declare module 'express-session' {
  interface SessionData {
    /** SHA-256 of the hand-over token this session was created from, until the browser proves it kept the cookie. */
    ltiHandoff?: string;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const regenerate = (req: Request) => new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
const save = (req: Request) => new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));

const ENVIRONMENTS = [
  { value: 'production', label: 'Production (*.instructure.com)' },
  { value: 'beta', label: 'Beta (*.beta.instructure.com)' },
  { value: 'test', label: 'Test (*.test.instructure.com)' },
  { value: 'custom', label: 'Self-hosted Canvas' },
] as const;

const ltiForm = z
  .object({
    _csrf: z.string().optional(),
    environment: z.enum(['production', 'beta', 'test', 'custom']),
    clientId: z.string().trim().regex(/^\d{1,20}$/, 'The Client ID is the number Canvas shows in the Developer Keys list (digits only).'),
    deploymentIds: z.string().max(2000),
    issuer: z.string().trim().max(300).optional(),
    /** Staff only: take the registration from the integration that holds it. */
    moveRegistration: z.literal('1').optional(),
  })
  .strict();

/**
 * LTI pages in the main app (where the session lives): the launch hand-over from the ltijs
 * sub-app, the instructor's read-only course page, and the admin's LTI setup page.
 */
export function createLtiRouter(container: Container): Router {
  const { config } = container;
  const handoffs = container.ltiHandoffs;
  const router = Router();
  /** Canvas may frame what an LTI launch shows: hosted Canvas, plus this integration's own host when self-hosted. */
  const allowCanvasFrame = (res: Response, canvasUrl: string | null) => {
    const own = canvasUrl ? canvasFrameAncestor(canvasUrl) : null;
    allowFrameAncestors(res, [...(container.lti?.frameAncestors ?? []), ...(own ? [own] : [])]);
  };

  /** LTI sessions may be framed by their own institution's Canvas; staff sessions and anonymous pages never are. */
  const frameForLtiSession: RequestHandler = async (req, res, next) => {
    try {
      const s = req.session;
      const id = s?.integrationAccess?.via === 'lti' ? s.integrationAccess.integrationId : s?.ltiCourse?.integrationId;
      if (id) {
        const integration = await handoffs.integration(id);
        if (integration) allowCanvasFrame(res, integration.canvasUrl);
      }
      next();
    } catch (err) {
      next(err);
    }
  };
  router.use(frameForLtiSession);
  // The hand-over pages run inside Canvas's iframe before any session exists (their error pages too).
  router.use('/launch', (_req, res, next) => {
    allowCanvasFrame(res, null);
    next();
  });

  const destination = (integrationId: string, p: HandoffPayload) =>
    p.kind === 'admin' ? `/integrations/${encodeURIComponent(integrationId)}` : '/launch/course';

  /**
   * Step 1 of the hand-over: a fresh session that holds only the token's hash and grants nothing
   * yet. Access comes with step 2, once the token is used up, so a copied link opened in other
   * browsers never carries access.
   */
  router.get('/launch/handoff', async (req, res, next) => {
    try {
      const token = typeof req.query.token === 'string' ? req.query.token : '';
      const found = token ? await handoffs.peek(token) : ({ ok: false, reason: 'unknown' } as const);
      if (!found.ok || found.payload.kind === 'student') {
        res.status(400).render('lti/handoff-invalid', { title: 'Launch link expired', code: `handoff_${found.ok ? 'unknown' : found.reason}` });
        return;
      }
      const integration = await handoffs.integration(found.integrationId);
      if (!integration) throw new AppError('not_found', 'This integration no longer exists.');
      // A launch is a new identity: never extend whoever was signed in before in this browser.
      await regenerate(req);
      req.session.ltiHandoff = sha256(token);
      await save(req);
      allowCanvasFrame(res, integration.canvasUrl);
      res.redirect(303, `/launch/handoff/confirm?token=${encodeURIComponent(token)}`);
    } catch (err) {
      next(err);
    }
  });

  /**
   * Step 2: the session cookie came back, so the token is used up and the browser goes on. When it
   * did not come back (the session cookie is blocked inside Canvas's iframe), the token stays valid
   * for its remaining two minutes and the page offers the same hand-over in a new window.
   */
  router.get('/launch/handoff/confirm', async (req, res, next) => {
    try {
      const token = typeof req.query.token === 'string' ? req.query.token : '';
      if (token && req.session?.ltiHandoff === sha256(token)) {
        const used = await handoffs.consume(token);
        delete req.session.ltiHandoff;
        if (used.ok && used.payload.kind !== 'student') {
          // Only the browser whose confirm used the token up gets access, in a fresh session id.
          await regenerate(req);
          if (used.payload.kind === 'admin') {
            req.session.integrationAccess = { integrationId: used.integrationId, via: 'lti', label: used.payload.label };
          } else {
            req.session.ltiCourse = { integrationId: used.integrationId, courseId: used.payload.courseId, via: 'lti', courseTitle: used.payload.courseTitle };
          }
          await save(req);
          container.logger.info({ integrationId: used.integrationId, kind: used.payload.kind }, 'LTI launch signed in');
          res.redirect(303, destination(used.integrationId, used.payload));
          return;
        }
        req.session.integrationAccess = undefined;
        req.session.ltiCourse = undefined;
        // Another browser used this hand-over first (handoff_used), or it expired: nothing granted.
        res.status(400).render('lti/handoff-invalid', { title: 'Launch link expired', code: `handoff_${used.ok ? 'unknown' : used.reason}` });
        return;
      }
      const found = token ? await handoffs.peek(token) : ({ ok: false, reason: 'unknown' } as const);
      if (!found.ok) {
        res.status(400).render('lti/handoff-invalid', { title: 'Launch link expired', code: `handoff_${found.reason}` });
        return;
      }
      const integration = await handoffs.integration(found.integrationId);
      allowCanvasFrame(res, integration?.canvasUrl ?? null);
      // A platform-storage launch whose redirects all stayed on this origin (so not a link opened
      // from elsewhere) shows its read-only page right here in the frame, with a frame token
      // instead of the session; the hand-over is used up in the same step.
      if (found.payload.kind !== 'student' && found.payload.inFrame === true && req.get('sec-fetch-site') === 'same-origin') {
        const framed = await handoffs.consumeForFrame(token);
        if (!framed.ok) {
          res.status(400).render('lti/handoff-invalid', { title: 'Launch link expired', code: `handoff_${framed.reason}` });
          return;
        }
        container.logger.info({ integrationId: framed.integrationId, kind: framed.payload.kind }, 'LTI launch shown in the frame');
        inFramePage(res);
        if (framed.payload.kind === 'instructor') {
          res.redirect(303, frameCourseUrl(framed.integrationId, framed.payload.courseId, framed.frameToken));
          return;
        }
        res.render('lti/frame-admin', {
          title: integration?.name ?? 'Integration',
          integrationName: integration?.name ?? '',
          canvasUrl: integration?.canvasUrl ?? '',
          status: (await container.integrations.get(framed.integrationId))?.status.state ?? null,
          frameUrl: frameAdminUrl(framed.integrationId, framed.frameToken),
          continueUrl: framed.newWindowToken ? `/launch/handoff?token=${encodeURIComponent(framed.newWindowToken)}` : null,
        });
        return;
      }
      res.render('lti/handoff-new-window', {
        title: 'Continue in a new window',
        code: 'session_cookie_blocked',
        continueUrl: `/launch/handoff?token=${encodeURIComponent(token)}`,
      });
    } catch (err) {
      next(err);
    }
  });

  /**
   * Pages opened with a frame token: never cached, never named in a Referer (the token is in
   * their URL), framed only by the integration's Canvas.
   */
  const inFramePage = (res: Response) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    // These pages hold no form: rendering must not mint a CSRF token, which would start a session
    // (and a Set-Cookie the frame cannot keep anyway).
    Object.defineProperty(res.locals, 'csrfToken', { enumerable: true, configurable: true, value: '' });
  };
  const frameCourseUrl = (integrationId: string, courseId: string, token: string) =>
    `/launch/frame/integrations/${encodeURIComponent(integrationId)}/courses/${encodeURIComponent(courseId)}?${FRAME_TOKEN_PARAM}=${encodeURIComponent(token)}`;
  const frameAdminUrl = (integrationId: string, token: string) => `/launch/frame/integrations/${encodeURIComponent(integrationId)}?${FRAME_TOKEN_PARAM}=${encodeURIComponent(token)}`;
  const frameTokenOf = (req: Request) => {
    const v = req.query[FRAME_TOKEN_PARAM];
    return typeof v === 'string' ? v : '';
  };
  const refuseFrame = (res: Response, reason: string) => {
    inFramePage(res);
    res.status(401).render('lti/frame-invalid', { title: 'Launch again from Canvas', code: `frame_${reason}` });
  };

  /**
   * The instructor's read-only course page inside Canvas's iframe, opened by the frame token of a
   * platform-storage launch (no session cookie there). The token names this integration and
   * course; any other integration, course or page refuses it.
   */
  router.get('/launch/frame/integrations/:id/courses/:courseId', async (req, res, next) => {
    try {
      inFramePage(res);
      const id = String(req.params.id);
      const courseId = String(req.params.courseId);
      const check = handoffs.openFrame(frameTokenOf(req), { page: 'course', integrationId: id, courseId });
      if (!check.ok) return refuseFrame(res, check.reason);
      const integration = await handoffs.integration(id);
      if (!integration) return refuseFrame(res, 'wrong_integration');
      allowCanvasFrame(res, integration.canvasUrl);
      res.render('lti/course', { ...presentLtiCourse(await container.ltiCourseView.load(id, courseId), { courseTitle: check.claims.courseTitle ?? null }), inFrame: true });
    } catch (err) {
      next(err);
    }
  });

  /** The admin's read-only landing inside Canvas's iframe (frame token of an admin's platform-storage launch). */
  router.get('/launch/frame/integrations/:id', async (req, res, next) => {
    try {
      inFramePage(res);
      const id = String(req.params.id);
      const check = handoffs.openFrame(frameTokenOf(req), { page: 'admin', integrationId: id });
      if (!check.ok) return refuseFrame(res, check.reason);
      const integration = await handoffs.integration(id);
      if (!integration) return refuseFrame(res, 'wrong_integration');
      allowCanvasFrame(res, integration.canvasUrl);
      res.render('lti/frame-admin', {
        title: integration.name,
        integrationName: integration.name,
        canvasUrl: integration.canvasUrl,
        status: (await container.integrations.get(id))?.status.state ?? null,
        frameUrl: null,
        continueUrl: null,
      });
    } catch (err) {
      next(err);
    }
  });

  /** The instructor's read-only course page (only the course of their launch). */
  router.get('/launch/course', async (req, res, next) => {
    try {
      const access = req.session?.ltiCourse;
      if (!access) throw new AppError('forbidden', 'Open this page from the course navigation in Canvas.');
      res.render('lti/course', presentLtiCourse(await container.ltiCourseView.load(access.integrationId, access.courseId), { courseTitle: access.courseTitle ?? null }));
    } catch (err) {
      next(err);
    }
  });

  const ltiPath = (id: string) => `/integrations/${encodeURIComponent(id)}/lti`;
  const setupPage = async (req: Request, res: Response, status: number, form?: Record<string, string>, errors: Array<{ field: string; message: string }> = []) => {
    const id = String(req.params.id);
    const integration = await handoffs.integration(id);
    if (!integration) throw new AppError('not_found', 'No such integration.');
    const lti = integration.lti;
    const platform = lti ? platformEndpoints(integration.canvasUrl, lti) : null;
    const urls = toolUrls(config.publicUrl, id);
    const apiClientId = (await container.integrations.get(id))?.clientId;
    const checks = [
      reachabilityRow(config.publicUrl),
      { name: 'client_id', ok: Boolean(lti?.clientId), label: 'LTI Client ID entered', detail: lti?.clientId ?? 'not yet' },
      {
        name: 'deployment_ids',
        ok: (lti?.deploymentIds.length ?? 0) > 0,
        label: 'At least one Deployment ID entered',
        detail: lti && lti.deploymentIds.length === 0 ? 'none yet: after a registration by URL, the first launch from Canvas adds it' : (lti?.deploymentIds.join(', ') ?? ''),
      },
      {
        name: 'distinct_from_api_key',
        ok: Boolean(lti) && lti!.clientId !== apiClientId,
        label: 'The LTI key is not the API key',
        detail: lti && lti.clientId === apiClientId ? 'The LTI Client ID equals the API developer key id: these are two different keys in Canvas.' : '',
      },
      ...(lti?.grantedScopes
        ? [
            {
              name: 'names_and_roles_scope',
              ok: lti.grantedScopes.includes(NRPS_SCOPE),
              label: 'Canvas grants the Names and Roles scope',
              detail: lti.grantedScopes.includes(NRPS_SCOPE)
                ? ''
                : `It was switched off at Canvas's review, so the course page cannot compare Canvas's class list with the roster. In Canvas, open Admin › Developer Keys, edit the LTI key (Client ID ${lti.clientId}), turn on the Names and Roles scope and save.`,
            },
          ]
        : []),
    ];
    const dynamic = presentRegistrationStatus(await container.ltiRegistration.status(id));
    res.status(status).render('lti/setup', {
      title: `LTI · ${integration.name}`,
      dynamic,
      integrationId: id,
      integrationName: integration.name,
      urls,
      checks,
      platform,
      environments: ENVIRONMENTS,
      isStaff: Boolean(req.session?.staff),
      form: form ?? {
        environment: lti?.environment ?? 'production',
        clientId: lti?.clientId ?? '',
        deploymentIds: (lti?.deploymentIds ?? []).join('\n'),
        issuer: lti?.issuer ?? '',
      },
      errors,
    });
  };

  router.get('/integrations/:id/lti', requireIntegrationAccess('id'), async (req, res, next) => {
    try {
      // A registration form that did not pass comes back here after its redirect, once, with its messages.
      const kept = takeFormState(req, ltiPath(String(req.params.id))) as { form?: Record<string, string>; errors?: Array<{ field: string; message: string }> } | undefined;
      await setupPage(req, res, 200, kept?.form, kept?.errors);
    } catch (err) {
      next(err);
    }
  });

  const windowForm = z.object({ _csrf: z.string().optional(), action: z.enum(['open', 'close']) }).strict();

  /** Opens (for an hour, one registration) or closes registration by URL: the intent LTI Dynamic Registration needs. */
  router.post('/integrations/:id/lti/registration-window', requireIntegrationAccess('id'), async (req, res, next) => {
    try {
      const parsed = windowForm.safeParse(req.body);
      if (!parsed.success) throw new AppError('validation_failed', `${String(parsed.error.issues[0]?.path[0] ?? 'action')}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { help: 'Use the buttons on the LTI page.' });
      const id = String(req.params.id);
      const actor = settingsActor(req, res);
      if (parsed.data.action === 'open') await container.ltiRegistration.openWindow(id, actor);
      else await container.ltiRegistration.closeWindow(id, actor);
      res.redirect(303, `/integrations/${encodeURIComponent(id)}/lti#register-by-url`);
    } catch (err) {
      next(err);
    }
  });

  /**
   * Post/Redirect/Get for a registration form that did not pass: the values typed and the messages
   * are kept for one view of the LTI page, and the answer is a redirect there, so a reload never
   * sends the form again.
   */
  const refuse = (req: Request, res: Response, form: Record<string, string>, errors: Array<{ field: string; message: string }>) => {
    keepFormState(req, ltiPath(String(req.params.id)), { form, errors });
    res.redirect(303, `${ltiPath(String(req.params.id))}#lti-key-values`);
  };

  router.post('/integrations/:id/lti', requireIntegrationAccess('id'), async (req, res, next) => {
    try {
      const parsed = ltiForm.safeParse(req.body);
      const raw = (req.body ?? {}) as Record<string, string>;
      const form = { environment: raw.environment ?? 'production', clientId: raw.clientId ?? '', deploymentIds: raw.deploymentIds ?? '', issuer: raw.issuer ?? '' };
      if (!parsed.success) {
        // An unknown field is named (the issue has no path of its own).
        const errors = parsed.error.issues.map((i) => ({ field: String(i.path[0] ?? (i.code === 'unrecognized_keys' ? i.keys[0] : undefined) ?? i.code), message: i.message }));
        return refuse(req, res, form, errors);
      }
      const ids = parsed.data.deploymentIds.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
      const bad = ids.filter((d) => !/^[A-Za-z0-9:_.-]{1,200}$/.test(d));
      if (ids.length === 0 || bad.length > 0) {
        return refuse(req, res, form, [{ field: 'deploymentIds', message: ids.length === 0 ? 'Enter the Deployment ID Canvas shows for the installed app (e.g. 12:8865aa05b4b79b64a91a86042e43af5ea8ae79eb).' : `Not a Canvas deployment id: ${bad.join(', ')}` }]);
      }
      const id = String(req.params.id);
      const existing = await handoffs.integration(id);
      if (!existing) throw new AppError('not_found', 'No such integration.');
      const lti: IntegrationLti = { environment: parsed.data.environment, clientId: parsed.data.clientId, deploymentIds: ids };
      if (parsed.data.environment === 'custom') {
        if (parsed.data.issuer) {
          if (!URL.canParse(parsed.data.issuer) || !/^https?:$/.test(new URL(parsed.data.issuer).protocol)) {
            return refuse(req, res, form, [{ field: 'issuer', message: 'The issuer must be a URL, e.g. https://canvas.instructure.com (the iss Canvas puts in its launches).' }]);
          }
          lti.issuer = parsed.data.issuer;
        }
        // The page does not offer the custom sign-in and key URLs: keep the ones staff set.
        if (existing.lti?.environment === 'custom') {
          if (existing.lti.authUrl) lti.authUrl = existing.lti.authUrl;
          if (existing.lti.jwksUrl) lti.jwksUrl = existing.lti.jwksUrl;
        }
      }
      // Through the settings service: ownership of the (issuer, client id) pair, the policy for
      // institution sessions, the audit log; its repository keeps ltijs's platform list in sync.
      const actor = settingsActor(req, res);
      try {
        await container.integrationSettings.updateLtiRegistration(id, lti, actor, { moveLtiRegistration: actor.scope === 'platform' && parsed.data.moveRegistration === '1' });
      } catch (err) {
        if (!(err instanceof AppError) || (err.code !== 'forbidden' && err.code !== 'conflict')) throw err;
        const field = String(err.details?.field ?? 'clientId').replace(/^lti\./, '');
        return refuse(req, res, form, [{ field, message: err.help ? `${err.message} ${err.help}` : err.message }]);
      }
      flash(req, 'ok', `LTI registration saved: Client ID ${lti.clientId}, ${ids.length === 1 ? '1 deployment' : `${ids.length} deployments`}. Launch the tool from Canvas to try it.`);
      res.redirect(303, `/integrations/${encodeURIComponent(id)}/lti`);
    } catch (err) {
      next(err);
    }
  });

  return router;
}

import type { Request, RequestHandler } from 'express';
import type { Logger } from '../logger/logger.js';
import { allowFrameAncestor, canvasFrameAncestor } from './frame-policy.js';
import type { LtiPages } from './lti-pages.js';
import type { PlatformRegistry } from './platform-registry.js';
import type { PlatformStorage } from './platform-storage.js';

const PROBE_COOKIE = 'cc_lti_probe';
const PROBE_PARAM = 'cc_probe';

/**
 * The handler that runs before ltijs's OIDC login: refuses launches no integration is registered
 * for (issuer AND client id, then deployment), keeps ltijs's platform entry in sync, and detects
 * blocked cookies (a probe cookie and one bounce) so the browser is offered a new window instead of
 * failing later with MISSING_VALIDATION_COOKIE. When Canvas offers platform storage
 * (`lti_storage_target`), the login keeps its state there instead and needs no cookie at all.
 */
export function createLoginCheck(deps: { secureCookies: boolean; logger: Logger; pages: LtiPages; platforms: PlatformRegistry; storage: PlatformStorage }): RequestHandler {
  const { logger, pages, platforms } = deps;
  const probeCookieOptions = deps.secureCookies
    ? { httpOnly: true, secure: true, sameSite: 'none' as const }
    : { httpOnly: true, secure: false, sameSite: 'lax' as const };

  return async (req, res, next) => {
    // next() hands over to ltijs's login route; errors never reach Express 4's stack-printing handler.
    try {
      const params = loginParams(req);
      if (!params.iss || !params.login_hint || !params.target_link_uri) return next(); // ltijs answers MISSING_LOGIN_PARAMETERS
      if (!params.client_id) return pages.refuse(res, 400, 'missing_client_id', { issuer: params.iss });
      const matches = await platforms.findByPlatform(params.iss, params.client_id);
      if (matches.length === 0) {
        await platforms.forget(params.iss, params.client_id).catch(() => undefined);
        return pages.refuse(res, 400, 'unknown_platform', { issuer: params.iss, clientId: params.client_id });
      }
      const [integration] = matches;
      if (matches.length > 1 || !integration) return pages.refuse(res, 409, 'ambiguous_platform', { issuer: params.iss, clientId: params.client_id });
      const frameFor = canvasFrameAncestor(integration.canvasUrl);
      const deploymentId = params.lti_deployment_id ?? params.deployment_id;
      // No deployment yet (a key Dynamic Registration just created): the signed launch decides.
      if (deploymentId && integration.lti.deploymentIds.length > 0 && !integration.lti.deploymentIds.includes(deploymentId)) {
        return pages.refuse(res, 403, 'unknown_deployment', { issuer: params.iss, clientId: params.client_id, deploymentId, integrationName: integration.name }, frameFor);
      }
      await platforms.ensurePlatform(integration);
      if (deps.storage.wanted(params)) return await deps.storage.login(req, res, params, integration);

      const cookies = (req as Request & { cookies?: Record<string, string> }).cookies ?? {};
      if (!cookies[PROBE_COOKIE]) {
        const clean = Object.fromEntries(Object.entries(params).filter(([k]) => k !== PROBE_PARAM));
        const url = `${req.baseUrl}${req.path}?${new URLSearchParams(clean).toString()}`;
        if (params[PROBE_PARAM] !== '1') {
          res.cookie(PROBE_COOKIE, '1', { ...probeCookieOptions, maxAge: 5 * 60 * 1000 });
          return res.redirect(302, `${url}&${PROBE_PARAM}=1`);
        }
        allowFrameAncestor(res, frameFor);
        logger.info({ integrationId: integration.id }, 'LTI login: cookies blocked in this frame, offering a new window');
        return pages.render(res, 200, 'new-window', { title: 'Continue in a new window', code: 'cookies_blocked', continueUrl: url });
      }
      return next();
    } catch (err) {
      pages.failure(res, err);
    }
  };
}

/** The login request's string parameters, from the query and (for a POSTed login) the body. */
function loginParams(req: Request): Record<string, string> {
  const params: Record<string, string> = {};
  for (const src of [req.query, req.body ?? {}]) {
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) if (typeof v === 'string') params[k] = v;
  }
  return params;
}

import { Router } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { allowFrameAncestors, canvasFrameAncestor, INSTRUCTURE_FRAME_ANCESTOR } from '../../lti/frame-policy.js';
import { presentRegistrationOutcome } from '../presenters/lti-registration.js';

/** What Canvas puts on the registration URL (other parameters it may add are ignored). */
const registerQuery = z.object({
  integration: z.string().max(200).optional(),
  openid_configuration: z.string().max(2000).optional(),
  registration_token: z.string().max(8000).optional(),
});

/**
 * `GET /lti/register?integration=:id`: the LTI Dynamic Registration URL. Canvas opens it in an
 * iframe in the admin's browser with `openid_configuration` and `registration_token`; there is no
 * session (cookies are third-party in that frame): the integration id, its open registration window
 * and Canvas's single-use token are the credentials. Mounted before ltijs's `/lti` app.
 */
export function createLtiRegisterRouter(container: Container): Router {
  const router = Router();
  router.get('/lti/register', async (req, res, next) => {
    try {
      const q = registerQuery.parse(req.query);
      const outcome = await container.ltiRegistration.register({
        integrationId: q.integration ?? '',
        openidConfiguration: q.openid_configuration,
        registrationToken: q.registration_token,
      });
      const own = outcome.canvasUrl ? canvasFrameAncestor(outcome.canvasUrl) : null;
      allowFrameAncestors(res, [INSTRUCTURE_FRAME_ANCESTOR, ...(own ? [own] : [])]);
      res.setHeader('Cache-Control', 'no-store');
      res.status(outcome.ok ? 200 : outcome.refusal === 'unknown_integration' ? 404 : outcome.refusal === 'failed' || outcome.refusal === 'canvas_refused' ? 502 : 400).render('lti/register', presentRegistrationOutcome(outcome));
    } catch (err) {
      next(err);
    }
  });
  return router;
}

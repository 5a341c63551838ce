import type { RegistrationOutcome, RegistrationRefusal, RegistrationStatus } from '../../integrations/lti-dynamic-registration.js';

/** What each refusal means for the admin at Canvas, and what to do. */
const REFUSALS: Record<RegistrationRefusal, { title: string; todo: string }> = {
  unknown_integration: { title: 'This registration URL names no integration', todo: 'Copy the registration URL again from the integration’s LTI page (the exam platform team can send it).' },
  missing_parameters: { title: 'This page must be opened by Canvas', todo: 'In Canvas, go to Admin › Developer Keys › + Developer Key › + LTI Registration and paste the registration URL there.' },
  not_open: {
    title: 'Registration by URL is not open for this integration',
    todo: 'On the integration’s LTI page, choose “Allow registration by URL” (it stays open for an hour and for one registration), then start the registration in Canvas again.',
  },
  reused_token: { title: 'This registration was already used', todo: 'Canvas’s registration link works once. Close this window and start a new registration in Canvas (Developer Keys › + LTI Registration).' },
  wrong_canvas: { title: 'This registration comes from a different Canvas', todo: 'Register from the Canvas this integration is for, or ask the exam platform team to check the integration’s Canvas URL.' },
  wrong_issuer: {
    title: 'This Canvas’s issuer does not match the integration',
    todo: 'Launches are accepted from one issuer only. Register from the Canvas environment the integration is set up for (production, beta or test), or ask the exam platform team to check its LTI settings.',
  },
  foreign_account: {
    title: 'This registration is for another Canvas account',
    todo: 'Canvas names a different account than the one this integration is connected to. Register from the Canvas account the integration is for, or ask the exam platform team to check the integration.',
  },
  token_refused: { title: 'Canvas refused the registration token', todo: 'The token is valid for one hour and one registration. Close this window and start a new registration in Canvas.' },
  canvas_refused: { title: 'Canvas refused the registration', todo: 'Canvas did not accept the tool’s registration. Tell the exam platform team what Canvas said (below).' },
  pair_taken: { title: 'This LTI key is registered for another integration', todo: 'Tell the exam platform team: the new key’s client id is held by another integration.' },
  failed: { title: 'The registration could not be completed', todo: 'Try again from Canvas in a few minutes; if it keeps failing, tell the exam platform team what is shown below.' },
};

/** The page `GET /lti/register` shows inside Canvas's registration window. */
export function presentRegistrationOutcome(o: RegistrationOutcome) {
  if (o.ok) {
    return {
      title: 'Registered with Canvas',
      ok: true as const,
      code: 'registered',
      integrationName: o.integrationName,
      accountName: o.accountName,
      clientId: o.clientId,
      deploymentId: o.deploymentId,
      issuer: o.issuer,
      replacedClientId: o.replacedClientId,
    };
  }
  const r = REFUSALS[o.refusal];
  return { title: r.title, ok: false as const, code: o.refusal, refusalTitle: r.title, todo: r.todo, detail: o.detail, integrationName: o.integrationName, accountName: o.accountName ?? null };
}

/** The "Register by URL" part of the integration's LTI page. */
export function presentRegistrationStatus(s: RegistrationStatus) {
  return { url: s.url, open: s.window !== null, expiresAt: s.window?.expiresAt ?? null, openedBy: s.window?.openedBy ?? null };
}

import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ENDPOINT_LIST, FEATURES, INTEGRATION_FEATURES, manifestFeatures, scopesFor } from '../../canvas/endpoints.js';
import { isCanvasApiError } from '../../canvas/errors.js';
import type { Feature } from '../../canvas/types.js';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { reasonForCanvasFailure } from '../../integrations/canvas-failure-reason.js';
import { COURSE_ID_TYPES, USER_ID_TYPES, type Integration } from '../../integrations/integration.js';
import { remedyFor } from '../../integrations/reasons.js';
import { diagnoseAuthorizeUrl } from '../../integrations/diagnose-url.js';
import { allowFormActionTo } from '../csp.js';
import { flash } from '../flash.js';
import { keepFormState, takeFormState } from '../form-state.js';
import { fieldErrorsFromZod, type FieldLabels } from '../form-errors.js';
import { integrationView, preflightView, settingsPageView, STATE_LABELS } from '../presenters/integration-page.js';
import { requireIntegrationAccess, requireStaff, settingsActor } from '../middleware/auth.js';
import { parseInput, zodToAppError } from '../validate.js';
import { presentAuditTrail } from '../presenters/audit-trail.js';
import { parseFeatures } from '../features-query.js';
import { returnsTo } from '../form-page.js';

type Deps = Pick<
  Container,
  'config' | 'integrations' | 'integrationSettings' | 'integrationSchemas' | 'integrationLinks' | 'studentRoles' | 'connection' | 'audit' | 'clock' | 'staff' | 'apiTokens'
>;


const COURSE_ID_LABELS: Record<string, string> = {
  sis_course_id: 'SIS ID (sis_course_id / sis_section_id)',
  integration_id: 'Reference ID (integration_id)',
  canvas_id: 'Canvas ID',
};
const USER_ID_LABELS: Record<string, string> = {
  sis_user_id: 'SIS user ID',
  integration_id: 'Reference ID (integration_id)',
  email: 'Email',
  login_id: 'Login ID',
};

const INTEGRATION_FIELDS: FieldLabels = {
  name: { label: 'Institution name', help: 'The institution as your staff know it, e.g. "State University".' },
  canvasUrl: { label: 'Canvas URL', help: 'The address the institution opens Canvas at, e.g. https://school.instructure.com.' },
  clientId: { label: 'Client ID', help: 'Copy the number from the Details column of Admin › Developer Keys in Canvas (digits only, e.g. 10000000000001).' },
  clientSecret: { label: 'Client secret', help: 'In Admin › Developer Keys, click Show Key on the API key and paste the value.' },
};

const settingsForm = z
  .object({
    _csrf: z.string().optional(),
    name: z.string().optional(),
    canvasUrl: z.string(),
    clientId: z.string(),
    clientSecret: z.string().optional(),
  })
  .strict();

const setupLinkForm = z.object({ _csrf: z.string().optional(), requestId: z.string().max(64).optional() }).strict();

const configureForm = z
  .object({
    _csrf: z.string().optional(),
    courseIdType: z.string(),
    userIdType: z.string(),
    studentRoles: z.union([z.string(), z.array(z.string())]).optional(),
    // Present when the form showed the course-admin role checkboxes: then no box ticked is an error to show.
    courseAdminRolesShown: z.literal('1').optional(),
    courseAdminRoles: z.union([z.string(), z.array(z.string())]).optional(),
    // Present when the form showed the feature checkboxes: then no box ticked means no feature.
    featuresShown: z.literal('1').optional(),
    features: z.union([z.string(), z.array(z.string())]).optional(),
  })
  .strict();

const settingsPath = (id: string) => `/integrations/${encodeURIComponent(id)}`;
const configurePath = (id: string) => `/integrations/${encodeURIComponent(id)}/configure`;

/** What a Configure form that did not pass keeps for the one view after its redirect. */
interface ConfigureFormState {
  formError?: string;
  typed?: { courseIdType?: string; userIdType?: string; studentRoles?: string[]; courseAdminRoles?: string[]; features?: string[] };
}

/**
 * The Generate Keys pages: integrations list, LMS Settings (with preflight,
 * Generate Keys, status and remedies), Configure, Scoped token, Troubleshooting and audit log.
 * Staff see all; a Canvas admin's session (setup link, LTI) reaches only its integration.
 */
export function createIntegrationsPagesRouter(c: Deps): Router {
  const router = Router();
  const access = requireIntegrationAccess('id');
  const back = (suffix = '') => returnsTo((req) => `/integrations/${encodeURIComponent(String(req.params.id))}${suffix}`);
  const actorOf = (res: Response) => String(res.locals.actor ?? 'browser');
  const mustGet = async (req: Request) => {
    const i = await c.integrations.get(String(req.params.id));
    if (!i) throw new AppError('not_found', 'No such integration.');
    return i;
  };
  const isStaff = (req: Request) => Boolean(req.session.staff);

  async function renderSettings(req: Request, res: Response, i: Integration, extra: Record<string, unknown> = {}, status = 200) {
    allowFormActionTo(res, i.canvasUrl);
    const { preflight, ...rest } = extra as { preflight?: ReturnType<typeof preflightView> | null } & Record<string, unknown>;
    res.status(status).render('integrations/settings', {
      title: i.name,
      ...settingsPageView(i, preflight ?? null),
      redirectUri: c.config.redirectUri,
      isStaff: isStaff(req),
      setupLink: null,
      setupLinkRequestId: randomUUID(),
      formError: null,
      fieldErrors: [],
      ...rest,
    });
  }

  router.get('/integrations', requireStaff, async (_req, res) => {
    const list = await c.integrations.list();
    res.render('integrations/list', {
      title: 'Integrations',
      integrations: list.map((i) => ({ id: i.id, name: i.name, canvasUrl: i.canvasUrl, state: i.status.state, stateLabel: STATE_LABELS[i.status.state], reasons: i.status.reasons, checkedAt: i.status.checkedAt })),
    });
  });

  router.get('/integrations/new', requireStaff, (req, res) => {
    // A form that did not pass comes back here after the redirect, once, with its messages.
    const kept = takeFormState(req, '/integrations/new');
    res.render('integrations/new', { title: 'New integration', formError: null, fieldErrors: [], values: { name: '', canvasUrl: '', clientId: '' }, ...kept });
  });

  router.post('/integrations', requireStaff, async (req, res) => {
    const body = { ...(req.body as Record<string, unknown>) };
    delete body._csrf;
    if (body.clientSecret === '') delete body.clientSecret;
    const parsed = c.integrationSchemas.create.safeParse(body);
    if (!parsed.success) {
      const fieldErrors = fieldErrorsFromZod(parsed.error, INTEGRATION_FIELDS);
      // Post/Redirect/Get: the messages and the values typed (not the secret) are shown once by the form page.
      keepFormState(req, '/integrations/new', { formError: fieldErrors[0]?.message ?? zodToAppError(parsed.error).message, fieldErrors, values: { name: String(body.name ?? ''), canvasUrl: String(body.canvasUrl ?? ''), clientId: String(body.clientId ?? '') } });
      return res.redirect(303, '/integrations/new#form-error');
    }
    const created = await c.integrationSettings.create(parsed.data, settingsActor(req, res));
    flash(req, 'ok', `Integration “${created.name}” created. Check the configuration, then Generate Keys.`);
    res.redirect(303, `/integrations/${encodeURIComponent(created.id)}`);
  });

  router.get('/integrations/:id', access, async (req, res) => {
    const i = await mustGet(req);
    // "Check configuration" answers with a redirect here; its outcome is shown once.
    const shown = req.session?.preflightResult;
    if (shown) delete req.session.preflightResult;
    // A settings form that did not pass comes back here after its redirect, once, with its messages.
    const kept = takeFormState(req, settingsPath(i.id));
    await renderSettings(req, res, i, { ...(shown?.integrationId === i.id ? { preflight: shown.view } : {}), ...kept });
  });

  router.post('/integrations/:id/settings', access, back(), async (req, res) => {
    const i = await mustGet(req);
    const form = settingsForm.safeParse(req.body ?? {});
    if (!form.success) throw zodToAppError(form.error);
    const patchInput: Record<string, unknown> = { canvasUrl: form.data.canvasUrl, clientId: form.data.clientId };
    if (form.data.clientSecret) patchInput.clientSecret = form.data.clientSecret;
    if (form.data.name !== undefined && isStaff(req)) patchInput.name = form.data.name;
    const parsed = c.integrationSchemas.patch.safeParse(patchInput);
    if (!parsed.success) {
      const fieldErrors = fieldErrorsFromZod(parsed.error, INTEGRATION_FIELDS);
      const values = { name: form.data.name, canvasUrl: form.data.canvasUrl, clientId: form.data.clientId };
      // Post/Redirect/Get: the messages and the values typed (never the secret) are shown once by the page.
      keepFormState(req, settingsPath(i.id), { formError: fieldErrors[0]?.message ?? zodToAppError(parsed.error).message, fieldErrors, values });
      return res.redirect(303, `${settingsPath(i.id)}#form-error`);
    }
    let result;
    try {
      result = await c.integrationSettings.update(i.id, parsed.data, settingsActor(req, res));
    } catch (err) {
      if (!(err instanceof AppError) || (err.code !== 'forbidden' && err.code !== 'conflict')) throw err;
      const field = String(err.details?.field ?? 'canvasUrl');
      const values = { name: form.data.name, canvasUrl: form.data.canvasUrl, clientId: form.data.clientId };
      const message = err.help ? `${err.message} ${err.help}` : err.message;
      const label = INTEGRATION_FIELDS[field]?.label ?? field;
      keepFormState(req, settingsPath(i.id), { formError: message, fieldErrors: [{ field, label, message }], values });
      return res.redirect(303, `${settingsPath(i.id)}#form-error`);
    }
    const d = result.dropped;
    if (d) {
      const what = d.changed.map((f) => (f === 'canvasUrl' ? 'Canvas URL' : 'client id')).join(' and ');
      const token = d.tokenDropped ? (d.revokedAtCanvas ? ` The token was revoked at ${d.previousCanvasUrl} and deleted here.` : ' The token was deleted here.') : '';
      flash(req, 'warn', `Settings saved. The ${what} changed, so the integration is no longer connected.${token}${d.secretDropped ? ' Enter the client secret again, then Generate Keys.' : ' Run “Check configuration”, then Generate Keys.'}`);
    } else {
      flash(req, 'ok', 'Settings saved. Run “Check configuration” before Generate Keys.');
    }
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}`);
  });

  router.post('/integrations/:id/preflight', access, back(), async (req, res) => {
    const i = await mustGet(req);
    const result = await c.connection.preflight(i.id);
    // Post/Redirect/Get: a reload of the page shows the outcome again without asking Canvas again.
    req.session.preflightResult = { integrationId: i.id, view: preflightView(result) };
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}#preflight-result`);
  });

  router.post('/integrations/:id/verify', access, back(), async (req, res) => {
    const i = await mustGet(req);
    const status = await c.connection.verify(i.id, actorOf(res));
    flash(req, status.state === 'verified' ? 'ok' : 'warn', `Re-check finished: ${STATE_LABELS[status.state]}.`);
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}`);
  });

  router.post('/integrations/:id/disconnect', access, back(), async (req, res) => {
    const i = await mustGet(req);
    const r = await c.connection.disconnect(i.id, actorOf(res));
    flash(req, 'ok', r.revokedAtCanvas ? 'Disconnected: the token was revoked in Canvas and deleted here.' : 'Disconnected: the token was deleted here (Canvas no longer knew it).');
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}`);
  });

  router.post('/integrations/:id/setup-link', requireStaff, back(), async (req, res) => {
    const form = parseInput(setupLinkForm, req.body ?? {});
    const i = await mustGet(req);
    // The link is a credential shown only in this answer (stored nowhere, not even in the session),
    // so this POST cannot redirect to it; each form carries an id instead, and a reload that sends
    // the same form again gets a redirect to the page rather than a second link.
    const done = req.session.setupLinkRequests ?? [];
    if (form.requestId && done.includes(form.requestId)) {
      flash(req, 'warn', 'This setup link was already created by this form and shown once. If you did not copy it, create another: each link stays valid until it expires.');
      return res.redirect(303, `/integrations/${encodeURIComponent(i.id)}#links-title`);
    }
    if (form.requestId) req.session.setupLinkRequests = [...done, form.requestId].slice(-20);
    const link = await c.integrationLinks.issue('setup', i.id, { label: actorOf(res) });
    res.setHeader('Cache-Control', 'no-store');
    await renderSettings(req, res, i, { setupLink: link }, 201);
  });

  router.post('/integrations/:id/delete', requireStaff, async (req, res) => {
    const i = await c.integrationSettings.delete(String(req.params.id), settingsActor(req, res));
    flash(req, 'ok', `Integration “${i.name}” deleted.`);
    res.redirect(303, '/integrations');
  });

  async function studentRoleOptions(i: Integration): Promise<{ roles: Array<{ value: string; label: string }>; adminRoles: Array<{ value: string; label: string }>; error: string | null }> {
    const r = await c.studentRoles.list(i);
    const builtIn: Record<string, string> = { TeacherEnrollment: 'Teacher', TaEnrollment: 'TA', DesignerEnrollment: 'Designer' };
    return {
      roles: r.roles.map((value) => ({ value, label: value === 'StudentEnrollment' ? 'Student (StudentEnrollment)' : `${value} (custom student role)` })),
      adminRoles: r.adminRoles.map((value) => ({ value, label: builtIn[value] ? `${builtIn[value]} (${value})` : `${value} (custom role)` })),
      error: r.readError
        ? `Could not read the account's roles from Canvas${r.readError.reason ? ` (${r.readError.reason})` : ''}; only the built-in student role is offered.`
        : null,
    };
  }

  /**
   * The Configure page. `kept` is what a form that did not pass kept for one view (its message and
   * the choices sent), so the page shows the choices the person made rather than the stored ones.
   */
  async function renderConfigure(req: Request, res: Response, i: Integration, kept: ConfigureFormState = {}) {
    const formError = kept.formError ?? null;
    const typed = kept.typed;
    const usable = i.status.state === 'verified' || i.status.state === 'degraded';
    const lock = usable
      ? null
      : {
          why:
            i.status.state === 'not_connected'
              ? 'No Canvas token yet: Generate Keys has not been completed for this integration.'
              : i.status.state === 'pending'
                ? 'Generate Keys was started but Canvas has not answered yet (or the admin left the Canvas page).'
                : `The last authorization or check failed (${i.status.reasons.join(', ') || 'no token'}), so the roles cannot be read from Canvas.`,
          unlock: 'Finish Generate Keys on the LMS settings page; Configure unlocks as soon as the status is Verified (or Degraded, to let you pick another ID type).',
        };
    const roleOptions = usable ? await studentRoleOptions(i) : { roles: [], adminRoles: [], error: null };
    // A stored role Canvas no longer lists stays visible (and checked) so saving does not drop it silently.
    const adminOptions = [...roleOptions.adminRoles, ...i.courseAdminRoles.filter((v) => !roleOptions.adminRoles.some((o) => o.value === v)).map((v) => ({ value: v, label: v }))];
    const courseIdType = typed?.courseIdType ?? i.courseIdType;
    const userIdType = typed?.userIdType ?? i.userIdType;
    const studentRoles = typed?.studentRoles ?? i.studentRoles;
    const courseAdminRoles = typed?.courseAdminRoles ?? i.courseAdminRoles;
    const features: readonly string[] = typed?.features ?? i.features;
    res.render('integrations/configure', {
      title: `Configure · ${i.name}`,
      integration: integrationView(i),
      lock,
      courseIdTypes: COURSE_ID_TYPES.map((v) => ({ value: v, label: COURSE_ID_LABELS[v], selected: v === courseIdType })),
      userIdTypes: USER_ID_TYPES.map((v) => ({ value: v, label: USER_ID_LABELS[v], selected: v === userIdType })),
      roles: roleOptions.roles.map((r) => ({ ...r, checked: studentRoles.includes(r.value) })),
      adminRoles: usable ? adminOptions.map((r) => ({ ...r, checked: courseAdminRoles.includes(r.value) })) : [],
      rolesError: roleOptions.error,
      features: INTEGRATION_FEATURES.map((f) => ({ value: f, label: FEATURES[f].label, description: FEATURES[f].description, checked: features.includes(f) })),
      formError,
    });
  }

  router.get('/integrations/:id/configure', access, async (req, res) => {
    const i = await mustGet(req);
    await renderConfigure(req, res, i, takeFormState(req, configurePath(i.id)) as ConfigureFormState | undefined);
  });

  router.post('/integrations/:id/configure', access, back('/configure'), async (req, res) => {
    const i = await mustGet(req);
    if (i.status.state !== 'verified' && i.status.state !== 'degraded') {
      // Post/Redirect/Get: the page says once why nothing was saved; the lock itself explains the rest.
      keepFormState(req, configurePath(i.id), { formError: 'Configure is locked: nothing was saved. See why below.' } satisfies ConfigureFormState);
      return res.redirect(303, `${configurePath(i.id)}#form-error`);
    }
    const form = configureForm.safeParse(req.body ?? {});
    if (!form.success) throw zodToAppError(form.error);
    const roles = form.data.studentRoles === undefined ? [] : Array.isArray(form.data.studentRoles) ? form.data.studentRoles : [form.data.studentRoles];
    const adminRoles = form.data.courseAdminRoles === undefined ? [] : Array.isArray(form.data.courseAdminRoles) ? form.data.courseAdminRoles : [form.data.courseAdminRoles];
    const features = form.data.features === undefined ? [] : Array.isArray(form.data.features) ? form.data.features : [form.data.features];
    const parsed = c.integrationSchemas.patch.safeParse({
      courseIdType: form.data.courseIdType,
      userIdType: form.data.userIdType,
      studentRoles: roles,
      ...(form.data.courseAdminRolesShown ? { courseAdminRoles: adminRoles } : {}),
      ...(form.data.featuresShown ? { features } : {}),
    });
    if (!parsed.success) {
      const typed = { courseIdType: form.data.courseIdType, userIdType: form.data.userIdType, studentRoles: roles, ...(form.data.courseAdminRolesShown ? { courseAdminRoles: adminRoles } : {}), ...(form.data.featuresShown ? { features } : {}) };
      keepFormState(req, configurePath(i.id), { formError: `${zodToAppError(parsed.error).message} Nothing was saved.`, typed } satisfies ConfigureFormState);
      return res.redirect(303, `${configurePath(i.id)}#form-error`);
    }
    // Saving re-runs the checks (the SIS visibility check depends on the ID types, the scopes on the features).
    await c.integrationSettings.configure(i.id, parsed.data, settingsActor(req, res));
    flash(req, 'ok', 'Saved. The checks were re-run with the new ID types.');
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}/configure`);
  });

  router.get('/integrations/:id/scopes', access, async (req, res) => {
    const i = await mustGet(req);
    // Without ?features= the page shows what this integration's chosen features need.
    const features = parseFeatures(req.query.features) ?? manifestFeatures(i.features);
    res.render('integrations/scopes', {
      title: `Scoped token · ${i.name}`,
      integration: integrationView(i),
      scopes: scopesFor(features),
      scopesText: scopesFor(features).join('\n'),
      features: (Object.keys(FEATURES) as Feature[]).map((f) => ({
        id: f,
        label: FEATURES[f].label,
        description: FEATURES[f].description,
        note: FEATURES[f].note ?? null,
        selected: features.includes(f),
        endpoints: ENDPOINT_LIST.filter((e) => e.feature === f).map((e) => ({ scope: `url:${e.method}|${e.path}`, why: e.why })),
      })),
      featuresQuery: features.join(','),
    });
  });

  router.get('/integrations/:id/scopes.txt', access, async (req, res) => {
    const i = await mustGet(req);
    const scopes = scopesFor(parseFeatures(req.query.features) ?? manifestFeatures(i.features));
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="canvas-scopes-${i.id.slice(0, 8)}.txt"`);
    res.send(`${scopes.join('\n')}\n`);
  });

  router.get('/integrations/:id/troubleshoot', access, async (req, res) => {
    const i = await mustGet(req);
    // "Explain" answers with a redirect here; its outcome is shown once.
    const shown = req.session.troubleshootResult;
    if (shown) delete req.session.troubleshootResult;
    const pasted = shown?.integrationId === i.id ? shown.pasted : '';
    const d = shown?.integrationId === i.id ? diagnoseAuthorizeUrl(pasted) : null;
    const reason = d?.reason;
    res.render('integrations/troubleshoot', {
      title: `Troubleshooting · ${i.name}`,
      integration: integrationView(i),
      pasted,
      result: d ? { ...d, reason: reason ?? null, title: reason ? remedyFor(reason, 'authorization').title : null, remedy: reason ? remedyFor(reason, 'authorization').remedy : null } : null,
    });
  });

  router.post('/integrations/:id/troubleshoot', access, back('/troubleshoot'), async (req, res) => {
    const i = await mustGet(req);
    const pasted = typeof (req.body as Record<string, unknown>)?.url === 'string' ? String((req.body as Record<string, unknown>).url).slice(0, 8000) : '';
    // Post/Redirect/Get: the pasted text (no secret: an address Canvas showed) is kept for one page view.
    req.session.troubleshootResult = { integrationId: i.id, pasted };
    res.redirect(303, `/integrations/${encodeURIComponent(i.id)}/troubleshoot#diagnosis`);
  });

  router.get('/integrations/:id/audit', access, async (req, res) => {
    const i = await mustGet(req);
    const [events, staff, apiTokens] = await Promise.all([c.audit.list(i.id, 200), c.staff.list(), c.apiTokens.list()]);
    res.render('integrations/audit', {
      title: `Audit log · ${i.name}`,
      integration: integrationView(i),
      events: presentAuditTrail(events, { staff, apiTokens }, req.session.staff ? 'staff' : 'institution'),
    });
  });

  return router;
}

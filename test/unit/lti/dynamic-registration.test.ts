import { describe, expect, it } from '@jest/globals';
import {
  acceptedIssuers,
  checkConfigurationUrl,
  isHostedCanvas,
  matchRootAccount,
  describeCanvasAnswer,
  matchIssuer,
  postRegistration,
  registrationRequest,
  registrationTokenKey,
  TOOL_CONFIGURATION,
} from '../../../src/lti/dynamic-registration.js';
import { normaliseToolConfiguration, validateRegistration } from '../../../src/simulator/lti-registration.js';

const PUBLIC = 'https://companion.example.edu';
const NRPS = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';

describe('the registration request body', () => {
  const body = registrationRequest(PUBLIC);
  const tool = body[TOOL_CONFIGURATION] as Record<string, unknown>;
  const messages = tool.messages as Array<Record<string, unknown>>;

  it('passes every validation Canvas applies (the sandbox holds them with Canvas’s messages)', () => {
    expect(validateRegistration(body)).toEqual([]);
  });

  it('asks for both grant types, private_key_jwt, id_token and only the NRPS scope (no openid)', () => {
    expect(body.grant_types).toEqual(expect.arrayContaining(['client_credentials', 'implicit']));
    expect(body.token_endpoint_auth_method).toBe('private_key_jwt');
    expect(body.response_types).toEqual(['id_token']);
    expect(body.scope).toBe(NRPS);
    expect(String(body.scope).split(' ')).not.toContain('openid');
  });

  it('puts every URL under PUBLIC_URL: login, redirect/target link, JWKS', () => {
    expect(body.initiate_login_uri).toBe(`${PUBLIC}/lti/login`);
    expect(body.redirect_uris).toEqual([`${PUBLIC}/lti`]);
    expect(body.jwks_uri).toBe(`${PUBLIC}/lti/keys`);
    expect(tool.target_link_uri).toBe(`${PUBLIC}/lti`);
    expect(tool.domain).toBe('companion.example.edu');
  });

  it('offers account and course navigation as resource link launches that name their placement', () => {
    expect(messages.map((m) => m.placements)).toEqual([['account_navigation'], ['course_navigation']]);
    expect(messages.every((m) => m.type === 'LtiResourceLinkRequest')).toBe(true);
    for (const m of messages) expect((m.custom_parameters as Record<string, string>).cc_placement).toBe((m.placements as string[])[0]);
    const course = messages[1]!;
    expect(course['https://canvas.instructure.com/lti/course_navigation/default_enabled']).toBe(true);
    expect(course['https://canvas.instructure.com/lti/visibility']).toBe('admins');
    expect(tool['https://canvas.instructure.com/lti/privacy_level']).toBe('public');
    expect(tool.custom_parameters).toMatchObject({ canvas_user_id: '$Canvas.user.id', canvas_course_id: '$Canvas.course.id' });
  });

  it('keeps its placements and privacy level through Canvas’s normalisation (nothing silently dropped)', () => {
    const stored = normaliseToolConfiguration(tool);
    expect((stored.messages as Array<{ placements: string[] }>).map((m) => m.placements)).toEqual([['account_navigation'], ['course_navigation']]);
    expect(stored['https://canvas.instructure.com/lti/privacy_level']).toBe('public');
  });
});

describe('which Canvas may register', () => {
  const canvas = 'https://school.instructure.com';

  it('accepts the hosted issuers or the integration’s own Canvas while no LTI key is saved', () => {
    expect(acceptedIssuers(canvas, null).map((a) => `${a.environment}=${a.issuer}`)).toEqual([
      'production=https://canvas.instructure.com',
      'beta=https://canvas.beta.instructure.com',
      'test=https://canvas.test.instructure.com',
      'custom=https://school.instructure.com',
    ]);
    expect(matchIssuer('https://canvas.beta.instructure.com', canvas, null)).toEqual({ ok: true, value: { environment: 'beta', issuer: 'https://canvas.beta.instructure.com' } });
  });

  it('accepts the hosted issuers only for a hosted Canvas: a self-hosted Canvas registers with its own issuer only', () => {
    const selfHosted = 'https://canvas.school.edu';
    expect(acceptedIssuers(selfHosted, null)).toEqual([{ issuer: selfHosted, environment: 'custom' }]);
    const r = matchIssuer('https://canvas.instructure.com', selfHosted, null);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.failure.kind).toBe('wrong_issuer');
    expect(checkConfigurationUrl('https://canvas.instructure.com/api/lti/security/openid-configuration', selfHosted, null).ok).toBe(false);
    // A vanity domain is hosted when staff named its *.instructure.com twin as the other name.
    expect(isHostedCanvas(selfHosted, 'https://school.instructure.com')).toBe(true);
    expect(matchIssuer('https://canvas.instructure.com', selfHosted, null, 'https://school.instructure.com').ok).toBe(true);
    for (const notHosted of ['http://school.instructure.com', 'https://school.instructure.com.evil.test', 'https://instructure.com', 'https://school.instructure.com:8443']) {
      expect(isHostedCanvas(notHosted)).toBe(false);
    }
  });

  it('refuses a registration for another root account than the one the integration’s token reads', () => {
    const config = { issuer: 'https://canvas.instructure.com', registrationEndpoint: 'x', accountName: 'Other University', accountLtiGuid: 'guid-other:canvas-lms', productFamily: 'canvas' };
    const r = matchRootAccount(config, 'guid-own:canvas-lms');
    expect(r).toEqual({ ok: false, failure: { kind: 'foreign_account', accountName: 'Other University', detail: expect.stringContaining('"Other University"') } });
    expect(matchRootAccount({ ...config, accountLtiGuid: 'guid-own:canvas-lms' }, 'guid-own:canvas-lms').ok).toBe(true);
    // Without a token to read it, only the window and the issuer decide.
    expect(matchRootAccount(config, null).ok).toBe(true);
  });

  it('accepts only the saved issuer once a key is saved', () => {
    const r = matchIssuer('https://canvas.beta.instructure.com', canvas, { environment: 'production', clientId: '1', deploymentIds: [] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.failure.kind).toBe('wrong_issuer');
      expect(r.failure.detail).toContain('https://canvas.instructure.com');
    }
  });

  it('sends the registration token only to the integration’s Canvas or an accepted issuer’s host', () => {
    expect(checkConfigurationUrl('https://canvas.instructure.com/api/lti/security/openid-configuration', canvas, null).ok).toBe(true);
    expect(checkConfigurationUrl('https://school.instructure.com/api/lti/security/openid-configuration', canvas, null).ok).toBe(true);
    const other = checkConfigurationUrl('https://evil.example/openid', canvas, null);
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.failure).toMatchObject({ kind: 'wrong_canvas', host: 'evil.example' });
  });

  it('refuses a registration endpoint on another host than the configuration', async () => {
    let called = false;
    const r = await postRegistration((async () => ((called = true), new Response('{}'))) as typeof fetch, {
      endpoint: 'https://evil.example/api/lti/registrations',
      configurationUrl: new URL('https://canvas.instructure.com/api/lti/security/openid-configuration'),
      canvasUrl: canvas,
      token: 't',
      body: {},
      policy: { allowInsecure: false },
    });
    expect(r.ok).toBe(false);
    expect(called).toBe(false);
  });
});

describe('what Canvas answered', () => {
  const post = (status: number, body: unknown) =>
    postRegistration((async () => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status })) as typeof fetch, {
      endpoint: 'https://school.instructure.com/api/lti/registrations',
      configurationUrl: new URL('https://school.instructure.com/api/lti/security/openid-configuration'),
      canvasUrl: 'https://school.instructure.com',
      token: 't',
      body: {},
      policy: { allowInsecure: false },
    });

  it('reads the client id, and a deployment id only when Canvas sends one', async () => {
    expect(await post(200, { client_id: '10000000000042', scope: NRPS })).toEqual({ ok: true, value: { clientId: '10000000000042', deploymentId: null, scope: NRPS } });
    const withDeployment = await post(200, { client_id: '10000000000042', [TOOL_CONFIGURATION]: { deployment_id: '12:abc' } });
    expect(withDeployment.ok && withDeployment.value.deploymentId).toBe('12:abc');
  });

  it('tells a refused token (401) from a refused registration (422) and shows Canvas’s words', async () => {
    const expired = await post(401, { errors: [{ message: 'JWT did not include expected contents' }] });
    expect(expired).toEqual({ ok: false, failure: { kind: 'token_refused', status: 401, detail: 'HTTP 401: JWT did not include expected contents' } });
    const invalid = await post(422, { errors: { scope: [{ message: 'Invalid scopes: openid' }] } });
    expect(invalid).toEqual({ ok: false, failure: { kind: 'canvas_refused', status: 422, detail: 'HTTP 422: scope: Invalid scopes: openid' } });
    const broken = await post(200, { client_id: 'abc' });
    expect(broken.ok).toBe(false);
  });

  it('describes an HTML or empty answer without echoing the page', () => {
    expect(describeCanvasAnswer(404, '<html>Page not found</html>')).toBe('HTTP 404 (no message)');
    expect(describeCanvasAnswer(500, '')).toBe('HTTP 500 (no message)');
  });

  it('remembers a registration token by its uuid, or its hash when it has none', () => {
    const jwt = `x.${Buffer.from(JSON.stringify({ uuid: 'u-1' })).toString('base64url')}.y`;
    expect(registrationTokenKey(jwt, () => 'h')).toBe('uuid:u-1');
    expect(registrationTokenKey('opaque', () => 'h')).toBe('sha256:h');
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { createLtiPlatform, type LtiPlatformHandle, type LtiWorld } from '../../src/simulator/lti-platform.js';
import { FORWARD_SUBJECT, forwardingFramePage, parentFallbackScript, storageAnswer, type StorageUsage } from '../../src/simulator/lti-platform-storage.js';
import { createCanvasSandbox, type CanvasSandbox } from '../../src/simulator/sandbox.js';
import { emptyWorld, type World } from '../../src/simulator/world.js';

const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';

function mapStore() {
  const m = new Map<string, string>();
  return { m, store: { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) } };
}

describe('LTI platform storage answers', () => {
  const origin = 'https://tool.example';

  it('capabilities list put_data / get_data on the post_message_forwarding frame', () => {
    const { store } = mapStore();
    const r = storageAnswer(store, {}, origin, { subject: 'lti.capabilities', message_id: 'm0' })!;
    expect(r['subject']).toBe('lti.capabilities.response');
    expect(r['message_id']).toBe('m0');
    expect(r['supported_messages']).toEqual(expect.arrayContaining([{ subject: 'lti.put_data', frame: 'post_message_forwarding' }, { subject: 'lti.get_data', frame: 'post_message_forwarding' }]));
  });

  it('put, get and delete, stored per tool origin, with the org.imsglobal names too', () => {
    const { m, store } = mapStore();
    const usage: StorageUsage = {};
    expect(storageAnswer(store, usage, origin, { subject: 'lti.put_data', key: 'state-1', value: 'abc', message_id: 'm1' })).toEqual({ subject: 'lti.put_data.response', message_id: 'm1', key: 'state-1', value: 'abc' });
    expect(m.get(`lti|platform_storage|${origin}|state-1`)).toBe('abc');
    expect(storageAnswer(store, usage, origin, { subject: 'org.imsglobal.lti.get_data', key: 'state-1', message_id: 'm2' })).toEqual({ subject: 'org.imsglobal.lti.get_data.response', message_id: 'm2', key: 'state-1', value: 'abc' });
    expect(storageAnswer(store, usage, 'https://other.example', { subject: 'lti.get_data', key: 'state-1', message_id: 'm3' })!['value']).toBeNull();
    expect(storageAnswer(store, usage, origin, { subject: 'lti.put_data', key: 'state-1', value: null, message_id: 'm4' })).toEqual({ subject: 'lti.put_data.response', message_id: 'm4', key: 'state-1' });
    expect(m.size).toBe(0);
    expect(usage[origin]).toEqual({ keys: 0, chars: 0 });
    expect(storageAnswer(store, usage, origin, { subject: 'lti.showAlert' })).toBeNull();
  });

  it('bad_request without key or message_id', () => {
    const { store } = mapStore();
    expect(storageAnswer(store, {}, origin, { subject: 'lti.put_data', value: 'x', message_id: 'm' })!['error']).toEqual({ code: 'bad_request', message: "Missing required 'key' field" });
    expect(storageAnswer(store, {}, origin, { subject: 'lti.get_data', key: 'k' })!['error']).toEqual({ code: 'bad_request', message: "Missing required 'message_id' field" });
  });

  it('storage_exhaustion at 500 keys and at 4096 characters per origin', () => {
    const { store } = mapStore();
    const usage: StorageUsage = {};
    for (let i = 0; i < 500; i++) expect(storageAnswer(store, usage, origin, { subject: 'lti.put_data', key: `k${i}`, value: '', message_id: i })!['error']).toBeUndefined();
    expect(storageAnswer(store, usage, origin, { subject: 'lti.put_data', key: 'k500', value: '', message_id: 'x' })!['error']).toEqual({ code: 'storage_exhaustion', message: 'Reached key limit for tool' });
    const big = mapStore();
    const u2: StorageUsage = {};
    expect(storageAnswer(big.store, u2, origin, { subject: 'lti.put_data', key: 'a', value: 'x'.repeat(4095), message_id: 1 })!['error']).toBeUndefined();
    expect(storageAnswer(big.store, u2, origin, { subject: 'lti.put_data', key: 'b', value: 'y', message_id: 2 })!['error']).toEqual({ code: 'storage_exhaustion', message: 'Reached byte limit for tool' });
    expect(storageAnswer(big.store, u2, 'https://another.example', { subject: 'lti.put_data', key: 'b', value: 'y', message_id: 3 })!['error']).toBeUndefined();
  });

  it('the frame relays to the Canvas window, which answers from its own storage; the answer goes back to the tool and its origin', () => {
    const canvas = 'https://canvas.example';
    const sso = 'https://sso.example';
    const frameScript = /<script>([\s\S]*)<\/script>/.exec(forwardingFramePage(canvas))![1]!;
    const { store } = mapStore();
    let frameHandler: ((e: unknown) => void) | undefined;
    let pageHandler: ((e: unknown) => void) | undefined;
    const toTool: unknown[] = [];
    const toParent: Array<[unknown, string]> = [];
    const tool = { postMessage: (m: unknown, o: string) => toTool.push([m, o]) };
    const parentWindow = { postMessage: (m: unknown, o: string) => toParent.push([m, o]) };
    const frameWindow = { parent: parentWindow, addEventListener: (_: string, h: (e: unknown) => void) => (frameHandler = h) };
    new Function('window', frameScript)(frameWindow);
    const frameProxy = { postMessage: (m: unknown) => frameHandler!({ origin: canvas, source: parentWindow, data: m }) };
    const pageWindow = { localStorage: store, frames: { post_message_forwarding: frameProxy }, addEventListener: (_: string, h: (e: unknown) => void) => (pageHandler = h) };
    new Function('window', parentFallbackScript(sso))(pageWindow);

    frameHandler!({ origin, source: tool, data: { subject: 'lti.put_data', key: 'k', value: 'v', message_id: 'z' } });
    expect(toParent).toHaveLength(1);
    const [envelope, target] = toParent[0]!;
    expect(target).toBe(canvas);
    expect(envelope).toMatchObject({ subject: FORWARD_SUBJECT, tool_origin: origin });
    // A relay from anything but the frame on the storage origin is ignored.
    pageHandler!({ origin: 'https://evil.example', source: frameProxy, data: envelope });
    expect(toTool).toEqual([]);
    pageHandler!({ origin: sso, source: frameProxy, data: envelope });
    expect(toTool).toEqual([[{ subject: 'lti.put_data.response', message_id: 'z', key: 'k', value: 'v' }, origin]]);
    expect(store.getItem(`lti|platform_storage|${origin}|k`)).toBe('v');
  });

  it('the Canvas window answers the window.parent fallback directly, to the sender and its origin', () => {
    const { store } = mapStore();
    let handler: ((e: unknown) => void) | undefined;
    new Function('window', parentFallbackScript('https://sso.example'))({ localStorage: store, frames: {}, addEventListener: (_: string, h: (e: unknown) => void) => (handler = h) });
    const sent: unknown[] = [];
    handler!({ origin, data: { subject: 'lti.get_data', key: 'k', message_id: 'y' }, source: { postMessage: (m: unknown, o: string) => sent.push([m, o]) } });
    expect(sent).toEqual([[{ subject: 'lti.get_data.response', message_id: 'y', key: 'k', value: null }, origin]]);
  });
});

describe('LTI platform: storage target and Dynamic Registration', () => {
  let sb: CanvasSandbox;
  let platform: LtiPlatformHandle;
  let tool: Server;
  let toolUrl: string;
  /** How far the sandbox's clock runs ahead of the real one. */
  let aheadMs = 0;

  beforeAll(async () => {
    tool = createServer((req, res) => {
      if (req.url === '/config') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ oidc_initiation_url: `${toolUrl}/login`, target_link_uri: `${toolUrl}/launch`, public_jwk_url: `${toolUrl}/jwks` }));
      } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    await new Promise<void>((r) => tool.listen(0, '127.0.0.1', () => r()));
    toolUrl = `http://127.0.0.1:${(tool.address() as AddressInfo).port}`;
    const world: World = emptyWorld('Registration U');
    world.users.push({ id: '1', name: 'Ada Admin', sortableName: 'Admin, Ada', loginId: 'ada', password: 'pw' });
    world.lti = { tools: [{ clientId: '10000000000050', deploymentIds: ['1:abc'], configUrl: `${toolUrl}/config` }] } satisfies LtiWorld;
    platform = await createLtiPlatform();
    sb = createCanvasSandbox({ world, plugins: [platform.plugin], clock: () => new Date(Date.now() + aheadMs) });
    await sb.start();
  });
  afterAll(async () => {
    await sb.stop();
    await new Promise<void>((r) => tool.close(() => r()));
  });

  const launch = (query: string) => fetch(`${sb.url}/__lti/launch?${query}`, { redirect: 'manual' });

  async function authorizeForm(login: URL): Promise<string> {
    const params = new URLSearchParams({
      scope: 'openid', response_type: 'id_token', response_mode: 'form_post', prompt: 'none', nonce: 'n1', state: 's1',
      client_id: login.searchParams.get('client_id')!, redirect_uri: login.searchParams.get('target_link_uri')!,
      login_hint: login.searchParams.get('login_hint')!, lti_message_hint: login.searchParams.get('lti_message_hint')!,
    });
    const r = await fetch(`${sb.url}/api/lti/authorize_redirect?${params.toString()}`);
    expect(r.status).toBe(200);
    return r.text();
  }

  it('sends lti_storage_target=post_message_forwarding in login initiation and launch; none for mobile launches', async () => {
    const login = new URL((await launch('user=1&client_id=10000000000050')).headers.get('location')!);
    expect(login.searchParams.get('lti_storage_target')).toBe('post_message_forwarding');
    expect(await authorizeForm(login)).toContain('name="lti_storage_target" value="post_message_forwarding"');
    const mobile = new URL((await launch('user=1&client_id=10000000000050&mobile=1')).headers.get('location')!);
    expect(mobile.searchParams.has('lti_storage_target')).toBe(false);
    expect(await authorizeForm(mobile)).not.toContain('lti_storage_target');
  });

  it('serves the storage frame on the auth origin and puts it next to the tool iframe', async () => {
    const frame = await fetch(`${sb.url}/post_message_forwarding`);
    expect(frame.status).toBe(200);
    expect(await frame.text()).toContain("addEventListener('message'");
    const page = await (await fetch(`${sb.url}/__lti/launch?user=1&frame=1`)).text();
    expect(page).toContain('name="post_message_forwarding" id="post_message_forwarding"');
    expect(page).toContain('sandbox="allow-scripts allow-same-origin"');
    expect(page).toContain(`src="${sb.url}/post_message_forwarding?parent_origin=${encodeURIComponent(sb.url)}"`);

    // Hosted Canvas serves the frame from its OIDC origin, another site than the Canvas page.
    const lti = sb.world.lti as LtiWorld;
    lti.authOrigin = 'http://localhost:1';
    try {
      const elsewhere = await (await fetch(`${sb.url}/__lti/launch?user=1&frame=1`)).text();
      expect(elsewhere).toContain(`src="http://localhost:1/post_message_forwarding?parent_origin=${encodeURIComponent(sb.url)}"`);
      expect(await (await fetch(`${sb.url}/__lti/platform-storage.js`)).text()).toContain('var storageOrigin = "http://localhost:1"');
    } finally {
      delete lti.authOrigin;
    }
    const relay = await (await fetch(`${sb.url}/post_message_forwarding?parent_origin=${encodeURIComponent('https://canvas.example')}`)).text();
    expect(relay).toContain('var parentOrigin = "https://canvas.example"');
    const notAnOrigin = await (await fetch(`${sb.url}/post_message_forwarding?parent_origin=${encodeURIComponent('https://canvas.example/path')}`)).text();
    expect(notAnOrigin).toContain(`var parentOrigin = "${sb.url}"`);
  });

  const registration = (over: Record<string, unknown> = {}) => ({
    application_type: 'web',
    grant_types: ['client_credentials', 'implicit'],
    response_types: ['id_token'],
    token_endpoint_auth_method: 'private_key_jwt',
    redirect_uris: [`${toolUrl}/launch`],
    initiate_login_uri: `${toolUrl}/login`,
    jwks_uri: `${toolUrl}/jwks`,
    client_name: 'Exam tool',
    scope: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
    [TOOL_CONFIGURATION]: {
      domain: '127.0.0.1',
      target_link_uri: `${toolUrl}/launch`,
      claims: ['sub', 'name'],
      messages: [{ type: 'LtiResourceLinkRequest', placements: ['account_navigation', 'no_such_placement'] }, { type: 'LtiResourceLinkRequest' }],
      description: 'dropped by the allow-list',
    },
    ...over,
  });
  const register = (body: unknown, token: string | undefined) =>
    fetch(`${sb.url}/api/lti/registrations`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

  it('the admin page frames the tool with openid_configuration and a 1 h registration token with exactly Canvas claims', async () => {
    const page = await (await fetch(`${sb.url}/__lti/register?url=${encodeURIComponent(`${toolUrl}/register`)}`)).text();
    const src = new URL(/id="tool" title="Tool registration" src="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&'));
    const token = src.searchParams.get('registration_token')!;
    expect(new URL(src.searchParams.get('openid_configuration')!).pathname).toBe('/api/lti/security/openid-configuration');
    const claims = decodeJwt(token);
    expect(Object.keys(claims).sort()).toEqual(['exp', 'initiated_at', 'root_account_global_id', 'user_id', 'uuid']);
    expect(claims.exp! - Math.floor(Date.parse(String(claims['initiated_at'])) / 1000)).toBe(3600);
  });

  it('OpenID configuration needs the registration token and carries the Canvas platform configuration', async () => {
    expect((await fetch(`${sb.url}/api/lti/security/openid-configuration`)).status).toBe(401);
    const token = await platform.registrationToken();
    const cfg = (await (await fetch(`${sb.url}/api/lti/security/openid-configuration`, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, unknown>;
    expect(cfg).toMatchObject({ registration_endpoint: `${sb.url}/api/lti/registrations`, token_endpoint_auth_methods_supported: ['private_key_jwt'], response_types_supported: ['id_token'] });
    expect(cfg['https://purl.imsglobal.org/spec/lti-platform-configuration']).toMatchObject({ product_family_code: 'canvas', 'https://canvas.instructure.com/lti/account_name': 'Registration U' });
    expect(cfg['scopes_supported']).not.toContain('openid');
    expect(cfg['scopes_supported']).toContain('https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly');
    expect(cfg['jwks_uri']).toBe(`${sb.url}/login/oauth2/jwks`);
    const jwks = (await (await fetch(String(cfg['jwks_uri']))).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual([platform.kid()]);
  });

  it('a registration token past its hour is refused (401) by the configuration and the registration routes', async () => {
    const token = await platform.registrationToken();
    const config = () => fetch(`${sb.url}/api/lti/security/openid-configuration`, { headers: { authorization: `Bearer ${token}` } });
    expect((await config()).status).toBe(200);
    aheadMs = 3601 * 1000;
    try {
      const refused = await config();
      expect(refused.status).toBe(401);
      expect(JSON.stringify(await refused.json())).toContain('JWT did not include expected contents');
      const posted = await register(registration(), token);
      expect(posted.status).toBe(401);
      expect(JSON.stringify(await posted.json())).toContain('JWT did not include expected contents');
    } finally {
      aheadMs = 0;
    }
  });

  it('a registration token registers one key: a second POST with it is refused like a foreign token', async () => {
    const token = await platform.registrationToken();
    expect((await register(registration(), token)).status).toBe(200);
    const again = await register(registration(), token);
    expect(again.status).toBe(401);
    expect(JSON.stringify(await again.json())).toContain('JWT did not include expected contents');
  });

  it('can be told to refuse every registration with given validation errors (a Canvas whose validation differs)', async () => {
    const lw = sb.world.lti as { registrationErrors?: string[] };
    lw.registrationErrors = ['x: refused for the test'];
    try {
      const r = await register(registration(), await platform.registrationToken());
      expect(r.status).toBe(422);
      expect(platform.lastRegistrationErrors()).toEqual(['x: refused for the test']);
    } finally {
      delete lw.registrationErrors;
    }
  });

  it('refuses invalid registrations with a bare 422 (500 without scope), keeping Canvas messages for inspection', async () => {
    const token = await platform.registrationToken();
    expect((await register(registration(), undefined)).status).toBe(401);
    let r = await register(registration({ grant_types: ['client_credentials'] }), token);
    expect(r.status).toBe(422);
    expect(JSON.stringify(await r.json())).not.toContain('Must include');
    expect(platform.lastRegistrationErrors()).toEqual(['grant_types: Must include client_credentials, implicit']);
    r = await register(registration({ scope: 'openid https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly' }), token);
    expect(r.status).toBe(422);
    expect(platform.lastRegistrationErrors()).toEqual(['scope: Invalid scopes: openid']);
    r = await register(registration({ application_type: 'native', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [] }), token);
    expect(platform.lastRegistrationErrors()).toEqual(["application_type: Must be 'web'", "token_endpoint_auth_method: Must be 'private_key_jwt'", 'redirect_uris: Must only contain valid URIs']);
    const { scope: _scope, ...noScope } = registration();
    expect((await register(noScope, token)).status).toBe(500);
  });

  it('a valid registration answers 200 with a string client_id and no deployment_id; the key stays off until the admin confirms', async () => {
    const token = await platform.registrationToken();
    const r = await register(registration(), token);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown>;
    expect(typeof body['client_id']).toBe('string');
    expect(body['client_id']).toMatch(/^\d{14}$/);
    expect('deployment_id' in body).toBe(false);
    const cfg = body[TOOL_CONFIGURATION] as { messages: Array<{ placements: string[] }>; description?: string } & Record<string, unknown>;
    expect(cfg.messages.map((m) => m.placements)).toEqual([['account_navigation'], ['link_selection']]);
    expect(cfg.description).toBeUndefined();
    expect(cfg['https://canvas.instructure.com/lti/privacy_level']).toBe('name_only');
    const clientId = String(body['client_id']);
    expect((await launch(`user=1&client_id=${clientId}`)).status).toBe(404);
    const uuid = String(decodeJwt(token)['uuid']);
    expect(await (await fetch(`${sb.url}/__lti/register/review?uuid=${uuid}`)).text()).toContain(clientId);
    const confirmed = await fetch(`${sb.url}/__lti/register/confirm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${clientId}` });
    expect(confirmed.status).toBe(200);
    const login = new URL((await launch(`user=1&client_id=${clientId}&placement=account_navigation`)).headers.get('location')!);
    expect(`${login.origin}${login.pathname}`).toBe(`${toolUrl}/login`);
    expect(login.searchParams.get('lti_deployment_id')).toMatch(/^\d+:/);
  });
});

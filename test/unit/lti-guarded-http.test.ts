import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ltijsHttp from 'ltijs/dist/Utils/Http.js';
import { guardLtijsHttp } from '../../src/lti/guarded-http.js';
import type { HostResolver } from '../../src/net/guarded-fetch.js';
import { startFakeCanvas, type FakeCanvas } from './canvas-fake-server.js';

const resolve: HostResolver = async (h) => (h === 'canvas.example.edu' ? [{ address: '127.0.0.1', family: 4 }] : []);

describe("ltijs's HTTP client (JWKS, token endpoint, Names and Roles) behind the outbound guard", () => {
  let platform: FakeCanvas;
  let port: string;
  beforeAll(async () => {
    platform = await startFakeCanvas(() => ({ body: { keys: [] } }));
    port = new URL(platform.baseUrl).port;
  });
  afterAll(async () => {
    guardLtijsHttp({ allowInsecure: true });
    await platform.close();
  });

  it('refuses a JWKS URL whose public-looking name resolves to 127.0.0.1, at connect time', async () => {
    guardLtijsHttp({ allowInsecure: false, resolve });
    await expect(ltijsHttp.get(`https://canvas.example.edu:${port}/api/lti/security/jwks`)).rejects.toThrow(/canvas\.example\.edu resolves to a loopback address 127\.0\.0\.1/);
    expect(platform.requests).toHaveLength(0);
  });

  it('refuses private literals and http before any request', async () => {
    guardLtijsHttp({ allowInsecure: false, resolve });
    await expect(ltijsHttp.post(`https://[::ffff:7f00:1]:${port}/login/oauth2/token`, { form: { a: '1' } })).rejects.toThrow(/IPv4-mapped form of a loopback address/);
    await expect(ltijsHttp.get(`http://canvas.example.edu:${port}/jwks`)).rejects.toThrow(/must use https/);
    expect(platform.requests).toHaveLength(0);
  });

  it('reaches the sandbox through the same resolver when insecure URLs are allowed, but never a UNIX socket', async () => {
    guardLtijsHttp({ allowInsecure: true, resolve });
    const body = await (ltijsHttp.get(`http://canvas.example.edu:${port}/jwks`) as unknown as { json(): Promise<unknown> }).json();
    expect(body).toEqual({ keys: [] });
    await expect(ltijsHttp.get('http://unix:/var/run/docker.sock:/containers/json')).rejects.toThrow(/refused/);
  });
});

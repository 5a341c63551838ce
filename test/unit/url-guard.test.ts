import { describe, expect, it } from '@jest/globals';
import { createIntegrationSchemas, normalizeCanvasUrl } from '../../src/integrations/integration.js';
import { checkOutboundUrl, describeNonPublicAddress } from '../../src/net/url-guard.js';

const strict = { allowInsecure: false };
const schemas = createIntegrationSchemas({ allowInsecureCanvasUrls: false });
const base = { name: 'School', clientId: '170000000000001' };

/** The literal forms the old dotted-quad check let through, each with the reason the guard gives. */
const PASSED_BEFORE: Array<[string, RegExp]> = [
  ['https://[::ffff:127.0.0.1]', /IPv4-mapped form of a loopback address 127\.0\.0\.1/],
  ['https://[::ffff:a9fe:a9fe]', /IPv4-mapped form of a link-local address 169\.254\.169\.254/],
  ['https://[64:ff9b::7f00:1]', /NAT64 form of a loopback address 127\.0\.0\.1/],
  ['https://[64:ff9b::a9fe:a9fe]', /NAT64 form of a link-local address 169\.254\.169\.254/],
  ['https://[2002:a00:1::1]', /6to4 form of a private address 10\.0\.0\.1/],
  ['https://[2002:7f00:1::]', /6to4 form of a loopback address/],
  ['https://[fec0::1]', /site-local address/],
  ['https://198.18.0.1', /benchmarking address 198\.18\.0\.1/],
  ['https://198.19.255.254', /benchmarking address/],
  ['https://224.0.0.1', /multicast address/],
  ['https://[ff02::1]', /multicast address/],
  ['https://255.255.255.255', /broadcast address/],
  ['https://localhost.', /private host name/],
  ['https://app.localhost.', /private host name/],
  ['https://canvas.internal.', /private host name/],
  ['https://[::7f00:1]', /not a public unicast address/],
  ['https://[::ffff:0:7f00:1]', /IPv4-translated address/],
  ['https://[2001::1]', /Teredo/],
  ['https://[2001:db8::1]', /reserved address/],
  ['https://192.0.2.10', /reserved address/],
  ['https://240.0.0.1', /reserved address/],
];

/** IPv4 spellings the WHATWG URL parser turns into 127.0.0.1 or 10.0.0.1. */
const IPV4_SPELLINGS = ['https://2130706433', 'https://0177.0.0.1', 'https://0x7f.1', 'https://0x7f000001', 'https://127.1', 'https://%31%32%37.0.0.1', 'https://0x0a.0.0.1', 'https://012.0.0.1', 'https://167772161'];

describe('outbound URL guard: literal forms', () => {
  it.each(PASSED_BEFORE)('refuses %s with a reason naming the range', (url, why) => {
    const r = checkOutboundUrl(url, strict);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.why).toMatch(why);
  });

  it.each(PASSED_BEFORE)('refuses %s as a Canvas URL (the old check accepted it)', (url) => {
    expect(normalizeCanvasUrl(url, strict).ok).toBe(false);
    const parsed = schemas.create.safeParse({ ...base, canvasUrl: url });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['canvasUrl']);
  });

  it.each(IPV4_SPELLINGS)('refuses the IPv4 spelling %s', (url) => {
    const r = checkOutboundUrl(url, strict);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.why).toMatch(/(loopback|private) address (127\.0\.0\.1|10\.0\.0\.1)/);
  });

  it('says "must use https://" for http and refuses other schemes whatever the setting', () => {
    expect(checkOutboundUrl('http://school.instructure.com', strict)).toEqual({ ok: false, why: 'must use https://' });
    for (const url of ['javascript:alert(1)', 'file:///etc/passwd', 'ftp://school.instructure.com', 'data:text/plain,x']) {
      expect(checkOutboundUrl(url, strict).ok).toBe(false);
      expect(checkOutboundUrl(url, { allowInsecure: true }).ok).toBe(false);
    }
  });

  it('accepts public hosts and public unicast addresses (v4, v6, and NAT64/6to4 forms of public v4)', () => {
    for (const url of ['https://school.instructure.com', 'https://canvas.school.edu.:8443', 'https://8.8.8.8', 'https://[2606:4700::1111]', 'https://[64:ff9b::808:808]', 'https://[2002:808:808::1]', 'https://[::ffff:8.8.8.8]']) {
      expect(checkOutboundUrl(url, strict)).toMatchObject({ ok: true });
    }
  });

  it('refuses single-label names and private DNS suffixes', () => {
    for (const url of ['https://canvas', 'https://canvas.local', 'https://x.home.arpa', 'https://a.b.localdomain']) {
      expect(checkOutboundUrl(url, strict).ok).toBe(false);
    }
  });

  it('allows http and loopback/private hosts when insecure URLs are allowed (the sandbox)', () => {
    expect(checkOutboundUrl('http://127.0.0.1:4000', { allowInsecure: true })).toMatchObject({ ok: true });
    expect(checkOutboundUrl('http://localhost:4000', { allowInsecure: true })).toMatchObject({ ok: true });
    expect(normalizeCanvasUrl('http://[::1]:4000/x', { allowInsecure: true })).toEqual({ ok: true, url: 'http://[::1]:4000' });
  });

  it('classifies resolved addresses the same way', () => {
    expect(describeNonPublicAddress('10.0.0.5')).toBe('a private address 10.0.0.5');
    expect(describeNonPublicAddress('fd00::1')).toMatch(/unique local/);
    expect(describeNonPublicAddress('100.64.0.1')).toMatch(/carrier-grade NAT/);
    expect(describeNonPublicAddress('0.0.0.0')).toMatch(/unspecified/);
    expect(describeNonPublicAddress('::')).toMatch(/unspecified/);
    expect(describeNonPublicAddress('93.184.216.34')).toBeNull();
  });
});

describe('LTI custom endpoints use the same guard', () => {
  const lti = (o: Record<string, string>) => ({
    ...base,
    canvasUrl: 'https://school.instructure.com',
    lti: { environment: 'custom', clientId: '10000000000001', deploymentIds: ['1:abc'], issuer: 'https://canvas.school.edu', authUrl: 'https://canvas.school.edu/api/lti/authorize_redirect', jwksUrl: 'https://canvas.school.edu/api/lti/security/jwks', ...o },
  });

  it.each([
    ['issuer', 'javascript:alert(1)'],
    ['authUrl', 'file:///etc/passwd'],
    ['jwksUrl', 'https://169.254.169.254/latest/meta-data'],
    ['jwksUrl', 'https://[::ffff:127.0.0.1]/jwks'],
    ['authUrl', 'http://canvas.school.edu/auth'],
    ['issuer', 'https://localhost.'],
  ])('refuses lti.%s = %s with insecure URLs off, naming the field', (field, value) => {
    const parsed = schemas.create.safeParse(lti({ [field]: value }));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['lti', field]);
    expect(parsed.error?.issues[0]?.message).toMatch(new RegExp(`^lti\\.${field} `));
  });

  it('keeps the issuer exactly as written (it must equal the id_token iss)', () => {
    const parsed = schemas.create.safeParse(lti({ issuer: ' https://canvas.school.edu ' }));
    expect(parsed.success).toBe(true);
    expect(parsed.data?.lti?.issuer).toBe('https://canvas.school.edu');
  });
});

/**
 * Property tests of the outbound-URL guard: every literal spelling of every non-public range is
 * refused, public addresses in every spelling are accepted, and no input makes it (or the
 * integration schemas' URL fields) throw.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createIntegrationSchemas, normalizeCanvasUrl } from '../../src/integrations/integration.js';
import { createGuardedLookup } from '../../src/net/guarded-fetch.js';
import { checkOutboundUrl } from '../../src/net/url-guard.js';

const RUNS = { numRuns: 400 };
const strict = { allowInsecure: false };
const schemas = createIntegrationSchemas({ allowInsecureCanvasUrls: false });
const insecureSchemas = createIntegrationSchemas({ allowInsecureCanvasUrls: true });

// ---- address generators (ranges written out here, independently of the implementation) ---------

type V4 = [number, number, number, number];
type V6 = number[]; // eight 16-bit groups

/** A random IPv4 address inside base/bits. */
function v4In(base: V4, bits: number): fc.Arbitrary<V4> {
  const b = ((base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3]) >>> 0;
  const size = 2 ** (32 - bits);
  return fc.integer({ min: 0, max: size - 1 }).map((off) => {
    const n = (b + off) >>> 0;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255] as V4;
  });
}

/** A random IPv6 address inside base/bits. */
function v6In(base: V6, bits: number): fc.Arbitrary<V6> {
  return fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((rand) =>
    base.map((g, i) => {
      const keep = Math.max(0, Math.min(16, bits - i * 16));
      const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
      return (g & mask) | (rand[i]! & ~mask & 0xffff);
    }),
  );
}

const PRIVATE_V4: Array<[V4, number]> = [
  [[0, 0, 0, 0], 8],
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10],
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16],
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24],
  [[192, 0, 2, 0], 24],
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15],
  [[198, 51, 100, 0], 24],
  [[203, 0, 113, 0], 24],
  [[224, 0, 0, 0], 4],
  [[240, 0, 0, 0], 4],
  [[255, 255, 255, 255], 32],
];
const PUBLIC_V4: Array<[V4, number]> = [
  [[1, 0, 0, 0], 8],
  [[8, 0, 0, 0], 8],
  [[23, 0, 0, 0], 8],
  [[45, 0, 0, 0], 8],
  [[93, 0, 0, 0], 8],
  [[151, 101, 0, 0], 16],
  [[185, 0, 0, 0], 8],
];
const PRIVATE_V6: Array<[V6, number]> = [
  [[0, 0, 0, 0, 0, 0, 0, 0], 128],
  [[0, 0, 0, 0, 0, 0, 0, 1], 128],
  [[0, 0, 0, 0, 0, 0, 0, 0], 96], // IPv4-compatible (deprecated) ::a.b.c.d
  [[0x100, 0, 0, 0, 0, 0, 0, 0], 64],
  [[0x2001, 0, 0, 0, 0, 0, 0, 0], 32], // Teredo
  [[0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48],
  [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32],
  [[0x64, 0xff9b, 0x1, 0, 0, 0, 0, 0], 48],
  [[0xfc00, 0, 0, 0, 0, 0, 0, 0], 7],
  [[0xfe80, 0, 0, 0, 0, 0, 0, 0], 10],
  [[0xfec0, 0, 0, 0, 0, 0, 0, 0], 10],
  [[0xff00, 0, 0, 0, 0, 0, 0, 0], 8],
];
const PUBLIC_V6: Array<[V6, number]> = [
  [[0x2400, 0, 0, 0, 0, 0, 0, 0], 12],
  [[0x2600, 0, 0, 0, 0, 0, 0, 0], 12],
  [[0x2a00, 0, 0, 0, 0, 0, 0, 0], 12],
];

const oneOfRanges4 = (ranges: Array<[V4, number]>) => fc.oneof(...ranges.map(([b, n]) => v4In(b, n)));
const oneOfRanges6 = (ranges: Array<[V6, number]>) => fc.oneof(...ranges.map(([b, n]) => v6In(b, n)));

// ---- spellings ---------------------------------------------------------------------------------

const v4Int = (a: V4) => ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0;
const octal = (n: number) => `0${n.toString(8)}`;
const hex = (n: number, upper: boolean) => `0${upper ? 'X' : 'x'}${upper ? n.toString(16).toUpperCase() : n.toString(16)}`;

/** The IPv4 spellings the WHATWG URL parser accepts: dotted, 1–3 parts, decimal/octal/hex, %-encoded. */
function v4Spelling(a: V4): fc.Arbitrary<string> {
  const n = v4Int(a);
  const part = (v: number) => fc.constantFrom(String(v), octal(v), hex(v, false), hex(v, true));
  return fc.oneof(
    fc.constant(a.join('.')),
    part(n),
    fc.tuple(part(a[0]), part(a[1]), part(a[2]), part(a[3])).map((p) => p.join('.')),
    fc.tuple(part(a[0]), part((a[1] << 16) | (a[2] << 8) | a[3])).map((p) => p.join('.')),
    fc.tuple(part(a[0]), part(a[1]), part((a[2] << 8) | a[3])).map((p) => p.join('.')),
    fc.constant(a.join('.').replace(/\d/, (d) => `%3${d}`)),
    fc.constant(`${a.join('.')}.`),
  );
}

const g4 = (g: number, pad: boolean, upper: boolean) => {
  const s = pad ? g.toString(16).padStart(4, '0') : g.toString(16);
  return upper ? s.toUpperCase() : s;
};

/** Compressed (longest zero run as ::), expanded, zero-padded, upper case, optional dotted tail. */
function v6Spelling(groups: V6): fc.Arbitrary<string> {
  return fc.record({ pad: fc.boolean(), upper: fc.boolean(), compress: fc.boolean(), dottedTail: fc.boolean() }).map(({ pad, upper, compress, dottedTail }) => {
    let parts = groups.map((g) => g4(g, pad, upper));
    if (dottedTail) {
      const t = groups.slice(6);
      parts = [...parts.slice(0, 6), `${t[0]! >> 8}.${t[0]! & 255}.${t[1]! >> 8}.${t[1]! & 255}`];
    }
    let text = parts.join(':');
    if (compress) {
      // Replace the longest run of zero groups (among the first six or eight) by "::".
      const zeros = parts.map((p) => /^0+$/.test(p));
      let best = [-1, 0];
      for (let i = 0; i < zeros.length; i++) {
        let j = i;
        while (j < zeros.length && zeros[j]) j++;
        if (j - i > best[1]!) best = [i, j - i];
      }
      if (best[1]! >= 2) text = `${parts.slice(0, best[0]).join(':')}::${parts.slice(best[0]! + best[1]!).join(':')}`;
    }
    return `[${text}]`;
  });
}

/** IPv6 forms that embed an IPv4 address: mapped, NAT64 (well-known prefix), 6to4. */
function embeddingV4(a: V4): fc.Arbitrary<V6> {
  const hi = (a[0] << 8) | a[1];
  const lo = (a[2] << 8) | a[3];
  return fc.oneof(
    fc.constant<V6>([0, 0, 0, 0, 0, 0xffff, hi, lo]),
    fc.constant<V6>([0x64, 0xff9b, 0, 0, 0, 0, hi, lo]),
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 5, maxLength: 5 }).map((r): V6 => [0x2002, hi, lo, ...r]),
  );
}

const privateHost: fc.Arbitrary<string> = fc.oneof(
  oneOfRanges4(PRIVATE_V4).chain(v4Spelling),
  oneOfRanges6(PRIVATE_V6).chain(v6Spelling),
  oneOfRanges4(PRIVATE_V4).chain(embeddingV4).chain(v6Spelling),
  fc
    .tuple(
      fc.constantFrom('localhost', 'LocalHost', 'x.localhost', 'canvas.local', 'canvas.internal', 'a.b.INTERNAL', 'box.localdomain', 'printer.home.arpa'),
      fc.constantFrom('', '.', '..'),
    )
    .map(([n, dots]) => `${n}${dots}`),
);

const publicHost: fc.Arbitrary<string> = fc.oneof(
  oneOfRanges4(PUBLIC_V4).chain(v4Spelling),
  oneOfRanges6(PUBLIC_V6).chain(v6Spelling),
  oneOfRanges4(PUBLIC_V4).chain(embeddingV4).chain(v6Spelling),
  fc.constantFrom('school.instructure.com', 'canvas.school.edu.', 'CANVAS.Example.ORG'),
);

const withUrlParts = (host: string) =>
  fc.tuple(fc.constantFrom('', ':443', ':8443'), fc.constantFrom('', '/', '/api/lti/security/jwks', '/x?y=1#z')).map(([port, path]) => `https://${host}${port}${path}`);

// ---- properties --------------------------------------------------------------------------------

describe('outbound URL guard (properties)', () => {
  it('refuses every spelling of every private, loopback, link-local, reserved or multicast address, and private names', () => {
    fc.assert(
      fc.property(privateHost.chain(withUrlParts), (url) => {
        expect(() => new URL(url)).not.toThrow(); // the spelling is a real URL, so the refusal is the guard's
        const r = checkOutboundUrl(url, strict);
        expect(r.ok).toBe(false);
        expect(normalizeCanvasUrl(url, strict).ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('refuses them in the integration schemas too: canvasUrl and the custom LTI endpoints, naming the field', () => {
    fc.assert(
      fc.property(privateHost.chain(withUrlParts), fc.constantFrom('canvasUrl', 'issuer', 'authUrl', 'jwksUrl'), (url, field) => {
        const lti = { environment: 'custom', clientId: '1', deploymentIds: [], issuer: 'https://canvas.school.edu', authUrl: 'https://canvas.school.edu/a', jwksUrl: 'https://canvas.school.edu/j' };
        const body =
          field === 'canvasUrl'
            ? { name: 'n', clientId: '1', canvasUrl: url }
            : { name: 'n', clientId: '1', canvasUrl: 'https://school.instructure.com', lti: { ...lti, [field]: url } };
        const parsed = schemas.create.safeParse(body);
        expect(parsed.success).toBe(false);
        const path = field === 'canvasUrl' ? ['canvasUrl'] : ['lti', field];
        expect(parsed.error!.issues[0]!.path).toEqual(path);
        expect(parsed.error!.issues[0]!.message.startsWith(path.join('.'))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts public unicast addresses in every spelling, and public names', () => {
    fc.assert(
      fc.property(publicHost.chain(withUrlParts), (url) => {
        expect(checkOutboundUrl(url, strict)).toMatchObject({ ok: true });
        expect(normalizeCanvasUrl(url, strict).ok).toBe(true);
      }),
      RUNS,
    );
  });

  it('the connect-time lookup refuses a name resolving to any non-public address and passes public ones', async () => {
    const canonical4 = (a: V4) => a.join('.');
    const canonical6 = (g: V6) => g.map((x) => x.toString(16)).join(':');
    const resolved = fc.oneof(
      oneOfRanges4(PRIVATE_V4).map((a) => ({ address: canonical4(a), family: 4, public: false })),
      oneOfRanges6(PRIVATE_V6).map((g) => ({ address: canonical6(g), family: 6, public: false })),
      oneOfRanges4(PRIVATE_V4).chain(embeddingV4).map((g) => ({ address: canonical6(g), family: 6, public: false })),
      oneOfRanges4(PUBLIC_V4).map((a) => ({ address: canonical4(a), family: 4, public: true })),
      oneOfRanges6(PUBLIC_V6).map((g) => ({ address: canonical6(g), family: 6, public: true })),
    );
    await fc.assert(
      fc.asyncProperty(resolved, fc.boolean(), async (r, all) => {
        const lookup = createGuardedLookup({ allowInsecure: false, resolve: async () => [{ address: r.address, family: r.family }] });
        const err = await new Promise<unknown>((done) => lookup('canvas.example.edu', { all }, (e) => done(e)));
        if (r.public) expect(err).toBeNull();
        else expect(err).toMatchObject({ name: 'OutboundRequestRefusedError', message: expect.stringContaining('canvas.example.edu resolves to') });
      }),
      RUNS,
    );
  });

  it('never throws on arbitrary input, and a refused schema field is always named', () => {
    const junk = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `https://${s}`));
    fc.assert(
      fc.property(junk, fc.boolean(), (s, allowInsecure) => {
        expect(() => checkOutboundUrl(s, { allowInsecure })).not.toThrow();
        expect(() => normalizeCanvasUrl(s, { allowInsecure })).not.toThrow();
        const parsed = (allowInsecure ? insecureSchemas : schemas).create.safeParse({ name: 'n', clientId: '1', canvasUrl: s });
        if (!parsed.success) {
          expect(parsed.error.issues[0]!.path).toEqual(['canvasUrl']);
          expect(parsed.error.issues[0]!.message).toMatch(/^canvasUrl /);
        }
      }),
      RUNS,
    );
  });
});

/**
 * Rails parameter conventions the sandbox must reproduce byte for byte: nested params
 * (`state[]=a`, `parameters[courses]=true`) and `Hash#to_query` (used for OAuth redirects and
 * pagination links: keys sorted, values CGI-escaped with spaces as `+`).
 */

export type ParamValue = string | string[] | ParamHash;
export interface ParamHash {
  [key: string]: ParamValue;
}

/** Ruby `CGI.escape`: keeps `a-zA-Z0-9_.-~`, spaces become `+`, everything else %XX (UTF-8). */
export function cgiEscape(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[a-zA-Z0-9_.\-~]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Rails `to_query`: nil/undefined values dropped, each top-level entry rendered
 * (`key=value`, arrays as `key%5B%5D=v` repeated, hashes as `key%5Bsub%5D=v`) and the rendered
 * chunks sorted, then joined with `&`.
 */
export function toQuery(params: Record<string, ParamValue | undefined | null>, namespace?: string): string {
  const chunks: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    const name = namespace ? `${namespace}[${key}]` : key;
    chunks.push(valueToQuery(value, name));
  }
  return chunks.sort().join('&');
}

function valueToQuery(value: ParamValue, name: string): string {
  if (typeof value === 'string') return `${cgiEscape(name)}=${cgiEscape(value)}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return `${cgiEscape(`${name}[]`)}=`;
    return value.map((v) => `${cgiEscape(`${name}[]`)}=${cgiEscape(v)}`).join('&');
  }
  return toQuery(value, name);
}

/**
 * Parses `a=1&b[]=2&b[]=3&c[d]=4` into `{a:'1', b:['2','3'], c:{d:'4'}}` like Rack.
 * A repeated plain key keeps the last value (Rails behaviour: a repeated `scope` uses only the last one).
 */
export function parseParams(search: string | URLSearchParams): ParamHash {
  const sp = typeof search === 'string' ? new URLSearchParams(search.replace(/^\?/, '')) : search;
  const out: ParamHash = {};
  for (const [rawKey, value] of sp) assign(out, rawKey, value);
  return out;
}

/** Adds one `key=value` pair (key possibly nested) to a params hash. */
export function assign(target: ParamHash, rawKey: string, value: string): void {
  const m = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(rawKey);
  if (!m) {
    target[rawKey] = value;
    return;
  }
  const base = m[1]!;
  const parts = [...m[2]!.matchAll(/\[([^\]]*)\]/g)].map((p) => p[1]!);
  let node: ParamHash = target;
  let key = base;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '' && i === parts.length - 1) {
      const existing = node[key];
      if (Array.isArray(existing)) existing.push(value);
      else node[key] = [value];
      return;
    }
    const existing = node[key];
    if (typeof existing !== 'object' || Array.isArray(existing)) node[key] = {};
    node = node[key] as ParamHash;
    key = part;
  }
  node[key] = value;
}

/** The param as a single string (the last element if an array was sent), or undefined. */
export function str(params: ParamHash, key: string): string | undefined {
  const v = params[key];
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v[v.length - 1];
  return undefined;
}

/** The param as a list (`key[]=a&key[]=b`, or a single `key=a`), or undefined when absent. */
export function list(params: ParamHash, key: string): string[] | undefined {
  const v = params[key];
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [v];
  return undefined;
}

/** Rails `to_sentence(locale: :en)`: `a`, `a and b`, `a, b, and c`. */
export function toSentence(items: string[]): string {
  if (items.length <= 1) return items.join('');
  if (items.length === 2) return `${items[0]} and ${items[1]}`;
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}`;
}

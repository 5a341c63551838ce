/**
 * A tiny cookie-keeping "browser" over fetch for driving the real redirect flow in tests:
 * our app → Canvas sandbox login/consent → our callback. Cookies are kept per host:port; redirects
 * are followed by hand so every hop is visible (`hops`).
 */
export interface Page {
  status: number;
  url: string;
  text: string;
  headers: Headers;
}

export interface Browser {
  /** One request (no redirect following); stores Set-Cookie. */
  request(url: string, init?: { method?: string; form?: Record<string, string> }): Promise<Page>;
  /** Follows redirects (POST → GET on 302/303) up to 20 hops; returns the final page. */
  go(url: string, init?: { method?: string; form?: Record<string, string> }): Promise<Page>;
  /** Every URL visited, in order (includes redirect targets). */
  hops: string[];
  /** Every page body seen, with its URL (for secret scans). */
  bodies: Array<{ url: string; text: string }>;
  cookie(host: string, name: string): string | undefined;
  /** Removes every cookie for a host (simulates "another browser" for that site). */
  clearCookies(host?: string): void;
}

export function createBrowser(): Browser {
  const jars = new Map<string, Map<string, string>>();
  const hops: string[] = [];
  const bodies: Array<{ url: string; text: string }> = [];
  const jar = (host: string) => jars.get(host) ?? jars.set(host, new Map()).get(host)!;

  async function request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    const u = new URL(url);
    const headers: Record<string, string> = { 'user-agent': 'test-browser' };
    const cookies = [...jar(u.host).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
    if (cookies) headers.cookie = cookies;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    hops.push(url);
    const res = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /max-age=0/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired) jar(u.host).delete(name);
      else jar(u.host).set(name, value);
    }
    const text = await res.text();
    bodies.push({ url, text });
    return { status: res.status, url, text, headers: res.headers };
  }

  async function go(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    let page = await request(url, init);
    for (let i = 0; i < 20 && page.status >= 300 && page.status < 400; i++) {
      const location = page.headers.get('location');
      if (!location) break;
      const next = new URL(location, page.url).toString();
      page = await request(next);
    }
    return page;
  }

  return {
    request,
    go,
    hops,
    bodies,
    cookie: (host, name) => jars.get(host)?.get(name),
    clearCookies: (host) => (host ? jars.delete(host) : jars.clear()),
  };
}

/** The value of a hidden input (`name="…" value="…"`) in an HTML page. */
export function hiddenValue(html: string, name: string): string {
  const m = new RegExp(`name="${name.replace(/[[\]]/g, '\\$&')}" value="([^"]*)"`).exec(html);
  const value = m?.[1];
  if (value === undefined) throw new Error(`no ${name} field in page`);
  return value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

/**
 * Completes the Canvas side of Generate Keys in the sandbox from wherever `page` is: logs in
 * (when the login form shows) and clicks Authorize or Cancel on the consent page. Returns the
 * page the browser lands on (normally our callback's result page).
 */
export async function completeCanvasSide(
  browser: Browser,
  page: Page,
  opts: { username?: string; password?: string; action?: 'authorize' | 'cancel' } = {},
): Promise<Page> {
  const canvas = new URL(page.url).origin;
  if (page.text.includes('id="login_form"')) {
    page = await browser.go(`${canvas}/login/canvas`, {
      form: { 'pseudonym_session[unique_id]': opts.username ?? 'admin', 'pseudonym_session[password]': opts.password ?? 'password' },
    });
  }
  if (page.text.includes('id="consent_form"')) {
    if ((opts.action ?? 'authorize') === 'cancel') return browser.go(`${canvas}/login/oauth2/deny`);
    return browser.go(`${canvas}/login/oauth2/accept`, { form: { custom_csrf_token: hiddenValue(page.text, 'custom_csrf_token') } });
  }
  return page;
}

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createFrameTokens } from '../../src/lti/frame-tokens.js';
import { createLaunchStore } from '../../src/lti/launch-store.js';
import { testDatabases } from '../support/databases.js';
import { COURSE_ID, launchUntilForm, ltiCode, miniBrowser, seedCourseRoster, startLtiHarness, USERS, type LtiHarness } from '../support/lti-harness.js';
import { firstGroup } from '../support/first-group.js';

/**
 * The read-only pages a platform-storage launch shows inside Canvas's iframe when the browser
 * drops every cookie there: the frame token in the page's URL stands in for the session, for that
 * page, integration and course only, for an hour. ltijs is one singleton per process, so this file
 * runs on one database: Postgres when TEST_DATABASE_URL is set, else SQLite.
 */
let h: LtiHarness;

beforeAll(async () => {
  h = await startLtiHarness({ tdb: testDatabases().at(-1) });
  await seedCourseRoster(h);
}, 120_000);

afterAll(async () => {
  await h?.close();
});

/** An instructor's storage-path launch in a browser that keeps no cookie: the page it ends on. */
async function framedInstructorLaunch() {
  const b = miniBrowser({ platformStorage: true, blockCookies: true });
  return b.submitForm(await launchUntilForm(b, h, { user: USERS.teacher, course: COURSE_ID, placement: 'course_navigation' }));
}

const frameUrl = (integrationId: string, courseId: string, token: string) =>
  `${h.appUrl}/launch/frame/integrations/${integrationId}/courses/${courseId}?frame_token=${encodeURIComponent(token)}`;

describe('in-frame course page after a platform-storage launch with cookies blocked', () => {
  it('shows the instructor’s course (title, exam-takers) without any cookie, never cached or named in a Referer', async () => {
    const page = await framedInstructorLaunch();
    const url = new URL(page.url);
    expect(url.pathname).toBe(`/launch/frame/integrations/${h.integrationA}/courses/${COURSE_ID}`);
    expect(url.searchParams.get('frame_token')).toMatch(/^v1\./);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<h1>Chemistry 101</h1>');
    expect(page.body).toContain('Sam Student');
    expect(page.body).toContain('data-lti-section="exam-takers"');
    expect(page.body).not.toContain('<form method="post"');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('set-cookie')).toBeNull();
    expect(page.headers.get('content-security-policy')).toContain(`frame-ancestors`);

    // Reloading works (stateless for its hour); the sign-in was audited once, marked as in the frame.
    const again = await fetch(page.url);
    expect(again.status).toBe(200);
    const audit = await h.container.audit.list(h.integrationA, 200);
    expect(JSON.stringify(audit)).toContain('"inFrame":true');
  });

  it('a token for course A opens neither another course, another integration, nor the admin page', async () => {
    const page = await framedInstructorLaunch();
    const token = new URL(page.url).searchParams.get('frame_token')!;
    const otherCourse = await fetch(frameUrl(h.integrationA, '999', token));
    expect(otherCourse.status).toBe(401);
    const otherCourseBody = await otherCourse.text();
    expect(otherCourseBody).toContain('data-lti-code="frame_wrong_course"');
    expect(otherCourseBody).not.toContain('Sam Student');

    const otherIntegration = await fetch(frameUrl(h.integrationB, COURSE_ID, token));
    expect(otherIntegration.status).toBe(401);
    const otherBody = await otherIntegration.text();
    expect(otherBody).toContain('data-lti-code="frame_wrong_integration"');
    expect(otherBody).not.toContain('Institution B');

    const adminPage = await fetch(`${h.appUrl}/launch/frame/integrations/${h.integrationA}?frame_token=${encodeURIComponent(token)}`);
    expect(adminPage.status).toBe(401);
    expect(await adminPage.text()).toContain('data-lti-code="frame_wrong_page"');

    // Nor does it stand in for a session anywhere else.
    for (const path of [`/launch/course?frame_token=${token}`, `/integrations/${h.integrationA}?frame_token=${token}`]) {
      const res = await fetch(`${h.appUrl}${path}`, { redirect: 'manual' });
      expect([303, 403]).toContain(res.status);
    }
  });

  it('an expired or tampered token is refused with a page that says to launch again', async () => {
    const secrets = h.container.vault.sessionSecrets();
    const claims = { page: 'course' as const, integrationId: h.integrationA, courseId: COURSE_ID, courseTitle: 'Chemistry 101', sub: 'x' };
    const old = createFrameTokens({ secrets, clock: () => new Date(Date.now() - 61 * 60 * 1000) }).issue(claims);
    const expired = await fetch(frameUrl(h.integrationA, COURSE_ID, old));
    expect(expired.status).toBe(401);
    const expiredBody = await expired.text();
    expect(expiredBody).toContain('data-lti-code="frame_expired"');
    expect(expiredBody).toContain('Launch again from Canvas');
    expect(expiredBody).not.toContain('Sam Student');

    const fresh = createFrameTokens({ secrets, clock: () => new Date() }).issue(claims);
    const [v, body, sig] = fresh.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), exp: Date.now() + 1e9 })).toString('base64url');
    for (const bad of [`${v}.${forged}.${sig}`, `${v}.${body}.${sig.slice(0, -2)}AA`, 'nonsense', '']) {
      const res = await fetch(frameUrl(h.integrationA, COURSE_ID, bad));
      expect(res.status).toBe(401);
      expect(await res.text()).toMatch(/data-lti-code="frame_(bad_signature|malformed)"/);
    }
    // Signed with another deployment's secret: refused too.
    const foreign = createFrameTokens({ secrets: ['another-secret'], clock: () => new Date() }).issue(claims);
    expect(await (await fetch(frameUrl(h.integrationA, COURSE_ID, foreign))).text()).toContain('data-lti-code="frame_bad_signature"');
  });

  it('the frame token never appears in the logs', async () => {
    const page = await framedInstructorLaunch();
    const token = new URL(page.url).searchParams.get('frame_token')!;
    await fetch(frameUrl(h.integrationA, '999', token));
    const log = h.container.log.text();
    expect(log).toContain('frame_token=[redacted]');
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split('.')[2]!);
  });

  it('only a storage-path hand-over reached by this origin’s own redirects becomes a frame page; a link opened from elsewhere does not', async () => {
    const launches = createLaunchStore({ db: h.container.store.db, clock: () => new Date() });
    const payload = { kind: 'instructor' as const, courseId: COURSE_ID, courseTitle: 'Chemistry 101', sub: 'teacher', name: null };
    const confirm = (token: string, headers: Record<string, string>) =>
      fetch(`${h.appUrl}/launch/handoff/confirm?token=${encodeURIComponent(token)}`, { redirect: 'manual', headers });

    const framed = await launches.createHandoff(h.integrationA, { ...payload, inFrame: true });
    for (const headers of [{}, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'none' }] as Array<Record<string, string>>) {
      const res = await confirm(framed, headers);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('data-lti-code="session_cookie_blocked"');
    }
    const own = await confirm(framed, { 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(303);
    expect(own.headers.get('location')).toMatch(new RegExp(`^/launch/frame/integrations/${h.integrationA}/courses/${COURSE_ID}\\?frame_token=v1\\.`));
    // Used up by that step: no second frame token, and no new-window session from it either.
    expect((await confirm(framed, { 'sec-fetch-site': 'same-origin' })).status).toBe(400);

    // A cookie-path launch's hand-over never opens a frame page.
    const cookiePath = await launches.createHandoff(h.integrationA, payload);
    const res = await confirm(cookiePath, { 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-lti-code="session_cookie_blocked"');
  });
});

describe('in-frame admin landing', () => {
  it('an admin’s storage launch with cookies blocked shows the integration read-only, with a single-use link to manage it in a new window', async () => {
    const b = miniBrowser({ platformStorage: true, blockCookies: true });
    const page = await b.submitForm(await launchUntilForm(b, h, { user: USERS.admin, placement: 'account_navigation' }));
    expect(ltiCode(page)).toBe('frame_admin');
    expect(page.body).toContain('Institution A');
    expect(page.body).not.toContain('<form method="post"');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');

    const refresh = firstGroup(/href="([^"]+)" id="lti-frame-refresh"/, page.body);
    const reloaded = await fetch(new URL(refresh.replace(/&amp;/g, '&'), h.appUrl));
    expect(reloaded.status).toBe(200);
    expect(await reloaded.text()).toContain('data-lti-page="frame-admin"');

    const href = firstGroup(/id="lti-new-window" href="([^"]+)"/, page.body).replace(/&amp;/g, '&');
    const landed = await miniBrowser().get(new URL(href, h.appUrl).toString());
    expect(new URL(landed.url).pathname).toBe(`/integrations/${h.integrationA}`);
    // Single use: a second browser gets nothing.
    const second = await miniBrowser().get(new URL(href, h.appUrl).toString());
    expect(second.status).toBe(400);
  });
});

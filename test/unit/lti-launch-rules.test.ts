import { describe, expect, it } from '@jest/globals';
import { parseIntegrationLti, platformEndpoints } from '../../src/lti/canvas-platforms.js';
import { allowFrameAncestor, canvasFrameAncestor } from '../../src/lti/frame-policy.js';
import { decideAudience, launchFacts, type LtijsLaunchToken } from '../../src/lti/launch-claims.js';
import { compareNrpsWithRoster, toNrpsMember } from '../../src/lti/nrps-compare.js';
import { canvasToolConfiguration } from '../../src/lti/tool-config.js';

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2';
const token = (roles: string[], custom: Record<string, string>): LtijsLaunchToken => ({
  iss: 'https://canvas.instructure.com',
  clientId: '1',
  user: 'sub-1',
  deploymentId: '1:x',
  platformContext: { roles, custom },
});

describe('platform endpoints per Canvas environment', () => {
  it('hosted Canvas shares one issuer and sso.canvaslms.com, with the token URL on the institution domain', () => {
    const ep = platformEndpoints('https://school.instructure.com', { environment: 'production', clientId: '1', deploymentIds: [] });
    expect(ep).toEqual({
      issuer: 'https://canvas.instructure.com',
      authUrl: 'https://sso.canvaslms.com/api/lti/authorize_redirect',
      jwksUrl: 'https://sso.canvaslms.com/api/lti/security/jwks',
      tokenUrl: 'https://school.instructure.com/login/oauth2/token',
    });
    expect(platformEndpoints('https://s.beta.instructure.com', { environment: 'beta', clientId: '1', deploymentIds: [] }).issuer).toBe('https://canvas.beta.instructure.com');
    expect(platformEndpoints('https://s.test.instructure.com', { environment: 'test', clientId: '1', deploymentIds: [] }).authUrl).toBe('https://sso.test.canvaslms.com/api/lti/authorize_redirect');
  });

  it('custom (self-hosted) uses the given values, else its own /api/lti paths', () => {
    const ep = platformEndpoints('https://canvas.school.edu/', { environment: 'custom', clientId: '1', deploymentIds: [], issuer: 'https://canvas.school.edu' });
    expect(ep.authUrl).toBe('https://canvas.school.edu/api/lti/authorize_redirect');
    expect(ep.jwksUrl).toBe('https://canvas.school.edu/api/lti/security/jwks');
  });

  it('ignores an unusable lti column instead of throwing', () => {
    expect(parseIntegrationLti('{"environment":"production"}')).toBeNull();
    expect(parseIntegrationLti('not json')).toBeNull();
    expect(parseIntegrationLti('{"environment":"test","clientId":"5","deploymentIds":["1:a",2]}')?.deploymentIds).toEqual(['1:a']);
  });
});

describe('who a launch is for', () => {
  it('an institution administrator from account navigation is an admin', () => {
    const a = decideAudience(launchFacts(token([`${LIS}/institution/person#Administrator`], { cc_placement: 'account_navigation', canvas_account_id: '1' })));
    expect(a).toEqual({ kind: 'admin', accountId: '1' });
  });

  it("Canvas's 'Account Admin' membership role counts as admin too", () => {
    const a = decideAudience(launchFacts(token([`${LIS}/system/person#User`], { cc_placement: 'account_navigation', canvas_membership_roles: 'Account Admin' })));
    expect(a.kind).toBe('admin');
  });

  it('"teaches somewhere" (institution Instructor) is not an admin', () => {
    const a = decideAudience(launchFacts(token([`${LIS}/institution/person#Instructor`], { cc_placement: 'account_navigation' })));
    expect(a).toEqual({ kind: 'student', reason: 'no_admin_role' });
  });

  it('a course instructor or TA from course navigation gets that course', () => {
    for (const role of [`${LIS}/membership#Instructor`, `${LIS}/membership/Instructor#TeachingAssistant`]) {
      const a = decideAudience(launchFacts(token([role], { cc_placement: 'course_navigation', canvas_course_id: '42' })));
      expect(a).toEqual({ kind: 'instructor', courseId: '42', courseTitle: null });
    }
  });

  it('a learner gets the polite page, and an unsubstituted course id is no course', () => {
    expect(decideAudience(launchFacts(token([`${LIS}/membership#Learner`], { cc_placement: 'course_navigation', canvas_course_id: '42' }))).kind).toBe('student');
    const a = decideAudience(launchFacts(token([`${LIS}/membership#Instructor`], { cc_placement: 'course_navigation', canvas_course_id: '$Canvas.course.id' })));
    expect(a).toEqual({ kind: 'student', reason: 'no_course' });
  });
});

describe('NRPS cross-check', () => {
  const member = (over: Record<string, unknown>) =>
    toNrpsMember({ status: 'Active', roles: [`${LIS}/membership#Learner`], user_id: 'x', ...over });
  const roster = [
    { canvasUserId: '1', name: 'Ann A', externalId: 'S1', examTaker: true },
    { canvasUserId: '2', name: 'Ben B', externalId: 'S2', examTaker: true },
    { canvasUserId: '9', name: 'Tia T', externalId: null, examTaker: false },
  ];

  it('matches by the Canvas user id when NRPS carries it, listing who is missing on each side', () => {
    const withId = (id: string, name: string) => member({ name, message: [{ 'https://purl.imsglobal.org/spec/lti/claim/custom': { canvas_user_id: id } }] });
    const d = compareNrpsWithRoster([withId('1', 'Ann A'), withId('3', 'Cy C')], roster, 'sis_user_id');
    expect(d.matchedBy).toBe('canvas_user_id');
    expect(d.onlyInNrps.map((m) => m.name)).toEqual(['Cy C']);
    expect(d.onlyInRoster.map((m) => m.canvasUserId)).toEqual(['2']);
    expect(d.matched).toBe(1);
  });

  it('falls back to the SIS id, ignores inactive members and non-learners', () => {
    const d = compareNrpsWithRoster(
      [member({ lis_person_sourcedid: 'S1' }), member({ lis_person_sourcedid: 'S2' }), member({ lis_person_sourcedid: 'S7', status: 'Inactive' }), member({ lis_person_sourcedid: 'T1', roles: [`${LIS}/membership#Instructor`] })],
      roster,
      'sis_user_id',
    );
    expect(d).toMatchObject({ matchedBy: 'external_id', onlyInNrps: [], onlyInRoster: [], matched: 2 });
  });
});

describe('tool configuration and framing', () => {
  it('asks Canvas for the custom fields the launch logic reads, per placement', () => {
    const cfg = canvasToolConfiguration('https://exams.example.edu');
    expect(cfg.custom_fields).toMatchObject({ canvas_course_id: '$Canvas.course.id', canvas_user_id: '$Canvas.user.id' });
    expect(cfg.extensions[0]?.settings.placements.map((p) => p.custom_fields.cc_placement)).toEqual(['account_navigation', 'course_navigation']);
    expect(cfg.extensions[0]?.domain).toBe('exams.example.edu');
  });

  it('adds only a non-instructure Canvas origin to frame-ancestors', () => {
    expect(canvasFrameAncestor('https://school.instructure.com')).toBeNull();
    expect(canvasFrameAncestor('https://canvas.school.edu/')).toBe('https://canvas.school.edu');
    const headers = new Map<string, string>([['Content-Security-Policy', "default-src 'self';frame-ancestors 'self' https://*.instructure.com;object-src 'none'"], ['X-Frame-Options', 'SAMEORIGIN']]);
    const res = { getHeader: (k: string) => headers.get(k), setHeader: (k: string, v: string) => void headers.set(k, v), removeHeader: (k: string) => void headers.delete(k) };
    allowFrameAncestor(res as never, 'https://canvas.school.edu');
    allowFrameAncestor(res as never, 'https://canvas.school.edu');
    expect(headers.get('Content-Security-Policy')).toBe("default-src 'self';frame-ancestors 'self' https://*.instructure.com https://canvas.school.edu;object-src 'none'");
    expect(headers.has('X-Frame-Options')).toBe(false);
  });
});

/**
 * Session fields shared by every feature (see the common brief). Import this module for its types:
 * `import './session.js'` is enough to make `req.session.staff` typed.
 */
declare module 'express-session' {
  interface SessionData {
    /** A signed-in staff member: sees everything. */
    staff?: { id: string; email: string; name: string };
    /** A Canvas admin limited to ONE integration (signed setup link or LTI admin launch). */
    integrationAccess?: { integrationId: string; via: 'setup-link' | 'lti'; label: string };
    /** An instructor from an LTI launch: read-only, one course. */
    ltiCourse?: { integrationId: string; courseId: string; via: 'lti'; /** The course title Canvas sent with the launch (shown until a refresh records the course). */ courseTitle?: string | null };
    /** The outcome of the last OAuth callback, shown once by GET /oauth/result (no secrets in it). */
    oauthResult?: { status: number; view: object; retryCanvasUrl?: string };
    /** The last "Check configuration" outcome, shown once by the integration's page after the redirect. */
    preflightResult?: { integrationId: string; view: object };
    /** The last "Refresh one course" outcome (or its error), shown once by the courses page after the redirect. */
    lookupResult?: { integrationId: string; query: string; lookup: unknown; lookupError: { message: string; help?: string } | null };
    /** A form that did not pass, kept for one view of its page after the redirect (see form-state.ts; no secrets). */
    formState?: { path: string; state: Record<string, unknown> };
    /** Ids of the setup-link forms already submitted, so a reload of the answer does not create another link. */
    setupLinkRequests?: string[];
    /** The last text pasted on Troubleshooting, explained once by the page after the redirect. */
    troubleshootResult?: { integrationId: string; pasted: string };
    /** Ids of the API-token forms already submitted, so a reload of the answer does not create another token. */
    apiTokenRequests?: string[];
    /** Ids of webhook create forms already answered (a reload must not create a second endpoint). */
    webhookRequests?: string[];
    /** Messages shown once on the next page (see flash.ts). */
    flash?: FlashMessage[];
  }
}

export interface FlashMessage {
  kind: 'ok' | 'warn' | 'error';
  text: string;
}

export {};

import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-initial.js';
import * as m0002lti from './0002-lti-launches.js';
import * as m0003 from './0003-section-refresh-job.js';
import * as m0004 from './0004-one-active-job.js';
import * as m0005 from './0005-lti-store.js';
import * as m0006 from './0006-lti-ownership.js';
import * as m0007 from './0007-login-throttle.js';
import * as m0008 from './0008-courses-list-order.js';
import * as m0009 from './0009-http-sessions.js';
import * as m0010 from './0010-course-facts.js';
import * as m0011 from './0011-change-log.js';
import * as m0012 from './0012-sync-list.js';
import * as m0013 from './0013-webhooks.js';
import * as m0014 from './0014-grade-passback.js';
import * as m0015 from './0015-last-attempt.js';
import * as m0016 from './0016-lti-registration.js';
import * as m0017 from './0017-lti-platform-storage.js';
import * as m0018 from './0018-roster-base-roles.js';
import * as m0019 from './0019-canvas-other-url.js';

/**
 * Migrations are listed statically (not read from disk) so they work the same under tsx, node dist/
 * and jest. Add new ones at the end with the next number; never edit one that has shipped.
 */
export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001-initial': m0001,
      '0002-lti-launches': m0002lti,
      '0003-section-refresh-job': m0003,
      '0004-one-active-job': m0004,
      '0005-lti-store': m0005,
      '0006-lti-ownership': m0006,
      '0007-login-throttle': m0007,
      '0008-courses-list-order': m0008,
      '0009-http-sessions': m0009,
      '0010-course-facts': m0010,
      '0011-change-log': m0011,
      '0012-sync-list': m0012,
      '0013-webhooks': m0013,
      '0014-grade-passback': m0014,
      '0015-last-attempt': m0015,
      '0016-lti-registration': m0016,
      '0017-lti-platform-storage': m0017,
      '0018-roster-base-roles': m0018,
      '0019-canvas-other-url': m0019,
    };
  },
};

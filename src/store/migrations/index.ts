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
import * as m0018 from './0018-roster-base-roles.js';

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
      '0018-roster-base-roles': m0018,
    };
  },
};

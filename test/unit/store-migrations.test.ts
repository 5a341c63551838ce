import { describe, expect, it } from '@jest/globals';
import { isReady } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';

describe.each(testDatabases())('store migrations (%s)', (tdb) => {
  it('creates every table and reports ready', async () => {
    const store = await tdb.open();
    try {
      expect(await isReady(store.db)).toBe(true);
      const tables = (await store.db.introspection.getTables()).map((t) => t.name);
      for (const t of ['integrations', 'integration_tokens', 'oauth_states', 'jobs', 'courses', 'sections', 'roster_entries', 'audit_events']) {
        expect(tables).toContain(t);
      }
    } finally {
      await store.close();
    }
  });
});

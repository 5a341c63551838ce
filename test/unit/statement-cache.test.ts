import { describe, expect, it } from '@jest/globals';
import SqliteDatabase from 'better-sqlite3';
import { withStatementCache } from '../../src/store/database.js';

describe('withStatementCache (SQLite statements compiled once per SQL text)', () => {
  const open = () => {
    const sqlite = new SqliteDatabase(':memory:');
    sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    let compiled = 0;
    const prepare = sqlite.prepare.bind(sqlite);
    sqlite.prepare = ((source: string) => (compiled++, prepare(source))) as typeof sqlite.prepare;
    return { sqlite, compiled: () => compiled };
  };

  it('hands out the same compiled statement for the same SQL, with new parameters each run', () => {
    const { sqlite, compiled } = open();
    const db = withStatementCache(sqlite);
    for (let i = 0; i < 5; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run(`v${i}`);
    expect(db.prepare('SELECT v FROM t WHERE id = ?').get(3)).toEqual({ v: 'v2' });
    expect(db.prepare('SELECT v FROM t WHERE id = ?').get(5)).toEqual({ v: 'v4' });
    expect(compiled()).toBe(2);
    db.close();
  });

  it('makes a fresh statement while the cached one is still iterating, and keeps only the most recently used', () => {
    const { sqlite, compiled } = open();
    const db = withStatementCache(sqlite, 2);
    sqlite.exec("INSERT INTO t (v) VALUES ('a'), ('b')");
    const seen: string[] = [];
    for (const row of db.prepare('SELECT v FROM t ORDER BY id').iterate() as Iterable<{ v: string }>) {
      // The same SQL while the first statement is busy iterating: not the busy one.
      seen.push(row.v, String((db.prepare('SELECT v FROM t ORDER BY id').all() as unknown[]).length));
    }
    expect(seen).toEqual(['a', '2', 'b', '2']);
    const before = compiled();
    db.prepare('SELECT 1');
    db.prepare('SELECT 2');
    db.prepare('SELECT v FROM t ORDER BY id'); // pushed out by the two above: compiled again
    expect(compiled() - before).toBe(3);
    db.close();
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * The environment with a `.env` file's variables underneath: reads `<cwd>/.env` when it exists and
 * returns its values merged with `env`, where a variable set in `env` (the real environment, even
 * when empty) wins over the file. Does not change `env`, so every entry point passes the result to
 * `loadConfig` and the file is read in one place.
 * @throws Error naming the file when it exists but cannot be read (a directory, no permission).
 */
export function withEnvFile(env: Record<string, string | undefined>, cwd: string = process.cwd()): Record<string, string | undefined> {
  const file = join(cwd, '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return env;
    throw new Error(`${file} exists but cannot be read: ${(err as Error).message}`);
  }
  const fromFile = parseEnv(text) as Record<string, string>;
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return merged;
}

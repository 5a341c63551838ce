import type { CliIO } from '../../src/cli/io.js';

/** CLI input/output captured in memory; `stdin` is what `--…-stdin` options read. No terminal: prompting fails. */
export function captureIO(stdin = ''): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => void stdout.push(l),
    err: (l) => void stderr.push(l),
    readStdin: async () => stdin,
    promptSecret: async () => {
      throw new Error('no terminal in tests');
    },
  };
}

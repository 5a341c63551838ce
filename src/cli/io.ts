import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** Where CLI commands read and write; tests pass their own. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** Reads all of stdin (for `--password-stdin`). */
  readStdin(): Promise<string>;
  /** Asks for a secret on the terminal without echoing it. @throws when stdin is not a terminal. */
  promptSecret(question: string): Promise<string>;
}

/** The real terminal. */
export const processIO: CliIO = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  },
  promptSecret(question) {
    if (!process.stdin.isTTY) {
      return Promise.reject(new Error('stdin is not a terminal: pass the password with --password-stdin'));
    }
    process.stderr.write(question);
    const muted = new Writable({ write: (_c, _e, cb) => cb() });
    const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
    return new Promise((resolve) =>
      rl.question('', (answer) => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      }),
    );
  },
};

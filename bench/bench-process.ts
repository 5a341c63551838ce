/**
 * The benches run the Canvas sandbox in a child process (a real Canvas is another machine, so its
 * work must not queue behind the client's on one event loop). This starts such a process with its
 * argument as JSON and waits for its typed messages.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface BenchProcess {
  child: ChildProcess;
  /**
   * The next message of `type` from the child.
   * @throws when the child exits before sending it
   */
  next<T>(type: string): Promise<T>;
}

/** Forks `script` (a .ts file run through tsx) with `arg` as its first argument, JSON-encoded. */
export function forkBenchProcess(script: URL, arg: unknown): BenchProcess {
  const child = fork(fileURLToPath(script), [JSON.stringify(arg)], { execArgv: ['--import', 'tsx'] });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the sandbox process exited (${code}) before answering "${type}"`));
      const onMessage = (m: { type: string } & T) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return { child, next };
}

import { createServer } from 'node:net';

/**
 * A free port for a child process to listen on, chosen below Linux's ephemeral range (32768+): the
 * kernel hands ports in that range to every `listen(0)` and outgoing connection of the other suites
 * running at the same time, so a port picked there can be taken before the child binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await canListen(port)) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    // The same wildcard address the service binds (it listens on every interface).
    s.listen(port, () => s.close(() => resolve(true)));
  });
}

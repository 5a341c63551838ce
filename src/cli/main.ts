#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config/config.js';
import { withEnvFile } from '../config/env-file.js';
import { createContainer, type Container } from '../container.js';
import { AppError } from '../errors/app-error.js';
import { createLogger } from '../logger/logger.js';
import { processIO, type CliIO } from './io.js';
import * as dbCommands from './commands/db.js';
import * as integrationsCommands from './commands/integrations.js';
import * as secretsCommands from './commands/secrets.js';
import * as staffCommands from './commands/staff.js';
import * as tokensCommands from './commands/tokens.js';
import * as refreshCommands from './commands/refresh.js';
import * as coursesCommands from './commands/courses.js';
import * as jobsCommands from './commands/jobs.js';
import * as webhooksCommands from './commands/webhooks.js';
import * as gradesCommands from './commands/grades.js';
import * as syncListCommands from './commands/sync-list.js';

/** Every command module; each exports `register(program, getContainer, io?)`. Add yours here. */
const COMMANDS: Array<{ register(program: Command, getContainer: () => Promise<Container>, io?: CliIO): void }> = [
  staffCommands,
  tokensCommands,
  secretsCommands,
  dbCommands,
  integrationsCommands,
  refreshCommands,
  coursesCommands,
  jobsCommands,
  webhooksCommands,
  gradesCommands,
  syncListCommands,
];

/**
 * Builds the CLI. `getContainer` is only called by commands that need the database, so `--help`
 * works without configuration or a database.
 */
export function buildProgram(getContainer: () => Promise<Container>, io: CliIO = processIO): Command {
  const program = new Command()
    .name('canvas-companion')
    .description('canvas-companion staff CLI (reads the same environment as the service)')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  for (const c of COMMANDS) c.register(program, getContainer, io);
  program.commands.forEach(function exitOverrideAll(cmd: Command) {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverrideAll);
  });
  program.exitOverride();
  return program;
}

/** Turns any error into one line for people: no stack. */
export function describeError(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof AppError) return err.expose ? `${err.message}${err.help ? `\n${err.help}` : ''}` : 'internal error';
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code.
 * The container is created lazily, once, and closed at the end.
 */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliIO = processIO,
  makeContainer: () => Promise<Container> = async () => {
    const config = loadConfig(env);
    // No command serves /lti: ltijs (~3 s to load) is loaded only if a command saves an LTI registration.
    // Unless LOG_LEVEL is set, only errors are logged: a command prints its own outcome (a failed
    // job's reason and remedy included), and the service's JSON warnings would repeat it.
    const level = env.LOG_LEVEL?.trim() ? config.logLevel : 'error';
    return createContainer(config, { logger: createLogger(level, process.stderr), lti: 'on-demand' });
  },
): Promise<number> {
  let container: Promise<Container> | undefined;
  const program = buildProgram(() => (container ??= makeContainer()), io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`error: ${describeError(err)}`);
    return 1;
  } finally {
    if (container) await container.then((c) => c.close()).catch(() => undefined);
  }
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  runCli(process.argv.slice(2), withEnvFile(process.env)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

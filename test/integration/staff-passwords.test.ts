import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { runCli } from '../../src/cli/main.js';
import type { Container } from '../../src/container.js';
import { AppError } from '../../src/errors/app-error.js';
import { captureIO } from '../support/cli-io.js';
import { createTestContainer } from '../support/test-container.js';

/** The `details.rule` of the validation error a promise rejects with. */
async function ruleOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError && err.code === 'validation_failed') return err.details?.rule;
    throw err;
  }
  return 'accepted';
}

describe('one password policy for every way of setting or using a staff password', () => {
  let c: Awaited<ReturnType<typeof createTestContainer>>;
  const shared = async () => Object.assign(Object.create(c) as Container, { close: async () => undefined });
  beforeAll(async () => {
    c = await createTestContainer();
  });
  afterAll(async () => {
    await c.close();
  });

  it('the service refuses each rule on create and on ensure, and accepts a passphrase', async () => {
    const cases: Array<[string, string]> = [
      ['short pass', 'too_short'],
      ['p'.repeat(60) + 'q'.repeat(69), 'too_long'],
      ['aaaaaaaaaaaa', 'repeated_character'],
      ['qwerty123456', 'common'],
      ['grace hopper rules', 'contains_email'],
    ];
    for (const [password, rule] of cases) {
      expect(await ruleOf(c.staff.create({ email: 'hopper@example.edu', name: 'Grace', password }))).toBe(rule);
    }
    await c.staff.create({ email: 'grace@example.edu', name: 'Grace', password: 'compiler in the navy' });
    for (const [password, rule] of cases) {
      expect(await ruleOf(c.staff.ensure({ email: 'hopper@example.edu', name: 'Grace', password }))).toBe(rule);
      expect(await ruleOf(c.staff.ensure({ email: 'grace@example.edu', name: 'Grace', password: password.replace('hopper', 'grace') }))).toBe(rule);
    }
    expect(await ruleOf(c.staff.ensure({ email: 'grace@example.edu', name: 'Grace', password: 'a fresh passphrase here' }))).toBe('accepted');
  });

  it('the CLI refuses a 200,000-character password (which sign-in could never accept) with exit 1 and the reason', async () => {
    const io = captureIO(`${'x'.repeat(199_999)}y\n`);
    expect(await runCli(['staff', 'create', '--email', 'long@example.edu', '--name', 'Long', '--password-stdin'], {}, io, shared)).toBe(1);
    expect(io.stderr.join('\n')).toContain('at most 128 characters');
    expect((await c.staff.list()).map((u) => u.email)).not.toContain('long@example.edu');
  });

  it('the CLI refuses a repeated character, a common password and the email name', async () => {
    for (const [password, words] of [['aaaaaaaaaaaa', 'one character repeated'], ['1q2w3e4r5t6y', 'common or breached'], ['pat the cli user', 'before @']]) {
      const io = captureIO(`${password}\n`);
      expect(await runCli(['staff', 'create', '--email', 'pat@example.edu', '--name', 'Pat', '--password-stdin'], {}, io, shared)).toBe(1);
      expect(io.stderr.join('\n')).toContain(words);
    }
  });

  it('the CLI accepts 128 characters, and that password signs in on the web; 129 is refused at sign-in without hashing', async () => {
    const password = 'long passphrase '.repeat(8); // 128 characters
    expect(password).toHaveLength(128);
    const io = captureIO(`${password}\n`);
    expect(await runCli(['staff', 'create', '--email', 'max@example.edu', '--name', 'Max', '--password-stdin'], {}, io, shared)).toBe(0);
    const app = createApp(c);
    const signIn = async (pw: string) => {
      const agent = request.agent(app);
      const page = await agent.get('/login');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
      return agent.post('/login').type('form').send({ _csrf: csrf, email: 'max@example.edu', password: pw });
    };
    expect((await signIn(password)).status).toBe(303);
    const tooLong = await signIn(`${password}!`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('data-code="validation_failed"');
    expect(await c.staff.verifyPassword('max@example.edu', `${password}!`)).toBeNull();
  });
});

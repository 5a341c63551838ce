import { beforeAll, describe, expect, it } from '@jest/globals';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordBlocklist, passwordProblem } from '../../src/staff/password-policy.js';

describe('staff password policy', () => {
  let list: ReadonlySet<string>;
  const problem = (password: string, email = 'ada@example.edu') => passwordProblem(password, email, list);
  beforeAll(async () => {
    list = await passwordBlocklist();
  });

  it('ships a blocklist of tens of thousands of common passwords, read without any network', () => {
    expect(list.size).toBeGreaterThan(40_000);
    expect(list.has('password')).toBe(true);
    expect(list.has('qwerty123456')).toBe(true);
  });

  it('accepts 12 to 128 characters, with no composition rules', () => {
    expect(problem('plain lowercase words')).toBeNull();
    expect(problem('x'.repeat(63) + 'y')).toBeNull(); // 64, the least a policy must allow
    expect(problem('correct stapler'.padEnd(MAX_PASSWORD_LENGTH, 'z'))).toBeNull();
    expect(problem('canvas-sandbox-tour', 'demo@example.edu')).toBeNull(); // the demo's password
  });

  it('refuses fewer than 12 and more than 128 characters, counted as characters, not bytes', () => {
    expect(problem('eleven chars')).toBeNull();
    expect(problem('eleven char')).toBe('too_short');
    expect(MIN_PASSWORD_LENGTH).toBe(12);
    expect(problem('correct stapler'.padEnd(MAX_PASSWORD_LENGTH + 1, 'z'))).toBe('too_long');
    expect(problem('x'.repeat(200_000))).toBe('too_long');
    expect(problem('éèêëēėęàáâäæ')).toBeNull(); // 12 characters, 24 bytes
    expect(problem('🔑🔒🔓🗝️🔐🔏🔑🔒🔓🗝️🔐'.slice(0, 10))).toBe('too_short');
  });

  it('refuses one character repeated', () => {
    expect(problem('aaaaaaaaaaaa')).toBe('repeated_character');
    expect(problem('............................')).toBe('repeated_character');
  });

  it("refuses a password that contains the email's local part, in any case", () => {
    expect(problem('my name is Ada Lovelace', 'ada@example.edu')).toBe('contains_email');
    expect(problem('hello jane.doe welcome', 'Jane.Doe@example.edu')).toBe('contains_email');
    expect(problem('my name is Ada Lovelace', 'al@example.edu')).toBeNull(); // a 2-letter local part is too short to match on
  });

  it('refuses common and breached passwords, also with other case, separators or repeated', () => {
    expect(problem('qwerty123456')).toBe('common');
    expect(problem('QWERTY123456')).toBe('common');
    expect(problem('qwerty 123 456')).toBe('common');
    expect(problem('1q2w3e4r5t6y')).toBe('common');
    expect(problem('passwordpassword')).toBe('common');
    expect(problem('iloveyouiloveyou')).toBe('common');
  });
});

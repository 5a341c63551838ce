import { AppError } from '../errors/app-error.js';

/** Shortest password accepted for a staff account. */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password accepted anywhere (account creation, `ensure`, sign-in): longer ones are refused, never truncated. */
export const MAX_PASSWORD_LENGTH = 128;

/** Why a password is refused; `details.rule` of the `validation_failed` error. */
export type PasswordRule = 'too_short' | 'too_long' | 'common' | 'contains_email' | 'repeated_character';

const MESSAGES: Record<PasswordRule, string> = {
  too_short: `must be at least ${MIN_PASSWORD_LENGTH} characters`,
  too_long: `must be at most ${MAX_PASSWORD_LENGTH} characters`,
  common: 'is on the list of common or breached passwords',
  contains_email: 'must not contain the email address’s name (the part before @)',
  repeated_character: 'must not be one character repeated',
};

const HELP = `Use a passphrase of ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters: several unrelated words are long and easy to remember. Any characters are allowed; there are no composition rules.`;

/** Characters people put between words; ignored when comparing with the blocklist ("pass word" is "password"). */
const SEPARATORS = /[\s\-_.]+/g;

/** Length in characters (code points), so a passphrase in any script is measured as a person counts it. */
const lengthOf = (s: string) => [...s].length;

/**
 * The first rule this password breaks, or null when it is acceptable. Pure (the blocklist is passed
 * in) so every rule can be tested alone; {@link assertAcceptablePassword} is what entry points call.
 * Rules (OWASP ASVS V2.1): 12 to 128 characters, every character allowed, no composition rules, not
 * on the blocklist (also after lower-casing and removing separators, or as a listed word repeated),
 * not containing the email's local part (when it is 3 characters or more), not one character repeated.
 */
export function passwordProblem(password: string, email: string, blocklist: ReadonlySet<string>): PasswordRule | null {
  const length = lengthOf(password);
  if (length < MIN_PASSWORD_LENGTH) return 'too_short';
  if (length > MAX_PASSWORD_LENGTH) return 'too_long';
  const chars = [...password];
  if (chars.every((ch) => ch === chars[0])) return 'repeated_character';
  const lower = password.toLowerCase();
  const local = email.trim().toLowerCase().split('@')[0] ?? '';
  if (lengthOf(local) >= 3 && lower.includes(local)) return 'contains_email';
  const squeezed = lower.replace(SEPARATORS, '');
  if (blocklist.has(lower) || blocklist.has(squeezed) || isRepeatedListedWord(squeezed, blocklist)) return 'common';
  return null;
}

/** "qwertyqwerty", "passwordpassword": a blocklisted word written twice or more. */
function isRepeatedListedWord(s: string, blocklist: ReadonlySet<string>): boolean {
  for (let unit = 1; unit <= s.length / 2; unit++) {
    if (s.length % unit !== 0) continue;
    const word = s.slice(0, unit);
    if (word.repeat(s.length / unit) === s && blocklist.has(word)) return true;
  }
  return false;
}

let blocklist: Promise<ReadonlySet<string>> | undefined;

/**
 * The blocklist shipped with the product: the ~49,000 most common passwords from breach corpora,
 * as packaged in `@zxcvbn-ts/language-common` (loaded on first use, no network). Lower-cased.
 */
export function passwordBlocklist(): Promise<ReadonlySet<string>> {
  blocklist ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) => new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase())),
  );
  return blocklist;
}

/**
 * Checks a new staff password against every rule of {@link passwordProblem}. The one check used by
 * every way of setting a password (web, CLI, `ensure`).
 * @throws AppError `validation_failed` naming the field `password`, with `details.rule` and help.
 */
export async function assertAcceptablePassword(password: string, email: string): Promise<void> {
  const rule = passwordProblem(password, email, await passwordBlocklist());
  if (rule) throw new AppError('validation_failed', `password: ${MESSAGES[rule]}`, { help: HELP, details: { field: 'password', rule } });
}

import { invalidRegistration } from './identity-errors.js';

/** Accounts: who may log in, and what they may do once logged in. */

export type Role = 'customer' | 'admin';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
}

export interface AccountPolicy {
  readonly emailMaxLength: number;
  readonly passwordMinLength: number;
  readonly passwordMaxLength: number;
}

/** ASCII local part and dotted domain: what the shop can send messages to, nothing exotic. */
const emailPattern = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$/;

/** The form an email is stored and looked up in: one account per address whatever its case. */
export function normalizeEmail(email: string): string {
  return email.toLowerCase();
}

export function isPlausibleEmail(
  email: string,
  policy: Pick<AccountPolicy, 'emailMaxLength'>,
): boolean {
  return email.length <= policy.emailMaxLength && emailPattern.test(email);
}

/** Length in characters (code points), so a password of emoji is measured as a person counts it. */
function characterCount(text: string): number {
  return [...text].length;
}

/** Passwords are compared after NFC normalization, so the same typed text always matches. */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

/** Checks a registration; returns the normalized email and password or throws with every problem. */
export function validateRegistration(
  input: { email: string; password: string },
  policy: AccountPolicy,
): { email: string; password: string } {
  const problems: string[] = [];
  const email = normalizeEmail(input.email);
  if (!isPlausibleEmail(email, policy)) problems.push('email must be a valid address');
  const password = normalizePassword(input.password);
  const length = characterCount(password);
  if (length < policy.passwordMinLength || length > policy.passwordMaxLength) {
    problems.push(
      `password must be ${policy.passwordMinLength} to ${policy.passwordMaxLength} characters`,
    );
  }
  if (problems.length > 0) throw invalidRegistration(problems);
  return { email, password };
}

/** A login whose input cannot belong to any account is refused before any hashing work. */
export function isPossibleLogin(
  input: { email: string; password: string },
  policy: AccountPolicy,
): boolean {
  const length = characterCount(input.password);
  return (
    isPlausibleEmail(normalizeEmail(input.email), policy) &&
    length >= 1 &&
    length <= policy.passwordMaxLength
  );
}

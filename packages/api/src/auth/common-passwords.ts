// The password-strength rule, apart from hashing: the auth schemas (which apps reuse for their forms)
// need it, and must not bring argon2's native module with them.
import commonPasswords from "./data/common-passwords.json" with { type: "json" };

const common = new Set<string>(commonPasswords);

/** Among the 10,000 most common passwords (compared case-insensitively: "Password1" is as weak as "password1"). */
export function isCommonPassword(password: string): boolean {
  return common.has(password) || common.has(password.toLowerCase());
}

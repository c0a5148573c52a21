/**
 * Rules for the deployment's shared secrets, and race-free creation of a secret kept in a file.
 *
 * The internal secret marks service-to-service calls, which may reach unexposed endpoints and
 * forward any caller's identity. An empty one would make every caller "internal" (two empty
 * buffers compare equal), and a short one can be guessed, so both are refused at start.
 *
 * A generated secret is written to a temporary file and linked into place with `link(2)`, which
 * fails when the target exists: the file is either absent or complete, never empty or half
 * written, and when two processes start at once on a fresh directory both read the one winner.
 *
 * @example
 * const secret = validateInternalSecret(process.env.CACHET_INTERNAL_SECRET ?? readOrCreateSecretFile(".cachet/internal-secret", generate), "CACHET_INTERNAL_SECRET");
 */
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { CodedError } from "../errors";

/** The shortest internal secret accepted: 32 characters (a generated one is 43). */
export const MIN_INTERNAL_SECRET_LENGTH = 32;

export class SecretConfigError extends CodedError {
  static override code = "E_SECRET_CONFIG";
}

/**
 * Returns `secret` when it is long enough to mark internal calls; throws SecretConfigError naming
 * `source` (the variable or file it came from) and how to fix it otherwise.
 */
export function validateInternalSecret(secret: string, source: string): string {
  if (secret.length < MIN_INTERNAL_SECRET_LENGTH) {
    const what = secret.length === 0 ? "is empty" : `is ${secret.length} characters long`;
    throw new SecretConfigError(
      `${source} ${what}; the internal secret needs at least ${MIN_INTERNAL_SECRET_LENGTH} characters (generate one with \`openssl rand -base64 32\`, or delete an empty .cachet/internal-secret to have one generated)`,
    );
  }
  return secret;
}

/** A random secret of 32 bytes, base64url (43 characters). */
export const generateSecret = (prefix = ""): string => `${prefix}${randomBytes(32).toString("base64url")}`;

/**
 * The trimmed content of `file`; when it does not exist, writes `generate()` to it (mode 0600)
 * without a window in which another process could read it empty, and returns what the file then
 * holds (the other process's secret when it won the race). `created` says whether this call wrote it.
 */
export function readOrCreateSecretFile(file: string, generate: () => string): { secret: string; created: boolean } {
  const existing = readIfExists(file);
  if (existing !== undefined) return { secret: existing, created: false };
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(temp, `${generate()}\n`, { mode: 0o600, flag: "wx" });
  let created = false;
  try {
    linkSync(temp, file); // atomic and exclusive: fails with EEXIST when another process won
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(temp);
  }
  return { secret: readFileSync(file, "utf8").trim(), created };
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

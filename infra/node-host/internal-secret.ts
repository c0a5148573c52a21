import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The deployment's internal secret: CACHET_INTERNAL_SECRET, else one kept under `.cachet/`. */
export function loadInternalSecret(appRoot: string): string {
  if (process.env.CACHET_INTERNAL_SECRET) return process.env.CACHET_INTERNAL_SECRET;
  const file = join(appRoot, ".cachet", "internal-secret");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    const secret = randomBytes(32).toString("base64url");
    mkdirSync(join(appRoot, ".cachet"), { recursive: true });
    try {
      writeFileSync(file, secret, { mode: 0o600, flag: "wx" });
    } catch {
      // another process created it first: use theirs
    }
    return readFileSync(file, "utf8").trim();
  }
}

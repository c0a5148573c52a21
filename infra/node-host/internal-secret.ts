import { join } from "node:path";
import { generateSecret, readOrCreateSecretFile, validateInternalSecret } from "../../lib/auth/secrets.ts";

/**
 * The deployment's internal secret: CACHET_INTERNAL_SECRET, else one generated once into
 * `.cachet/internal-secret` (race-free). Throws SecretConfigError when it is empty or short.
 */
export function loadInternalSecret(appRoot: string): string {
  const fromEnv = process.env.CACHET_INTERNAL_SECRET;
  if (fromEnv !== undefined && fromEnv !== "") return validateInternalSecret(fromEnv, "CACHET_INTERNAL_SECRET");
  const file = join(appRoot, ".cachet", "internal-secret");
  return validateInternalSecret(readOrCreateSecretFile(file, generateSecret).secret, file);
}

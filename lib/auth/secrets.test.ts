import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { generateSecret, MIN_INTERNAL_SECRET_LENGTH, readOrCreateSecretFile, SecretConfigError, validateInternalSecret } from "./secrets";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "cachet-secret-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("internal secret", () => {
  test.each([
    ["", /CACHET_INTERNAL_SECRET is empty/],
    ["x".repeat(MIN_INTERNAL_SECRET_LENGTH - 1), /is 31 characters long; the internal secret needs at least 32/],
  ])("a secret of %j is refused, saying how to fix it", (secret, message) => {
    expect(() => validateInternalSecret(secret, "CACHET_INTERNAL_SECRET")).toThrow(SecretConfigError);
    expect(() => validateInternalSecret(secret, "CACHET_INTERNAL_SECRET")).toThrow(message);
  });

  test("a generated secret passes the rule", () => {
    expect(validateInternalSecret(generateSecret(), "generated")).toHaveLength(43);
  });

  test("a missing file is created with mode 0600 and read back; an existing one is kept", () => {
    const file = join(tempDir(), "nested", "internal-secret");
    const first = readOrCreateSecretFile(file, () => "first-secret");
    expect(first).toEqual({ secret: "first-secret", created: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readOrCreateSecretFile(file, () => "second-secret")).toEqual({ secret: "first-secret", created: false });
  });

  test("an empty file is read as empty (and then refused by the rule), never silently replaced", () => {
    const file = join(tempDir(), "internal-secret");
    writeFileSync(file, "");
    const { secret } = readOrCreateSecretFile(file, generateSecret);
    expect(() => validateInternalSecret(secret, file)).toThrow(/is empty/);
  });

  test("twenty processes starting at once on a fresh directory all read the same complete secret", async () => {
    const dir = tempDir();
    const file = join(dir, ".cachet", "internal-secret");
    const script = `import { readOrCreateSecretFile, generateSecret } from ${JSON.stringify(new URL("./secrets.ts", import.meta.url).pathname)};
      process.stdout.write(readOrCreateSecretFile(${JSON.stringify(file)}, generateSecret).secret);`;
    const outputs = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
            let out = "";
            child.stdout.on("data", (chunk) => (out += chunk));
            child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
          }),
      ),
    );
    const stored = readFileSync(file, "utf8").trim();
    expect(stored).toHaveLength(43);
    expect(new Set(outputs)).toEqual(new Set([stored]));
  }, 60_000);
});

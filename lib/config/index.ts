/**
 * Reads every setting (settings.ts) from an environment in one pass: each value parsed, each
 * problem collected as one line naming the variable, the value and what is accepted, so a
 * process that starts with a bad configuration stops before it listens and says everything
 * that is wrong at once.
 *
 * @example
 * const { config, problems } = readConfig(process.env);
 * if (problems.length) throw new ConfigError(problems);
 * new L1Cache({ maxBytes: config.CACHE_L1_MAX_BYTES, ... });   // 64MiB → 67108864
 */
import { CodedError } from "../errors";
import { CROSS_CHECKS, SETTINGS, type Config, type Setting, type SettingName } from "./settings";

export { SETTINGS, type Config, type Reader, type Setting, type SettingName } from "./settings";

export type Environment = Readonly<Record<string, string | undefined>>;

/** A configuration the process cannot run with; `problems` has one line per problem. */
export class ConfigError extends CodedError {
  static override code = "E_CONFIG";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

/**
 * Exit codes of a process that cannot start (sysexits.h): a setting to fix, or a server that
 * does not answer.
 */
export const EXIT_CODES = { config: 78, dependency: 69, other: 1 } as const;

/** The exit code for an error that stopped the start. */
export function exitCodeOf(error: unknown): number {
  const code = (error as { code?: unknown })?.code;
  if (code === ConfigError.code) return EXIT_CODES.config;
  if (code === "E_DEPENDENCY") return EXIT_CODES.dependency;
  return EXIT_CODES.other;
}

export interface ConfigReading {
  config: Config;
  /** One line per invalid setting: `CACHE_L1_MAX_BYTES=64MB: ...; expected ...`. */
  problems: string[];
  /** Variables that look like settings but are not one (a typo, usually). */
  warnings: string[];
}

/** Variables with a settings prefix that belong to tools and tests, not to the running platform. */
const NOT_SETTINGS = new Set(["CACHET_APP_ROOT", "CACHET_API_URL", "CACHET_UPDATE_SCREENSHOTS", "WARMING_THROUGHPUT_KEYS"]);
const SETTING_PREFIX = /^(CACHE|CACHET|WARMING|INVALIDATION)_/;

/** How a value appears in a message: secrets are never printed. */
function shown(name: SettingName, raw: string): string {
  return (SETTINGS[name] as Setting<unknown>).secret ? `<secret, ${raw.length} characters>` : JSON.stringify(raw);
}

/**
 * A secret's parse error without fragments of the secret: parsers quote the input they choke on
 * (`"[{name: ...}]" is not valid JSON`, `entry "ci:operator=s3cret"`). Quoted text that is part of
 * the value and holds structure (`=`, `:`, `,`, brackets, spaces) is hidden; a bare name stays.
 */
function scrubbed(reason: string, raw: string): string {
  return reason.replace(/"([^"]*)"/g, (quoted, inner: string) =>
    inner.length > 0 && /[=:,[\]{}\s]/.test(inner) && raw.includes(inner) ? '"<part of the secret>"' : quoted,
  );
}

export function readConfig(env: Environment): ConfigReading {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(SETTINGS) as Array<[SettingName, Setting<unknown>]>) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") {
      values[name] = typeof setting.default === "function" ? (setting.default as (v: Record<string, unknown>) => unknown)(values) : setting.default;
      continue;
    }
    const parsed = setting.kind.parse(raw);
    if (parsed.ok) values[name] = parsed.value;
    else {
      const reason = setting.secret ? scrubbed(parsed.reason, raw) : parsed.reason;
      problems.push(`${name}=${shown(name, raw)}: ${reason}; expected ${setting.kind.accepts}`);
      values[name] = typeof setting.default === "function" ? undefined : setting.default;
    }
  }
  const config = values as Config;
  if (problems.length === 0)
    for (const check of CROSS_CHECKS) {
      const problem = check(config);
      if (problem) problems.push(problem);
    }
  return { config, problems, warnings: unknownSettings(env) };
}

/** The configuration, or a ConfigError listing every problem. */
export function loadConfig(env: Environment): Config {
  const { config, problems } = readConfig(env);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** Reads an Encore secret, or undefined when it is not set (Encore throws for an unset secret). */
function secretValue(read: () => string): string | undefined {
  try {
    return read() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A service's configuration reader: the environment with its Encore secrets' values laid over it
 * (on the Node host `secret()` reads the same variables), parsed on first call and kept. Throws
 * ConfigError while the configuration is invalid (the Node host refuses to start first; under
 * Encore the service answers 503 and logs the problem once, see lib/api-errors.ts).
 *
 * @example
 * const redisSecret = secret("REDIS_URL");
 * export const config = configReader({ REDIS_URL: redisSecret });
 * config().CACHE_L1_MAX_BYTES
 */
export function configReader(secrets: Partial<Record<SettingName, () => string>> = {}): () => Config {
  let config: Config | undefined;
  return () => {
    if (config) return config;
    const env: Record<string, string | undefined> = { ...process.env };
    for (const [name, read] of Object.entries(secrets)) env[name] = secretValue(read!);
    return (config = loadConfig(env));
  };
}

function unknownSettings(env: Environment): string[] {
  const names = Object.keys(SETTINGS);
  return Object.keys(env)
    .filter((name) => SETTING_PREFIX.test(name) && !(name in SETTINGS) && !NOT_SETTINGS.has(name))
    .map((name) => {
      const near = names.find((known) => editDistance(known, name) <= 2);
      return `${name} is not a setting of this platform${near ? `; did you mean ${near}?` : ""} (it is ignored)`;
    });
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

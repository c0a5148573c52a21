import type { Redis } from "ioredis";

/** The state of one dependency, as health endpoints report it. */
export interface DependencyHealth {
  name: string;
  healthy: boolean;
  latencyMs: number;
  error?: string;
}

/** Times `probe`, failing it after `timeoutMs`; never throws. */
export async function probeDependency(name: string, probe: () => Promise<unknown>, timeoutMs = 2000): Promise<DependencyHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name, healthy: true, latencyMs: round(performance.now() - started) };
  } catch (err) {
    return { name, healthy: false, latencyMs: round(performance.now() - started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export const probeRedis = (redis: Redis) => probeDependency("redis", () => redis.ping());

const round = (ms: number) => Math.round(ms * 100) / 100;

/** One service's health: its own dependencies. */
export interface ServiceHealth {
  service: string;
  healthy: boolean;
  dependencies: DependencyHealth[];
}

export async function serviceHealth(service: string, probes: Array<Promise<DependencyHealth>>): Promise<ServiceHealth> {
  const dependencies = await Promise.all(probes);
  return { service, healthy: dependencies.every((d) => d.healthy), dependencies };
}

/** Several services' health: healthy when every one is. */
export interface PlatformHealth {
  healthy: boolean;
  checkedAt: string;
  services: ServiceHealth[];
}

/** Runs each service's check; a check that fails outright counts as that service being down. */
export async function combinedHealth(checks: ReadonlyArray<readonly [string, () => Promise<ServiceHealth>]>): Promise<PlatformHealth> {
  const services = await Promise.all(
    checks.map(([service, check]) =>
      check().catch((err: Error): ServiceHealth => ({
        service,
        healthy: false,
        dependencies: [{ name: "service", healthy: false, latencyMs: 0, error: err.message }],
      })),
    ),
  );
  return { healthy: services.every((s) => s.healthy), checkedAt: new Date().toISOString(), services };
}

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

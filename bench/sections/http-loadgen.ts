/**
 * Child process of section 3: the load generator (autocannon), in its own process so it does not
 * share an event loop with the server it measures. Runs the jobs of one round in order and prints
 * their figures. Usage: http-loadgen.ts <jobs.json>
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { childMain } from "../lib/child.ts";

export interface LoadJob {
  name: string;
  url: string;
  method: "GET" | "PUT" | "POST";
  /** Paths to rotate through (one per request); the URL's own path when absent. */
  paths?: string[];
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationSeconds: number;
}

export interface LoadFigures {
  name: string;
  reqPerSec: number;
  /** Requests completed in the run. */
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function run(job: LoadJob): Promise<LoadFigures> {
  let next = 0;
  const paths = job.paths;
  const result = await autocannon({
    url: job.url,
    method: job.method,
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    duration: job.durationSeconds,
    requests: paths ? [{ setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length] }) }] : undefined,
  });
  // Total over elapsed time: per-second averages undercount a run that ends mid-second.
  return {
    name: job.name,
    reqPerSec: result.requests.total / result.duration,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

void childMain(async () => {
  const jobs = JSON.parse(readFileSync(process.argv[2], "utf8")) as LoadJob[];
  const results: LoadFigures[] = [];
  for (const job of jobs) results.push(await run(job));
  return { results };
});

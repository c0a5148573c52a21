/**
 * The Node host: serves the app's Encore services from one Node process. It reads the manifest,
 * applies database migrations, imports the modules of the services it runs, binds their
 * endpoints, and starts the HTTP server, Pub/Sub consumers and cron scheduler. `stop()` shuts
 * down gracefully: no new requests or messages, in-flight ones finish.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { redactUrl } from "../../lib/config/dependencies.ts";
import { claimDeployment } from "../../lib/deployment.ts";
import { connectRedis } from "../../lib/redis.ts";
import { generate, DEFAULT_APP_ROOT } from "./cli/generate.ts";
import { loadInternalSecret } from "./internal-secret.ts";
import { endpointDefinition } from "./encore/api.ts";
import log from "./encore/log.ts";
import { healthyOrUnavailable } from "../../lib/api-errors.ts";
import { combinedHealth, type ServiceHealth } from "../../lib/health.ts";
import type { EndpointManifest, Manifest } from "./manifest/types.ts";
import { Authenticator, type AuthData } from "./runtime/auth.ts";
import { CronRuntime } from "./runtime/cron.ts";
import { bindEndpoint, endpointKey, invokeInProcess, type BoundEndpoint } from "./runtime/endpoints.ts";
import { Decoder } from "./runtime/http/decode.ts";
import { HttpServer } from "./runtime/http/server.ts";
import { PubSubRuntime } from "./runtime/pubsub.ts";
import { RemoteCaller } from "./runtime/remote.ts";
import { DatabaseRuntime } from "./runtime/sqldb.ts";
import { setHostState, type HostState } from "./runtime/state.ts";
import { inSpan, SpanKind, startTracing, stopTracing, tracingEnabled } from "./runtime/tracing.ts";

export interface HostOptions {
  /** The app root (where encore.app is). Defaults to this repository. */
  appRoot?: string;
  /** The services to serve; all of them when unset. */
  services?: string[];
  /** 0 picks a free port. */
  port?: number;
  hostname?: string;
  redisUrl: string;
  /** Prefix of the host's own Redis keys (streams, cron locks). */
  keyPrefix?: string;
  instanceId?: string;
  /** Shared by every process of one deployment; marks service-to-service calls. */
  internalSecret?: string;
  /** Base URLs of services that run elsewhere; `*` is the fallback. */
  serviceUrls?: Record<string, string>;
  /**
   * Checks that the processes sharing this Redis share this one's databases and internal secret
   * (lib/deployment.ts): `databases` is this process's identity of them (`databaseIdentity()`).
   */
  deploymentCheck?: { mode: "refuse" | "warn"; databases: string };
}

export interface RunningHost {
  url: string;
  port: number;
  state: HostState;
  stop(): Promise<void>;
}

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const appRoot = options.appRoot ?? DEFAULT_APP_ROOT;
  const manifest = await generate(appRoot);
  const localServices = selectServices(manifest, options.services);
  const internalSecret = options.internalSecret ?? loadInternalSecret(appRoot);
  const remote = new RemoteCaller({ manifest, internalSecret, serviceUrls: options.serviceUrls ?? {} });
  const bound = new Map<string, BoundEndpoint>();
  const redis = connectRedis(options.redisUrl);

  const state: HostState = {
    manifest,
    appRoot,
    localServices,
    redis,
    redisUrl: options.redisUrl,
    instanceId: options.instanceId ?? `host-${process.pid}-${randomBytes(3).toString("hex")}`,
    keyPrefix: options.keyPrefix ?? "cachet:",
    callEndpoint(service, name, payload, authData) {
      const call = async () => {
        const local = bound.get(endpointKey(service, name));
        if (local) return invokeInProcess(local, payload, authData);
        if (localServices.has(service)) throw new Error(`unknown endpoint ${service}.${name}`);
        return remote.call(service, name, payload, authData);
      };
      if (!tracingEnabled) return call();
      const inProcess = bound.has(endpointKey(service, name));
      return inSpan(
        `call ${service}.${name}`,
        SpanKind.CLIENT,
        { "rpc.system.name": "encore", "rpc.method": `${service}.${name}`, "cachet.in_process": inProcess },
        call,
      );
    },
  };
  setHostState(state);

  await startTracing({ instance: state.instanceId, services: [...localServices] });

  const localDatabases = manifest.databases.filter((db) => !db.service || localServices.has(db.service)).map((db) => db.name);
  const deployment = options.deploymentCheck
    ? await claimDeployment({
        redis,
        keyPrefix: state.keyPrefix,
        self: {
          instance: state.instanceId,
          services: [...localServices],
          url: `port ${options.port ?? 4000}`,
          databases: localDatabases.length ? options.deploymentCheck.databases : null,
          internalSecret,
        },
        mode: options.deploymentCheck.mode,
        warn: (message) => log.warn(message),
        redisLabel: redactUrl(options.redisUrl),
      }).catch(async (error: unknown) => {
        await redis.quit().catch(() => redis.disconnect());
        throw error;
      })
    : undefined;

  const databases = new DatabaseRuntime();
  await databases.migrate(localDatabases);

  const modules = await importModules(appRoot, manifest, localServices);
  for (const entry of manifest.endpoints) {
    if (!localServices.has(entry.service)) continue;
    const definition = endpointDefinition(modules.get(entry.pos.file)?.[entry.name]);
    if (!definition) throw new Error(`${entry.pos.file}: export "${entry.name}" is not an endpoint at runtime`);
    bound.set(endpointKey(entry.service, entry.name), bindEndpoint(manifest, entry, definition));
  }

  if (!manifest.endpoints.some((e) => localServices.has(e.service) && e.path === HEALTH_PATH)) {
    bound.set(endpointKey("host", "health"), processHealthEndpoint(manifest, localServices, state));
  }

  const decoder = new Decoder(manifest.types);
  const server = new HttpServer({
    endpoints: [...bound.values()],
    decoder,
    authenticator: authenticator(manifest, modules, decoder),
    internalSecret,
    appRoot,
  });
  const port = await server.listen(options.port ?? 4000, options.hostname);

  const pubsub = new PubSubRuntime();
  const cron = new CronRuntime();
  await pubsub.start();
  await cron.start();
  log.info("node host started", { port, services: [...localServices].join(","), instance: state.instanceId });

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    stop: () =>
      (stopping ??= (async () => {
        await cron.stop();
        await Promise.all([server.close(), pubsub.stop()]);
        await databases.close();
        await deployment?.release();
        await redis.quit().catch(() => redis.disconnect());
        await stopTracing();
        setHostState(undefined);
      })()),
  };
}

const HEALTH_PATH = "/api/health";

/**
 * `GET /api/health` for a process whose services do not define it (e.g. `--services=cache-manager`
 * when monitoring runs elsewhere): the health of the services this process runs, from each one's
 * endpoint named `health`, in the same shape and with the same 503 as the platform's.
 */
function processHealthEndpoint(manifest: Manifest, localServices: Set<string>, state: HostState): BoundEndpoint {
  const checks = manifest.endpoints
    .filter((e) => e.name === "health" && localServices.has(e.service))
    .map((e) => [e.service, () => state.callEndpoint(e.service, e.name, undefined, undefined) as Promise<ServiceHealth>] as const);
  const entry: EndpointManifest = {
    service: "host",
    name: "health",
    kind: "api",
    methods: ["GET"],
    path: HEALTH_PATH,
    expose: true,
    auth: false,
    tags: [],
    pos: { file: "infra/node-host/host.ts", line: 1, column: 1 },
  };
  const handler = async () => healthyOrUnavailable(await combinedHealth(checks));
  return bindEndpoint(manifest, entry, { kind: "api", options: { method: "GET", path: HEALTH_PATH, expose: true, auth: false }, handler });
}

function selectServices(manifest: Manifest, wanted: string[] | undefined): Set<string> {
  const all = manifest.services.map((s) => s.name);
  if (!wanted || wanted.length === 0) return new Set(all);
  const unknown = wanted.filter((name) => !all.includes(name));
  if (unknown.length) throw new Error(`unknown service(s) ${unknown.join(", ")}: this app has ${all.join(", ")}`);
  return new Set(wanted);
}

/** Imports the resource files of the local services, and the gateway's auth handler. */
async function importModules(appRoot: string, manifest: Manifest, local: Set<string>): Promise<Map<string, Record<string, unknown>>> {
  const files = new Set<string>();
  for (const service of manifest.services) if (local.has(service.name)) service.files.forEach((f) => files.add(f));
  for (const gateway of manifest.gateways) files.add(gateway.file);
  for (const handler of manifest.authHandlers) files.add(handler.file);
  const modules = new Map<string, Record<string, unknown>>();
  for (const file of files) modules.set(file, (await import(pathToFileURL(join(appRoot, file)).href)) as Record<string, unknown>);
  return modules;
}

function authenticator(manifest: Manifest, modules: Map<string, Record<string, unknown>>, decoder: Decoder): Authenticator | undefined {
  const gateway = manifest.gateways.find((g) => g.authHandler);
  const handler = gateway && manifest.authHandlers.find((h) => h.name === gateway.authHandler);
  if (!handler) return undefined;
  const fn = modules.get(handler.file)?.[handler.name];
  if (typeof fn !== "function") throw new Error(`${handler.file}: auth handler "${handler.name}" is not a function at runtime`);
  return new Authenticator(handler, fn as (params: unknown) => Promise<AuthData | null>, decoder, manifest.types);
}

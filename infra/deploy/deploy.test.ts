/**
 * The deployment files, checked here where no container engine or cluster runs:
 * - the Dockerfile, parsed by dockerfile-ast (the parser of VS Code's Docker language server);
 * - the compose file and the Kubernetes manifests, parsed by `yaml`; every manifest validated
 *   against the Kubernetes schemas (kubernetes-models) and, for unknown fields, against the
 *   official client's models (@kubernetes/client-node), then cross-checked (selectors, targets,
 *   config and secret references, service names, environment variables the platform reads);
 * - the entry point's path split (nginx template, Ingress) against every endpoint of the manifest;
 * - and the platform as the image would run it: host processes started from the Dockerfile's
 *   ENTRYPOINT with the compose file's commands and environment, three cache-manager replicas
 *   behind a real nginx rendered from the template, answering coherently through one entry point.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DockerfileParser, type Instruction, type JSONInstruction } from "dockerfile-ast";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SETTINGS } from "../../lib/config/index.ts";
import { freePort } from "../node-host/embedded/ports.ts";
import { loadManifest } from "../node-host/manifest/load.ts";
import type { EndpointManifest } from "../node-host/manifest/types.ts";
import { appRoot } from "../node-host/testing/spawn.ts";
import { startPostgresServer, type TestPostgresServer } from "../node-host/testing/postgres.ts";
import { generateKeyPair } from "../../lib/l3-keyring.ts";

const read = (path: string) => readFileSync(join(appRoot, path), "utf8");
const manifest = loadManifest(appRoot);
const serviceNames = manifest.services.map((s) => s.name).sort();

// ---------------------------------------------------------------------------------- Dockerfile

const dockerfile = DockerfileParser.parse(read("Dockerfile"));
const stages = (() => {
  const out: { name?: string; image: string; instructions: Instruction[] }[] = [];
  for (const ins of dockerfile.getInstructions()) {
    if (ins.getKeyword() === "FROM") {
      const args = ins.getArguments().map((a) => a.getValue());
      out.push({ image: args[0], name: args[1]?.toUpperCase() === "AS" ? args[2] : undefined, instructions: [] });
    } else out.at(-1)?.instructions.push(ins);
  }
  return out;
})();
const runtime = stages.at(-1)!;
const of = (keyword: string) => runtime.instructions.filter((i) => i.getKeyword() === keyword);
/** The JSON (exec) form of an instruction, e.g. ENTRYPOINT ["node", ...]. */
const execForm = (ins: Instruction) => (ins as JSONInstruction).getJSONStrings().map((a) => a.getJSONValue());
const entrypoint = execForm(of("ENTRYPOINT")[0]);
const imageEnv = Object.fromEntries(of("ENV").flatMap((ins) => ins.getArguments().map((a) => a.getValue().split("=") as [string, string])));

/**
 * Environment variable names the platform reads: every declared setting (lib/config/settings.ts),
 * and any other name its code reads (process.env.X, secret("X")).
 */
const platformEnvNames = (() => {
  const names = new Set<string>(Object.keys(SETTINGS));
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(appRoot, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!["node_modules", "test", "testing", "fixtures"].includes(entry.name) && !entry.name.startsWith(".")) walk(path);
      } else if (/\.(ts|js)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) {
        for (const m of read(path).matchAll(/\benv\.([A-Z][A-Z0-9_]+)|["']([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+)["']/g)) names.add(m[1] ?? m[2]);
      }
    }
  };
  [...serviceNames, "lib", "infra/node-host"].forEach(walk);
  return names;
})();

describe("Dockerfile", () => {
  test("builds in stages and the runtime stage holds production dependencies only", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runs = of("RUN").map((i) => i.getArgumentsContent() ?? "");
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /npm (ci|install)\b(?!.*--omit=dev)/.test(r))).toBe(false);
    const build = stages.find((s) => s.name === "build")!;
    const buildRuns = build.instructions.filter((i) => i.getKeyword() === "RUN").map((i) => i.getArgumentsContent() ?? "");
    expect(
      buildRuns.some((r) => r.includes("npm run build:frontend")),
      "the dashboard is built in",
    ).toBe(true);
  });

  test("runs as a non-root user, with a health check on /api/health", () => {
    const user = of("USER").at(-1)?.getArgumentsContent();
    expect(user).toBeTruthy();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const health = of("HEALTHCHECK")[0]?.getArgumentsContent() ?? "";
    expect(health).toContain("/api/health");
  });

  test("copies every service directory, the shared code and the host into the runtime stage", () => {
    const copied = of("COPY").flatMap((i) => {
      const args = i
        .getArguments()
        .map((a) => a.getValue())
        .filter((a) => !a.startsWith("--"));
      return args.slice(0, -1).map((src) => src.replace(/^\/app\//, ""));
    });
    for (const dir of [...serviceNames, "lib", "infra/node-host", "encore.app", ".cachet"]) expect(copied, dir).toContain(dir);
  });

  test("its entry point is the Node host, with the service set left to the arguments", () => {
    expect(entrypoint.slice(0, 3)).toEqual(["node", "--import", "./infra/node-host/register.js"]);
    expect(existsSync(join(appRoot, entrypoint[3]))).toBe(true);
    expect(entrypoint.some((a) => a.startsWith("--services"))).toBe(false);
    for (const name of Object.keys(imageEnv).filter((n) => n !== "NODE_ENV")) expect(platformEnvNames, name).toContain(name);
  });
});

// ------------------------------------------------------------------------------------- compose

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: unknown;
}
const compose = parseYaml(read("infra/deploy/compose.yml"), { merge: true }) as { services: Record<string, ComposeService> };
const cachetServices = Object.entries(compose.services).filter(([, s]) => s.image === "cachet:latest");
const servicesArg = (args: readonly string[] = []) =>
  args
    .find((a) => a.startsWith("--services="))
    ?.slice("--services=".length)
    .split(",") ?? [];

describe("compose file", () => {
  test("builds the image from the Dockerfile and runs every service of the app somewhere", () => {
    expect(cachetServices.length).toBeGreaterThanOrEqual(2);
    for (const [, s] of cachetServices) expect(existsSync(join(appRoot, "infra/deploy", s.build!.context, s.build!.dockerfile))).toBe(true);
    const run = cachetServices.flatMap(([, s]) => servicesArg(s.command));
    expect([...new Set(run)].sort()).toEqual(serviceNames);
    expect(compose.services["cache-manager"].ports, "scaled replicas publish no port of their own").toBeUndefined();
  });

  test("publishes ports on localhost only, and every secret is a required variable", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const port of s.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    const text = read("infra/deploy/compose.yml");
    for (const secret of ["REDIS_PASSWORD", "POSTGRES_PASSWORD", "CACHE_ADMIN_TOKEN", "CACHET_INTERNAL_SECRET", "CACHE_L3_KEY", "GRAFANA_ADMIN_PASSWORD"]) {
      expect(text).toContain(`\${${secret}:?`);
      expect(read("infra/deploy/.env.example")).toMatch(new RegExp(`^${secret}=$`, "m"));
    }
    expect(compose.services.redis.command).toContain("--requirepass");
  });

  test("sets only environment variables the platform reads, and mounts files that exist", () => {
    for (const [name, s] of cachetServices) {
      for (const variable of Object.keys(s.environment ?? {})) expect(platformEnvNames, `${name}: ${variable}`).toContain(variable);
    }
    for (const s of Object.values(compose.services)) {
      for (const volume of s.volumes ?? []) {
        const source = volume.split(":")[0];
        if (source.startsWith(".")) expect(existsSync(join(appRoot, "infra/deploy", source)), source).toBe(true);
      }
    }
  });
});

// ---------------------------------------------------------------------------------- Kubernetes

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}
const k8sDir = join(appRoot, "infra/k8s");
const kustomization = parseYaml(read("infra/k8s/kustomization.yaml")) as { resources: string[]; images: { name: string }[] };
const k8sObjects: K8sObject[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8sDir, file), "utf8")).map((doc) => doc.toJS() as K8sObject),
);
const byKind = (kind: string) => k8sObjects.filter((o) => o.kind === kind);

/** kubernetes-models class for an object: `apps/v1` + `Deployment` → kubernetes-models/apps/v1. */
async function schemaValidate(object: K8sObject): Promise<void> {
  const group = object.apiVersion.includes("/") ? object.apiVersion : `v1`;
  const mod = (await import(`kubernetes-models/${group}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[object.kind];
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

/** Fields the official client does not know (kubectl --validate=strict refuses them). */
async function unknownFields(object: K8sObject): Promise<string[]> {
  const models = join(appRoot, "node_modules/@kubernetes/client-node/dist/gen/models");
  const version = object.apiVersion.split("/").at(-1)!;
  const typeName = `${version[0].toUpperCase()}${version.slice(1)}${object.kind}`;
  const problems: string[] = [];
  const check = async (value: unknown, type: string, path: string): Promise<void> => {
    if (value === null || value === undefined) return;
    const array = /^Array<(.+)>$/.exec(type);
    if (array) return void (await Promise.all((value as unknown[]).map((v, i) => check(v, array[1], `${path}[${i}]`))));
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) return void (await Promise.all(Object.entries(value as object).map(([k, v]) => check(v, map[1], `${path}.${k}`))));
    if (!/^[A-Z]/.test(type) || type === "IntOrString" || type === "Date") return;
    const file = join(models, `${type}.js`);
    if (!existsSync(file)) return;
    const mod = (await import(pathToFileURL(file).href)) as Record<string, { getAttributeTypeMap(): { baseName: string; type: string }[] }>;
    const attrs = new Map(mod[type].getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [key, v] of Object.entries(value as object)) {
      const t = attrs.get(key);
      if (!t) problems.push(`${path}.${key}`);
      else await check(v, t, `${path}.${key}`);
    }
  };
  await check(object, typeName, object.kind);
  return problems;
}

const deployments = () => byKind("Deployment");
const podLabels = (d: K8sObject) => d.spec.template.metadata.labels as Record<string, string>;
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe("Kubernetes manifests", () => {
  test("the kustomization lists every manifest in infra/k8s", () => {
    const files = readdirSync(k8sDir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  test("every object passes the Kubernetes schema and has no field the API does not know", async () => {
    for (const object of k8sObjects) {
      await schemaValidate(object);
      expect(await unknownFields(object), `${object.kind}/${object.metadata.name}`).toEqual([]);
    }
  });

  test("the validation is not vacuous: a wrong type and an unknown field are both caught", async () => {
    const broken = structuredClone(deployments()[0]);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "http";
    await expect(schemaValidate(broken)).rejects.toThrow(/containerPort/);
    const typo = structuredClone(deployments()[0]);
    typo.spec.template.spec.containers[0].livenesProbe = {};
    expect(await unknownFields(typo)).toEqual(["Deployment.spec.template.spec.containers[0].livenesProbe"]);
  });

  test("every Deployment runs services of the app, non-root, with probes and resource requests", () => {
    const run = new Set<string>();
    for (const d of deployments()) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      for (const c of pod.containers) {
        expect(kustomization.images.map((i) => i.name)).toContain(c.image);
        expect(c.args.slice(0, 1)).toEqual(c.args.filter((a: string) => a.startsWith("--services=")));
        servicesArg(c.args).forEach((s) => run.add(s));
        expect(c.readinessProbe?.httpGet?.path).toBe("/api/health");
        expect(c.livenessProbe).toBeTruthy();
        expect(c.resources.requests.cpu && c.resources.requests.memory).toBeTruthy();
        for (const e of c.env) expect(platformEnvNames, e.name).toContain(e.name);
      }
    }
    expect([...run].sort()).toEqual(serviceNames);
  });

  test("Services, the autoscaler and the disruption budget select pods that exist; config references resolve", () => {
    const pods = deployments().map(podLabels);
    for (const s of byKind("Service").filter((s) => s.spec.type !== "ExternalName"))
      expect(
        pods.some((l) => matches(s.spec.selector, l)),
        s.metadata.name,
      ).toBe(true);
    for (const p of byKind("PodDisruptionBudget")) expect(pods.some((l) => matches(p.spec.selector.matchLabels, l))).toBe(true);
    for (const h of byKind("HorizontalPodAutoscaler")) {
      expect(deployments().map((d) => d.metadata.name)).toContain(h.spec.scaleTargetRef.name);
      expect(deployments().find((d) => d.metadata.name === h.spec.scaleTargetRef.name)!.spec.replicas, "the HPA owns replicas").toBeUndefined();
    }
    const configMaps = byKind("ConfigMap");
    for (const d of deployments()) {
      for (const c of d.spec.template.spec.containers) {
        for (const from of c.envFrom ?? []) {
          const cm = configMaps.find((m) => m.metadata.name === from.configMapRef.name)!;
          expect(cm).toBeTruthy();
          for (const variable of Object.keys(cm.data ?? {})) expect(platformEnvNames, variable).toContain(variable);
        }
      }
    }
    const urls = configMaps.flatMap((m) => Object.values(m.data ?? {})).join(" ");
    for (const host of urls.matchAll(/http:\/\/([a-z-]+)\.cachet\.svc/g)) expect(byKind("Service").map((s) => s.metadata.name)).toContain(host[1]);
  });
});

// ------------------------------------------------------------------- one entry point, by path

/** A concrete request path for an endpoint: parameters filled, wildcards given one segment. */
const concretePath = (e: EndpointManifest) => e.path.replace(/[:*]\w+/g, "x").replace("/!x", "/some/page");
const exposed = manifest.endpoints.filter((e) => e.expose);
const upstreamOf = (e: EndpointManifest) => (e.service === "cache-manager" ? "cache-manager" : "platform");

describe("entry point path split", () => {
  test("the Ingress sends every exposed endpoint to the Deployment that runs its service (Kubernetes Prefix/Exact rules)", () => {
    const paths = byKind("Ingress").flatMap((i) => i.spec.rules.flatMap((r: { http: { paths: unknown[] } }) => r.http.paths)) as {
      path: string;
      pathType: "Prefix" | "Exact";
      backend: { service: { name: string } };
    }[];
    const route = (path: string) => {
      const hits = paths.filter((p) => (p.pathType === "Exact" ? p.path === path : p.path === "/" || path === p.path || path.startsWith(`${p.path}/`)));
      return hits.sort((a, b) => Number(b.pathType === "Exact") - Number(a.pathType === "Exact") || b.path.length - a.path.length)[0]?.backend.service.name;
    };
    for (const e of exposed) expect(route(concretePath(e)), `${e.service} ${e.path}`).toBe(upstreamOf(e));
  });
});

// ------------------------------------------------------- the platform as the image runs it

const nginxBinary = ["/usr/sbin/nginx", "/usr/bin/nginx"].find(existsSync);

describe("the platform started as the image's entry point starts it, behind nginx from the template", () => {
  const processes: ChildProcess[] = [];
  let postgres: TestPostgresServer;
  let work: string;
  let entry = "";
  const ports: Record<string, number[]> = { "cache-manager": [], platform: [] };
  const adminToken = "deploy-test-admin-token-0123456789";
  const l3Key = generateKeyPair("deploy");
  const auth = { authorization: `Bearer ${adminToken}` };

  /** Starts one container's process: the Dockerfile's ENTRYPOINT, the compose service's command and environment. */
  async function startContainer(service: string, port: number): Promise<void> {
    const spec = compose.services[service];
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...imageEnv,
      ...spec.environment,
      PORT: String(port),
      REDIS_URL: process.env.REDIS_URL!,
      DATABASE_URL: postgres.url,
      CACHE_ADMIN_TOKEN: adminToken,
      CACHET_INTERNAL_SECRET: "deploy-test-internal-secret-0123456789",
      CACHE_L3_KEY: l3Key,
      CACHET_KEY_PREFIX: `deploy${process.pid}:`,
      LOG_LEVEL: "warn",
    };
    // the compose DNS names, as localhost ports
    env.CACHET_GATEWAY_URL &&= `http://127.0.0.1:${ports.platform[0]}`;
    env.CACHET_SERVICE_URLS &&= `cache-manager=http://127.0.0.1:${ports["cache-manager"][0]}`;
    const [command, ...args] = entrypoint;
    const child = spawn(command === "node" ? process.execPath : command, [...args, ...(spec.command ?? [])], {
      cwd: appRoot,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    processes.push(child);
    let output = "";
    child.stdout!.on("data", (c: Buffer) => (output += c));
    child.stderr!.on("data", (c: Buffer) => (output += c));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${service} did not start:\n${output}`)), 90_000);
      child.stdout!.on("data", () => output.includes("Cachet is running") && (clearTimeout(timer), resolve()));
      child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`${service} exited with ${code}:\n${output}`))));
    });
  }

  beforeAll(async () => {
    if (!nginxBinary) throw new Error("nginx is not installed: sudo apt-get install -y nginx (bash .ci/run installs it)");
    postgres = await startPostgresServer();
    ports.platform.push(await freePort());
    for (let i = 0; i < 3; i++) ports["cache-manager"].push(await freePort());
    await startContainer("platform", ports.platform[0]);
    await Promise.all(ports["cache-manager"].map((port) => startContainer("cache-manager", port)));

    // the template, filled the way the nginx image fills it (envsubst of the gateway's environment)
    const gatewayEnv: Record<string, string> = {
      ...compose.services.gateway.environment,
      CACHE_MANAGER_SERVERS: ports["cache-manager"].map((p) => `server 127.0.0.1:${p};`).join(" "),
      PLATFORM_SERVERS: `server 127.0.0.1:${ports.platform[0]};`,
    };
    const template = read("infra/deploy/nginx/cachet.conf.template").replace(/\$\{(\w+)\}/g, (_, name: string) => gatewayEnv[name] ?? `\${${name}}`);
    const listenPort = await freePort();
    work = mkdtempSync(join(tmpdir(), "cachet-nginx-"));
    const server = template
      .replace("listen 4000;", `listen 127.0.0.1:${listenPort};`)
      .replace(/location ~ /, "add_header X-Upstream $upstream_addr always;\n    location ~ ");
    writeFileSync(
      join(work, "nginx.conf"),
      `daemon off; pid ${work}/nginx.pid; error_log ${work}/error.log warn; events {}\n` +
        `http { access_log off; client_body_temp_path ${work}; proxy_temp_path ${work}; fastcgi_temp_path ${work}; uwsgi_temp_path ${work}; scgi_temp_path ${work};\n${server}\n}\n`,
    );
    const test = spawnSync(nginxBinary, ["-t", "-p", work, "-c", join(work, "nginx.conf")], { encoding: "utf8" });
    expect(test.status, test.stderr).toBe(0);
    processes.push(spawn(nginxBinary, ["-p", work, "-c", join(work, "nginx.conf")], { stdio: "ignore" }));
    entry = `http://127.0.0.1:${listenPort}`;
    for (let i = 0; i < 100 && !(await fetch(`${entry}/api/health`).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 50));
  }, 240_000);

  afterAll(async () => {
    for (const child of processes.reverse()) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await postgres?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("every exposed endpoint reaches the process that runs its service", async () => {
    for (const e of exposed.filter((e) => !e.kind.startsWith("stream"))) {
      const method = e.methods[0] === "*" ? "GET" : e.methods[0];
      const response = await fetch(entry + concretePath(e), { method, headers: auth, body: ["GET", "HEAD", "DELETE"].includes(method) ? undefined : "{}" });
      await response.arrayBuffer();
      const port = Number(response.headers.get("x-upstream")?.split(":").at(-1));
      expect(ports[upstreamOf(e)], `${method} ${e.path} answered ${response.status} by port ${port}`).toContain(port);
    }
  });

  test("the L3 tier is on with the compose file's key, on every replica", async () => {
    for (const port of ports["cache-manager"]) {
      const report = await fetch(`http://127.0.0.1:${port}/api/l3`, { headers: auth });
      expect(report.status).toBe(200);
      expect(((await report.json()) as { status: { state: string } }).status.state).toBe("ok");
    }
  });

  test("service-to-service paths are not reachable from outside", async () => {
    const internal = manifest.endpoints.find((e) => e.path.startsWith("/internal/"))!;
    expect((await fetch(entry + concretePath(internal), { method: internal.methods[0], headers: auth })).status).toBe(404);
  });

  test("three replicas behind one entry point answer coherently: a write is read back by each, a delete is seen by each", async () => {
    const key = `deploy:${process.pid}`;
    const put = await fetch(`${entry}/api/cache/${key}`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ value: "v1", ttlSeconds: 60 }),
    });
    expect(put.status).toBe(200);
    // every replica, directly: the value is there (and now in each one's L1)
    for (const port of ports["cache-manager"]) {
      const got = (await (await fetch(`http://127.0.0.1:${port}/api/cache/${key}`, { headers: auth })).json()) as { value: string };
      expect(got.value).toBe("v1");
    }
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = await fetch(`${entry}/api/cache/${key}`, { headers: auth });
      expect(((await r.json()) as { value: string }).value).toBe("v1");
      seen.add(r.headers.get("x-upstream")!);
    }
    expect(seen.size, "nginx spreads reads over the replicas").toBe(3);
    expect((await fetch(`${entry}/api/cache/${key}`, { method: "DELETE", headers: auth })).status).toBe(200);
    // other replicas drop their L1 copy when they hear the delete on the coherence stream (ms here)
    for (const port of ports["cache-manager"]) {
      const status = async () => (await fetch(`http://127.0.0.1:${port}/api/cache/${key}`, { headers: auth })).status;
      await expect.poll(status, { timeout: 2_000, interval: 20 }).toBe(404);
    }
  });
});

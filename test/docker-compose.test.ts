import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig, platformEnvSchema } from '../src/config/env';
import { ALL_TASK_QUEUES, JOB_ENV, rateLimitedQueues } from '../src/worker/job-registry';
import { dynamicConfigYaml } from '../src/cluster/server-config';
import { PROJECT_ROOT } from '../src/start/provision-cli';
import { buildRuntime } from '../src/start/runtime-build';

// docker-compose.temporal.yml and the Dockerfile, checked without a Docker engine: our services
// use only variables our config knows, with values it accepts; every service, host and port
// they reference exists; secrets have no defaults; only what a user needs is published.

interface ComposeService {
  image?: string;
  stop_grace_period?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean>;
  depends_on?: string[] | Record<string, { condition: string }>;
  ports?: string[];
  healthcheck?: { test: string[] };
}

const composeText = fs.readFileSync(path.join(PROJECT_ROOT, 'docker-compose.temporal.yml'), 'utf8');
const compose = YAML.parse(composeText, { merge: true }) as {
  services: Record<string, ComposeService>;
  configs?: Record<string, { content?: string }>;
};
const services = compose.services;
const ours = Object.entries(services).filter(([, s]) => s.build !== undefined);

/** Variables the AWS SDK's default credential chain reads (not ours to validate). */
const LIBRARY_VARIABLES = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
/** What a user exports before `docker compose up` (the file's comment says so). */
const USER_SECRETS = {
  POSTGRES_PASSWORD: 'pg-secret-for-the-test',
  MINIO_ROOT_PASSWORD: 'minio-secret-for-the-test',
  WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  API_KEYS: 'ops:admin:0123456789abcdef0123',
};

/** Compose interpolation: ${X:?msg} needs X, ${X:-d} falls back to d, $$ is a literal $. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value
    .replace(/\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g, (_, name: string, op: string | undefined, arg: string) => {
      if (vars[name] !== undefined) return vars[name];
      if (op === '-') return arg;
      throw new Error(`\${${name}} is required: ${arg}`);
    })
    .replace(/\$\$/g, '$');
}

const hostPort = (value: string) => {
  const m = /^(?:[a-z]+:\/\/)?(?:[^@/]*@)?([a-z0-9-]+):(\d+)/.exec(value);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
};
/** The container-side port of each `ports` entry ("127.0.0.1:8233:8080" → 8080). */
const containerPorts = (s: ComposeService) => (s.ports ?? []).map((p) => Number(String(p).split(':').pop()));
/** Default listening ports of the images we reference by host name. */
const IMAGE_PORTS: Record<string, number> = { temporal: 7233, minio: 9000, postgresql: 5432 };

test('our worker and API are built from the Dockerfile and run its entry point commands', () => {
  expect(ours.map(([name]) => name).sort()).toEqual(['api', 'worker']);
  const entrypoint = fs.readFileSync(path.join(PROJECT_ROOT, 'docker-entrypoint.sh'), 'utf8');
  for (const [name, s] of ours) {
    const command = ([] as string[]).concat(s.command ?? [])[0];
    expect({ name, command }).toEqual({ name, command: name });
    expect(entrypoint).toMatch(new RegExp(`^\\s*${command}\\)`, 'm'));
  }
});

test('the entry point runs the compiled worker, API and schedules of the build, which load and check their configuration', async () => {
  await buildRuntime(); // what the image's build stage runs; dist/current points at it
  for (const command of ['worker', 'api', 'schedules']) {
    const run = spawnSync('sh', [path.join(PROJECT_ROOT, 'docker-entrypoint.sh'), command], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', WEBHOOK_RETRY_SCHEDULE: '5s,soon' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect({ command, status: run.status }).toEqual({ command, status: 1 });
    expect(run.stderr).toMatch(/WEBHOOK_RETRY_SCHEDULE: "soon" is not a duration/);
  }
}, 120_000);

test('every variable our services set is in the config schema, and the values load', () => {
  const known = new Set([...Object.keys(platformEnvSchema.shape), ...Object.keys(JOB_ENV.shape)]);
  for (const [name, s] of ours) {
    const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), USER_SECRETS)]));
    const unknown = Object.keys(env).filter((k) => !known.has(k) && !LIBRARY_VARIABLES.has(k));
    expect({ name, unknown }).toEqual({ name, unknown: [] });
    const config = loadConfig(env);
    expect(config).toMatchObject({ NODE_ENV: 'production', BLOB_STORE: 's3', S3_BUCKET: 'durable-jobs' });
    expect(config.WEBHOOK_SECRET).toEqual([USER_SECRETS.WEBHOOK_SECRET]);
  }
  expect(
    loadConfig(Object.fromEntries(Object.entries(services.api.environment!).map(([k, v]) => [k, interpolate(String(v), USER_SECRETS)])))
      .API_KEYS,
  ).toHaveLength(1);
});

test('the workers serve every task queue and get the time to stop a build cleanly', () => {
  const env = Object.fromEntries(
    Object.entries(services.worker.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), USER_SECRETS)]),
  );
  const config = loadConfig(env);
  const served = config.WORKER_TASK_QUEUES.length ? config.WORKER_TASK_QUEUES : [...ALL_TASK_QUEUES];
  expect(ALL_TASK_QUEUES.filter((q) => !served.includes(q))).toEqual([]);
  const stopMs = Number(/^(\d+)s$/.exec(services.worker.stop_grace_period ?? '')?.[1]) * 1000;
  expect(stopMs).toBeGreaterThan(config.WORKER_SHUTDOWN_GRACE + config.BUILD_KILL_GRACE);
  expect(fs.readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8')).toMatch(/apt-get install .*\bgit\b/);
});

test("the server's dynamic config gives every rate-limited queue one partition, as the local cluster does", () => {
  const env = Object.fromEntries(
    Object.entries(services.worker.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), USER_SECRETS)]),
  );
  const wanted = YAML.parse(dynamicConfigYaml(rateLimitedQueues(loadConfig(env))));
  expect(YAML.parse(compose.configs?.['temporal-dynamic-config']?.content ?? '')).toEqual(wanted);
  const configPath = String(services.temporal.environment?.DYNAMIC_CONFIG_FILE_PATH);
  expect(composeText).toContain(`target: ${configPath}`);
});

test('secrets have no defaults: without them the file does not interpolate', () => {
  for (const secret of Object.keys(USER_SECRETS)) {
    expect(composeText).toMatch(new RegExp(`\\$\\{${secret}:\\?`));
    expect(composeText).not.toMatch(new RegExp(`\\$\\{${secret}:-`));
    const { [secret]: _missing, ...others } = USER_SECRETS as Record<string, string>;
    expect(() => interpolate(composeText, others)).toThrow(new RegExp(`\\$\\{${secret}\\} is required`));
  }
});

test('every referenced service exists and every host:port points at a port that service listens on', () => {
  const names = new Set(Object.keys(services));
  for (const [name, s] of Object.entries(services)) {
    const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
    expect({ name, missing: deps.filter((d) => !names.has(d)) }).toEqual({ name, missing: [] });
    for (const [variable, value] of Object.entries(s.environment ?? {})) {
      const target = hostPort(String(value));
      if (!target || target.host === 'localhost') continue;
      expect({ name, variable, host: target.host, exists: names.has(target.host) }).toEqual({
        name,
        variable,
        host: target.host,
        exists: true,
      });
      expect({ name, variable, port: target.port }).toEqual({ name, variable, port: IMAGE_PORTS[target.host] });
    }
  }
  // The API listens on PORT, which is the port published and the one its health check asks.
  const apiPort = Number(services.api.environment!.PORT);
  expect(containerPorts(services.api)).toEqual([apiPort]);
  expect(services.api.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${apiPort}/health`);
  expect(containerPorts(services.temporal)).toEqual([IMAGE_PORTS.temporal]);
});

test('only the API, the Temporal frontend and the Web UI are published; the last two on loopback only', () => {
  const published = Object.fromEntries(
    Object.entries(services)
      .filter(([, s]) => s.ports?.length)
      .map(([n, s]) => [n, s.ports]),
  );
  expect(Object.keys(published).sort()).toEqual(['api', 'temporal', 'temporal-ui']);
  expect(published.temporal!.every((p) => String(p).startsWith('127.0.0.1:'))).toBe(true);
  expect(published['temporal-ui']!.every((p) => String(p).startsWith('127.0.0.1:'))).toBe(true);
});

test('the server runs on PostgreSQL with a schema step, not the dev-only auto-setup image', () => {
  expect(Object.values(services).some((s) => s.image?.includes('auto-setup'))).toBe(false);
  expect(services.temporal.image).toBe('temporalio/server:1.29.1');
  expect(services.temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
  const schemaStep = ([] as string[]).concat(services['temporal-schema'].command ?? []).join('\n');
  expect(schemaStep).toContain('postgresql/v12/$$schema');
  expect(services.temporal.depends_on).toMatchObject({ 'temporal-schema': { condition: 'service_completed_successfully' } });
});

test('Dockerfile: multi-stage, production dependencies only, the compiled build with its workflow bundle, a non-root user', () => {
  const dockerfile = fs.readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
  expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
  // The build stage compiles and bundles (build-main) and copies the build out as a plain folder;
  // the runtime stage puts it where the entry point runs it, with its workflow bundle.
  const buildOut = /build-main\.ts && cp -rL dist\/current (\S+)/.exec(dockerfile)![1];
  expect(dockerfile).toContain(`COPY --from=build ${buildOut} ./dist/current`);
  expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
  const entrypoint = fs.readFileSync(path.join(PROJECT_ROOT, 'docker-entrypoint.sh'), 'utf8');
  expect(entrypoint).toMatch(/^build=dist\/current$/m);
  expect(entrypoint).toContain('WORKFLOW_BUNDLE_PATH="${WORKFLOW_BUNDLE_PATH:-$build/workflow-bundle.js}"');
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))).not.toMatch(/^USER root/m);
  const envNames = [...dockerfile.matchAll(/^\s*(?:ENV\s+)?([A-Z_]+)=\S+\s*\\?$/gm)].map((m) => m[1]);
  expect(envNames.length).toBeGreaterThan(0);
  const known = new Set([...Object.keys(platformEnvSchema.shape), ...Object.keys(JOB_ENV.shape)]);
  expect(envNames.filter((n) => !known.has(n))).toEqual([]);
});

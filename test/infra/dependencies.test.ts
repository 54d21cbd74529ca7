/**
 * Direct dependencies against the npm registry, so `pulumi preview` never asks for a plugin that
 * was never released (as the stray, deprecated @pulumi/command 4.5.0 did: its SDK made the engine
 * download a `command` plugin v4.5.0 that does not exist, and every preview failed).
 *
 * - Each resource SDK (@pulumi/aws, command, docker, tls) names the plugin version the engine
 *   installs in its package.json `pulumi` block: it must be the package's own version.
 * - Each direct dependency, at the version package-lock.json installs, is not deprecated and is
 *   on the major of its `latest` dist-tag — unless HELD_BACK says why not, and that reason is
 *   checked against the registry too, so a hold ends when its reason does.
 *
 * Asks `npm view` (the registry must be reachable; each call is bounded). With no network, set
 * LLM_FLEET_OFFLINE=1 to skip the registry half; the plugin half runs anyway.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as semver from "semver";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
const direct = { ...pkg.dependencies, ...pkg.devDependencies };
const installed = (name: string) => {
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry) throw new Error(`${name} is in package.json but not in package-lock.json: run npm install`);
  return entry.version;
};
/** The oldest Node this project supports (package.json engines.node). */
const NODE_FLOOR = semver.minVersion(pkg.engines.node)!;

const NPM_VIEW_TIMEOUT_MS = 30_000;

/**
 * `npm view SPEC name version FIELD… --json`, bounded; a failure says which package and why.
 * npm prints an object only when two or more of the fields exist (one prints bare), hence the
 * two that always do.
 */
function npmView(spec: string, fields: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile("npm", ["view", spec, "name", "version", ...fields, "--json"], { timeout: NPM_VIEW_TIMEOUT_MS, cwd: ROOT }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `no answer within ${NPM_VIEW_TIMEOUT_MS / 1000} s` : (stderr.split("\n").find((l) => l.trim()) ?? err.message);
        reject(new Error(`npm view ${spec} failed: ${why}\n  this test asks the npm registry; with no network set LLM_FLEET_OFFLINE=1 to skip it`));
        return;
      }
      resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

async function inBatches<T, R>(items: T[], size: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(f))));
  return out;
}

interface Hold {
  why: string;
  /** True while the reason still stands, judged from the registry. */
  stillHolds: () => Promise<boolean>;
}

/** Dependencies deliberately kept below their `latest` major, each with a reason the test re-checks. */
const HELD_BACK: Record<string, Hold> = {
  typescript: {
    why: "TypeScript 7 (the native compiler) has no compiler API, which Pulumi's ts-node, typescript-eslint and @pulumi/eslint-plugin need",
    stillHolds: async () => {
      const [ts, tsEslint] = await Promise.all([npmView("typescript@latest", []), npmView("typescript-eslint@latest", ["peerDependencies"])]);
      const peer = (tsEslint.peerDependencies as Record<string, string> | undefined)?.typescript ?? "*";
      return !semver.satisfies(ts.version as string, peer);
    },
  },
  vitest: {
    why: `the latest vitest does not run on Node ${NODE_FLOOR.version}, the oldest this project supports (engines.node)`,
    stillHolds: async () => !semver.satisfies(NODE_FLOOR, ((await npmView("vitest@latest", ["engines"])).engines as { node?: string } | undefined)?.node ?? "*"),
  },
  "@types/node": {
    why: `Node's types follow the oldest Node this project supports (engines.node, ${NODE_FLOOR.major}.x), not the newest Node`,
    stillHolds: async () => semver.minVersion(direct["@types/node"]!)!.major === NODE_FLOOR.major,
  },
};

describe("Pulumi resource plugins", () => {
  const sdks = Object.keys(direct).filter((name) => name.startsWith("@pulumi/"));
  it.each(sdks)("%s asks the engine for the plugin of its own version", (name) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
      pulumi?: { resource?: boolean; name?: string; version?: string };
    };
    expect(manifest.version, `${name} in node_modules differs from package-lock.json: run npm ci`).toBe(installed(name));
    if (!manifest.pulumi?.resource) return; // @pulumi/pulumi, @pulumi/eslint-plugin: no plugin
    expect(semver.valid(manifest.version), `${name}: "${manifest.version}" is not a release version`).toBe(manifest.version);
    expect(manifest.pulumi.version, `${name}: the plugin version the engine would download`).toBe(manifest.version);
  });
});

describe.skipIf(process.env.LLM_FLEET_OFFLINE === "1")("direct dependencies on the npm registry", () => {
  it("are not deprecated, and are on their latest major or held back for a reason that still stands", { timeout: 180_000 }, async () => {
    const names = Object.keys(direct).sort();
    const found = await inBatches(names, 6, async (name) => {
      const version = installed(name);
      const view = await npmView(`${name}@${version}`, ["deprecated", "dist-tags"]);
      return { name, version, deprecated: view.deprecated as string | undefined, latest: (view["dist-tags"] as { latest: string }).latest };
    });
    const problems: string[] = [];
    for (const { name, version, deprecated, latest } of found) {
      if (deprecated) problems.push(`${name}@${version} is deprecated: ${deprecated}`);
      const hold = HELD_BACK[name];
      const onLatestMajor = semver.major(version) === semver.major(latest);
      if (onLatestMajor && hold) problems.push(`${name}@${version} is on the latest major (${latest}): remove it from HELD_BACK`);
      if (!onLatestMajor && !hold) problems.push(`${name}@${version} is off its latest major (${latest}): move package.json to ^${latest} (npm install ${name}@^${latest}), or hold it back with a reason`);
      if (!onLatestMajor && hold && !(await hold.stillHolds())) problems.push(`${name}@${version} is held back (${hold.why}), but that no longer holds: move to ^${latest}`);
      if (semver.major(version) > semver.major(latest)) problems.push(`${name}@${version} is above the latest release ${latest}: a stray publish`);
    }
    expect(problems).toEqual([]);
  });
});

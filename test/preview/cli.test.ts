/** `fleet preview …` end to end with the in-memory backend: flags, exit codes, files written. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runPreview, type PreviewCommandDeps } from "../../scripts/commands/preview";
import { FakeBackend, configFromStackFile } from "./fake-backend";

let backend: FakeBackend;
let out: string[];
let errors: string[];
let deps: PreviewCommandDeps;
let dir: string;

beforeEach(() => {
  backend = new FakeBackend();
  backend.addBaseStack("dev", configFromStackFile("Pulumi.dev.yaml"));
  out = [];
  errors = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(args.join(" ")));
  deps = { backend: async () => backend, now: () => new Date("2026-03-01T10:00:00Z"), log: (l) => out.push(l), output: () => {}, env: {} };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-preview-"));
});

afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("fleet preview", () => {
  it("up prints the gateway URL and writes the registry of the preview's outputs", async () => {
    const code = await runPreview(["up", "--name", "Feature/Login", "--ttl", "2h", "--max-cost-per-hour", "50", "--out", dir], deps);
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    const stack = [...backend.stacks.keys()].find((s) => s.startsWith("preview-"))!;
    expect(stack).toMatch(/^preview-feature-login-[0-9a-f]{6}$/);
    expect(out).toContain(`gateway: https://gw.${stack}.example.net`);
    expect(out).toContain(`${stack}: up, expires 2026-03-01T12:00:00.000Z`);
    const registry = JSON.parse(fs.readFileSync(path.join(dir, "registry.json"), "utf8")) as { gatewayUrl: string; models: Record<string, unknown> };
    expect(registry.gatewayUrl).toBe(`https://gw.${stack}.example.net`);
    expect(Object.keys(registry.models)).toEqual(["qwen3-32b", "qwen2.5-7b", "gpt-4o-mini"]);
    for (const file of fs.readdirSync(dir)) expect(fs.readFileSync(path.join(dir, file), "utf8")).not.toContain("sk-fleet-app-SECRET");
  });

  it("up refuses over the cost cap with exit 1 and both numbers", async () => {
    expect(await runPreview(["up", "--name", "pr-1", "--max-cost-per-hour", "0.5"], deps)).toBe(1);
    expect(errors.join("\n")).toMatch(/the plan costs \$2\.67\/hour \(at on-demand prices\), above --max-cost-per-hour \$0\.50; nothing was created/);
    expect(backend.calls).toEqual([]);
  });

  it("rejects bad flag values naming the flag, before touching the backend", async () => {
    const opened = vi.fn(async () => backend);
    const strict = { ...deps, backend: opened };
    expect(await runPreview(["up", "--name", "pr-1", "--ttl", "1h30m"], strict)).toBe(1);
    expect(await runPreview(["up", "--name", "pr-1", "--max-cost-per-hour", "lots"], strict)).toBe(1);
    expect(await runPreview(["up", "--name", "!!"], strict)).toBe(1);
    expect(errors[0]).toMatch(/^--ttl: "1h30m" combines units/);
    expect(errors[1]).toMatch(/^--max-cost-per-hour: "lots" is not an amount in USD per hour/);
    expect(errors[2]).toMatch(/^--name: "!!" has no letters or digits/);
    expect(opened).not.toHaveBeenCalled();
  });

  it("answers usage errors with exit 2", async () => {
    for (const argv of [[], ["up"], ["down"], ["launch"], ["sweep", "--name", "x"], ["up", "--name", "x", "--stack", "dev"], ["up", "--bogus"], ["down", "--name", "x", "extra"]]) {
      expect(await runPreview(argv, deps), argv.join(" ")).toBe(2);
    }
    expect(errors.every((e) => e.includes("usage: fleet preview up --name NAME"))).toBe(true);
  });

  it("down is idempotent: exit 0 whether or not the stack exists", async () => {
    await runPreview(["up", "--name", "pr-2", "--out", dir], deps);
    expect(await runPreview(["down", "--name", "pr-2"], deps)).toBe(0);
    expect(await runPreview(["down", "--name", "pr-2"], deps)).toBe(0);
    expect(out.at(-1)).toBe("preview-pr-2: no such stack, nothing to tear down");
    expect(backend.calls.filter((c) => c === "destroy preview-pr-2")).toHaveLength(1);
  });

  it("sweep reports counts and exits 1 when a teardown failed", async () => {
    await runPreview(["up", "--name", "old", "--ttl", "30m", "--out", dir], deps);
    await runPreview(["up", "--name", "broken", "--ttl", "30m", "--out", dir], deps);
    backend.failDestroy.add("preview-broken");
    const later = { ...deps, now: () => new Date("2026-03-01T11:00:00Z") };
    expect(await runPreview(["sweep"], later)).toBe(1);
    expect(out.at(-1)).toBe("sweep: 1 destroyed, 0 kept, 0 skipped, 1 failed");
    backend.failDestroy.clear();
    expect(await runPreview(["sweep"], later)).toBe(0);
    expect(out.at(-1)).toBe("sweep: 1 destroyed, 0 kept, 0 skipped, 0 failed");
  });
});

/**
 * Real TypeScript compiles (node_modules/typescript/bin/tsc), as an app's build would run them:
 * the generated registry type-checks under strict settings (CommonJS node16 and a bundler setup),
 * naming a model the fleet does not serve is a compile error, and the example app compiles.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { planFleet } from "../../infra/plan";
import { generateRegistry, outputsFromPlan } from "../../infra/registry";
import { loadStackSpec } from "../../infra/spec/load";

const ROOT = path.resolve(__dirname, "../..");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
const EXAMPLE_APP = path.join(ROOT, "examples/app");
/** How examples/app/src/fleet was generated (its README says so too). */
const EXAMPLE_REGISTRY = { stack: "dev", gatewayUrl: "https://llm.example.com" };

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** tsc -p `project`, run inside it (so errors name files relative to it). */
function tsc(project: string): { status: number | null; output: string } {
  const cwd = project.endsWith(".json") ? path.dirname(project) : project;
  const run = spawnSync(process.execPath, [TSC, "--noEmit", "--pretty", "false", "-p", project], { cwd, encoding: "utf8", timeout: 120_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const STRICT_NODE16 = { target: "ES2022", module: "node16", moduleResolution: "node16", lib: ["ES2023"], types: [], strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: true, noEmit: true };
const BUNDLER = { target: "ES2022", module: "esnext", moduleResolution: "bundler", lib: ["ES2023"], types: [], strict: true, verbatimModuleSyntax: true, isolatedModules: true, skipLibCheck: true, noEmit: true };

/** A throwaway project: `files` plus a tsconfig, resolving packages from this repository's node_modules. */
function project(files: Record<string, string>, compilerOptions: object = STRICT_NODE16): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-tsc-"));
  dirs.push(dir);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["*.ts"] }));
  return dir;
}

/** The ids the dev fleet serves, as tsc lists them in "not assignable to type '"a" | "b"'" (in its own order). */
const DEPLOYED = ["gpt-4o-mini", "qwen2.5-7b", "qwen3-32b"];
const idsIn = (error: string) => [...(/type '("[^']*)'\.?$/.exec(error)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]).sort();

const registry = generateRegistry(outputsFromPlan(planFleet(loadStackSpec("dev")), "https://llm.example.com", "stack dev"), "stack dev")["registry.ts"];

const APP = `import { OpenAI } from "openai";
import { chatRequest, gatewayUrl, modelIds, models, type ModelId } from "./registry";

const id: ModelId = "qwen2.5-7b";
const client = new OpenAI({ baseURL: models[id].baseURL, apiKey: "from-env" });
export const answer = client.chat.completions.create(chatRequest(id, [{ role: "user", content: "hi" }], { max_tokens: 64 }));
export const stream = client.chat.completions.create({ ...chatRequest("qwen3-32b", [{ role: "user", content: "hi" }]), stream: true });
export const context: 32768 = models["qwen3-32b"].contextLength;
export const all: readonly ModelId[] = modelIds;
export const url: "https://llm.example.com" = gatewayUrl;
`;

describe("the generated registry.ts", () => {
  it("type-checks with an app using it (strict, CommonJS node16)", () => {
    const result = tsc(project({ "registry.ts": registry, "app.ts": APP }));
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("type-checks with an app using it (bundler resolution, verbatimModuleSyntax)", () => {
    const result = tsc(project({ "registry.ts": registry, "app.ts": APP.replace('"./registry"', '"./registry.ts"') }, { ...BUNDLER, allowImportingTsExtensions: true }));
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("makes a model the fleet does not serve a compile error, wherever it is named", () => {
    const app = `import { chatRequest, models, type ModelId } from "./registry";
export const a = chatRequest("llama-3-70b", []);
export const b: ModelId = "qwen3-32b-typo";
export const c = models["gpt-5"];
`;
    const result = tsc(project({ "registry.ts": registry, "app.ts": app }));
    expect(result.status).toBe(2);
    const errors = result.output.split("\n").filter((line) => /^\S+\.ts\(/.test(line));
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^app\.ts\(2,30\): error TS2345: Argument of type '"llama-3-70b"' is not assignable to parameter of type /);
    expect(idsIn(errors[0]!)).toEqual(DEPLOYED);
    expect(errors[1]).toMatch(/^app\.ts\(3,14\): error TS2322: Type '"qwen3-32b-typo"' is not assignable to type /);
    expect(idsIn(errors[1]!)).toEqual(DEPLOYED);
    expect(errors[2]).toMatch(/^app\.ts\(4,18\): error TS7053: .*'"gpt-5"' can't be used to index type/);
  });
});

describe("examples/app", () => {
  it("compiles: the chat app and the Pulumi stack reading the fleet through a StackReference", () => {
    const result = tsc(path.join(EXAMPLE_APP, "tsconfig.json"));
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("holds the registry that `fleet registry` makes for it today", () => {
    const files = generateRegistry(outputsFromPlan(planFleet(loadStackSpec(EXAMPLE_REGISTRY.stack)), EXAMPLE_REGISTRY.gatewayUrl, "stack dev"), `the plan of stack ${EXAMPLE_REGISTRY.stack}`);
    for (const [name, text] of Object.entries(files)) expect(fs.readFileSync(path.join(EXAMPLE_APP, "src/fleet", name), "utf8"), name).toBe(text);
  });

  it("stops compiling when its model is not in the registry", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-app-"));
    dirs.push(dir);
    fs.cpSync(EXAMPLE_APP, dir, { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    const main = path.join(dir, "src/main.ts");
    fs.writeFileSync(main, fs.readFileSync(main, "utf8").replace('export const MODEL: ModelId = "qwen3-32b";', 'export const MODEL: ModelId = "deepseek-r1-70b";'));
    const result = tsc(path.join(dir, "tsconfig.json"));
    expect(result.status).toBe(2);
    const error = result.output.split("\n").find((line) => line.includes("error"));
    expect(error).toMatch(/src\/main\.ts\(\d+,\d+\): error TS2322: Type '"deepseek-r1-70b"' is not assignable to type /);
    expect(idsIn(error!)).toEqual(DEPLOYED);
  });
});

/**
 * Secrets: every example rendered while known secret values are in the environment (where the
 * CLI and the Pulumi program hold them, LLM_FLEET_SECRET_<NAME>): none appears in any artifact.
 * Values live only in files the machine writes (secrets/<name>, run/*.secrets.env), which the
 * renderer never emits; keys reach engines through env files, never the command line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINE_API_KEY_SECRET, renderFleet, secretsOfNode, type Artifacts } from "../../infra/render";
import { composeServices, nodesOf, renderedFleets, secretEnvPairs, secretEnvVariables, type RenderedFleet } from "./support";

const KNOWN: Record<string, string> = {
  [ENGINE_API_KEY_SECRET]: "sk-engine-7d1e5f3a9b2c4d6e",
  "hf-token": "hf_KnownTokenValue0123456789abcdef",
  "openai-key": "sk-proj-KnownOpenAIKey9876",
  "together-key": "tgp_v1_KnownTogetherKey5555",
  app: "fleet-client-key-app-1111",
  admin: "fleet-client-key-admin-2222",
  backend: "fleet-client-key-backend-3333",
};
const envName = (secret: string) => `LLM_FLEET_SECRET_${secret.toUpperCase().replace(/-/g, "_")}`;

let fleets: RenderedFleet[];
const saved = new Map<string, string | undefined>();
beforeAll(() => {
  for (const [name, value] of Object.entries(KNOWN)) {
    saved.set(envName(name), process.env[envName(name)]);
    process.env[envName(name)] = value;
  }
  fleets = renderedFleets();
});
afterAll(() => {
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function leaks(artifacts: Artifacts): string[] {
  return Object.entries(artifacts).flatMap(([path, a]) =>
    Object.values(KNOWN).filter((value) => a.contents.includes(value)).map((value) => `${path} contains ${value}`),
  );
}

describe("known secret values", () => {
  it("appear in no artifact of any example, the dev stack or the workstation fleet", () => {
    expect(fleets.length).toBeGreaterThanOrEqual(6);
    for (const f of fleets) expect(leaks(f.artifacts), f.name).toEqual([]);
  });

  it("are never rendered into a secrets/ or run/ file: those are written on the machine", () => {
    for (const f of fleets) {
      for (const path of Object.keys(f.artifacts)) expect(path).not.toMatch(/^[^/]+\/(secrets|run)\//);
      for (const a of Object.values(f.artifacts)) expect(a.secret).toBeFalsy();
    }
  });

  it("the check would catch a leak", () => {
    expect(leaks({ "x/compose.yaml": { contents: `VLLM_API_KEY=${KNOWN[ENGINE_API_KEY_SECRET]}` } })).toHaveLength(1);
  });
});

describe("how secrets reach the engines", () => {
  it("API keys and tokens come from env files under run/, never from compose environment or the command line", () => {
    for (const f of fleets) {
      for (const node of nodesOf(f.artifacts)) {
        for (const [name, s] of Object.entries(composeServices(f.artifacts, node))) {
          for (const v of ["VLLM_API_KEY", "LLAMA_API_KEY", "HF_TOKEN"]) expect(s.environment[v], `${node}/${name} ${v}`).toBeUndefined();
          for (const arg of s.command ?? []) expect(arg).not.toMatch(/^(--api-key|--hf-token|-hft)$/);
          for (const file of s.env_file ?? []) expect(file).toMatch(/^\.\/run\/[a-z0-9-]+\.(secrets|network)\.env$|^\.\/run\/network\.env$/);
        }
      }
    }
  });

  it("every engine with a key check gets the engine key in its env file; the HF token where the fleet names one", () => {
    for (const f of fleets) {
      for (const node of nodesOf(f.artifacts)) {
        const start = f.artifacts[`${node}/bin/start.sh`]!.contents;
        const envFiles = secretEnvVariables(start);
        for (const [name, s] of Object.entries(composeServices(f.artifacts, node))) {
          const vars = envFiles.get(`run/${name}.secrets.env`) ?? [];
          if (s.entrypoint[0] === "vllm" || s.entrypoint.some((e) => e.endsWith(".head.sh"))) expect(vars).toContain("VLLM_API_KEY");
          if (s.entrypoint[0] === "/app/llama-server") expect(vars).toContain("LLAMA_API_KEY");
          if (f.plan.spec.hfTokenSecret && !s.image.startsWith("ollama/")) expect(vars).toContain("HF_TOKEN");
          if ((s.env_file ?? []).some((e) => e.endsWith(".secrets.env"))) expect(vars.length).toBeGreaterThan(0);
        }
      }
    }
  });

  it("AWS nodes read exactly their secrets from Secrets Manager as <fleet>/<stack>/<name>; other nodes get files from Pulumi", () => {
    for (const f of fleets) {
      for (const node of f.plan.nodes) {
        const secrets = secretsOfNode(f.plan, node.name, { stack: "dev" });
        const start = f.artifacts[`${node.name}/bin/start.sh`]?.contents ?? "";
        const referenced = [...new Set([...secretEnvPairs(start).values()].flat().map((p) => p.secret))].sort();
        expect(secrets.map((s) => s.name)).toEqual(referenced);
        for (const s of secrets) expect(s.path).toBe(`/opt/llm-fleet/secrets/${s.name}`);
        const fetch = f.artifacts[`${node.name}/bin/fetch-secrets.sh`]?.contents;
        if (node.provider === "aws" && secrets.length > 0) {
          for (const s of secrets) {
            expect(s.awsSecretId).toBe(`${f.plan.name}/dev/${s.name}`);
            expect(fetch).toContain(`\nfetch ${s.name} ${s.awsSecretId}\n`);
          }
        } else {
          expect(fetch).toBeUndefined();
          if (node.provider !== "aws") for (const s of secrets) expect(s.awsSecretId).toBeNull();
        }
      }
    }
  });

  it("an AWS fleet rendered without a stack is an error that says what to pass", () => {
    const mixed = fleets.find((f) => f.name === "mixed-gpu-vllm")!;
    expect(() => renderFleet(mixed.plan)).toThrow(/pass \{ stack \}/);
    expect(Object.keys(renderFleet(mixed.plan, { secretIdPrefix: "acme/prod/" }))).toContain("r1-a10g/bin/fetch-secrets.sh");
    expect(renderFleet(mixed.plan, { secretIdPrefix: "acme/prod/" })["r1-a10g/bin/fetch-secrets.sh"]!.contents).toContain("fetch hf-token acme/prod/hf-token");
  });
});

/**
 * .github/workflows/preview.yml: valid YAML, the right jobs for each event, per-PR concurrency,
 * secrets only from the repository's secrets, and command lines our own CLI accepts (each is run
 * against the in-memory backend). Validated against SchemaStore's github-workflow.json when
 * ../shared/reference/github-workflow.json holds a copy (the reference folder has none yet).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseDocument } from "yaml";
import { runPreview } from "../../scripts/commands/preview";
import { PREVIEW_UP_TIMEOUT_MS, STALE_UPDATE_MS } from "../../scripts/preview";
import { FakeBackend, configFromStackFile } from "./fake-backend";

const WORKFLOW = ".github/workflows/preview.yml";
const SCHEMA = path.join("..", "shared", "reference", "github-workflow.json");

interface Step { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown>; id?: string }
interface Job { if: string; "runs-on": string; "timeout-minutes": number; steps: Step[] }
interface Workflow {
  on: { pull_request: { types: string[] }; schedule: { cron: string }[]; workflow_dispatch: null };
  permissions: Record<string, string>;
  concurrency: { group: string; "cancel-in-progress": boolean };
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

const doc = parseDocument(fs.readFileSync(WORKFLOW, "utf8"), { uniqueKeys: true });
const workflow = doc.toJS() as Workflow;

interface Context {
  github: { event_name: string; repository: string; event: { action?: string; pull_request?: { number: number; head: { repo: { full_name: string } } } } };
  vars: Record<string, string>;
  secrets: Record<string, string>;
}

/**
 * Evaluates the small subset of GitHub expressions the workflow uses (property paths, string
 * literals, ==, !=, &&, ||); anything else fails the test rather than being guessed at.
 */
function evaluate(expression: string, ctx: Context): unknown {
  const tokens = expression.match(/'[^']*'|[A-Za-z_][\w.-]*|==|!=|&&|\|\||\S/g) ?? [];
  const js = tokens.map((t) => {
    if (/^'[^']*'$/.test(t) || t === "&&" || t === "||") return t;
    if (t === "==") return "===";
    if (t === "!=") return "!==";
    if (/^(github|vars|secrets)(\.[\w-]+)*$/.test(t)) return `ctx${t.split(".").map((p) => `?.[${JSON.stringify(p)}]`).join("")}`;
    throw new Error(`unsupported token ${t} in ${expression}`);
  });
  return new Function("ctx", `return (${js.join(" ")}) || ""`)(ctx);
}

function interpolate(text: string, ctx: Context): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => String(evaluate(e, ctx)));
}

const pr = (action: string, fromFork = false): Context => ({
  github: { event_name: "pull_request", repository: "acme/llm-fleet", event: { action, pull_request: { number: 42, head: { repo: { full_name: fromFork ? "someone/llm-fleet" : "acme/llm-fleet" } } } } },
  vars: {},
  secrets: {},
});
const event = (name: string): Context => ({ github: { event_name: name, repository: "acme/llm-fleet", event: {} }, vars: {}, secrets: {} });
const jobsFor = (ctx: Context) => Object.entries(workflow.jobs).filter(([, job]) => evaluate(job.if, ctx)).map(([name]) => name);

describe("preview workflow", () => {
  it("is valid YAML", () => {
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
  });

  it("triggers on pull request open/update/close, a cron schedule and by hand", () => {
    expect(workflow.on.pull_request.types.sort()).toEqual(["closed", "opened", "reopened", "synchronize"]);
    expect(workflow.on.schedule).toHaveLength(1);
    expect(workflow.on.schedule[0]!.cron).toMatch(/^(\S+ ){4}\S+$/);
    expect("workflow_dispatch" in workflow.on).toBe(true);
  });

  it("runs exactly the right job for each event, and none for pull requests from forks", () => {
    for (const action of ["opened", "synchronize", "reopened"]) expect(jobsFor(pr(action))).toEqual(["up"]);
    expect(jobsFor(pr("closed"))).toEqual(["down"]);
    expect(jobsFor(event("schedule"))).toEqual(["sweep"]);
    expect(jobsFor(event("workflow_dispatch"))).toEqual(["sweep"]);
    expect(jobsFor(pr("opened", true))).toEqual([]);
    expect(jobsFor(pr("closed", true))).toEqual([]);
  });

  it("serialises runs per pull request without cancelling a running update", () => {
    expect(interpolate(workflow.concurrency.group, pr("opened"))).toBe("preview-42");
    expect(interpolate(workflow.concurrency.group, pr("closed"))).toBe("preview-42");
    expect(interpolate(workflow.concurrency.group, event("schedule"))).toBe("preview-sweep");
    expect(workflow.concurrency["cancel-in-progress"]).toBe(false);
  });

  it("gives a preview's update room inside the job and inside the AWS session, so no run is killed holding the lock", () => {
    // Checkout, npm ci, the CLI and credentials take a few minutes before `fleet preview up` starts.
    const SETUP_MINUTES = 10;
    const up = workflow.jobs.up!;
    expect(PREVIEW_UP_TIMEOUT_MS / 60_000 + SETUP_MINUTES).toBeLessThanOrEqual(up["timeout-minutes"]);
    // aws-actions/configure-aws-credentials: role-duration-seconds defaults to 3600 (one hour).
    const creds = up.steps.find((st) => st.uses?.startsWith("aws-actions/configure-aws-credentials"))!;
    const sessionSeconds = Number(creds.with?.["role-duration-seconds"] ?? 3600);
    expect(PREVIEW_UP_TIMEOUT_MS / 1000).toBeLessThan(sessionSeconds);
    // A lock is judged abandoned only after any job that could hold it has been killed.
    expect(STALE_UPDATE_MS).toBeGreaterThan(up["timeout-minutes"] * 60_000);
  });

  it("takes credentials from repository secrets only, and AWS through OIDC", () => {
    expect(workflow.permissions).toEqual({ contents: "read", "id-token": "write" });
    expect(workflow.env.PULUMI_ACCESS_TOKEN).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const aws = job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
      expect(aws?.with?.["role-to-assume"], name).toBe("${{ secrets.AWS_PREVIEW_ROLE_ARN }}");
      expect(job.steps.some((s) => s.uses?.startsWith("pulumi/actions@")), name).toBe(true);
      for (const step of job.steps) {
        // Values reach scripts through env, never spliced into the shell text.
        expect(step.run ?? "", name).not.toContain("${{");
        for (const [key, value] of Object.entries(step.env ?? {})) {
          if (/KEY|SECRET|TOKEN/.test(key)) expect(value, `${name}.${key}`).toBe(`\${{ secrets.${key} }}`);
        }
      }
    }
  });

  describe("its commands, run through the real CLI", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-workflow-"));
      vi.spyOn(console, "error").mockImplementation(() => {});
    });
    afterEach(() => {
      vi.restoreAllMocks();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const scripts = JSON.parse(fs.readFileSync("package.json", "utf8")).scripts as Record<string, string>;

    function previewStep(job: string): Step & { run: string } {
      const step = workflow.jobs[job]!.steps.find((s) => s.run?.startsWith("npm run preview-env -- "));
      if (!step?.run) throw new Error(`${job} has no preview-env step`);
      return step as Step & { run: string };
    }

    /** The environment of a job's preview-env step as GitHub would set it. */
    function envOf(job: string, ctx: Context): Record<string, string> {
      return Object.fromEntries(Object.entries({ ...workflow.env, ...previewStep(job).env }).map(([k, v]) => [k, interpolate(v, ctx)]));
    }

    /** The `npm run preview-env -- …` arguments of a job, its variables expanded. */
    function commandOf(job: string, ctx: Context): string[] {
      const step = previewStep(job);
      const env = envOf(job, ctx);
      const shell = step.run.slice("npm run preview-env -- ".length).replace(/"\$(\w+)"/g, (_, k: string) => JSON.stringify(env[k] ?? ""));
      return (shell.match(/"[^"]*"|\S+/g) ?? []).map((a) => (a.startsWith('"') ? (JSON.parse(a) as string) : a));
    }

    it("preview-env is `fleet preview`", () => {
      expect(scripts["preview-env"]).toBe("tsx scripts/fleet.ts preview");
    });

    it("up, down and sweep are accepted and do what their job is for", async () => {
      const backend = new FakeBackend();
      backend.addBaseStack("dev", configFromStackFile("Pulumi.dev.yaml"));
      const deps = { backend: async () => backend, now: () => new Date("2026-03-01T10:00:00Z"), log: () => {}, output: () => {}, env: {} };

      // Repository secrets reach the preview's config under the names the CLI reads.
      const withSecrets: Context = { ...pr("opened"), secrets: { LLM_FLEET_KEY_APP: "ck-app-from-ci", LLM_FLEET_SECRET_HF_TOKEN: "hf-from-ci" } };
      const upEnv = envOf("up", withSecrets);
      const up = commandOf("up", pr("opened"));
      expect(up).toEqual(["up", "--name", "pr-42", "--base", "dev", "--ttl", "24h", "--max-cost-per-hour", "5", "--out", "out/preview-registry"]);
      const summary = workflow.jobs.up!.steps.find((s) => s.run?.includes("GITHUB_STEP_SUMMARY"))?.run ?? "";
      expect(summary).toContain("./out/preview-registry/registry.json");
      expect(workflow.jobs.up!.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))?.with?.path).toBe("out/preview-registry/");
      const out = path.join(dir, "registry");
      expect(await runPreview([...up.slice(0, -1), out], { ...deps, env: upEnv })).toBe(0);
      expect(fs.existsSync(path.join(out, "registry.json"))).toBe(true);
      const config = backend.stacks.get("preview-pr-42")!.deployed!;
      expect(config["llm-fleet:clientKeys"]).toMatchObject({ objectValue: { app: "ck-app-from-ci" }, secret: true });
      expect(config["llm-fleet:secrets"]).toMatchObject({ objectValue: { "hf-token": "hf-from-ci" }, secret: true });

      expect(commandOf("down", pr("closed"))).toEqual(["down", "--name", "pr-42"]);
      expect(await runPreview(commandOf("down", pr("closed")), deps)).toBe(0);
      expect(backend.stacks.has("preview-pr-42")).toBe(false);

      expect(commandOf("sweep", event("schedule"))).toEqual(["sweep"]);
      expect(await runPreview(commandOf("sweep", event("schedule")), deps)).toBe(0);
    });
  });

  it.skipIf(!fs.existsSync(SCHEMA))("validates against SchemaStore's github-workflow.json (../shared/reference)", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA, "utf8")));
    expect(validate(workflow), JSON.stringify(validate.errors)).toBe(true);
  });
});

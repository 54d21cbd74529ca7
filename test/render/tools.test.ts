/**
 * Every rendered artifact of every example, checked by the tool that will consume it:
 * shellcheck (all shell, including what cloud-init writes), `cloud-init schema` (user data),
 * `systemd-analyze verify` (units), the Compose JSON schema (compose.yaml).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import draft07 from "ajv/dist/refs/json-schema-draft-07.json";
import { parse as parseYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { NODE_ROOT } from "../../infra/render";
import { artifactsNamed, reference, renderedFleets, shellScripts } from "./support";

const fleets = renderedFleets();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llm-fleet-render-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { encoding: "utf8", input });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe.each(fleets)("$name", ({ name, artifacts }) => {
  it("has shell scripts that pass shellcheck (all checks, style included)", () => {
    const scripts = shellScripts(artifacts);
    expect(scripts.length).toBeGreaterThan(0);
    const dir = fs.mkdtempSync(path.join(tmp, `${name}-sh-`));
    const files = scripts.map((s, i) => {
      const file = path.join(dir, `${i}.sh`);
      fs.writeFileSync(file, s.contents);
      return file;
    });
    const r = run("shellcheck", ["--shell=bash", "--format=gcc", ...files]);
    const report = r.output.replace(/\/[^:]*\/(\d+)\.sh/g, (_, i: string) => scripts[Number(i)]!.label);
    expect(report).toBe("");
    expect(r.status).toBe(0);
  });

  const userData = artifactsNamed(artifacts, /\/user-data\.yaml$/);
  it.runIf(userData.length > 0).each(userData)("%s passes `cloud-init schema`", (file, contents) => {
    const target = path.join(tmp, `${name}-${file.replace(/\//g, "_")}`);
    fs.writeFileSync(target, contents);
    const r = run("cloud-init", ["schema", "--config-file", target]);
    expect(r.output).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
  });

  it.runIf(userData.length > 0).each(userData)("%s writes exactly the node's other files, with their modes", (file, contents) => {
    const node = file.split("/")[0]!;
    const doc = parseYaml(contents, { version: "1.1" }) as { write_files: { path: string; content: string; permissions: string }[] };
    const onNode = Object.entries(artifacts).filter(([p]) => p.startsWith(`${node}/`) && p !== file);
    expect(doc.write_files.map((f) => f.path).sort()).toEqual(onNode.map(([p]) => `${NODE_ROOT}/${p.slice(node.length + 1)}`).sort());
    for (const [p, a] of onNode) {
      const written = doc.write_files.find((f) => f.path === `${NODE_ROOT}/${p.slice(node.length + 1)}`)!;
      expect(written.content).toBe(a.contents);
      expect(written.permissions).toBe(`0${(a.mode ?? 0o644).toString(8)}`);
    }
  });

  const units = artifactsNamed(artifacts, /\.service$/);
  it.runIf(units.length > 0).each(units)("%s passes `systemd-analyze verify`", (file, contents) => {
    const node = file.split("/")[0]!;
    const root = systemdRoot();
    const unitName = path.basename(file);
    const unitPath = path.join(root, "etc/systemd/system", unitName);
    fs.writeFileSync(unitPath, contents);
    // Each Exec*= binary must exist in the root: start.sh comes from the node's own artifacts,
    // docker from the machine image (the Deep Learning AMI / the host's Docker install).
    for (const exec of execPaths(contents)) {
      if (exec.startsWith(`${NODE_ROOT}/`)) expect(Object.keys(artifacts)).toContain(`${node}/${exec.slice(NODE_ROOT.length + 1)}`);
      else expect(exec).toBe("/usr/bin/docker");
      fs.mkdirSync(path.join(root, path.dirname(exec)), { recursive: true });
      fs.writeFileSync(path.join(root, exec), "#!/bin/sh\n", { mode: 0o755 });
    }
    const r = run("systemd-analyze", ["verify", "--man=no", `--root=${root}`, `/etc/systemd/system/${unitName}`]);
    // verify exits 0 on some problems it only warns about ("Unknown key …, ignoring"): any output fails.
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  const composeFiles = artifactsNamed(artifacts, /\/compose\.yaml$/);
  it.each(composeFiles)("%s is valid against the Compose specification schema", (_file, contents) => {
    const doc = parseYaml(contents, { version: "1.1" });
    const ok = validateCompose(doc);
    expect(validateCompose.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // Compose interpolates `$`: every literal dollar must be doubled.
    expect(contents.replace(/\$\$/g, "")).not.toContain("$");
  });
});

// compose-spec.json is draft-07 but names its meta-schema by https URL; register draft-07 under it.
// Negative controls: each check fails on a broken artifact, so a pass above means something.
describe("the checks themselves", () => {
  const sample = fleets.find((f) => f.name === "stack-dev")!.artifacts;
  it("shellcheck flags an unquoted expansion", () => {
    expect(run("shellcheck", ["--shell=bash", "-"], '#!/usr/bin/env bash\nrm $1\n').status).not.toBe(0);
  });
  it("cloud-init schema flags a misspelt write_files key", () => {
    const target = path.join(tmp, "broken-user-data.yaml");
    fs.writeFileSync(target, sample["gpu-l4/user-data.yaml"]!.contents.replace("permissions:", "permission:"));
    expect(run("cloud-init", ["schema", "--config-file", target]).status).not.toBe(0);
  });
  it("systemd-analyze verify reports an unknown service type", () => {
    const root = systemdRoot();
    fs.writeFileSync(path.join(root, "etc/systemd/system/broken.service"), "[Service]\nType=oneshott\nExecStart=/usr/bin/docker\n");
    expect(run("systemd-analyze", ["verify", "--man=no", `--root=${root}`, "/etc/systemd/system/broken.service"]).output).toContain("oneshott");
  });
  it("the Compose schema rejects an unknown service key", () => {
    const doc = parseYaml(sample["gpu-l4/compose.yaml"]!.contents, { version: "1.1" }) as { services: Record<string, Record<string, unknown>> };
    Object.values(doc.services)[0]!.gpu_ids = ["0"];
    expect(validateCompose(doc)).toBe(false);
  });
});

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addMetaSchema({ ...draft07, $id: "https://json-schema.org/draft-07/schema" });
const validateCompose = ajv.compile(reference<object>("compose-spec.json"));

/**
 * How units are verified here, where there is no Docker: `systemd-analyze verify --root=R`
 * against a temporary root R holding the host's standard units (the targets ours orders
 * against), a stub docker.service, and an executable stub at every Exec*= path of the unit —
 * each path first asserted to be a file the node's artifacts provide (bin/start.sh) or the one
 * binary the machine image provides (/usr/bin/docker). verify exits 0 on problems it merely
 * ignores ("Unknown key", "Failed to parse service type, ignoring"), so any output fails the test.
 */
let cachedRoot: string | undefined;
function systemdRoot(): string {
  if (cachedRoot) return cachedRoot;
  const root = fs.mkdtempSync(path.join(tmp, "systemd-root-"));
  fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
  fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
  fs.mkdirSync(path.join(root, "etc/systemd/system"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/systemd/system/docker.service"), "[Unit]\nDescription=stub Docker engine\n[Service]\nExecStart=/usr/bin/docker\n");
  fs.mkdirSync(path.join(root, "usr/bin"), { recursive: true });
  fs.writeFileSync(path.join(root, "usr/bin/docker"), "#!/bin/sh\n", { mode: 0o755 });
  cachedRoot = root;
  return root;
}

function execPaths(unit: string): string[] {
  return [...unit.matchAll(/^Exec[A-Za-z]*=[-@+!:]*(\S+)/gm)].map((m) => m[1]!);
}

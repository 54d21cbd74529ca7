/** `fleet render` writes every node's files with their modes; a fleet it cannot render is a clear error. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../../scripts/cli";
import { writeArtifacts } from "../../scripts/write-artifacts";
import { REPO } from "./support";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llm-fleet-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("fleet render", () => {
  it("writes <out>/<node>/… for a stack, scripts executable", async () => {
    const out = path.join(tmp, "dev");
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const cwd = process.cwd();
    process.chdir(REPO);
    try {
      expect(await main(["render", "--stack", "dev", "--out", out])).toBe(0);
    } finally {
      process.chdir(cwd);
      log.mockRestore();
    }
    for (const node of ["gpu-l40s", "gpu-l4"]) {
      for (const file of ["compose.yaml", "bin/start.sh", "bin/install.sh", "bin/fetch-secrets.sh", "systemd/llm-fleet.service", "user-data.yaml"]) {
        expect(fs.existsSync(path.join(out, node, file)), `${node}/${file}`).toBe(true);
      }
      expect(fs.statSync(path.join(out, node, "bin/start.sh")).mode & 0o777).toBe(0o755);
      expect(fs.statSync(path.join(out, node, "compose.yaml")).mode & 0o777).toBe(0o644);
      expect(fs.readFileSync(path.join(out, node, "bin/fetch-secrets.sh"), "utf8")).toContain("fetch hf-token dev/dev/hf-token");
    }
  });

  it("with --spec and AWS nodes, assumes the stack dev for secret names and says so", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      expect(await main(["render", "--spec", path.join(REPO, "examples/mixed-gpu-vllm.yaml"), "--out", path.join(tmp, "mixed")])).toBe(0);
      expect(log.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/no --stack given: resource and secret names assume stack "dev" \(AWS nodes read Secrets Manager ids <fleet>\/dev\/<secret>/);
    } finally {
      log.mockRestore();
    }
    expect(fs.readFileSync(path.join(tmp, "mixed", "r1-a10g", "bin/fetch-secrets.sh"), "utf8")).toContain("fetch hf-token mixed/dev/hf-token");
  });

  it("needs --out", async () => {
    const err = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      expect(await main(["render", "--spec", path.join(REPO, "examples/rtx-ollama.yaml")])).toBe(2);
    } finally {
      err.mockRestore();
    }
  });
});

describe("writeArtifacts", () => {
  it("refuses paths outside the output directory and writes secret-marked files 0600", () => {
    expect(() => writeArtifacts(path.join(tmp, "w"), { "../escape": { contents: "x" } })).toThrow(/not a path inside/);
    writeArtifacts(path.join(tmp, "w"), { "n/s.env": { contents: "x", mode: 0o644, secret: true } });
    expect(fs.statSync(path.join(tmp, "w/n/s.env")).mode & 0o777).toBe(0o600);
  });
});

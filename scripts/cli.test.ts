/**
 * The fleet CLI as a new user meets it: every command and subcommand answers --help/-h (exit 0);
 * an unknown flag, a missing or bad value is one line naming it plus the usage (exit 2); a
 * problem the user can fix is a message (exit 1); none of them prints a stack trace.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { COMMANDS, main } from "./cli";

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
});
afterEach(() => vi.restoreAllMocks());

/** A stack trace line as Node prints one. */
const STACK = /^\s+at .+[:(]/m;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "fleet-cli-"));

/** Every command, and preview's subcommands. */
const INVOCATIONS = [...Object.keys(COMMANDS).map((c) => [c]), ["preview", "up"], ["preview", "down"], ["preview", "sweep"]];

describe.each(INVOCATIONS.map((words) => [words.join(" "), words] as const))("fleet %s", (_label, words) => {
  it.each(["--help", "-h"])("%s prints the usage and exits 0", async (flag) => {
    expect(await main([...words, flag])).toBe(0);
    expect(out.join("\n")).toMatch(new RegExp(`^usage: fleet ${words[0]}`));
    expect(err).toEqual([]);
  });

  it("a bogus flag: one line naming it, the usage, exit 2, no stack trace", async () => {
    expect(await main([...words, "--bogus-flag"])).toBe(2);
    const text = err.join("\n");
    expect(text.split("\n")[0]).toMatch(new RegExp(`^fleet ${words[0]}: .*'--bogus-flag'`));
    expect(text.split("\n")[1]).toMatch(new RegExp(`^usage: fleet ${words[0]}`));
    expect(text).not.toMatch(STACK);
    expect(out).toEqual([]);
  });
});

describe("fleet (no command)", () => {
  it("answers --help with the commands, and an unknown command or flag with exit 2", async () => {
    expect(await main(["--help"])).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(out.join("\n")).toContain(`fleet ${name} `);
    expect(await main([])).toBe(2);
    expect(await main(["plna"])).toBe(2);
    expect(await main(["--bogus"])).toBe(2);
    expect(err.join("\n")).toMatch(/unknown command "plna"[\s\S]*unknown option "--bogus"/);
  });
});

describe("bad values and user errors", () => {
  it.each([
    [["plan", "--stack"], /^fleet plan: Option '--stack <value>' argument missing$/m],
    [["plan", "--stack", "dev", "stray"], /^fleet plan: Unexpected argument 'stray'$/m],
    [["render", "--spec", "examples/rtx-ollama.yaml"], /^fleet render: --out DIR is required/m],
    [["gateway", "--spec", "examples/rtx-ollama.yaml", "--port", "http"], /^fleet gateway: --port "http" is not a port number \(1-65535\)$/m],
    [["init", "gpu-box"], /^fleet init: no starter "gpu-box" \(use one of: ssh-gpu, aws, cpu-fallback\)$/m],
    [["init", "aws", "--name", "My_Fleet"], /^fleet init: --name "My_Fleet" is not a fleet name/m],
    [["preview", "launch"], /^fleet preview: unknown action "launch"$/m],
  ])("%j exits 2 naming the problem, with the usage", async (argv, message) => {
    expect(await main(argv)).toBe(2);
    expect(err.join("\n")).toMatch(message);
    expect(err.join("\n")).toMatch(/usage: fleet/);
    expect(err.join("\n")).not.toMatch(STACK);
  });

  it.each([
    [["plan", "--spec", "no/such/file.yaml"], /cannot read no\/such\/file\.yaml/],
    [["plan", "--stack", "dev", "--spec", "examples/rtx-ollama.yaml"], /both --spec and --stack given/],
    [["plan"], /no fleet given/],
  ])("%j exits 1 with what to do, no stack trace", async (argv, message) => {
    expect(await main(argv)).toBe(1);
    expect(err.join("\n")).toMatch(message);
    expect(err.join("\n")).toMatch(/fix: /);
    expect(err.join("\n")).not.toMatch(STACK);
  });
});

describe("the real binary", () => {
  const fleet = (...args: string[]) => spawnSync(process.execPath, ["scripts/fleet.js", ...args], { encoding: "utf8", timeout: 60_000 });

  it("exits 0 on --help and 2 on a bogus flag, without a stack trace", () => {
    const help = fleet("preview", "up", "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: fleet preview up --name NAME/);
    const bogus = fleet("plan", "--bogus");
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/^fleet plan: Unknown option '--bogus'\nusage: fleet plan/);
    expect(bogus.stderr).not.toMatch(STACK);
  });
});

describe("fleet render --spec FILE --out DIR alone", () => {
  it.each(fs.readdirSync("examples").filter((f) => f.endsWith(".yaml")))("renders examples/%s", async (file) => {
    const dir = tmp();
    expect(await main(["render", "--spec", path.join("examples", file), "--out", dir])).toBe(0);
    expect(err).toEqual([]);
    expect(out.join("\n")).toMatch(/^wrote \d+ files for \d+ nodes/);
    if (/mixed/.test(file)) expect(out.join("\n")).toMatch(/assume stack "dev"/);
    expect(fs.readdirSync(dir).length).toBeGreaterThan(0);
  });
});

describe("fleet init", () => {
  it.each(["ssh-gpu", "aws", "cpu-fallback"])("writes a %s spec that plans and renders as written", async (starter) => {
    const dir = tmp();
    const file = path.join(dir, "fleet.yaml");
    expect(await main(["init", starter, "--out", file, "--name", "lab"])).toBe(0);
    expect(fs.readFileSync(file, "utf8").split("\n")[0]).toMatch(/^# yaml-language-server: \$schema=.*schema\/fleet-spec\.schema\.json$/);
    expect(fs.existsSync(path.resolve(dir, fs.readFileSync(file, "utf8").split("\n")[0]!.replace(/^.*\$schema=/, "")))).toBe(true);
    out = [];
    expect(await main(["plan", "--spec", file])).toBe(0);
    expect(out.join("\n")).toMatch(/^fleet lab \(fleet\):/);
    expect(await main(["render", "--spec", file, "--out", path.join(dir, "out")])).toBe(0);
    expect(err).toEqual([]);
    // The file is there now: another init must not overwrite it.
    expect(await main(["init", starter, "--out", file])).toBe(2);
    expect(err.join("\n")).toMatch(/exists; pass --force/);
  });

  it("the CPU starter's plan says which bandwidth it assumed and how to set it", async () => {
    const file = path.join(tmp(), "cpu.yaml");
    await main(["init", "cpu-fallback", "--out", file]);
    out = [];
    expect(await main(["plan", "--spec", file])).toBe(0);
    expect(out.join("\n")).toMatch(/assumed 51\.2 GB\/s CPU memory bandwidth on cpu-box for the decode bound: set nodes\[0\]\.cpu\.bandwidthGBs/);
  });
});

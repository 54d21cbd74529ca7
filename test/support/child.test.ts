/** The tests' one child supervisor: stderr kept, exit seen, SIGTERM then SIGKILL on stop. */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { waitFor } from "../gateway/harness";
import { superviseChild } from "./child";

const node = (script: string) => spawn(process.execPath, ["-e", script], { stdio: ["ignore", "ignore", "pipe"] });

describe("superviseChild", () => {
  it("keeps stderr and kills a process that ignores SIGTERM once the bound passes", async () => {
    const child = node("process.on('SIGTERM', () => process.stderr.write('term ignored')); process.stderr.write('up'); setInterval(() => {}, 1000)");
    const s = superviseChild(child, 300);
    await waitFor(() => s.stderr().includes("up"), 5000, "the child to start");
    expect(s.dead()).toBe(false);
    await s.stop();
    expect(s.dead()).toBe(true);
    expect(child.signalCode).toBe("SIGKILL");
    expect(s.stderr()).toBe("upterm ignored");
  });

  it("sees a process that exits by itself, and stop then returns at once", async () => {
    const child = node("process.stderr.write('bye')");
    const s = superviseChild(child, 60_000);
    await waitFor(() => s.dead(), 5000, "the child to exit");
    await s.stop();
    expect(child.exitCode).toBe(0);
    expect(s.stderr()).toBe("bye");
  });
  it("reports a program that cannot start (ENOENT fires error and close, never exit) as dead, with the reason, and stop returns", async () => {
    const child = spawn("/nonexistent/llm-fleet-test-binary", [], { stdio: ["ignore", "ignore", "pipe"] });
    const s = superviseChild(child, 60_000);
    await waitFor(() => s.dead(), 5000, "the spawn to fail");
    await s.stop();
    expect(s.stderr()).toMatch(/ENOENT/);
  });
});

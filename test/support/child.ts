/**
 * One supervisor for the real processes the tests start (nginx, Prometheus, the usage service):
 * stderr kept, whether it has exited (or could not start), a stop that sends SIGTERM and SIGKILL after a bound, and a
 * SIGKILL for any still running when the test process exits. No vitest import: the benchmark (a
 * plain tsx script) uses it through the gateway harness.
 */
import type { ChildProcess } from "node:child_process";

export interface SupervisedChild {
  /** What the process wrote to stderr so far (spawn it with stderr "pipe"). */
  stderr(): string;
  /** Whether it has exited. */
  dead(): boolean;
  /** SIGTERM, SIGKILL after killAfterMs; resolves once it has exited (at once if it had). */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

export function superviseChild(child: ChildProcess, killAfterMs: number): SupervisedChild {
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  let dead = false;
  const exited = new Promise<void>((resolve) => {
    const gone = () => {
      dead = true;
      running.delete(child);
      resolve();
    };
    child.once("exit", gone);
    // A program that cannot start (ENOENT, EACCES) emits error and close, never exit (node child_process).
    child.once("error", (err) => {
      stderr += `${err.message}\n`;
      if (child.pid === undefined) gone();
    });
  });
  return {
    stderr: () => stderr,
    dead: () => dead,
    async stop() {
      if (dead) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Machines you already own. SSH hosts: every rendered file copied with its mode, secrets through
 * stdin only, content hashes as triggers (a change redeploys what changed and restarts the unit),
 * delete stops the unit. Docker hosts: the renderer's containers with GPUs, volumes, env, health
 * checks and pinned images; Ollama models pulled; the gateway container with secret env.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { OLLAMA_PORT } from "../../infra/plan";
import { IMAGES, NODE_ROOT, renderNode, SYSTEMD_UNIT } from "../../infra/render";
import { DOCKER_SSH_OPTIONS } from "../../infra/cloud/dockerContainers";
import { COMPOSE_WAIT_SECONDS } from "../../infra/render/bootstrap";
import { OFFICIAL_NGINX_IMAGE } from "../../infra/render/gateway";
import { OLLAMA_MODELS_READY_FILE } from "../../infra/render/ollama";
import type { ProgramRun, RecordedResource } from "./harness";
import { REDACTED } from "./harness";
import { T, named, ofType, runFixture } from "./inspect";
import { exampleFixture, FAKE_SSH_KEY, fakeSecret, type StackFixture } from "./stacks";

const fileCommands = (run: ProgramRun, node: string) => ofType(run, T.remote).filter((c) => c.name.startsWith(`node-${node}-file-`));
const withSpec = (f: StackFixture, edit: (spec: Record<string, unknown>) => void): StackFixture => {
  const spec = structuredClone(f.program.config["llm-fleet:fleet"]) as Record<string, unknown>;
  edit(spec);
  return { ...f, program: { ...f.program, config: { ...f.program.config, "llm-fleet:fleet": spec } } };
};

describe("SshHost (examples/l4-pair-text2sql.yaml)", () => {
  const f = exampleFixture("l4-pair-text2sql.yaml");
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runFixture(f);
  });

  it("connects as the spec's user to its host with the key from secret config", () => {
    for (const c of ofType(run, T.remote)) {
      // dialErrorLimit and perDialTimeout: the defaults @pulumi/command 1.x fills in (10 tries of 15 s).
      expect(c.inputs.connection).toEqual({ host: "10.20.0.15", user: "ops", port: 22, privateKey: FAKE_SSH_KEY, dialErrorLimit: 10, perDialTimeout: 15 });
      // The key makes the whole connection secret-marked in the state and in diffs.
      expect(c.plainInputs.connection).toBe(REDACTED);
    }
  });

  it("writes every rendered file under the node directory with its mode, from stdin", () => {
    const files = renderNode(f.plan, "l4-box", { stack: f.program.stack });
    const commands = fileCommands(run, "l4-box");
    expect(commands).toHaveLength(Object.keys(files).length);
    for (const [path, file] of Object.entries(files)) {
      const c = commands.find((x) => String(x.inputs.create).endsWith(` ${NODE_ROOT}/${path}`))!;
      expect(c, path).toBeDefined();
      expect(c.inputs.stdin).toBe(file.contents);
      expect(c.inputs.create).toContain(`install -D -m 0${(file.mode ?? 0o644).toString(8)} -o root -g root /dev/stdin`);
      expect(c.inputs.triggers).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
      expect(c.inputs.delete).toBeUndefined();
    }
  });

  it("sends each secret as secret-marked stdin to secrets/<name> (0600)", () => {
    for (const name of ["engine-api-key", "hf-token"]) {
      const c = named(run, T.remote, `node-l4-box-secret-${name}`);
      expect(c.plainInputs.stdin).toBe(REDACTED);
      expect(c.plainInputs.triggers).toEqual([REDACTED]);
      expect(c.inputs.create).toContain(`install -D -m 0600 -o root -g root /dev/stdin ${NODE_ROOT}/secrets/${name}`);
    }
    expect(named(run, T.remote, "node-l4-box-secret-hf-token").inputs.stdin).toBe(fakeSecret("hf-token"));
  });

  it("installs and restarts the unit after every file, and stops it when deleted", () => {
    const service = named(run, T.remote, "node-l4-box-service");
    expect(service.inputs.create).toContain(`cd ${NODE_ROOT} && as_root bash bin/install.sh`);
    expect(service.inputs.delete).toContain(`systemctl disable --now ${SYSTEMD_UNIT}`);
    const after = service.dependencies.map((u) => u.split("::").at(-1));
    for (const c of [...fileCommands(run, "l4-box"), named(run, T.remote, "node-l4-box-secret-hf-token")]) expect(after).toContain(c.name);
    expect(named(run, T.remote, "node-l4-box-root").inputs.delete).toContain(`rm -rf ${NODE_ROOT}/secrets`);
  });

  it("changes the triggers of exactly the files whose contents change, and of the unit", async () => {
    const changed = await runFixture(
      withSpec(f, (spec) => {
        (spec.models as { sampling: { temperature: number } }[])[0]!.sampling.temperature = 0.3;
      }),
    );
    const triggers = (r: ProgramRun) => Object.fromEntries(ofType(r, T.remote).map((c) => [c.name, JSON.stringify(c.inputs.triggers)]));
    const before = triggers(run);
    const now = triggers(changed);
    const differ = Object.keys(before).filter((k) => before[k] !== now[k]).sort();
    expect(differ).toEqual(["node-l4-box-file-compose.yaml", "node-l4-box-service"]);
  });
});

describe("SshHost (examples/cpu-llamacpp-fallback.yaml)", () => {
  it("needs no Hugging Face token on a GGUF-only box, only the engines' key", async () => {
    const run = await runFixture(exampleFixture("cpu-llamacpp-fallback.yaml"));
    expect(ofType(run, T.remote).filter((c) => c.name.includes("-secret-")).map((c) => c.name)).toEqual(["node-cpu-box-secret-engine-api-key"]);
  });
});

describe("DockerHost and a gateway on it (examples/rtx-ollama.yaml)", () => {
  const f = exampleFixture("rtx-ollama.yaml");
  let run: ProgramRun;
  let containers: RecordedResource[];
  beforeAll(async () => {
    run = await runFixture(f);
    containers = ofType(run, T.container);
  });

  it("talks to the spec's Docker daemon, and creates nothing on AWS", () => {
    expect(ofType(run, T.dockerProvider).map((p) => p.inputs.host)).toEqual(["ssh://ops@192.168.1.40"]);
    // Provider inputs travel as JSON strings.
    expect(ofType(run, T.dockerProvider).map((p) => JSON.parse(String(p.inputs.sshOpts)) as unknown)).toEqual([[...DOCKER_SSH_OPTIONS]]);
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(run.calls).toEqual([]);
  });

  it("pulls every image by its pinned tag", () => {
    const images = ofType(run, T.image).map((i) => i.inputs.name).sort();
    expect(images).toEqual([IMAGES.ollama, OFFICIAL_NGINX_IMAGE.image].sort());
    for (const i of images) expect(i).toMatch(/:[0-9][\w.-]*$/);
  });

  it("runs Ollama with the planned GPU, its port, a cache volume, the Modelfiles and a health check", () => {
    const ollama = containers.find((c) => c.inputs.name === "llm-fleet-ollama")!.inputs;
    expect(ollama.deviceRequests).toEqual([{ driver: "nvidia", deviceIds: ["0"], capabilities: ["gpu"] }]);
    expect(ollama.ports).toEqual([{ internal: OLLAMA_PORT, external: OLLAMA_PORT }]);
    expect(ollama.volumes).toEqual([{ volumeName: "llm-fleet-cache-ollama", containerPath: "/root/.ollama", readOnly: false }]);
    expect((ollama.uploads as { file: string }[]).map((u) => u.file)).toContain("/etc/llm-fleet/ollama/deepseek-coder-33b.Modelfile");
    expect(ollama.healthcheck).toMatchObject({ tests: ["CMD", "/bin/sh", "-c", `test -f ${OLLAMA_MODELS_READY_FILE} && /bin/ollama list >/dev/null`], retries: 3 });
    expect(ollama.envs).toContain("OLLAMA_KV_CACHE_TYPE=q8_0");
    expect(ollama.restart).toBe("unless-stopped");
  });

  it("pulls the model inside the Ollama container and fails the update unless it turns healthy in time", () => {
    const ollama = containers.find((c) => c.inputs.name === "llm-fleet-ollama")!.inputs;
    // The provider's wait: create returns only once the health check passes (serve.sh writes the
    // ready file after the last `ollama create`), or fails after waitTimeout.
    expect(ollama).toMatchObject({ wait: true, waitTimeout: COMPOSE_WAIT_SECONDS, entrypoints: ["/bin/sh", "/etc/llm-fleet/ollama/serve.sh"] });
    const serve = (ollama.uploads as { file: string; content: string }[]).find((u) => u.file === "/etc/llm-fleet/ollama/serve.sh")!.content;
    expect(serve).toContain("/bin/ollama pull deepseek-coder:33b");
    expect(serve).toContain("/bin/ollama create deepseek-coder-33b -f /etc/llm-fleet/ollama/deepseek-coder-33b.Modelfile");
    // No one-shot pull container whose exit code nobody reads.
    expect(containers.map((c) => c.inputs.name).sort()).toEqual(["llm-fleet-gateway", "llm-fleet-ollama"]);
    // Every container with a health check is waited for; the rest are not asked to be.
    for (const c of containers) expect(c.inputs.wait ?? false).toBe(c.inputs.healthcheck !== undefined);
  });

  it("replaces the Ollama container, and so pulls again, when the pulled models change", async () => {
    const other = await runFixture(
      withSpec(f, (spec) => {
        (spec.models as { source: { ollama: string } }[])[0]!.source.ollama = "qwen2.5:7b";
      }),
    );
    const serveOf = (r: ProgramRun) =>
      (ofType(r, T.container).find((c) => c.inputs.name === "llm-fleet-ollama")!.inputs.uploads as { file: string; content: string }[]).find((u) => u.file.endsWith("/serve.sh"))!.content;
    // `upload` is a replace-on-change property of docker.Container (ForceNew in the provider's schema).
    expect(serveOf(other)).not.toBe(serveOf(run));
    expect(serveOf(other)).toContain("/bin/ollama pull qwen2.5:7b");
  });

  it("runs the gateway on the same daemon: HTTPS on 443, keys only as secret env, engines by container name", () => {
    const gw = containers.find((c) => c.inputs.name === "llm-fleet-gateway")!;
    expect(gw.inputs.ports).toEqual([{ internal: 443, external: 443 }]);
    expect(gw.plainInputs.envs).toBe(REDACTED);
    expect(gw.plainInputs.uploads).toBe(REDACTED);
    expect(gw.inputs.envs).toEqual([expect.stringMatching(/^LLM_FLEET_SECRET_ENGINE_API_KEY=[0-9a-f]{64}$/)]);
    const conf = (gw.inputs.uploads as { file: string; content: string }[]).find((u) => u.file === "/etc/nginx/nginx.conf")!.content;
    expect(conf).toContain("listen 0.0.0.0:443 ssl");
    expect(conf).toContain(`server llm-fleet-ollama:${OLLAMA_PORT}`);
    expect(run.outputs.gatewayUrl).toBe("https://192.168.1.40");
  });
});

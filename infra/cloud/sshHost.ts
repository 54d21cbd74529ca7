/**
 * SshHost: a machine you already run, reached over SSH. Every rendered file goes to the node
 * directory (/opt/llm-fleet) with its mode, each secret to secrets/<name> (0600) through stdin,
 * then bin/install.sh installs and (re)starts the systemd unit. Each file's content hash is a
 * trigger, so a changed file is written again and the unit restarted; deleting the host stops
 * the unit and removes the secrets. The SSH user must be root or have passwordless sudo.
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { NodePlan } from "../plan/types";
import { NODE_ROOT, SYSTEMD_UNIT, type Artifacts } from "../render";
import { shellQuote } from "../render/templates";

export interface SshHostArgs {
  /** The planned node (provider "ssh"). */
  node: NodePlan;
  /** renderNode's files, relative to the node directory. */
  files: Artifacts;
  /** The node's secrets (secretsOfNode) with their values, each a secret Output. */
  secrets: { name: string; path: string; value: pulumi.Input<string> }[];
  /** Key material for the SSH connection; undefined = the ssh-agent at SSH_AUTH_SOCK where pulumi runs. */
  privateKey: pulumi.Input<string> | undefined;
}

/** Runs a command as root whether the SSH user is root or a sudoer (sudo -n: never prompt). */
const AS_ROOT = 'as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }; ';

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function sshConnection(node: NodePlan, privateKey: pulumi.Input<string> | undefined): command.types.input.remote.ConnectionArgs {
  if (node.spec.provider !== "ssh") throw new Error(`SshHost: node "${node.name}" is not an ssh node`);
  const at = node.spec.host.lastIndexOf("@");
  return {
    host: at >= 0 ? node.spec.host.slice(at + 1) : node.spec.host,
    user: at >= 0 ? node.spec.host.slice(0, at) : undefined,
    port: node.spec.port,
    // Without a key the provider signs with the agent at SSH_AUTH_SOCK (its own environment, not
    // an input: a socket path in the state would differ on every machine that runs pulumi).
    ...(privateKey !== undefined ? { privateKey: pulumi.secret(privateKey) } : {}),
  };
}

/** `install` from stdin: the file appears whole, with its mode, owned by root. */
export function installFromStdin(path: string, mode: number): string {
  const octal = `0${mode.toString(8)}`;
  return `${AS_ROOT}as_root install -D -m ${octal} -o root -g root /dev/stdin ${shellQuote(path)}`;
}

export class SshHost extends pulumi.ComponentResource {
  /** Resolves when the unit has been (re)started with the current files. */
  readonly started: pulumi.Output<string>;

  constructor(name: string, args: SshHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:SshHost", name, {}, opts);
    const connection = sshConnection(args.node, args.privateKey);
    const parent = { parent: this };
    const secretsDir = `${NODE_ROOT}/secrets`;

    // Created first, deleted last: removes the secrets (and run/ env files) when the host leaves
    // the fleet. The weights cache stays: it is tens of GB and yours.
    const root = new command.remote.Command(
      `${name}-root`,
      {
        connection,
        create: `${AS_ROOT}as_root install -d -m 0755 ${NODE_ROOT} && as_root install -d -m 0700 ${secretsDir}`,
        delete: `${AS_ROOT}as_root rm -rf ${secretsDir} ${NODE_ROOT}/run`,
      },
      parent,
    );

    const written: pulumi.Resource[] = [];
    const hashes: pulumi.Input<string>[] = [];
    for (const [path, file] of Object.entries(args.files).sort(([a], [b]) => a.localeCompare(b))) {
      if (file.secret) throw new Error(`SshHost: ${path} carries a secret; secrets go through args.secrets`);
      const mode = file.mode ?? 0o644;
      const hash = sha256(`${mode}:${file.contents}`);
      hashes.push(hash);
      written.push(
        new command.remote.Command(
          `${name}-file-${path.replace(/[^A-Za-z0-9.-]+/g, "-")}`,
          { connection, create: installFromStdin(`${NODE_ROOT}/${path}`, mode), stdin: file.contents, triggers: [hash] },
          { parent: this, dependsOn: [root] },
        ),
      );
    }
    for (const secret of [...args.secrets].sort((a, b) => a.name.localeCompare(b.name))) {
      if (!secret.path.startsWith(`${secretsDir}/`)) throw new Error(`SshHost: secret "${secret.name}" must live under ${secretsDir}, not ${secret.path}`);
      const hash = pulumi.secret(pulumi.output(secret.value).apply(sha256));
      hashes.push(hash);
      written.push(
        new command.remote.Command(
          `${name}-secret-${secret.name}`,
          { connection, create: installFromStdin(secret.path, 0o600), stdin: pulumi.secret(secret.value), triggers: [hash] },
          { parent: this, dependsOn: [root] },
        ),
      );
    }

    // Any change of file or secret replaces this command: the old one stops the unit, the new
    // one installs and restarts it (delete before replace, so the restart is never undone).
    const service = new command.remote.Command(
      `${name}-service`,
      {
        connection,
        create: `${AS_ROOT}cd ${NODE_ROOT} && as_root bash bin/install.sh`,
        delete: `${AS_ROOT}as_root systemctl disable --now ${SYSTEMD_UNIT} || true`,
        triggers: [pulumi.all(hashes).apply((all) => sha256(all.join("\n")))],
      },
      { parent: this, dependsOn: written, deleteBeforeReplace: true },
    );

    this.started = service.stdout;
    this.registerOutputs({ started: this.started });
  }
}

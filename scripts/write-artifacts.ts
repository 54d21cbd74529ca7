/**
 * Writes rendered artifacts under a directory: the one place render output touches the disk
 * (the renderers themselves are pure). Files get their artifact mode (0644 by default; 0600 for
 * anything marked secret, whatever its mode says).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Artifacts } from "../infra/render/templates";

/** Writes every artifact to `dir/<relative path>`; returns the paths written, sorted. */
export function writeArtifacts(dir: string, artifacts: Artifacts): string[] {
  const root = path.resolve(dir);
  const written: string[] = [];
  for (const rel of Object.keys(artifacts).sort()) {
    const artifact = artifacts[rel]!;
    const target = path.resolve(root, rel);
    if (path.isAbsolute(rel) || !target.startsWith(root + path.sep)) {
      throw new Error(`writeArtifacts: "${rel}" is not a path inside ${root}`);
    }
    const mode = artifact.secret ? 0o600 : (artifact.mode ?? 0o644);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, artifact.contents, { mode });
    fs.chmodSync(target, mode); // writeFileSync keeps the mode of an existing file
    written.push(target);
  }
  return written;
}

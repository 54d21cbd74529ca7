/** Writing the generated registry to disk (the CLI's side; generate.ts stays pure). */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RegistryFiles } from "./generate";

/** Writes every registry file into `dir` and returns the paths written. */
export function writeRegistryFiles(dir: string, files: RegistryFiles): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Object.entries(files).map(([name, contents]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, contents);
    return file;
  });
}

/**
 * The pure core (DESIGN.md: spec, catalog, plan, render) imports nothing from Pulumi or the cloud
 * layer, its tests included: a core test that needs infra/cloud belongs under test/infra/.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const CORE = ["spec", "catalog", "plan", "render"];

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : e.name.endsWith(".ts") ? [full] : [];
  });
}

/** Import specifiers of a TypeScript file (static `from "…"` and dynamic `import("…")`). */
const imports = (text: string) => [...text.matchAll(/(?:from\s+|import\s*\(\s*)"([^"]+)"/g)].map((m) => m[1]!);

describe("the pure core's imports", () => {
  const core = CORE.flatMap((d) => files(path.join(__dirname, d)));

  it("reads every core folder", () => {
    expect(core.length).toBeGreaterThan(50);
  });

  it("never reach Pulumi, infra/cloud or the program (infra/index.ts)", () => {
    const wrong = core.flatMap((file) =>
      imports(fs.readFileSync(file, "utf8"))
        .filter((spec) => spec.startsWith("@pulumi/") || (spec.startsWith(".") && /^(cloud|index)(\/|\.ts$|$)/.test(path.relative(__dirname, path.resolve(path.dirname(file), spec)))))
        .map((spec) => `${path.relative(__dirname, file)} imports ${spec}`),
    );
    expect(wrong).toEqual([]);
  });
});

/**
 * Pulumi.yaml as the Pulumi CLI reads it (docs: concepts/projects/project-file): a nodejs project
 * whose main is the program, runtime options the nodejs host knows, and project config schemas
 * only of the types the CLI accepts (an `object` type makes every command fail to load the project).
 */
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const project = parse(fs.readFileSync("Pulumi.yaml", "utf8")) as {
  name: string;
  runtime: { name: string; options?: Record<string, unknown> };
  main: string;
  config?: Record<string, unknown>;
  options?: Record<string, unknown>;
};

describe("Pulumi.yaml", () => {
  it("is the llm-fleet nodejs project whose main is the program", () => {
    expect(project.name).toBe("llm-fleet");
    expect(project.runtime.name).toBe("nodejs");
    expect(fs.existsSync(project.main)).toBe(true);
    expect(Object.keys(project.runtime.options ?? {}).every((k) => ["typescript", "nodeargs", "packagemanager"].includes(k))).toBe(true);
  });

  it("refreshes on every up, preview and destroy (project options: refresh: always)", () => {
    // https://www.pulumi.com/docs/iac/concepts/projects/project-file/ "options: refresh: always".
    expect(project.options).toEqual({ refresh: "always" });
  });

  it("declares project config only with the types the CLI accepts", () => {
    for (const [key, value] of Object.entries(project.config ?? {})) {
      if (value && typeof value === "object" && "type" in value) {
        expect(["string", "boolean", "integer", "array"], key).toContain((value as { type: string }).type);
      }
    }
  });

  it("lets Pulumi's TypeScript support use the project's compiler", () => {
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.typescript).toMatch(/^~?\^?5\./);
    expect(pkg.dependencies["@pulumi/pulumi"]).toBeDefined();
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFleetSpec } from "../../infra/spec/parse";
import { loadStackSpec } from "../../infra/spec/load";
import { MAX_STACK_NAME_LENGTH, isPreviewStack, previewStackName, shortStackName } from "../../scripts/preview";

const dev = loadStackSpec("dev");
/** The real FleetSpec schema decides whether the stack name works as the preview fleet's name. */
const isFleetName = (name: string) => {
  try {
    parseFleetSpec({ ...dev, name });
    return true;
  } catch {
    return false;
  }
};

describe("previewStackName", () => {
  it("keeps a clean name as it is", () => {
    expect(previewStackName("pr-123")).toBe("preview-pr-123");
    expect(previewStackName("feature-login")).toBe("preview-feature-login");
  });

  it("lower-cases and replaces what a stack name cannot hold, with a hash of the original", () => {
    expect(previewStackName("Feature/Login")).toMatch(/^preview-feature-login-[0-9a-f]{6}$/);
    expect(previewStackName("fix: the_thing!")).toMatch(/^preview-fix-the-thing-[0-9a-f]{6}$/);
  });

  it("gives names that clean up alike different stacks, so one teardown never hits another preview", () => {
    const names = ["feat/x", "feat-x", "Feat-X", "feat_x", "-feat-x"].map(previewStackName);
    expect(new Set(names).size).toBe(names.length);
    expect(names[1]).toBe("preview-feat-x");
  });

  it("truncates long branch names to 42 characters, unique by hash", () => {
    const a = previewStackName("renovate/aws-sdk-client-ec2-3.x-lockfile-maintenance-a");
    const b = previewStackName("renovate/aws-sdk-client-ec2-3.x-lockfile-maintenance-b");
    expect(a.length).toBeLessThanOrEqual(MAX_STACK_NAME_LENGTH);
    expect(a).toMatch(/^preview-renovate-aws-sdk-client-ec2-[0-9a-f]{6}$/);
    expect(a).not.toBe(b);
    // A clean name that is merely too long is truncated too.
    expect(previewStackName("x".repeat(40))).toMatch(/^preview-x{27}-[0-9a-f]{6}$/);
  });

  it("refuses a name with no letters or digits, naming the flag", () => {
    expect(() => previewStackName("///")).toThrow(/--name: "\/\/\/" has no letters or digits/);
    expect(() => previewStackName("")).toThrow(/--name/);
  });

  it("always yields a bounded [a-z0-9-] stack name that the fleet schema accepts, deterministically (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80, unit: "grapheme-ascii" }).filter((s) => /[A-Za-z0-9]/.test(s)), (name) => {
        const stack = previewStackName(name);
        expect(stack).toMatch(/^preview-[a-z0-9-]+$/);
        expect(stack.length).toBeLessThanOrEqual(MAX_STACK_NAME_LENGTH);
        expect(stack).not.toMatch(/--|-$/);
        expect(previewStackName(name)).toBe(stack);
        expect(isFleetName(stack)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("maps different names to different stacks (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), fc.string({ minLength: 1, maxLength: 60 }), (a, b) => {
        fc.pre(a !== b && /[A-Za-z0-9]/.test(a) && /[A-Za-z0-9]/.test(b));
        expect(previewStackName(a)).not.toBe(previewStackName(b));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("isPreviewStack", () => {
  it("recognises preview stacks, qualified or not, and nothing else", () => {
    expect(isPreviewStack("preview-pr-1")).toBe(true);
    expect(isPreviewStack("acme/preview-pr-1")).toBe(true);
    expect(isPreviewStack("acme/llm-fleet/preview-pr-1")).toBe(true);
    expect(isPreviewStack("dev")).toBe(false);
    expect(isPreviewStack("acme/dev")).toBe(false);
    expect(isPreviewStack("previewer")).toBe(false);
    expect(isPreviewStack("preview-team/dev")).toBe(false);
    expect(shortStackName("acme/llm-fleet/preview-pr-1")).toBe("preview-pr-1");
  });
});

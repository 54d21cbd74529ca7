/**
 * Preview stack names. A stack's name is also its fleet's name (the fleet name prefixes resource
 * names and tags, so a preview never collides with its base in the same AWS account), so it must
 * be a FleetSpec name: a DNS label of at most 42 characters.
 */
import { createHash } from "node:crypto";
import { PreviewError } from "./errors";

export const PREVIEW_PREFIX = "preview-";
/** FleetSpec `name`: up to 42 lower-case letters, digits and dashes (infra/spec/schema.ts). */
export const MAX_STACK_NAME_LENGTH = 42;
const HASH_LENGTH = 6;

/**
 * `preview-<name>`, lower-case, [a-z0-9-], at most 42 characters. A name that is already clean
 * and short is kept as is ("pr-123" → "preview-pr-123"); any other gets a hash of the original
 * name as a suffix, so two names that clean up alike ("feat/x", "Feat-X") never share a stack,
 * and one pull request's teardown never destroys another's preview.
 */
export function previewStackName(name: string): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  if (clean === "") throw new PreviewError(`--name: "${name}" has no letters or digits; use e.g. the branch name or pr-123`);
  const room = MAX_STACK_NAME_LENGTH - PREVIEW_PREFIX.length;
  if (clean === name && clean.length <= room) return PREVIEW_PREFIX + clean;
  const suffix = `-${createHash("sha256").update(name).digest("hex").slice(0, HASH_LENGTH)}`;
  const head = clean.slice(0, room - suffix.length).replace(/-+$/, "");
  return PREVIEW_PREFIX + head + suffix;
}

/** The stack's own name, without the "org/" or "org/project/" a backend may qualify it with. */
export function shortStackName(stack: string): string {
  return stack.slice(stack.lastIndexOf("/") + 1);
}

export function isPreviewStack(stack: string): boolean {
  return shortStackName(stack).startsWith(PREVIEW_PREFIX);
}

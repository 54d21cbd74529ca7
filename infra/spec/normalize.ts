/**
 * normalizeSpec: fills the defaults that depend on other fields, once, right after parsing (as
 * SST's components normalize their args before creating anything). Static defaults are the
 * schema's `.default()`s; what is left here is derived. Everything downstream (plan, render,
 * cloud, scripts) reads the filled-in values and knows no default.
 *
 * The result is itself a valid spec (a preview stack stores it as its config), and normalizing
 * it again changes nothing.
 */
import type { FleetSpec, NodeSpec, ParsedFleetSpec } from "./schema";

type ParsedNode = ParsedFleetSpec["nodes"][number];

/** Where the gateway reaches an own host's engines when the spec gives no address. */
function hostAddress(node: Exclude<ParsedNode, { provider: "aws" }>): string {
  if (node.address !== undefined) return node.address;
  if (node.provider === "ssh") return node.host.replace(/^.*@/, "");
  const url = new URL(node.host);
  // A local daemon: the engines publish their ports on this machine.
  return url.protocol === "unix:" ? "127.0.0.1" : url.hostname.replace(/^.*@/, "");
}

function normalizeNode(node: ParsedNode): NodeSpec {
  return node.provider === "aws" ? node : { ...node, address: hostAddress(node) };
}

export function normalizeSpec(spec: ParsedFleetSpec): FleetSpec {
  return {
    ...spec,
    nodes: spec.nodes.map(normalizeNode),
    models: spec.models.map((m) => ({ ...m, display: m.display ?? { name: m.id, tags: [], capabilities: [] } })),
  };
}

/**
 * A component's dependsOn does not hold back its children (the engine only orders the
 * component's own registration), so each component hands it to the children that must wait.
 */
import * as pulumi from "@pulumi/pulumi";

export function dependsOnOf(opts: pulumi.ResourceOptions | undefined): pulumi.Input<pulumi.Resource>[] {
  const d = opts?.dependsOn;
  if (d === undefined) return [];
  if (Array.isArray(d)) return d;
  if (pulumi.Output.isInstance(d)) throw new Error("dependsOn as an Output of a list is not supported by llm-fleet components; pass a list");
  return [d as pulumi.Input<pulumi.Resource>];
}

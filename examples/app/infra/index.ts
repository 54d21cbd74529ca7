/**
 * The app's stack. It reads the fleet through a StackReference and fails at `pulumi preview` when
 * that fleet does not serve the model the app is compiled against (the registry may be older than
 * the fleet), then hands the app its endpoint in an SSM parameter. No key in it: the app's key
 * stays in its own environment.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryModel } from "../src/fleet/registry";
import { MODEL } from "../src/main";

const config = new pulumi.Config();
const fleetStack = config.require("fleetStack");
const fleet = new pulumi.StackReference(fleetStack);

const gatewayUrl = fleet.requireOutput("gatewayUrl") as pulumi.Output<string>;
const models = fleet.requireOutput("models") as pulumi.Output<Record<string, RegistryModel>>;

export const endpoint = models.apply((deployed) => {
  const model = deployed[MODEL];
  if (!model) {
    throw new Error(`${fleetStack} does not serve ${MODEL} (it serves ${Object.keys(deployed).join(", ")}): deploy it, or regenerate src/fleet and pick a ModelId it has`);
  }
  return { model: model.id, baseURL: model.baseURL, maxOutputTokens: model.maxOutputTokens, contextLength: model.contextLength };
});

const parameter = new aws.ssm.Parameter("llm-endpoint", {
  name: `/${pulumi.getProject()}/${pulumi.getStack()}/llm-endpoint`,
  type: "String",
  value: endpoint.apply((e) => JSON.stringify(e)),
  description: `LLM endpoint of ${MODEL} on ${fleetStack}`,
});

export const fleetGateway = gatewayUrl;
export const parameterName = parameter.name;

/**
 * The spec rules, run in this order after the schema (so issues read in spec order). To add one:
 * a file exporting a SpecRule, an entry here, and a passing and a failing spec in rules.test.ts
 * (the test's table is keyed by this object, so a rule without cases does not compile).
 */
import { allowedCidrsValid } from "./allowedCidrsValid";
import { awsNodesServe } from "./awsNodesServe";
import { engineLoadsSource } from "./engineLoadsSource";
import { fallbacksKnown } from "./fallbacksKnown";
import { gatewayHostValid } from "./gatewayHostValid";
import { gatewayKeysKnown } from "./gatewayKeysKnown";
import { gatewayRoutesValid } from "./gatewayRoutesValid";
import { layerSplitPerStage } from "./layerSplitPerStage";
import { metricsCidrsValid } from "./metricsCidrsValid";
import { modelNamesUnique } from "./modelNamesUnique";
import { nodeNameNotReserved } from "./nodeNameNotReserved";
import { nodeNamesUnique } from "./nodeNamesUnique";
import { oneMachineEngines } from "./oneMachineEngines";
import { pipelineOneNetwork } from "./pipelineOneNetwork";
import { replicaGpusOneNode } from "./replicaGpusOneNode";
import { replicaNodesDistinct } from "./replicaNodesDistinct";
import { replicaNodesExist } from "./replicaNodesExist";
import type { SpecRule } from "./rule";
import { secretNamesNotReserved } from "./secretNamesNotReserved";
import { usageNeedsMetering } from "./usageNeedsMetering";

export type { SpecRule } from "./rule";

export const SPEC_RULES = {
  nodeNamesUnique,
  nodeNameNotReserved,
  modelNamesUnique,
  replicaNodesExist,
  engineLoadsSource,
  replicaNodesDistinct,
  replicaGpusOneNode,
  layerSplitPerStage,
  oneMachineEngines,
  pipelineOneNetwork,
  awsNodesServe,
  fallbacksKnown,
  gatewayKeysKnown,
  gatewayRoutesValid,
  gatewayHostValid,
  secretNamesNotReserved,
  allowedCidrsValid,
  usageNeedsMetering,
  metricsCidrsValid,
} satisfies Record<string, SpecRule>;

export type SpecRuleName = keyof typeof SPEC_RULES;

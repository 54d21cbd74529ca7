import { RESERVED_SECRET_NAMES } from "../../plan/secrets";
import type { SpecRule } from "./rule";

/**
 * The program makes some secrets itself (the engines' key, the self-signed TLS pair, the AWS
 * gateway's files): a spec secret by the same name would be overwritten by, or sent as, that one
 * (an external model's apiKeySecret "engine-api-key" sent the engines' key to its provider).
 */
export const secretNamesNotReserved: SpecRule = (spec) => {
  const named = [
    { path: "hfTokenSecret", name: spec.hfTokenSecret },
    ...spec.models.map((m, i) => ({ path: `models[${i}].apiKeySecret`, name: m.engine === "external" ? m.apiKeySecret : undefined })),
    { path: "gateway.tls.certificateSecret", name: spec.gateway?.tls?.certificateSecret },
    { path: "gateway.tls.keySecret", name: spec.gateway?.tls?.keySecret },
  ];
  return named.flatMap(({ path, name }) =>
    name !== undefined && RESERVED_SECRET_NAMES.includes(name)
      ? [{ path, message: `"${name}" is a secret the program makes itself (${RESERVED_SECRET_NAMES.join(", ")})`, fix: `give it another name (e.g. "my-${name}") and set that one under llm-fleet:secrets (LLM_FLEET_SECRET_<NAME> locally)` }]
      : [],
  );
};

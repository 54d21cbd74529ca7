import type { SpecIssue } from "../errors";
import type { SpecRule } from "./rule";

/** Model ids and aliases share one namespace: the gateway routes on them. */
export const modelNamesUnique: SpecRule = (spec) => {
  const issues: SpecIssue[] = [];
  const owners = new Map<string, string>();
  const claim = (nameUsed: string, path: string) => {
    const owner = owners.get(nameUsed);
    if (owner) issues.push({ path, message: `"${nameUsed}" is already the name or alias of ${owner}`, fix: "model ids and aliases must be unique across the fleet" });
    else owners.set(nameUsed, path);
  };
  spec.models.forEach((m, i) => {
    claim(m.id, `models[${i}].id`);
    m.aliases.forEach((a, j) => claim(a, `models[${i}].aliases[${j}]`));
  });
  return issues;
};

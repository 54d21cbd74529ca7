/**
 * Spec fields of usage metering, quotas and upstream limits (issue 14). Kept beside schema.ts so
 * the usage feature reads in one place; schema.ts composes them into the key, model and gateway
 * shapes. Cross-checks (quotas need metering, metrics CIDRs) are rules/usageNeedsMetering.ts and
 * rules/metricsCidrsValid.ts.
 */
import { z } from "zod";
import { doc, positiveInt } from "./fields";

/**
 * Per-key quotas over UTC calendar windows: the day starts at 00:00 UTC, the month on the 1st at
 * 00:00 UTC. Over any of them the gateway answers 429 `quota_exceeded` with Retry-After until the
 * window resets. Counted from the upstream's `usage` (prompt + completion tokens).
 * @example { tokensPerDay: 10000000, requestsPerDay: 100000, tokensPerMonth: 300000000 }
 */
export const KeyQuota = z
  .strictObject({
    requestsPerDay: doc(positiveInt.optional(), "Requests per UTC day. Unset: no daily request quota.", 100000),
    tokensPerDay: doc(positiveInt.optional(), "Prompt + completion tokens per UTC day. Unset: no daily token quota.", 10000000),
    requestsPerMonth: doc(positiveInt.optional(), "Requests per UTC calendar month. Unset: no monthly request quota.", 3000000),
    tokensPerMonth: doc(positiveInt.optional(), "Prompt + completion tokens per UTC calendar month. Unset: no monthly token quota.", 300000000),
  })
  .refine((q) => Object.values(q).some((v) => v !== undefined), "a quota needs at least one of requestsPerDay, tokensPerDay, requestsPerMonth, tokensPerMonth");

/**
 * What the upstream of a model allows, wherever the model serves (as its own tier 0 or as another
 * model's fallback tier). A tier whose request limit is used up is skipped before anything is sent;
 * one that does not answer within `timeoutSeconds` fails over to the next tier.
 * @example { requestsPerMinute: 30, requestsPerDay: 1000, timeoutSeconds: 20 }
 */
export const UpstreamLimits = z
  .strictObject({
    requestsPerMinute: doc(positiveInt.optional(), "Requests per rolling 60 s that the provider accepts. Unset: no limit.", 30),
    requestsPerDay: doc(positiveInt.optional(), "Requests per UTC day that the provider accepts. Unset: no limit.", 1000),
    timeoutSeconds: doc(
      positiveInt.optional(),
      "Time allowed for the first byte of a reply from this tier (nginx proxy_read_timeout). Unset: gateway.readTimeoutSeconds.",
      20,
    ),
  })
  .refine((l) => Object.values(l).some((v) => v !== undefined), "limits need at least one of requestsPerMinute, requestsPerDay, timeoutSeconds");

export type KeyQuotaSpec = z.infer<typeof KeyQuota>;
export type UpstreamLimitsSpec = z.infer<typeof UpstreamLimits>;

/** Quota fields in a fixed order: windows × kinds (the metrics' `window` and `kind` labels). */
export const QUOTA_FIELDS = [
  { field: "requestsPerDay", window: "day", kind: "requests" },
  { field: "tokensPerDay", window: "day", kind: "tokens" },
  { field: "requestsPerMonth", window: "month", kind: "requests" },
  { field: "tokensPerMonth", window: "month", kind: "tokens" },
] as const satisfies readonly { field: keyof KeyQuotaSpec; window: string; kind: string }[];

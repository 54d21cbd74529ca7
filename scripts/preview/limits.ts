/**
 * Time bounds of a preview, chosen to fit inside the CI job that runs it
 * (.github/workflows/preview.yml, checked by test/preview/workflow.test.ts): the job's
 * `timeout-minutes` and the one-hour AWS session of aws-actions/configure-aws-credentials
 * (role-duration-seconds defaults to 3600). A run killed mid-update leaves the stack locked, so
 * `fleet preview up` interrupts Pulumi itself before the job would be killed, and `down` and
 * `sweep` cancel a lock whose update has outlived any preview run.
 */

/**
 * The longest `fleet preview up` lets `pulumi up` run. At the deadline Pulumi gets SIGINT (the
 * Automation API's abort): it finishes the steps in flight, saves the state and unlocks the stack.
 */
export const PREVIEW_UP_TIMEOUT_MS = 40 * 60_000;

/**
 * A preview stack's llm-fleet:readinessTimeoutSeconds at most: the readiness wait starts after
 * the instances exist, so it must leave room in PREVIEW_UP_TIMEOUT_MS for provisioning (VPC,
 * instances, the gateway: about 10 minutes) and for Pulumi's own start and finish.
 */
export const PREVIEW_READINESS_TIMEOUT_SECONDS = 25 * 60;

/**
 * An update that has held a preview's lock for longer than this cannot belong to a live
 * `fleet preview up` (which stops itself at PREVIEW_UP_TIMEOUT_MS, plus Pulumi's time to wind
 * down): its run was killed. `down` and `sweep` cancel it (pulumi cancel), then destroy. Longer than the CI job's own timeout.
 */
export const STALE_UPDATE_MS = PREVIEW_UP_TIMEOUT_MS + 30 * 60_000;

/** `pulumi up` ran past its deadline and was interrupted (the stack is unlocked). */
export class UpTimeoutError extends Error {
  constructor(readonly stackName: string, readonly timeoutMs: number) {
    super(`${stackName}: pulumi up did not finish within ${timeoutMs >= 60_000 ? `${timeoutMs / 60_000} minutes` : `${timeoutMs / 1000} s`} and was interrupted`);
    this.name = "UpTimeoutError";
  }
}

/** A preview operation refused or failed for a reason the user can act on (printed without a stack trace). */
export class PreviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PreviewError";
  }
}

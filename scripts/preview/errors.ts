/** A preview operation refused or failed for a reason the user can act on (printed without a stack trace). */
export class PreviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PreviewError";
  }
}

/** Time-to-live of a preview: "30m", "24h", "7d". */
import { PreviewError } from "./errors";

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Longest TTL accepted: a forgotten preview of GPU machines should not outlive a month. */
export const MAX_TTL_MS = 30 * UNIT_MS.d;
export const DEFAULT_TTL = "24h";

/** Milliseconds in `text`; every error names `flag`. */
export function parseTtl(text: string, flag = "--ttl"): number {
  const m = /^(\d+)([mhd])$/.exec(text);
  if (!m) {
    const combined = /^(\d+[mhd]){2,}$/.test(text);
    throw new PreviewError(
      combined
        ? `${flag}: "${text}" combines units; give one number and one unit (e.g. 90m instead of 1h30m)`
        : `${flag}: "${text}" is not a duration; use a whole number and one unit: m, h or d (30m, 24h, 7d)`,
    );
  }
  const ms = Number(m[1]) * UNIT_MS[m[2] as Unit];
  if (ms === 0) throw new PreviewError(`${flag}: "${text}" is zero; a preview needs some time to live (e.g. 30m)`);
  if (ms > MAX_TTL_MS) throw new PreviewError(`${flag}: "${text}" is more than 30d; use 30d or less and run \`fleet preview up\` again to extend it`);
  return ms;
}

/** The instant a preview made at `now` with `ttlMs` expires, as the ISO string stored in config. */
export function expiresAt(now: Date, ttlMs: number): string {
  return new Date(now.getTime() + ttlMs).toISOString();
}

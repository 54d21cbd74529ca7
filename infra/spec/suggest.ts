/** "did you mean …": the closest allowed value to what the user wrote, when one is close. */

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The allowed value nearest to `got` (case ignored), if it is within a third of its length. */
export function closest(got: unknown, allowed: readonly unknown[]): string | undefined {
  if (typeof got !== "string" || got === "") return undefined;
  const lower = got.toLowerCase();
  let best: { value: string; distance: number } | undefined;
  for (const value of allowed) {
    if (typeof value !== "string") continue;
    const distance = value.toLowerCase().startsWith(lower) || lower.startsWith(value.toLowerCase()) ? 1 : editDistance(lower, value.toLowerCase());
    if (!best || distance < best.distance) best = { value, distance };
  }
  return best && best.distance <= Math.max(1, Math.ceil(Math.max(got.length, best.value.length) / 3)) ? best.value : undefined;
}

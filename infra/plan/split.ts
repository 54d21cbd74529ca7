/** Layer splits across pipeline stages: proportional defaults and validation of explicit ones. */

/**
 * Splits `total` layers in proportion to `weights` with the largest-remainder method: floors
 * first, then one more layer each to the largest remainders (ties: earlier stage first).
 * Sums to `total` exactly. Every stage with weight > 0 gets at least one layer when possible.
 */
export function proportionalSplit(total: number, weights: number[]): number[] {
  const sum = weights.reduce((s, w) => s + w, 0);
  if (weights.length === 0 || sum <= 0) throw new Error("proportionalSplit needs positive weights");
  const exact = weights.map((w) => (total * w) / sum);
  const split = exact.map(Math.floor);
  let left = total - split.reduce((s, n) => s + n, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) split[order[k]!.i]! += 1;
  // A stage with memory but no layer would idle in the pipeline: move one layer to it from the largest stage.
  for (let i = 0; i < split.length; i++) {
    if (split[i] === 0 && weights[i]! > 0 && total >= split.length) {
      const donor = split.indexOf(Math.max(...split));
      split[donor]! -= 1;
      split[i] = 1;
    }
  }
  return split;
}

/** Problems with an explicit split, as messages (empty = valid). */
export function checkSplit(split: number[], stages: number, layers: number): string[] {
  const problems: string[] = [];
  if (split.length !== stages) problems.push(`has ${split.length} entries for ${stages} pipeline stages`);
  const sum = split.reduce((s, n) => s + n, 0);
  if (sum !== layers) problems.push(`sums to ${sum} but the model has ${layers} layers`);
  if (split.some((n) => !Number.isInteger(n) || n < 1)) problems.push("every stage needs at least one whole layer");
  return problems;
}

/** [start, end) ranges of a split. */
export function splitRanges(split: number[]): [number, number][] {
  let start = 0;
  return split.map((n) => {
    const range: [number, number] = [start, start + n];
    start += n;
    return range;
  });
}

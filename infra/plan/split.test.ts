import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { checkSplit, proportionalSplit, splitRanges } from "./split";

describe("proportionalSplit", () => {
  it("splits 64 layers over A10G, A10G, L40S memory as 16/16/32", () => {
    expect(proportionalSplit(64, [23028, 23028, 46068])).toEqual([16, 16, 32]);
  });
  it("gives the remainder to the largest fractions", () => {
    expect(proportionalSplit(80, [46068, 46068, 46068, 23028])).toEqual([23, 23, 23, 11]);
    expect(proportionalSplit(10, [1, 1, 1])).toEqual([4, 3, 3]);
  });
  it("always sums to the layer count and never goes negative", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 8 }), (layers, weights) => {
        const split = proportionalSplit(layers, weights);
        expect(split.reduce((s, n) => s + n, 0)).toBe(layers);
        expect(split.every((n) => n >= 0)).toBe(true);
        if (layers >= weights.length) expect(split.every((n) => n >= 1)).toBe(true);
      }),
    );
  });
});

describe("checkSplit", () => {
  it("accepts 23-23-22-12 for 80 layers on 4 stages", () => {
    expect(checkSplit([23, 23, 22, 12], 4, 80)).toEqual([]);
  });
  it("names a split that does not sum to the layer count", () => {
    expect(checkSplit([23, 23, 22, 11], 4, 80)).toEqual(["sums to 79 but the model has 80 layers"]);
  });
  it("names a split with the wrong number of stages", () => {
    expect(checkSplit([40, 40], 4, 80)[0]).toMatch(/2 entries for 4 pipeline stages/);
  });
  it("turns a split into [start, end) ranges", () => {
    expect(splitRanges([23, 23, 22, 12])).toEqual([[0, 23], [23, 46], [46, 68], [68, 80]]);
  });
});

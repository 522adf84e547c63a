import { describe, expect, test } from "vitest";
import { sum } from "../src/sum.mjs";

describe("sum", () => {
  test("adds small numbers", () => {
    expect(sum(1, 1)).toBe(2);
  });

  test("adds two", () => {
    expect(sum(2, 2)).toBe(4);
  });
});

const { sum } = require("../src/sum.cjs");

describe("sum", () => {
  test("adds small numbers", () => {
    expect(sum(1, 1)).toBe(2);
  });

  test("adds two", () => {
    expect(sum(2, 2)).toBe(4);
  });
});

const { expect } = require("chai");

describe("notes", () => {
  it("has a title", () => {
    expect({ title: "x" }).to.have.property("title");
  });
});

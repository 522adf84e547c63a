import { expect, test } from "bun:test";
import app from "./index";

test("rejects a job without a kind", async () => {
  const res = await app.request("/jobs", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  expect(res.status).toBe(400);
});

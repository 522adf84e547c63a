import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";

const app = new Hono();

app.post("/jobs", zValidator("json", z.object({ kind: z.string() })), (c) => {
  return c.json({ queued: c.req.valid("json").kind }, 202);
});

export default app;

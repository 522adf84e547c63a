import Fastify from "fastify";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { products } from "./db/schema";

const db = drizzle(postgres(process.env.DATABASE_URL ?? ""));
const app = Fastify({ logger: true });

app.get("/products", async () => db.select().from(products).limit(50));

await app.listen({ port: 3000 });

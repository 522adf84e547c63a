import { Router } from "express";
import { z } from "zod";
import { PrismaClient } from "@prisma/client";

const prisma = new PrismaClient();
const CreateOrder = z.object({ customer: z.string(), total: z.number().positive() });

export const ordersRouter = Router();

ordersRouter.post("/", async (req, res) => {
  const body = CreateOrder.parse(req.body);
  const order = await prisma.order.create({ data: body });
  res.status(201).json(order);
});

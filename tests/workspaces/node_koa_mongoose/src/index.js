const Koa = require("koa");
const Router = require("@koa/router");
const bodyParser = require("koa-bodyparser");
const mongoose = require("mongoose");
const Note = require("./models/note");

const app = new Koa();
const router = new Router();

router.get("/notes", async (ctx) => {
  ctx.body = await Note.find().limit(100);
});

app.use(bodyParser()).use(router.routes());
mongoose.connect(process.env.MONGO_URL).then(() => app.listen(3000));

// The socket.io 4.8 peer of the Herald benchmarks: one process, one core, WebSocket transport
// only (the load generator connects straight to `/socket.io/?EIO=4&transport=websocket`), and
// the same publish path as Herald's REST broadcast: `POST /broadcast` with
// `{"target": "m", "arguments": [...]}` emits `target(...arguments)` to every client, answering
// 202. With REDIS_URL set, the @socket.io/redis-adapter carries broadcasts to the other
// processes (cross-node scenario).
//
// Environment: PORT (required), REDIS_URL (optional).
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error("set PORT to the port to listen on");
  process.exit(2);
}

let io;

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/broadcast") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch (e) {
        res.writeHead(400).end("bad json");
        return;
      }
      io.emit(body.target, ...body.arguments);
      res.writeHead(202, { "content-length": "0" }).end();
    });
    return;
  }
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "content-length": "2" }).end("ok");
    return;
  }
  // socket.io's own handler answers its paths; anything else is left to it too.
});

io = new Server(server, {
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
  // Same keep-alive cadence as Herald's (15 s server ping).
  pingInterval: 15000,
  pingTimeout: 30000,
});

async function main() {
  if (process.env.REDIS_URL) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    const pub = createClient({ url: process.env.REDIS_URL });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  }
  server.listen(port, "127.0.0.1", () => {
    console.log(`listening on ${port}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

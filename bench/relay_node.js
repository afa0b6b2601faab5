// Baseline for the fan-out benchmark: a bare Node socket.io relay (no auth, no storage).
// `node bench/relay_node.js PORT`; same protocol as bench/relay_python.py.
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  if (req.url === "/readyz") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(server, { cors: { origin: "*" } });
io.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    socket.join(data.room);
    if (ack) ack({ ok: true });
  });
  socket.on("send", (data, ack) => {
    io.to(data.room).emit("new_message", { message: { body: data.body } });
    if (ack) ack({ ok: true });
  });
});
server.listen(port, "127.0.0.1");

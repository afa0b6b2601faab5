// Drives the official socket.io-client against a Venn server; prints one JSON line per step.
// Env: VENN_URL, VENN_TOKEN, VENN_CHANNEL_ID, SOCKET_IO_CLIENT (path of the installed package).
const { io } = require(process.env.SOCKET_IO_CLIENT);

const url = process.env.VENN_URL;
const channelId = Number(process.env.VENN_CHANNEL_ID);
const say = (step, data) => console.log(JSON.stringify({ step, ...data }));
const fail = (why) => { say("failed", { why: String(why) }); process.exit(1); };
setTimeout(() => fail("timed out"), 15000);

function refusedWith(auth) {
  return new Promise((resolve) => {
    const socket = io(url, { auth, reconnection: false, transports: ["websocket"] });
    socket.on("connect", () => fail("connected with a bad token"));
    socket.on("connect_error", (err) => { socket.close(); resolve({ message: err.message, data: err.data }); });
  });
}

// A page on an origin the server does not accept, with the client's default reconnection:
// the refusal must reach the application (message and data.code) and stop the retries
// (socket.active is false once the server itself refused the connection).
function refusedOrigin(transports) {
  return new Promise((resolve) => {
    const socket = io(url, {
      auth: { token: process.env.VENN_TOKEN }, transports, extraHeaders: { Origin: "https://elsewhere.example" },
    });
    socket.on("connect", () => fail("connected from a refused origin"));
    socket.on("connect_error", (err) => {
      const active = socket.active;
      socket.close();
      resolve({ message: err.message, data: err.data, active });
    });
  });
}

async function main() {
  say("refused", await refusedWith({ token: "not-a-token" }));
  say("origin_websocket", await refusedOrigin(["websocket"]));
  say("origin_polling", await refusedOrigin(["polling"]));
  // Default transports: long-polling first, then the upgrade to websocket, as in a browser.
  const socket = io(url, { auth: { token: process.env.VENN_TOKEN }, reconnection: false });
  socket.on("connect_error", (err) => fail("connect_error: " + err.message));
  socket.on("new_message", ({ message }) => {
    say("received", { message });
    if (message.body === "from python") { socket.close(); process.exit(0); }
  });
  await new Promise((resolve) => socket.on("connect", resolve));
  say("connected", { id: socket.id });
  say("joined", await socket.timeout(5000).emitWithAck("join_channel", { channel_id: channelId }));
  say("bad", await socket.timeout(5000).emitWithAck("join_channel", { channel_id: "one" }));
  say("sent", await socket.timeout(5000).emitWithAck("send_message", {
    channel_id: channelId, body: "from javascript", client_msg_id: "js-1",
  }));
  say("ready", {});
}

main().catch(fail);

// socket.io-client (under Node) with its own reconnection, for test_shutdown.py.
// Env: SOCKET_IO_CLIENT (path of the package), VENN_URL, VENN_TOKEN, VENN_TRANSPORT,
// VENN_CHANNEL_ID. On every connect it joins the channel; it prints one JSON line per
// connect (with the join's answer), disconnect and message received. Any input ends it.
const { io } = require(process.env.SOCKET_IO_CLIENT);

const say = (step, data) => console.log(JSON.stringify({ step, ...data }));
const socket = io(process.env.VENN_URL, {
  auth: { token: process.env.VENN_TOKEN },
  transports: [process.env.VENN_TRANSPORT],
  reconnectionDelay: 100,
  reconnectionDelayMax: 500,
});
socket.on("connect", async () => {
  const transport = socket.io.engine.transport.name;
  try {
    const joined = await socket.timeout(5000).emitWithAck("join_channel", {
      channel_id: Number(process.env.VENN_CHANNEL_ID),
    });
    say("connected", { transport, joined: joined.ok });
  } catch (err) {
    say("connected", { transport, joined: false, why: String(err) });
  }
});
socket.on("disconnect", (reason) => say("disconnected", { reason, active: socket.active }));
socket.on("new_message", ({ message }) => say("received", { body: message.body }));
process.stdin.on("data", () => { socket.close(); process.exit(0); });

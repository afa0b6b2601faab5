// Load clients on the official socket.io-client (under Node) for tests/reliability/test_deploy.py.
//
// Env: SOCKET_IO_CLIENT (path of the package), VENN_URL, VENN_CHANNEL_ID, VENN_CLIENTS
// (JSON: [{name, token, transports: "default" | "websocket" | "polling"}]), VENN_PAUSE_MS.
// Each client sends to the channel as fast as acks come back (a lost ack: the same
// client_msg_id again), and on every connect joins the channel and syncs from the
// cursor it held, as docs/realtime.md says. Reconnecting is socket.io-client's own.
// Prints one JSON line per event; "stop" on standard input makes every client finish
// its un-acked message, sync once more and print "done" with what it holds.
const { io } = require(process.env.SOCKET_IO_CLIENT);
const readline = require("node:readline");

const url = process.env.VENN_URL;
const channelId = Number(process.env.VENN_CHANNEL_ID);
const pauseMs = Number(process.env.VENN_PAUSE_MS || "0");
const say = (step, data) => console.log(JSON.stringify({ step, ...data }));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Client {
  constructor({ name, token, transports }) {
    this.name = name;
    this.view = new Map(); // message id -> message
    this.acked = {}; // client_msg_id -> message id
    this.unacked = null;
    this.seq = 0;
    this.connects = 0;
    this.ready = false;
    this.stopping = false;
    const options = { auth: { token }, reconnectionDelay: 200, reconnectionDelayMax: 1000 };
    if (transports !== "default") options.transports = [transports];
    this.socket = io(url, options);
    this.socket.on("new_message", ({ message }) => this.see(message));
    this.socket.on("message_updated", ({ message }) => this.see(message));
    this.socket.on("connect", () => this.caughtUp(this.cursor()));
    this.socket.on("disconnect", (reason) => {
      this.ready = false;
      say("disconnected", { client: this.name, reason });
    });
    this.socket.on("connect_error", (err) => say("connect_error", { client: this.name, message: err.message }));
  }

  see(message) {
    if (message.channel_id === channelId && message.thread_id == null) this.view.set(message.id, message);
  }

  cursor() {
    let max = 0;
    for (const id of this.view.keys()) max = Math.max(max, id);
    return max;
  }

  async sync(cursor) {
    for (;;) {
      const answer = await this.socket.timeout(5000).emitWithAck("sync", {
        cursors: { [channelId]: cursor }, limit: 200,
      });
      if (!answer.ok) throw new Error("sync failed: " + JSON.stringify(answer));
      const entry = answer.channels[0];
      if (entry.error) throw new Error("sync failed: " + JSON.stringify(entry));
      for (const message of [...entry.updates, ...entry.messages]) this.see(message);
      if (entry.messages.length) cursor = entry.messages[entry.messages.length - 1].id;
      if (!entry.has_more) return;
    }
  }

  // On every connect: join first, then sync from the cursor held before this connection.
  async caughtUp(cursor) {
    this.connects += 1;
    const connection = this.connects;
    try {
      const joined = await this.socket.timeout(5000).emitWithAck("join_channel", { channel_id: channelId });
      if (!joined.ok) throw new Error("join failed: " + JSON.stringify(joined));
      await this.sync(cursor);
      if (connection !== this.connects || !this.socket.connected) return;
      this.ready = true;
      say("synced", { client: this.name, connects: connection, transport: this.socket.io.engine.transport.name });
    } catch (err) {
      say("catch_up_failed", { client: this.name, why: String(err) }); // the next connect tries again
    }
  }

  async run() {
    for (;;) {
      if (this.stopping && this.unacked === null) break;
      if (!this.ready) { await sleep(20); continue; }
      if (this.unacked === null) {
        this.seq += 1;
        this.unacked = { cmid: `${this.name}-${this.seq}`, body: `${this.name} message ${this.seq}` };
      }
      const { cmid, body } = this.unacked;
      try {
        const answer = await this.socket.timeout(3000).emitWithAck("send_message", {
          channel_id: channelId, body, client_msg_id: cmid,
        });
        if (answer.ok) {
          this.acked[cmid] = answer.message.id;
          this.see(answer.message);
          this.unacked = null;
          say("acked", { client: this.name, cmid, id: answer.message.id });
        } else {
          await sleep(1000 * Number(answer.error.retry_after || 0.2));
        }
      } catch (err) {
        await sleep(50); // no ack (the connection went away): send it again once back
      }
      if (pauseMs) await sleep(pauseMs);
    }
    while (!this.ready) await sleep(20);
    await this.sync(this.cursor());
    say("done", { client: this.name, connects: this.connects, view: [...this.view.keys()], acked: this.acked });
    this.socket.close();
  }
}

const clients = JSON.parse(process.env.VENN_CLIENTS).map((spec) => new Client(spec));
const runs = clients.map((client) => client.run());
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "stop") for (const client of clients) client.stopping = true;
});
Promise.all(runs).then(() => process.exit(0), (err) => { say("failed", { why: String(err) }); process.exit(1); });

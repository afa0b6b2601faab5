// Sending: a message shows at once as pending, goes out with a client_msg_id, and is
// retried with the same id (after a timeout, a lost ack or a reconnect) until acked,
// so it is never stored twice.

import { conn } from "./conn.js";
import { store } from "./store.js";
import { randomId } from "./dom.js";
import { receive } from "./incoming.js";
import { stopTyping } from "./typing.js";

const SEND_TIMEOUT_MS = 8000;
let flushing = false;

/** Post `body` (and `files`, uploaded already): shown at once as pending, sent with a
 * client_msg_id, retried until acked. */
export function send(stream, body, files = []) {
  const text = body.trim();
  if (!text && !files.length) return;
  const item = {
    client_msg_id: randomId(),
    body: text,
    files,
    state: conn.socket?.connected ? "sending" : "waiting",
    error: null,
    at: new Date(),
  };
  stream.pending.set(item.client_msg_id, item);
  store.emit(`stream:${stream.key}`, { sent: true });
  stopTyping(stream);
  deliver(stream, item);
}

async function deliver(stream, item) {
  if (!conn.socket?.connected) {
    item.state = "waiting"; // flushed after the next connect
    store.emit(`stream:${stream.key}`);
    return;
  }
  const data = { channel_id: stream.channelId, body: item.body, client_msg_id: item.client_msg_id };
  if (item.files?.length) data.file_ids = item.files.map((f) => f.id);
  if (stream.kind === "thread") data.thread_id = stream.id;
  item.state = "sending";
  try {
    const { message } = await conn.socket.call("send_message", data, SEND_TIMEOUT_MS);
    stream.pending.delete(item.client_msg_id);
    receive(message);
  } catch (err) {
    if (!stream.pending.has(item.client_msg_id)) return; // arrived meanwhile (new_message or sync)
    if (err.code === "timeout" || err.code === "not_connected" || err.code === "unavailable") {
      item.state = "waiting"; // retried after the next connect, with the same client_msg_id
      if (err.code !== "not_connected" && conn.socket?.connected) setTimeout(() => deliver(stream, item), 1000);
    } else if (err.code === "rate_limited") {
      item.state = "waiting";
      setTimeout(() => deliver(stream, item), 1000 * (Number(err.extra.retry_after) || 2));
    } else {
      item.state = "failed";
      item.error = err.message;
    }
    store.emit(`stream:${stream.key}`);
  }
}

export function retry(stream, clientMsgId) {
  const item = stream.pending.get(clientMsgId);
  if (item) deliver(stream, item);
}

export function discard(stream, clientMsgId) {
  stream.pending.delete(clientMsgId);
  store.emit(`stream:${stream.key}`);
}

/** Send every waiting message again, in order (after a connect). */
export async function flushPending() {
  if (flushing) return;
  flushing = true;
  try {
    for (const stream of store.streams.values()) {
      for (const item of [...stream.pending.values()]) {
        if (item.state !== "failed") await deliver(stream, item);
      }
    }
  } finally {
    flushing = false;
  }
}

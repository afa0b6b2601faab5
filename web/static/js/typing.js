// Typing indicators: ours to the room while the user types, theirs dropped when stale.

import { conn } from "./conn.js";
import { store } from "./store.js";

const TYPING_EVERY_MS = 2000;
export const TYPING_STALE_MS = 6000;

let typingSentAt = new Map(); // stream key -> ms

export function resetTyping() {
  typingSentAt = new Map();
}

/** Tell the room that the user is typing (at most every 2 s), or stopped. */
export function typing(stream, active) {
  if (!conn.socket?.connected) return;
  const now = Date.now();
  const last = typingSentAt.get(stream.key) || 0;
  const data = { channel_id: stream.channelId };
  if (stream.kind === "thread") data.thread_id = stream.id;
  if (active) {
    if (now - last < TYPING_EVERY_MS) return;
    typingSentAt.set(stream.key, now);
    conn.socket.send("typing", data);
  } else if (last) {
    stopTyping(stream);
  }
}

export function stopTyping(stream) {
  if (!typingSentAt.get(stream.key)) return;
  typingSentAt.delete(stream.key);
  const data = { channel_id: stream.channelId, typing: false };
  if (stream.kind === "thread") data.thread_id = stream.id;
  conn.socket?.send("typing", data);
}

/** Drop the indicators not refreshed for a while (the server's "stopped" may be lost). */
export function sweepTyping() {
  const now = Date.now();
  for (const [key, people] of store.typing) {
    let changed = false;
    for (const [id, t] of people) {
      if (t.until < now) {
        people.delete(id);
        changed = true;
      }
    }
    if (changed) store.emit("typing", key);
  }
}

// Messages into the store: a message put where it belongs (its channel's stream or its
// thread's), counted as unread or read, and a new copy shown wherever it is shown.
// Used by the live events (live.js), sending (outbox.js) and the controller (chat.js).

import { store } from "./store.js";
import { markRead } from "./channels.js";

/** Put a message where it belongs (its channel's stream or its thread's). */
export function receive(message, { live = false } = {}) {
  if (message.thread_id) {
    const stream = store.findStream("thread", message.thread_id);
    if (stream && stream.merge(message)) store.emit(`stream:${stream.key}`);
    if (live && !store.countedReplies.has(message.id)) {
      store.countedReplies.add(message.id);
      const root = store.rootOf(message.thread_id);
      if (root) mergeEverywhere({ ...root, reply_count: (root.reply_count || 0) + 1 });
      const thread = store.threads.get(message.thread_id);
      if (thread) thread.reply_count = (thread.reply_count || 0) + 1;
    }
    if (stream && message.payload?.query_id) stream.progress.delete(message.payload.query_id);
    return;
  }
  const stream = store.findStream("channel", message.channel_id);
  const isNew = !stream || !stream.messages.has(message.id);
  if (stream && stream.merge(message)) store.emit(`stream:${stream.key}`);
  if (stream && message.payload?.query_id) stream.progress.delete(message.payload.query_id);
  const channel = store.channels.get(message.channel_id);
  if (!channel || !live || !isNew || message.deleted) return;
  if (message.author?.id === store.me.id) return;
  if (store.currentChannel === message.channel_id && document.visibilityState === "visible") {
    markRead(message.channel_id);
  } else {
    channel.unread_count = (channel.unread_count || 0) + 1;
    store.emit("channels");
  }
}

/** A new copy of a message: replace it wherever it is shown (root in a thread panel too). */
export function mergeEverywhere(message) {
  receive(message);
  if (message.started_thread_id && store.findStream("thread", message.started_thread_id)) {
    store.emit(`stream:t:${message.started_thread_id}`);
  }
  for (const stream of store.streams.values()) {
    if (stream.kind === "thread" && stream.root && stream.root.id === message.id) {
      stream.root = message;
      store.emit(`stream:${stream.key}`);
    }
  }
}

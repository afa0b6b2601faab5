// The chat controller: what the views can do (load, open, read, edit, type, send).
// It reads through REST and acts through the socket; channels and the read marker are
// in channels.js, messages into the store in incoming.js, live events and the catch-up
// after a reconnect in live.js, sending in outbox.js, typing in typing.js, clicks on a
// bot message's buttons in clicks.js. Views call these actions; they never talk to the
// server themselves. Nothing imports this module but the views and main.js, so the
// modules it builds on never form a cycle.

import { api } from "./api.js";
import { openSocket } from "./socket.js";
import { conn } from "./conn.js";
import { store } from "./store.js";
import { PAGE, clearReadTimers, loadChannels } from "./channels.js";
import { receive, mergeEverywhere } from "./incoming.js";
import { handlers, afterConnect, takeCursors } from "./live.js";
import { sweepTyping, resetTyping } from "./typing.js";
import { startFiles, stopFiles } from "./files.js";

export {
  loadChannels, browseChannels, createChannel, joinChannel, leaveChannel, loadMembers, addMember,
  knownPeople, lookupUser, joinRoom, openChannel, markRead, openDm, searchPeople,
} from "./channels.js";
export { send, retry, discard } from "./outbox.js";
export { typing } from "./typing.js";
export { toggleReaction, setPinned, loadPins } from "./annotations.js";
export { sendAction } from "./clicks.js";

let typingSweep = null;

// Start and stop ---------------------------------------------------------------

export async function start(user) {
  store.reset();
  store.me = user;
  startFiles(); // the cookie with which images and file links load
  await loadChannels();
  conn.socket = openSocket({ handlers, onState: setConnection, onConnect: afterConnect, onDisconnect: takeCursors });
  typingSweep = setInterval(sweepTyping, 1000);
}

export function stop() {
  if (conn.socket) conn.socket.close();
  conn.socket = null;
  store.listeners.clear(); // the views of this session go away with it
  clearInterval(typingSweep);
  stopFiles();
  clearReadTimers();
  resetTyping();
}

function setConnection(state, message = "") {
  if (store.connection === state && store.connectionMessage === message) return;
  store.connection = state;
  store.connectionMessage = message;
  store.emit("connection", state);
}

// Streams ----------------------------------------------------------------------

export async function loadOlder(stream) {
  if (!stream.hasMore || stream.loadingOlder || !stream.firstId) return false;
  stream.loadingOlder = true;
  try {
    const path =
      stream.kind === "channel"
        ? `/messages/channel/${stream.id}?limit=${PAGE}&before=${stream.firstId}`
        : `/threads/${stream.id}/messages?limit=${PAGE}&before=${stream.firstId}`;
    const page = await api("GET", path);
    for (const m of page.messages) stream.merge(m);
    stream.hasMore = page.has_more;
    store.emit(`stream:${stream.key}`, { older: true });
    return true;
  } finally {
    stream.loadingOlder = false;
  }
}

/** Open the thread of `message` (starting it if it has none) in the side panel. */
export async function openThreadOf(message) {
  let threadId = message.started_thread_id;
  if (!threadId) {
    const { thread } = await api("POST", "/threads", { channel_id: message.channel_id, root_message_id: message.id });
    store.threads.set(thread.id, thread);
    threadId = thread.id;
    mergeEverywhere({ ...message, started_thread_id: thread.id });
  }
  return openThread(threadId);
}

export async function openThread(threadId) {
  const { thread } = await api("GET", `/threads/${threadId}`);
  store.threads.set(thread.id, thread);
  const stream = store.stream("thread", thread.id, thread.channel_id);
  if (!stream.loaded) {
    const page = await api("GET", `/threads/${thread.id}/messages?limit=${PAGE}`);
    for (const m of page.messages) {
      stream.merge(m);
      store.countedReplies.add(m.id);
    }
    stream.hasMore = page.has_more;
    stream.loaded = true;
  }
  if (!store.rootOf(thread.id)) {
    try {
      const { message } = await api("GET", `/messages/${thread.root_message_id}`);
      stream.root = message;
    } catch {
      stream.root = null;
    }
  }
  store.openThread = thread.id;
  if (conn.socket?.connected) {
    try {
      await conn.socket.call("join_thread", { thread_id: thread.id });
    } catch (err) {
      console.warn("venn: join_thread", err.code);
    }
  }
  store.emit("thread", thread.id);
  return thread;
}

export function closeThread() {
  const id = store.openThread;
  store.openThread = null;
  if (id && conn.socket?.connected) conn.socket.call("leave_thread", { thread_id: id }).catch(() => {});
  store.emit("thread", null);
}

export async function edit(message, body) {
  const text = body.trim();
  if (!text || text === message.body) return;
  const answer = conn.socket?.connected
    ? await conn.socket.call("edit_message", { message_id: message.id, body: text })
    : await api("PATCH", `/messages/${message.id}`, { body: text });
  receive(answer.message);
}

export async function remove(message) {
  const answer = conn.socket?.connected
    ? await conn.socket.call("delete_message", { message_id: message.id })
    : await api("DELETE", `/messages/${message.id}`);
  receive(answer.message);
}

// The chat controller: what the views can do (load, open, read, edit, type, send).
// It reads through REST and acts through the socket; live events and the catch-up
// after a reconnect are in live.js, sending in outbox.js, typing in typing.js.
// Views call these actions; they never talk to the server themselves.

import { api } from "./api.js";
import { openSocket } from "./socket.js";
import { conn } from "./conn.js";
import { store } from "./store.js";
import { handlers, afterConnect, takeCursors, receive, mergeEverywhere } from "./live.js";
import { sweepTyping, resetTyping } from "./typing.js";

export { send, retry, discard } from "./outbox.js";
export { typing } from "./typing.js";

const PAGE = 50;

let readTimers = new Map(); // channel id -> timer
let typingSweep = null;

// Start and stop ---------------------------------------------------------------

export async function start(user) {
  store.reset();
  store.me = user;
  await loadChannels();
  conn.socket = openSocket({ handlers, onState: setConnection, onConnect: afterConnect, onDisconnect: takeCursors });
  typingSweep = setInterval(sweepTyping, 1000);
}

export function stop() {
  if (conn.socket) conn.socket.close();
  conn.socket = null;
  store.listeners.clear(); // the views of this session go away with it
  clearInterval(typingSweep);
  for (const t of readTimers.values()) clearTimeout(t);
  readTimers = new Map();
  resetTyping();
}

function setConnection(state) {
  if (store.connection === state) return;
  store.connection = state;
  store.emit("connection", state);
}

// Channels ---------------------------------------------------------------------

export async function loadChannels() {
  const { channels } = await api("GET", "/channels");
  const fresh = new Map(channels.map((c) => [c.id, c]));
  store.channels = fresh;
  store.emit("channels");
}

export async function browseChannels() {
  const { channels } = await api("GET", "/channels?all=1");
  return channels.filter((c) => !c.is_member && !c.archived);
}

export async function createChannel({ name, topic, is_private }) {
  const { channel } = await api("POST", "/channels", { name, topic: topic || undefined, is_private });
  store.channels.set(channel.id, channel);
  store.emit("channels");
  await joinRoom(channel.id);
  return channel;
}

export async function joinChannel(id) {
  const { channel } = await api("POST", `/channels/${id}/join`);
  store.channels.set(channel.id, channel);
  store.emit("channels");
  await joinRoom(channel.id);
  return channel;
}

export async function leaveChannel(id) {
  await api("POST", `/channels/${id}/leave`);
  store.channels.delete(id);
  store.streams.delete(`c:${id}`);
  store.emit("channels");
}

export async function loadMembers(channelId) {
  const { members } = await api("GET", `/channels/${channelId}/members`);
  store.members.set(channelId, members);
  for (const m of members) if (m.status) store.status.set(m.id, m.status);
  store.emit("members", channelId);
  return members;
}

export async function addMember(channelId, userId) {
  const { user } = await api("POST", `/channels/${channelId}/members`, { user_id: userId });
  await loadMembers(channelId);
  return user;
}

/** People this client knows of (members of the channels it is in): for pickers. */
export async function knownPeople() {
  const people = new Map();
  for (const channel of store.memberChannels().slice(0, 30)) {
    let members = store.members.get(channel.id);
    if (!members) {
      try {
        members = await loadMembers(channel.id);
      } catch {
        members = [];
      }
    }
    for (const m of members) if (!m.is_bot) people.set(m.id, m);
  }
  return [...people.values()].sort((a, b) => a.username.localeCompare(b.username));
}

export async function lookupUser(id) {
  const { user } = await api("GET", `/users/${id}`);
  return user;
}

/** Join a channel's room (done for every channel on each connect). */
export async function joinRoom(channelId) {
  if (!conn.socket?.connected) return; // joined on the next connect
  try {
    await conn.socket.call("join_channel", { channel_id: channelId });
  } catch (err) {
    console.warn("venn: join_channel", channelId, err.code);
  }
}

// Streams ----------------------------------------------------------------------

export async function openChannel(id) {
  store.currentChannel = id;
  store.emit("current");
  const stream = store.stream("channel", id, id);
  if (!stream.loaded) {
    const page = await api("GET", `/messages/channel/${id}?limit=${PAGE}`);
    for (const m of page.messages) stream.merge(m);
    stream.hasMore = page.has_more;
    stream.loaded = true;
  }
  store.emit(`stream:${stream.key}`);
  loadMembers(id).catch(() => {});
  markRead(id);
}

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

// Reading ----------------------------------------------------------------------

/** Move the read marker to the newest message of the channel shown (debounced). */
export function markRead(channelId) {
  clearTimeout(readTimers.get(channelId));
  readTimers.set(
    channelId,
    setTimeout(async () => {
      readTimers.delete(channelId);
      const stream = store.findStream("channel", channelId);
      const channel = store.channels.get(channelId);
      if (!stream || !channel || !stream.cursor || document.visibilityState !== "visible") return;
      if (store.currentChannel !== channelId) return;
      const body = { channel_id: channelId, message_id: stream.cursor };
      try {
        const answer = conn.socket?.connected
          ? await conn.socket.call("mark_read", body)
          : await api("POST", `/channels/${channelId}/read`, { message_id: stream.cursor });
        channel.unread_count = answer.unread_count;
      } catch {
        channel.unread_count = 0;
      }
      store.emit("channels");
    }, 300),
  );
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && store.currentChannel) markRead(store.currentChannel);
});

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

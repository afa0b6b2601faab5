// The chat controller: loads through REST, listens and sends through the socket,
// catches up with `sync` after every reconnect, and keeps the store up to date.
// Views call the exported actions; they never talk to the server themselves.

import { api } from "./api.js";
import { openSocket } from "./socket.js";
import { store } from "./store.js";
import { randomId } from "./dom.js";

const PAGE = 50;
const TYPING_EVERY_MS = 2000;
const TYPING_STALE_MS = 6000;
const SEND_TIMEOUT_MS = 8000;

let socket = null;
let flushing = false;
let typingSentAt = new Map(); // stream key -> ms
let readTimers = new Map(); // channel id -> timer
let typingSweep = null;

// Start and stop ---------------------------------------------------------------

export async function start(user) {
  store.reset();
  store.me = user;
  await loadChannels();
  socket = openSocket({ handlers, onState: setConnection, onConnect: afterConnect });
  typingSweep = setInterval(sweepTyping, 1000);
}

export function stop() {
  if (socket) socket.close();
  socket = null;
  store.listeners.clear(); // the views of this session go away with it
  clearInterval(typingSweep);
  for (const t of readTimers.values()) clearTimeout(t);
  readTimers = new Map();
  typingSentAt = new Map();
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

async function joinRoom(channelId) {
  if (!socket?.connected) return; // joined on the next connect
  try {
    await socket.call("join_channel", { channel_id: channelId });
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
  if (socket?.connected) {
    try {
      await socket.call("join_thread", { thread_id: thread.id });
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
  if (id && socket?.connected) socket.call("leave_thread", { thread_id: id }).catch(() => {});
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
        const answer = socket?.connected
          ? await socket.call("mark_read", body)
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

// Sending ----------------------------------------------------------------------

/** Post `body`: shown at once as pending, sent with a client_msg_id, retried until acked. */
export function send(stream, body) {
  const text = body.trim();
  if (!text) return;
  const item = {
    client_msg_id: randomId(),
    body: text,
    state: socket?.connected ? "sending" : "waiting",
    error: null,
    at: new Date(),
  };
  stream.pending.set(item.client_msg_id, item);
  store.emit(`stream:${stream.key}`, { sent: true });
  stopTyping(stream);
  deliver(stream, item);
}

async function deliver(stream, item) {
  if (!socket?.connected) {
    item.state = "waiting"; // flushed after the next connect
    store.emit(`stream:${stream.key}`);
    return;
  }
  const data = { channel_id: stream.channelId, body: item.body, client_msg_id: item.client_msg_id };
  if (stream.kind === "thread") data.thread_id = stream.id;
  item.state = "sending";
  try {
    const { message } = await socket.call("send_message", data, SEND_TIMEOUT_MS);
    stream.pending.delete(item.client_msg_id);
    receive(message);
  } catch (err) {
    if (!stream.pending.has(item.client_msg_id)) return; // arrived meanwhile (new_message or sync)
    if (err.code === "timeout" || err.code === "not_connected" || err.code === "unavailable") {
      item.state = "waiting"; // retried after the next connect, with the same client_msg_id
      if (err.code !== "not_connected" && socket?.connected) setTimeout(() => deliver(stream, item), 1000);
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

async function flushPending() {
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

export async function edit(message, body) {
  const text = body.trim();
  if (!text || text === message.body) return;
  const answer = socket?.connected
    ? await socket.call("edit_message", { message_id: message.id, body: text })
    : await api("PATCH", `/messages/${message.id}`, { body: text });
  receive(answer.message);
}

export async function remove(message) {
  const answer = socket?.connected
    ? await socket.call("delete_message", { message_id: message.id })
    : await api("DELETE", `/messages/${message.id}`);
  receive(answer.message);
}

// Typing -----------------------------------------------------------------------

export function typing(stream, active) {
  if (!socket?.connected) return;
  const now = Date.now();
  const last = typingSentAt.get(stream.key) || 0;
  const data = { channel_id: stream.channelId };
  if (stream.kind === "thread") data.thread_id = stream.id;
  if (active) {
    if (now - last < TYPING_EVERY_MS) return;
    typingSentAt.set(stream.key, now);
    socket.send("typing", data);
  } else if (last) {
    stopTyping(stream);
  }
}

function stopTyping(stream) {
  if (!typingSentAt.get(stream.key)) return;
  typingSentAt.delete(stream.key);
  const data = { channel_id: stream.channelId, typing: false };
  if (stream.kind === "thread") data.thread_id = stream.id;
  socket?.send("typing", data);
}

function sweepTyping() {
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

// Incoming ---------------------------------------------------------------------

/** Put a message where it belongs (its channel's stream or its thread's). */
function receive(message, { live = false } = {}) {
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
function mergeEverywhere(message) {
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

const handlers = {
  new_message: ({ message }) => {
    receive(message, { live: true });
    const key = message.thread_id ? `t:${message.thread_id}` : `c:${message.channel_id}`;
    const people = store.typing.get(key);
    if (people?.delete(message.author.id)) store.emit("typing", key);
  },
  message_updated: ({ message }) => mergeEverywhere(message),
  message_deleted: ({ message_id, channel_id, thread_id }) => {
    const stream = thread_id ? store.findStream("thread", thread_id) : store.findStream("channel", channel_id);
    const old = stream?.messages.get(message_id);
    if (old) mergeEverywhere({ ...old, deleted: true, body: "", payload: null });
  },
  thread_created: ({ thread }) => {
    store.threads.set(thread.id, thread);
    const stream = store.findStream("channel", thread.channel_id);
    const root = stream?.messages.get(thread.root_message_id);
    if (root && root.started_thread_id !== thread.id) mergeEverywhere({ ...root, started_thread_id: thread.id });
  },
  typing_indicator: ({ channel_id, thread_id, user, typing: active }) => {
    if (user.id === store.me.id) return;
    const key = thread_id ? `t:${thread_id}` : `c:${channel_id}`;
    if (!store.typing.has(key)) store.typing.set(key, new Map());
    const people = store.typing.get(key);
    if (active) people.set(user.id, { username: user.username, until: Date.now() + TYPING_STALE_MS });
    else people.delete(user.id);
    store.emit("typing", key);
  },
  user_status: ({ user_id, status }) => {
    store.status.set(user_id, status);
    store.emit("presence", user_id);
  },
  member_joined: ({ channel_id, user_id }) => {
    if (user_id === store.me.id && !store.channels.get(channel_id)?.is_member) {
      loadChannels().then(() => joinRoom(channel_id));
    } else if (store.members.has(channel_id)) {
      loadMembers(channel_id).catch(() => {});
    }
  },
  member_left: ({ channel_id, user_id }) => {
    if (user_id === store.me.id) {
      loadChannels();
    } else if (store.members.has(channel_id)) {
      loadMembers(channel_id).catch(() => {});
    }
  },
  llm_response: (data) => {
    const stream = data.thread_id
      ? store.findStream("thread", data.thread_id)
      : store.findStream("channel", data.channel_id);
    if (!stream || !data.query_id) return;
    // "done" and "error" end it: the bot's reply (the answer, or what went wrong) is posted first
    if (data.status === "done" || data.status === "error") stream.progress.delete(data.query_id);
    else stream.progress.set(data.query_id, { ...data, at: Date.now() });
    store.emit(`stream:${stream.key}`);
  },
  bot_status: (data) => store.emit("bots", data.thread_id),
};

// Reconnect and catch up ---------------------------------------------------------

async function afterConnect() {
  // Rooms first, then sync: nothing can fall between the catch-up and live events.
  const reconnect = store.connectedOnce;
  store.connectedOnce = true;
  if (reconnect) await loadChannels().catch(() => {});
  await Promise.all(store.memberChannels().map((c) => joinRoom(c.id)));
  if (store.openThread) {
    await socket.call("join_thread", { thread_id: store.openThread }).catch(() => {});
  }
  await catchUp();
  await flushPending();
  if (store.currentChannel) {
    markRead(store.currentChannel);
    loadMembers(store.currentChannel).catch(() => {});
  }
}

async function catchUp() {
  let cursors = {};
  let threadCursors = {};
  for (const stream of store.streams.values()) {
    if (!stream.loaded) continue;
    if (stream.kind === "channel") cursors[stream.id] = stream.cursor;
    else threadCursors[stream.id] = stream.cursor;
  }
  for (let round = 0; round < 20; round++) {
    if (!Object.keys(cursors).length && !Object.keys(threadCursors).length) return;
    const answer = await socket.call("sync", { cursors, thread_cursors: threadCursors, limit: 100 });
    const nextCursors = {};
    const nextThreads = {};
    for (const entry of answer.channels) apply(entry, "channel", entry.channel_id, nextCursors);
    for (const entry of answer.threads) apply(entry, "thread", entry.thread_id, nextThreads);
    cursors = nextCursors;
    threadCursors = nextThreads;
  }
}

function apply(entry, kind, id, next) {
  const stream = store.findStream(kind, id);
  if (!stream) return;
  if (entry.error) {
    if (kind === "channel") store.channels.delete(id);
    store.emit("channels");
    return;
  }
  for (const m of [...entry.updates, ...entry.messages]) mergeEverywhere(m);
  for (const m of entry.messages) if (m.thread_id) store.countedReplies.add(m.id);
  if (entry.updates_has_more) {
    stream.loaded = false; // too much changed: reload through REST when shown
    stream.messages.clear();
    if (kind === "channel" && store.currentChannel === id) openChannel(id).catch(() => {});
  }
  if (entry.has_more) next[id] = stream.cursor;
}

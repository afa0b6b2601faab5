// What the server pushes: live events merged into the store, and the catch-up after
// every (re)connect: join the rooms first, then `sync` from the cursors copied when the
// connection dropped, merging by id (docs/realtime.md, "Reconnecting and catching up").

import { conn } from "./conn.js";
import { store } from "./store.js";
import { loadChannels, joinRoom, openChannel, markRead, loadMembers } from "./channels.js";
import { receive, mergeEverywhere } from "./incoming.js";
import { flushPending } from "./outbox.js";
import { TYPING_STALE_MS } from "./typing.js";
import { notifyMessage, isDirect } from "./notify.js";
import { annotationHandlers } from "./annotations.js";

// Server events ----------------------------------------------------------------

/** Server events -> store. */
export const handlers = {
  new_message: ({ message }) => {
    receive(message, { live: true });
    if (isDirect(store.channels.get(message.channel_id))) notifyMessage(message, "direct");
    const key = message.thread_id ? `t:${message.thread_id}` : `c:${message.channel_id}`;
    const people = store.typing.get(key);
    if (people?.delete(message.author.id)) store.emit("typing", key);
  },
  message_updated: ({ message }) => mergeEverywhere(message),
  // a message that mentions me (sent to my own sockets only): the badge, and the desktop
  mention: ({ message }) => {
    notifyMessage(message, "mention");
    const channel = store.channels.get(message.channel_id);
    // mention_count counts the channel's stream, as unread_count does
    if (!channel || message.thread_id) return;
    if (store.currentChannel === message.channel_id && document.visibilityState === "visible") return; // read now
    channel.mention_count = (channel.mention_count || 0) + 1;
    store.emit("channels");
  },
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
  // renamed, a new topic, archived: the channel list has it
  channel_updated: () => loadChannels().catch(() => {}),
  member_removed: ({ channel_id, user_id }) => handlers.member_left({ channel_id, user_id }),
  // someone started a conversation with us: the server put our sockets in its room already
  dm_created: ({ channel }) => {
    store.channels.set(channel.id, { ...store.channels.get(channel.id), ...channel });
    store.emit("channels");
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
  bot_status: (data) => store.emit("bots", data),
  ...annotationHandlers,
};

// Reconnect and catch up ---------------------------------------------------------

/**
 * Copy the `sync` cursors (the newest message id held per loaded stream): at a
 * disconnect, or before the first join. A copy is kept until a catch-up from it has
 * succeeded, so a connection that drops again mid-sync resumes from the same place;
 * only streams it lacks are added to it.
 */
export function takeCursors() {
  if (!store.syncCursors) store.syncCursors = new Map();
  for (const stream of store.streams.values()) {
    if (stream.loaded && !store.syncCursors.has(stream.key)) store.syncCursors.set(stream.key, stream.cursor);
  }
  return store.syncCursors;
}

/** The cursors to sync from: the copy, plus the current cursor of streams loaded since. */
function cursorsFrom(copy) {
  const out = new Map();
  for (const stream of store.streams.values()) {
    if (!stream.loaded) continue;
    out.set(stream.key, copy.has(stream.key) ? Math.min(copy.get(stream.key), stream.cursor || Infinity) : stream.cursor);
  }
  return out;
}

/** On every connect: rooms first, then `sync` from the cursors copied earlier, then the waiting messages. */
export async function afterConnect() {
  // Cursors before joining: a live message that arrives between the join and the sync
  // must not move a cursor past messages that were never broadcast to us.
  const copy = takeCursors();
  const reconnect = store.connectedOnce;
  store.connectedOnce = true;
  if (reconnect) await loadChannels().catch(() => {});
  const from = cursorsFrom(copy); // before joining: streams opened while offline count from now
  await Promise.all(store.memberChannels().map((c) => joinRoom(c.id)));
  if (store.openThread) {
    await conn.socket.call("join_thread", { thread_id: store.openThread }).catch(() => {});
  }
  try {
    await catchUp(from);
    if (store.syncCursors === copy) store.syncCursors = null; // caught up: the next drop copies anew
  } catch (err) {
    console.warn("venn: sync failed:", err.code || err); // the next connect tries again from the same copy
  }
  await flushPending();
  if (store.currentChannel) {
    markRead(store.currentChannel);
    loadMembers(store.currentChannel).catch(() => {});
  }
}

/** `sync` the given streams (at most 100 channels and 100 threads a call), until none has more. */
async function catchUp(from) {
  const channels = [];
  const threads = [];
  for (const [key, cursor] of from) {
    const stream = store.streams.get(key);
    if (!stream) continue;
    (stream.kind === "channel" ? channels : threads).push([stream.id, cursor]);
  }
  for (let i = 0; i < Math.max(channels.length, threads.length); i += 100) {
    await syncFrom(Object.fromEntries(channels.slice(i, i + 100)), Object.fromEntries(threads.slice(i, i + 100)));
  }
}

async function syncFrom(cursors, threadCursors) {
  for (let round = 0; round < 50; round++) {
    if (!Object.keys(cursors).length && !Object.keys(threadCursors).length) return;
    const answer = await conn.socket.call("sync", { cursors, thread_cursors: threadCursors, limit: 100 });
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
    return;
  }
  // the next page starts after the last message of this one (not the stream's newest:
  // live messages merged meanwhile may be ahead of what sync has returned so far)
  if (entry.has_more && entry.messages.length) next[id] = entry.messages[entry.messages.length - 1].id;
}

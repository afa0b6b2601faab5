// Channels: the list, joining and leaving, their members, a channel's message stream
// and the read marker. Shared by the controller (chat.js) and the live updates
// (live.js), which both build on it; it imports neither.

import { api } from "./api.js";
import { conn } from "./conn.js";
import { store } from "./store.js";

export const PAGE = 50;

let readTimers = new Map(); // channel id -> timer

// The list and membership -----------------------------------------------------

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

/** Open (or make) the direct conversation with these people; the channel. */
export async function openDm(userIds) {
  const { channel } = await api("POST", "/dms", { user_ids: userIds });
  store.channels.set(channel.id, channel);
  store.emit("channels");
  await joinRoom(channel.id);
  return channel;
}

/** People whose username or display name starts with `q` (for pickers). */
export async function searchPeople(q, limit = 8) {
  const { users } = await api("GET", `/users?q=${encodeURIComponent(q)}&limit=${limit}`);
  return users;
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

// A channel's stream ------------------------------------------------------------

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
        channel.mention_count = answer.mention_count ?? 0;
      } catch {
        channel.unread_count = 0;
        channel.mention_count = 0;
      }
      store.emit("channels");
    }, 300),
  );
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && store.currentChannel) markRead(store.currentChannel);
});

/** Forget the read markers waiting to be sent (the session ended). */
export function clearReadTimers() {
  for (const t of readTimers.values()) clearTimeout(t);
  readTimers = new Map();
}

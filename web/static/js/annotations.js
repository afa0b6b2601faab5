// Reactions and pins: adding and removing them (reactions through the socket when it is
// up, else REST; pins through REST), the channel's pin list, and the live events that
// change them (merged into the copies the store holds; docs/realtime.md).

import { api } from "./api.js";
import { conn } from "./conn.js";
import { store } from "./store.js";
import { mergeEverywhere } from "./incoming.js";

/** Add (`on`) or remove the user's reaction `emoji` on `message`. */
export async function toggleReaction(message, emoji, on) {
  const id = message.id;
  const answer = conn.socket?.connected
    ? await conn.socket.call(on ? "add_reaction" : "remove_reaction", { message_id: id, emoji })
    : on
      ? await api("POST", `/messages/${id}/reactions`, { emoji })
      : await api("DELETE", `/messages/${id}/reactions/${encodeURIComponent(emoji)}`);
  patchHeld(answer.message, { reactions: answer.message.reactions });
}

/** Pin (`on`) or unpin `message`. */
export async function setPinned(message, on) {
  const answer = await api(on ? "POST" : "DELETE", `/messages/${message.id}/pin`);
  patchHeld(answer.message, pinFields(answer.message));
  store.emit(`pins:${message.channel_id}`);
}

/** The channel's pinned messages, the latest pinned first. */
export async function loadPins(channelId) {
  return (await api("GET", `/channels/${channelId}/pins`)).pins;
}

function pinFields(m) {
  return { pinned: Boolean(m.pinned), pinned_at: m.pinned_at || null, pinned_by: m.pinned_by ?? null };
}

/** The copy of a message the store holds, or null (an old message that is not loaded
 * stays out: it is read with its reactions when its page is). */
function held({ message_id, id, channel_id, thread_id }) {
  const messageId = message_id ?? id;
  const stream = thread_id ? store.findStream("thread", thread_id) : store.findStream("channel", channel_id);
  const found = stream?.messages.get(messageId);
  if (found) return found;
  for (const s of store.streams.values()) if (s.root?.id === messageId) return s.root;
  return null;
}

function patchHeld(ref, fields) {
  const message = held(ref);
  if (message) mergeEverywhere({ ...message, ...fields });
}

/** One person's reaction added or taken back, applied to the list held: events from
 * different server processes may arrive out of order, and a change applied this way
 * comes out the same in any order (the event's whole `reactions` list might not). */
function applyReaction(data, adding) {
  const message = held(data);
  if (!message) return;
  const reactions = (message.reactions || []).map((r) => ({ ...r, user_ids: [...r.user_ids] }));
  let entry = reactions.find((r) => r.emoji === data.emoji);
  if (adding && !entry) {
    const named = (data.reactions || []).find((r) => r.emoji === data.emoji);
    entry = { emoji: data.emoji, name: named?.name || "", count: 0, user_ids: [] };
    reactions.push(entry);
  }
  if (!entry) return;
  const has = entry.user_ids.includes(data.user_id);
  if (adding && !has) entry.user_ids.push(data.user_id);
  if (!adding && has) entry.user_ids = entry.user_ids.filter((id) => id !== data.user_id);
  entry.count = entry.user_ids.length;
  mergeEverywhere({ ...message, reactions: reactions.filter((r) => r.count > 0) });
}

/** Server events -> store (spread into live.js's handlers). */
export const annotationHandlers = {
  reaction_added: (data) => applyReaction(data, true),
  reaction_removed: (data) => applyReaction(data, false),
  message_pinned: (data) => {
    patchHeld(data, pinFields(data.message));
    store.emit(`pins:${data.channel_id}`);
  },
  message_unpinned: (data) => {
    patchHeld(data, pinFields({}));
    store.emit(`pins:${data.channel_id}`);
  },
};

// The client's state: channels, message streams (a channel's or a thread's), people,
// presence, typing and the connection. Views subscribe to topics and re-render.

/** A message stream: the channel's own ("c:ID") or a thread's ("t:ID"). */
export class Stream {
  constructor(kind, id, channelId) {
    this.kind = kind; // "channel" | "thread"
    this.id = id;
    this.channelId = channelId;
    this.messages = new Map(); // id -> message
    this.pending = new Map(); // client_msg_id -> {client_msg_id, body, state, error}
    this.loaded = false;
    this.hasMore = false;
    this.loadingOlder = false;
    this.progress = new Map(); // query_id -> llm_response data (threads)
  }

  get key() {
    return `${this.kind === "channel" ? "c" : "t"}:${this.id}`;
  }

  /** The highest message id held (the `sync` cursor). */
  get cursor() {
    let max = 0;
    for (const id of this.messages.keys()) if (id > max) max = id;
    return max;
  }

  get firstId() {
    let min = Infinity;
    for (const id of this.messages.keys()) if (id < min) min = id;
    return Number.isFinite(min) ? min : null;
  }

  /** Messages oldest first. */
  sorted() {
    return [...this.messages.values()].sort((a, b) => a.id - b.id);
  }

  /** Merge by id (a newer copy replaces ours); true when something changed. */
  merge(message) {
    const old = this.messages.get(message.id);
    if (old && sameMessage(old, message)) return false;
    this.messages.set(message.id, message);
    if (message.client_msg_id) this.pending.delete(message.client_msg_id);
    return true;
  }
}

function sameMessage(a, b) {
  return (
    a.body === b.body &&
    a.edited_at === b.edited_at &&
    a.deleted === b.deleted &&
    a.reply_count === b.reply_count &&
    a.started_thread_id === b.started_thread_id &&
    JSON.stringify(a.reactions || []) === JSON.stringify(b.reactions || []) &&
    JSON.stringify(a.payload ?? null) === JSON.stringify(b.payload ?? null) && // a bot's update (its buttons)
    (a.pinned_at || null) === (b.pinned_at || null)
  );
}

/** A direct conversation (kind "dm" or "group_dm"): shown by its members, never by name. */
export function isDm(channel) {
  return channel?.kind === "dm" || channel?.kind === "group_dm";
}

/** What a channel is called on screen: "#name", or the other people of a conversation. */
export function channelTitle(channel, { hash = true } = {}) {
  if (!channel) return "";
  if (isDm(channel)) {
    const names = (channel.members || []).map((m) => m.display_name || m.username);
    return names.length ? names.join(", ") : "Just you";
  }
  return hash ? `#${channel.name}` : channel.name;
}

class Store {
  constructor() {
    this.reset();
    this.listeners = new Map();
  }

  reset() {
    this.me = null;
    this.channels = new Map(); // id -> channel
    this.streams = new Map(); // key -> Stream
    this.threads = new Map(); // id -> thread
    this.members = new Map(); // channel id -> [user]
    this.status = new Map(); // user id -> "online" | "offline"
    this.typing = new Map(); // stream key -> Map(user id -> {username, until})
    this.connection = "connecting";
    /** what the server said when it refused the connection for good (state "refused") */
    this.connectionMessage = "";
    this.currentChannel = null;
    this.openThread = null;
    this.plugins = null;
    this.countedReplies = new Set(); // reply ids already counted in their root's reply_count
    this.connectedOnce = false;
    this.syncCursors = null; // stream key -> cursor, copied at a disconnect until caught up
  }

  on(topic, cb) {
    if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
    this.listeners.get(topic).add(cb);
    return () => this.listeners.get(topic).delete(cb);
  }

  /** Tell the views: topics are "channels", "stream:<key>", "members", "typing", "connection", "thread". */
  emit(topic, detail) {
    for (const cb of this.listeners.get(topic) || []) cb(detail);
  }

  stream(kind, id, channelId) {
    const key = `${kind === "channel" ? "c" : "t"}:${id}`;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = new Stream(kind, id, channelId);
      this.streams.set(key, stream);
    }
    return stream;
  }

  findStream(kind, id) {
    return this.streams.get(`${kind === "channel" ? "c" : "t"}:${id}`) || null;
  }

  /** The channel-stream message that roots a thread, if held. */
  rootOf(threadId) {
    const thread = this.threads.get(threadId);
    for (const stream of this.streams.values()) {
      if (stream.kind !== "channel") continue;
      if (thread && stream.messages.has(thread.root_message_id)) return stream.messages.get(thread.root_message_id);
      for (const m of stream.messages.values()) if (m.started_thread_id === threadId) return m;
    }
    return null;
  }

  // archived channels are read-only: listed (so owners can find and unarchive them), never counted
  memberChannels({ archived = false } = {}) {
    return [...this.channels.values()].filter((c) => c.is_member && (archived || !c.archived));
  }

  isAdmin() {
    return this.me?.role === "admin";
  }
}

export const store = new Store();

// Desktop notifications (the browser's Notification API): a message that mentions me,
// and a new message in a direct conversation, while this tab is hidden. Permission is
// asked only when the person clicks the button that offers it, never on load.

import { store } from "./store.js";

const notified = new Set(); // message ids told already (a direct message that mentions me comes twice)

/** "granted", "denied", "default" (not asked yet) or "unsupported". */
export function notificationState() {
  return typeof window.Notification === "function" ? window.Notification.permission : "unsupported";
}

/** Ask for permission (from a click); the views hear "notifications" once answered. */
export async function askPermission() {
  let answer = "denied";
  try {
    answer = await window.Notification.requestPermission();
  } finally {
    store.emit("notifications", answer);
  }
  return answer;
}

/** A conversation between people rather than a channel (the direct messages' kinds). */
export function isDirect(channel) {
  return channel?.kind === "dm" || channel?.kind === "group_dm";
}

/** Tell of `message` on the desktop (`why`: "mention" or "direct"), if the tab is hidden and it is allowed. */
export function notifyMessage(message, why) {
  if (document.visibilityState !== "hidden" || notificationState() !== "granted") return;
  if (!message || message.deleted || message.author?.id === store.me?.id || notified.has(message.id)) return;
  notified.add(message.id);
  const channel = store.channels.get(message.channel_id);
  const who = message.author?.display_name || message.author?.username || "Someone";
  let title;
  if (isDirect(channel)) title = why === "mention" ? `${who} mentioned you` : `${who} sent you a message`;
  else title = `${who} mentioned you${channel ? ` in #${channel.name}` : ""}`;
  const body = (message.body || "").replace(/\s+/g, " ").trim().slice(0, 200) || "(attachment)";
  try {
    const note = new window.Notification(title, { body, tag: `venn-message-${message.id}` });
    note.onclick = () => {
      window.focus();
      const base = `#/channel/${message.channel_id}`;
      location.hash = message.thread_id ? `${base}/thread/${message.thread_id}` : base;
      note.close?.();
    };
  } catch (err) {
    console.warn("notification not shown:", err); // e.g. a browser that wants a service worker for them
  }
}

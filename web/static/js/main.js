// Entry point: resume the session or show sign-in, then load the plugins' renderers,
// lay out the chat and route "#/channel/ID[/thread/TID]" to what is shown.

import { restore, logout, onSessionEnd } from "./api.js";
import * as chat from "./chat.js";
import { store, isDm } from "./store.js";
import { h, clear } from "./dom.js";
import { renderAuth } from "./views/auth.js";
import { Sidebar } from "./views/sidebar.js";
import { ChannelView } from "./views/channel.js";
import { ThreadPanel } from "./views/thread.js";
import { toast } from "./views/dialog.js";
import { loadRenderers } from "./renderers.js";
import { searchBox } from "./views/search.js";

const root = document.getElementById("app");
let running = false;

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
};

function parseRoute() {
  const m = location.hash.match(/^#\/channel\/(\d+)(?:\/thread\/(\d+))?/);
  return m ? { channel: Number(m[1]), thread: m[2] ? Number(m[2]) : null } : { channel: null, thread: null };
}

async function route(view) {
  let { channel, thread } = parseRoute();
  if (!channel || !store.channels.get(channel)?.is_member) {
    // a channel first, else a conversation
    const first = store.memberChannels().sort((a, b) => isDm(a) - isDm(b) || a.name.localeCompare(b.name))[0];
    channel = first ? first.id : null;
    thread = null;
    if (channel) history.replaceState(null, "", `#/channel/${channel}`);
  }
  setNav(false);
  if (channel !== store.currentChannel || !view.channelId) {
    if (store.openThread && !thread) chat.closeThread();
    try {
      if (channel) await chat.openChannel(channel);
      else store.currentChannel = null;
    } catch (err) {
      toast(err.message);
    }
    view.show(channel);
  }
  if (thread && thread !== store.openThread) await chat.openThread(thread).catch((err) => toast(err.message));
  else if (!thread && store.openThread) chat.closeThread();
}

/** Open or close the sidebar of the narrow layout; the menu buttons say which (aria-expanded). */
function setNav(open) {
  document.body.classList.toggle("nav-open", open);
  for (const button of document.querySelectorAll(".menu-button")) button.setAttribute("aria-expanded", String(open));
}

async function startChat(user) {
  running = true;
  // the plugins' payload renderers load with the channels, before any message is drawn
  await Promise.all([chat.start(user), loadRenderers()]);
  const banner = h("div.connection-banner", { role: "status", "aria-live": "polite", hidden: true });
  const sidebar = new Sidebar({
    onOpen: () => setNav(false),
    onLogout: () => logout(),
  });
  const view = new ChannelView({
    onMenu: () => {
      const open = !document.body.classList.contains("nav-open");
      setNav(open);
      if (open) sidebar.focus();
    },
    onCreate: () => sidebar.createDialog(),
    onBrowse: () => sidebar.browseDialog(),
  });
  const thread = new ThreadPanel();
  const scrim = h("div.scrim", { onclick: () => setNav(false) });
  // Escape closes the narrow layout's sidebar, and the keyboard goes back to the menu button
  sidebar.el.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented || !document.body.classList.contains("nav-open")) return;
    setNav(false);
    view.el.querySelector(".menu-button")?.focus();
  });
  const search = h("header.search-bar", searchBox((m) => view.showFound(m)));
  clear(root).append(h("div.layout", sidebar.el, scrim, h("div.main-column", banner, search, view.el), thread.el));
  const showConnection = (state) => {
    banner.hidden = state === "online";
    // "refused": the server's own words (e.g. this page's origin is not accepted)
    banner.textContent = CONNECTION_TEXT[state] || store.connectionMessage || "";
    banner.dataset.state = state;
    document.body.dataset.connection = state;
  };
  store.on("connection", showConnection);
  showConnection(store.connection);
  store.on("thread", (id) => {
    const base = `#/channel/${store.currentChannel}`;
    const want = id ? `${base}/thread/${id}` : base;
    if (store.currentChannel && location.hash !== want) history.replaceState(null, "", want);
  });
  store.on("channels", () => {
    const unread = store.memberChannels().reduce((n, c) => n + (c.id === store.currentChannel ? 0 : c.unread_count || 0), 0);
    document.title = unread ? `(${unread}) Venn` : "Venn";
    // The channel shown is gone (left, or removed meanwhile): show another.
    if (store.currentChannel && !store.channels.get(store.currentChannel)) route(view);
  });
  window.onhashchange = () => route(view);
  await route(view);
}

function showAuth(notice) {
  running = false;
  document.title = "Venn";
  window.onhashchange = null;
  document.body.classList.remove("thread-open", "nav-open");
  delete document.body.dataset.connection;
  renderAuth(root, {
    notice,
    onDone: (user) => startChat(user).catch(fatal),
  });
}

function fatal(err) {
  console.error(err);
  clear(root).append(
    h("main.auth-page", h("div.auth-card", h("h1", "Something went wrong"), h("p", err.message || String(err)), h("button.button", { type: "button", onclick: () => location.reload() }, "Reload"))),
  );
}

onSessionEnd((reason) => {
  chat.stop();
  for (const dialog of document.querySelectorAll("dialog")) dialog.remove();
  if (running || reason !== "logout") showAuth(reason);
});

async function boot() {
  let user = null;
  try {
    user = await restore();
  } catch (err) {
    // the server is unreachable: try again shortly, keeping the session
    clear(root).append(h("main.auth-page", h("div.auth-card", h("h1", "Venn"), h("p", `${err.message} Retrying…`))));
    setTimeout(boot, 3000);
    return;
  }
  if (user) await startChat(user).catch(fatal);
  else if (!root.querySelector(".auth-form")) showAuth(null); // (a revoked session has shown it, saying why)
}

boot();

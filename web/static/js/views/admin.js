// The admin page (admins only), in a dialog with three tabs: people (search, make
// admin or member, deactivate or reactivate), invite links (create, copy, revoke) and
// the audit log (filtered by action and target). The server decides: a refusal (the
// last admin, say) is shown where it happened.

import { api } from "../api.js";
import { store } from "../store.js";
import { h, clear } from "../dom.js";
import { modal, confirmBox, toast, errorText } from "./dialog.js";

const TABS = [
  ["users", "People"],
  ["invites", "Invite links"],
  ["audit", "Audit log"],
];

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function query(params) {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== "" && value != null) out.set(key, value);
  const text = out.toString();
  return text ? `?${text}` : "";
}

/** Open the admin page. */
export function openAdmin() {
  const tablist = h("div.admin-tabs", { role: "tablist", "aria-label": "Administration" });
  const panels = {};
  const tabs = TABS.map(([id, label]) => {
    panels[id] = h("section.admin-panel", { id: `admin-panel-${id}`, role: "tabpanel", "aria-labelledby": `admin-tab-${id}`, tabindex: "0", hidden: true });
    return h("button.admin-tab", { type: "button", role: "tab", id: `admin-tab-${id}`, "aria-controls": `admin-panel-${id}`, "aria-selected": "false", tabindex: "-1", dataset: { tab: id }, onclick: () => select(id) }, label);
  });
  tablist.append(...tabs);
  const loaded = new Set();
  const select = (id, focus = false) => {
    for (const tab of tabs) {
      const on = tab.dataset.tab === id;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      panels[tab.dataset.tab].hidden = !on;
      if (on && focus) tab.focus();
    }
    if (!loaded.has(id)) {
      loaded.add(id);
      ({ users: usersPanel, invites: invitesPanel, audit: auditPanel })[id](panels[id]);
    }
  };
  // arrow keys move between the tabs (the ARIA tabs pattern)
  tablist.addEventListener("keydown", (event) => {
    const index = tabs.findIndex((t) => t.getAttribute("aria-selected") === "true");
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      select(tabs[event.key === "Home" ? 0 : tabs.length - 1].dataset.tab, true);
    } else if (step) {
      event.preventDefault();
      select(tabs[(index + step + tabs.length) % tabs.length].dataset.tab, true);
    }
  });
  modal("Administration", h("div.admin-page", tablist, Object.values(panels)), { wide: true });
  select("users", true);
}

// People ---------------------------------------------------------------------

function usersPanel(panel) {
  const search = h("input", { type: "search", name: "q", maxlength: 64, placeholder: "Name or username" });
  const role = h("select", { name: "role" }, h("option", { value: "" }, "Any role"), h("option", { value: "admin" }, "Admins"), h("option", { value: "member" }, "Members"));
  const state = h("select", { name: "deactivated" }, h("option", { value: "" }, "Active and deactivated"), h("option", { value: "false" }, "Active"), h("option", { value: "true" }, "Deactivated"));
  const list = h("ul.admin-list", { "aria-label": "People" });
  const more = h("button.button.secondary.small", { type: "button", hidden: true }, "Show more");
  const error = h("div.form-error", { role: "alert" });
  let before = null;
  const load = async (reset) => {
    if (reset) {
      before = null;
      clear(list);
    }
    error.textContent = "";
    try {
      const page = await api("GET", `/admin/users${query({ q: search.value.trim(), role: role.value, deactivated: state.value, before, limit: 50 })}`);
      list.append(...page.users.map(row));
      if (!list.children.length) list.append(h("li.muted", "Nobody matches."));
      before = page.users.length ? page.users[page.users.length - 1].id : before;
      more.hidden = !page.has_more;
    } catch (err) {
      error.textContent = errorText(err);
    }
  };
  const change = async (user, body, li) => {
    try {
      const { user: updated } = await api("PATCH", `/admin/users/${user.id}`, body);
      const fresh = row(updated);
      li.replaceWith(fresh);
      fresh.querySelector("button")?.focus();
    } catch (err) {
      toast(err.message);
    }
  };
  const row = (user) => {
    const li = h("li.admin-row", { dataset: { userId: user.id } });
    const name = user.display_name || user.username;
    const isMe = user.id === store.me.id;
    li.append(
      h(
        "div.admin-who",
        h("strong", name),
        h("span.muted", ` @${user.username}`),
        user.role === "admin" ? h("span.badge", "admin") : null,
        user.deactivated ? h("span.badge.deactivated", "deactivated") : null,
        isMe ? h("span.muted", " (you)") : null,
      ),
      h(
        "div.admin-actions",
        h("button.button.secondary.small", {
          type: "button",
          "aria-label": user.role === "admin" ? `Make member ${user.username}` : `Make admin ${user.username}`,
          onclick: () => change(user, { role: user.role === "admin" ? "member" : "admin" }, li),
        }, user.role === "admin" ? "Make member" : "Make admin"),
        user.deactivated
          ? h("button.button.secondary.small", { type: "button", "aria-label": `Reactivate ${user.username}`, onclick: () => change(user, { deactivated: false }, li) }, "Reactivate")
          : h("button.button.danger.small", {
              type: "button",
              "aria-label": `Deactivate ${user.username}`,
              onclick: async () => {
                const ok = await confirmBox(
                  `Deactivate ${name}?`,
                  "They are signed out everywhere at once and cannot sign in until reactivated. Their messages stay.",
                  "Deactivate",
                );
                if (ok) await change(user, { deactivated: true }, li);
              },
            }, "Deactivate"),
      ),
    );
    return li;
  };
  const form = h(
    "form.admin-filters",
    { role: "search", "aria-label": "Find people", onsubmit: (event) => { event.preventDefault(); load(true); } },
    h("label", "Search", search),
    h("label", "Role", role),
    h("label", "State", state),
    h("button.button.small", { type: "submit" }, "Search"),
  );
  role.addEventListener("change", () => load(true));
  state.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load(false));
  panel.append(form, error, list, more);
  load(true);
}

// Invite links -----------------------------------------------------------------

function invitesPanel(panel) {
  const days = h("input", { type: "number", name: "expires_in_days", min: 1, max: 365, placeholder: "never" });
  const uses = h("input", { type: "number", name: "max_uses", min: 1, max: 100000, placeholder: "no limit" });
  const error = h("div.form-error", { role: "alert" });
  const list = h("ul.admin-list", { "aria-label": "Invite links" });
  const load = async () => {
    try {
      const { invites } = await api("GET", "/admin/invites");
      clear(list).append(...invites.map(row));
      if (!invites.length) list.append(h("li.muted", "No invite links yet."));
    } catch (err) {
      error.textContent = errorText(err);
    }
  };
  const row = (invite) => {
    const link = h("input.invite-url", { type: "text", readonly: true, value: invite.url, "aria-label": "Invite link" });
    const state = invite.revoked ? "revoked" : invite.active ? "active" : "expired or used up";
    return h(
      "li.admin-row",
      { dataset: { inviteId: invite.id } },
      h(
        "div.admin-who",
        link,
        h("span.muted", ` ${state} · used ${invite.uses}${invite.max_uses ? ` of ${invite.max_uses}` : ""} · expires ${when(invite.expires_at)}`),
      ),
      h(
        "div.admin-actions",
        h("button.button.secondary.small", {
          type: "button",
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(invite.url);
              toast("Link copied.", "info");
            } catch {
              link.select(); // no clipboard access: the link is selected to copy by hand
            }
          },
        }, "Copy link"),
        invite.revoked
          ? null
          : h("button.button.danger.small", {
              type: "button",
              onclick: async () => {
                try {
                  await api("DELETE", `/admin/invites/${invite.id}`);
                  await load();
                } catch (err) {
                  toast(err.message);
                }
              },
            }, "Revoke"),
      ),
    );
  };
  const form = h(
    "form.admin-filters",
    {
      "aria-label": "New invite link",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        const body = {};
        if (days.value) body.expires_in_days = Number(days.value);
        if (uses.value) body.max_uses = Number(uses.value);
        try {
          await api("POST", "/admin/invites", body);
          await load();
          list.querySelector("input")?.focus();
        } catch (err) {
          error.textContent = errorText(err);
        }
      },
    },
    h("label", "Expires after (days)", days),
    h("label", "Uses", uses),
    h("button.button.small", { type: "submit" }, "Create invite link"),
  );
  panel.append(form, error, list);
  load();
}

// Audit log -------------------------------------------------------------------

function describe(value) {
  if (value == null) return "—";
  return Object.entries(value)
    .map(([key, v]) => `${key}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(", ");
}

function auditPanel(panel) {
  const action = h(
    "select",
    { name: "action" },
    h("option", { value: "" }, "All actions"),
    ["user", "invite", "channel", "bot"].map((kind) => h("option", { value: kind }, kind)),
  );
  const target = h("input", { name: "target", maxlength: 64, placeholder: "e.g. user:12" });
  const error = h("div.form-error", { role: "alert" });
  const list = h("ul.admin-list.audit-list", { "aria-label": "Audit log entries" });
  const more = h("button.button.secondary.small", { type: "button", hidden: true }, "Show older");
  let before = null;
  const load = async (reset) => {
    if (reset) {
      before = null;
      clear(list);
    }
    error.textContent = "";
    try {
      const page = await api("GET", `/admin/audit${query({ action: action.value, target: target.value.trim(), before, limit: 50 })}`);
      list.append(
        ...page.entries.map((e) =>
          h(
            "li.admin-row.audit-entry",
            h("div.admin-who", h("strong", e.action), h("span.muted", ` by @${e.actor.username || "?"} on ${e.target.type}${e.target.id ? ` ${e.target.id}` : ""} · ${when(e.at)}`)),
            h("div.audit-change", `${describe(e.before)} → ${describe(e.after)}`),
          ),
        ),
      );
      if (!list.children.length) list.append(h("li.muted", "Nothing recorded."));
      before = page.entries.length ? page.entries[page.entries.length - 1].id : before;
      more.hidden = !page.has_more;
    } catch (err) {
      error.textContent = errorText(err);
    }
  };
  const form = h(
    "form.admin-filters",
    { role: "search", "aria-label": "Filter the audit log", onsubmit: (event) => { event.preventDefault(); load(true); } },
    h("label", "Action", action),
    h("label", "Target", target),
    h("button.button.small", { type: "submit" }, "Filter"),
  );
  action.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load(false));
  panel.append(form, error, list, more);
  load(true);
}

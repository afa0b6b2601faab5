// The profile dialog: change the display name and the password, and see where one
// is signed in (sessions: device, address, last use) and sign any of them out. A new
// password signs out every other session (the server does it; the list is reloaded).

import { api, setCurrentUser } from "../api.js";
import { store } from "../store.js";
import { h, clear } from "../dom.js";
import { modal, confirmBox, toast, errorText } from "./dialog.js";

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** Open the profile dialog. */
export function openProfile({ onRenamed } = {}) {
  const sessions = h("ul.admin-list.session-list", { "aria-label": "Your sessions" });
  const sessionsError = h("div.form-error", { role: "alert" });
  const body = h(
    "div.profile",
    nameForm(onRenamed),
    passwordForm(() => loadSessions(sessions, sessionsError)),
    h("section", { "aria-labelledby": "profile-sessions" },
      h("h3", { id: "profile-sessions" }, "Where you are signed in"),
      sessionsError,
      sessions),
  );
  modal("Your profile", body, { wide: true });
  loadSessions(sessions, sessionsError);
}

function nameForm(onRenamed) {
  const name = h("input", { name: "display_name", autocomplete: "name", maxlength: 80, required: true, value: store.me.display_name || store.me.username });
  const error = h("div.form-error", { role: "alert" });
  return h(
    "form.profile-form",
    {
      "aria-label": "Display name",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          const { user } = await api("PATCH", "/users/me", { display_name: name.value.trim() });
          store.me = user;
          setCurrentUser(user);
          onRenamed?.(user);
          toast("Your display name is saved.", "info");
        } catch (err) {
          error.textContent = errorText(err);
        }
      },
    },
    h("label.field", "Display name", name),
    error,
    h("div.form-actions", h("button.button.small", { type: "submit" }, "Save name")),
  );
}

function passwordForm(reloadSessions) {
  const current = h("input", { name: "current_password", type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const error = h("div.form-error", { role: "alert" });
  return h(
    "form.profile-form",
    {
      "aria-label": "Change password",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          await api("PATCH", "/users/me", { password: next.value, current_password: current.value });
          current.value = next.value = "";
          toast("Password changed. Your other sessions are signed out.", "info");
          await reloadSessions();
        } catch (err) {
          error.textContent = errorText(err);
        }
      },
    },
    h("h3", "Change password"),
    h("label.field", "Current password", current),
    h("label.field", "New password", next),
    error,
    h("div.form-actions", h("button.button.small", { type: "submit" }, "Change password")),
  );
}

async function loadSessions(list, error) {
  error.textContent = "";
  try {
    const { sessions } = await api("GET", "/users/me/sessions");
    clear(list).append(...sessions.map((s) => sessionRow(s, list, error)));
  } catch (err) {
    error.textContent = errorText(err);
  }
}

function sessionRow(session, list, error) {
  const device = session.user_agent || "Unknown device";
  const li = h("li.admin-row", { dataset: { sessionId: session.id } });
  li.append(
    h(
      "div.admin-who",
      h("strong.session-device", device),
      session.current ? h("span.badge", "this browser") : null,
      h("div.muted", `Signed in ${when(session.created_at)} · last used ${when(session.last_used_at)}${session.client_ip ? ` · from ${session.client_ip}` : ""}`),
    ),
    session.current
      ? null
      : h("div.admin-actions",
          h("button.button.danger.small", {
            type: "button",
            "aria-label": `Sign out ${device}, signed in ${when(session.created_at)}`,
            onclick: async () => {
              const ok = await confirmBox("Sign out this session?", `${device} is signed out at once.`, "Sign out");
              if (!ok) return;
              try {
                await api("DELETE", `/users/me/sessions/${session.id}`);
                li.remove();
                list.querySelector("button")?.focus();
              } catch (err) {
                error.textContent = errorText(err);
              }
            },
          }, "Sign out")),
  );
  return li;
}

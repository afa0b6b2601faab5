// Sign in and sign up.

import { login, register } from "../api.js";
import { h, clear } from "../dom.js";
import { errorText } from "./dialog.js";

const NOTICES = {
  revoked: "You were signed out (your session was ended on this or another device).",
  expired: "Your session expired. Please sign in again.",
  logout: "You are signed out.",
  signed_out_elsewhere: "You signed out in another tab.",
};

/** Render the sign-in page into `root`; `onDone(user)` once signed in. */
export function renderAuth(root, { notice, onDone }) {
  // an invite link (VENN_REGISTRATION=invite) opens the sign-up form with its code
  const inviteCode = new URLSearchParams(location.search).get("invite") || "";
  let mode = "login";
  const username = h("input", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 32, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const displayName = h("input", { name: "display_name", autocomplete: "name", maxlength: 80 });
  const nameField = h("label.signup-only", "Display name (optional)", displayName);
  const invite = h("input", { name: "invite_code", value: inviteCode, autocomplete: "off", maxlength: 64, spellcheck: "false" });
  const inviteField = h("label.signup-only", "Invite code (if the server needs one)", invite);
  const error = h("div.form-error", { role: "alert" });
  const submit = h("button.button.wide", { type: "submit" }, "Sign in");
  const switcher = h("button.link", { type: "button" });
  const title = h("h1");
  const form = h(
    "form.form.auth-form",
    { novalidate: false },
    title,
    notice && NOTICES[notice] ? h("div.notice", NOTICES[notice]) : null,
    h("label", "Username", username),
    h("label", "Password", password),
    nameField,
    inviteField,
    error,
    submit,
    h("p.switch", switcher),
  );
  const setMode = (next) => {
    mode = next;
    title.textContent = mode === "login" ? "Sign in to Venn" : "Create your account";
    submit.textContent = mode === "login" ? "Sign in" : "Create account";
    switcher.textContent = mode === "login" ? "New here? Create an account" : "Already have an account? Sign in";
    password.autocomplete = mode === "login" ? "current-password" : "new-password";
    form.classList.toggle("signup", mode === "signup");
    error.textContent = "";
  };
  switcher.addEventListener("click", () => setMode(mode === "login" ? "signup" : "login"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      const user =
        mode === "login"
          ? await login(username.value.trim(), password.value)
          : await register({
              username: username.value.trim(),
              password: password.value,
              display_name: displayName.value.trim(),
              invite_code: invite.value.trim(),
            });
      if (inviteCode) history.replaceState(null, "", location.pathname + location.hash);
      onDone(user);
    } catch (err) {
      error.textContent = err.status === 429 ? `${err.message} Try again in ${err.extra.retry_after || 10} s.` : errorText(err);
    } finally {
      submit.disabled = false;
    }
  });
  setMode(inviteCode ? "signup" : "login");
  clear(root).append(
    h(
      "main.auth-page",
      h("div.auth-card", h("div.brand.big", h("span.logo", { "aria-hidden": "true" }, "V"), "Venn"), form),
    ),
  );
  username.focus();
}

// Modal dialogs (<dialog>), and a small toast for errors.

import { h, clear } from "../dom.js";

let dialogs = 0; // for the ids that name each dialog by its title

/**
 * Show a modal with `title` and `body` (nodes). `actions` are buttons. Returns
 * {close, el}. Escape or a click on the backdrop closes it.
 */
export function modal(title, body, { wide = false } = {}) {
  const titleId = `dialog-title-${++dialogs}`;
  const dialog = h(`dialog.modal${wide ? ".wide" : ""}`, { "aria-labelledby": titleId });
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  dialog.append(
    h(
      "div.modal-head",
      h("h2", { id: titleId }, title),
      h("button.icon-button", { type: "button", "aria-label": "Close", title: "Close", onclick: close }, "×"),
    ),
    h("div.modal-body", body),
  );
  dialog.addEventListener("close", () => dialog.remove());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) close();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { close, el: dialog };
}

/** Ask for confirmation; resolves true or false. */
export function confirmBox(title, text, okLabel = "OK") {
  return new Promise((resolve) => {
    let answered = false;
    const done = (value) => {
      if (answered) return;
      answered = true;
      resolve(value);
      box.close();
    };
    const box = modal(
      title,
      h(
        "div",
        h("p", text),
        h(
          "div.form-actions",
          h("button.button.secondary", { type: "button", onclick: () => done(false) }, "Cancel"),
          h("button.button.danger", { type: "button", onclick: () => done(true) }, okLabel),
        ),
      ),
    );
    box.el.addEventListener("close", () => done(false));
  });
}

let toastTimer = null;

/** A short message at the bottom of the screen. */
export function toast(text, kind = "error") {
  let el = document.getElementById("toast");
  if (!el) {
    el = h("div", { id: "toast", role: "status", "aria-live": "polite" });
    document.body.append(el);
  }
  clear(el);
  el.className = `toast ${kind} show`;
  el.append(String(text));
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 5000);
}

/** Error text next to a form: message, and each field's message. */
export function errorText(err) {
  const fields = (err.fields || []).map((f) => `${f.field}: ${f.message}`);
  return [err.message, ...fields].join("\n");
}

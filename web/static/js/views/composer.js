// The message box: Enter sends, Shift+Enter makes a new line; typing is announced;
// the "is typing" line for the stream sits above it.

import * as chat from "../chat.js";
import { store } from "../store.js";
import { h } from "../dom.js";

let hints = 0; // ids for the hints (a channel's composer and a thread's are on the page together)

export class Composer {
  constructor(stream, { placeholder }) {
    this.stream = stream;
    this.input = h("textarea.composer-input", {
      rows: 1,
      placeholder,
      "aria-label": placeholder,
      maxlength: 4000,
    });
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.input.addEventListener("input", () => {
      this.grow();
      chat.typing(this.stream, this.input.value.trim() !== "");
    });
    this.sendButton = h("button.send-button", { type: "button", title: "Send (Enter)", onclick: () => this.submit() }, "Send");
    this.typingLine = h("div.typing-line", { "aria-live": "polite" });
    this.el = h(
      "div.composer",
      this.typingLine,
      h("div.composer-box", this.input, this.sendButton),
      h(
        "div.composer-hint",
        { id: `composer-hint-${++hints}` },
        "Enter to send · Shift+Enter for a new line · Markdown: ",
        h("code", "**bold**"), " ", h("code", "_italic_"), " ", h("code", "`code`"),
      ),
    );
    // read with the box by screen readers: how to send and how to format
    this.input.setAttribute("aria-describedby", `composer-hint-${hints}`);
    this.unsubscribe = store.on("typing", (key) => {
      if (key === stream.key) this.renderTyping();
    });
    this.renderTyping();
  }

  destroy() {
    this.unsubscribe();
  }

  onKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    }
  }

  submit() {
    const text = this.input.value;
    if (!text.trim()) return;
    chat.send(this.stream, text);
    this.input.value = "";
    this.grow();
    this.input.focus();
  }

  grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 200)}px`;
  }

  renderTyping() {
    const people = [...(store.typing.get(this.stream.key)?.values() || [])].map((p) => p.username);
    let text = "";
    if (people.length === 1) text = `${people[0]} is typing…`;
    else if (people.length === 2) text = `${people[0]} and ${people[1]} are typing…`;
    else if (people.length > 2) text = "Several people are typing…";
    this.typingLine.textContent = text;
  }
}

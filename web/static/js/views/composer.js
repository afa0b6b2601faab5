// The message box: Enter sends, Shift+Enter makes a new line; typing is announced;
// the "is typing" line for the stream sits above it; `@` suggests people to mention.
// Files are attached with the paper-clip button or dropped on the box; each uploads at
// once, with its progress, and goes with the next message sent (which may then have no text).

import * as chat from "../chat.js";
import { store } from "../store.js";
import { h } from "../dom.js";
import { formatSize, uploadFile } from "../files.js";
import { toast } from "./dialog.js";
import { MentionPicker } from "./mention-picker.js";

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
    // `@` suggests the channel's people (its own input listener)
    this.picker = new MentionPicker(this.input, stream.channelId);
    this.input.addEventListener("input", () => {
      this.grow();
      chat.typing(this.stream, this.input.value.trim() !== "");
    });
    this.sendButton = h("button.send-button", { type: "button", title: "Send (Enter)", onclick: () => this.submit() }, "Send");
    this.typingLine = h("div.typing-line", { "aria-live": "polite" });
    this.uploads = []; // {file, progress, done: file summary | null, error, abort, el}
    this.fileInput = h("input.file-input", { type: "file", multiple: true, hidden: true, tabindex: "-1", "aria-hidden": "true" });
    this.fileInput.addEventListener("change", () => {
      this.attach([...this.fileInput.files]);
      this.fileInput.value = "";
    });
    this.attachButton = h(
      "button.attach-button",
      { type: "button", title: "Attach files", "aria-label": "Attach files", onclick: () => this.fileInput.click() },
      h("span.attach-plus", { "aria-hidden": "true" }, "+"),
    );
    this.attachments = h("ul.attachments", { "aria-label": "Attached files", hidden: true });
    this.el = h(
      "div.composer",
      this.typingLine,
      this.attachments,
      this.picker.el,
      h("div.composer-box", this.attachButton, this.fileInput, this.input, this.sendButton),
      h(
        "div.composer-hint",
        { id: `composer-hint-${++hints}` },
        "Enter to send · Shift+Enter for a new line · Markdown: ",
        h("code", "**bold**"), " ", h("code", "_italic_"), " ", h("code", "`code`"),
      ),
    );
    // read with the box by screen readers: how to send and how to format
    this.input.setAttribute("aria-describedby", `composer-hint-${hints}`);
    // drop files anywhere on the composer
    this.el.addEventListener("dragover", (event) => {
      if (![...(event.dataTransfer?.types || [])].includes("Files")) return;
      event.preventDefault();
      this.el.classList.add("dropping");
    });
    this.el.addEventListener("dragleave", () => this.el.classList.remove("dropping"));
    this.el.addEventListener("drop", (event) => {
      this.el.classList.remove("dropping");
      if (!event.dataTransfer?.files?.length) return;
      event.preventDefault();
      this.attach([...event.dataTransfer.files]);
    });
    this.unsubscribe = store.on("typing", (key) => {
      if (key === stream.key) this.renderTyping();
    });
    this.renderTyping();
  }

  destroy() {
    this.unsubscribe();
    for (const upload of this.uploads) if (!upload.done) upload.abort.abort();
  }

  /** Start uploading `files`; each shows in the list above the box with its progress. */
  attach(files) {
    for (const file of files) {
      const upload = { file, progress: 0, done: null, error: null, abort: new AbortController(), el: null };
      this.uploads.push(upload);
      uploadFile(this.stream.channelId, file, {
        signal: upload.abort.signal,
        onProgress: (fraction) => {
          upload.progress = fraction;
          this.renderUpload(upload);
        },
      }).then(
        (summary) => {
          upload.done = summary;
          this.renderUpload(upload);
        },
        (err) => {
          if (err.code === "aborted") return;
          upload.error = err.message;
          this.renderUpload(upload);
          toast(`${file.name}: ${err.message}`);
        },
      );
      this.renderUpload(upload);
    }
    this.renderAttachments();
  }

  removeUpload(upload) {
    if (!upload.done && !upload.error) upload.abort.abort();
    this.uploads = this.uploads.filter((u) => u !== upload);
    this.renderAttachments();
    this.input.focus();
  }

  renderUpload(upload) {
    const state = upload.error ? `failed: ${upload.error}` : upload.done ? "ready" : `${Math.round(upload.progress * 100)}%`;
    const el = h(
      "li.attachment",
      { class: upload.error ? "failed" : upload.done ? "ready" : "uploading" },
      h("span.attachment-name", upload.file.name),
      h("span.attachment-size", formatSize(upload.file.size)),
      upload.done || upload.error
        ? h("span.attachment-state", state)
        : h("progress.attachment-progress", { max: 1, value: upload.progress, "aria-label": `Uploading ${upload.file.name}` }),
      h(
        "button.attachment-remove",
        { type: "button", "aria-label": `Remove ${upload.file.name}`, title: "Remove", onclick: () => this.removeUpload(upload) },
        "×",
      ),
    );
    if (upload.el) upload.el.replaceWith(el);
    upload.el = el;
    if (!el.isConnected && this.uploads.includes(upload)) this.attachments.append(el);
  }

  renderAttachments() {
    for (const child of [...this.attachments.children]) {
      if (!this.uploads.some((u) => u.el === child)) child.remove();
    }
    this.attachments.hidden = this.uploads.length === 0;
  }

  onKey(event) {
    if (!event.isComposing && this.picker.onKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    }
  }

  submit() {
    const text = this.input.value;
    if (this.uploads.some((u) => !u.done && !u.error)) {
      toast("Wait for the files to finish uploading.", "info");
      return;
    }
    const files = this.uploads.filter((u) => u.done).map((u) => u.done);
    if (!text.trim() && !files.length) return;
    chat.send(this.stream, text, files);
    this.uploads = [];
    this.renderAttachments();
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

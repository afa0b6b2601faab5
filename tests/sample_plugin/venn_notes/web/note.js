// Draws a message payload of type "note" in the web client.
export default function register({ registerRenderer, el }) {
  registerRenderer("note", (payload) => el("blockquote", { className: "note" }, String(payload.text ?? "")));
}

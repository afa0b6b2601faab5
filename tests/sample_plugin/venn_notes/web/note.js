// Draws a message payload of type "note" in the web client (docs/plugins.md,
// "Drawing your payloads in the web client").
export default function register(venn) {
  venn.registerRenderer("note", (payload, { h }) => h("blockquote.note", String(payload.text ?? "")));
}

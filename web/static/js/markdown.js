// Message bodies as Markdown. markdown-it (npm) parses the text into tokens; this module
// builds the DOM from those tokens with createElement and text nodes only, from an
// allow-list of elements: no HTML string is ever parsed, so nothing a person types can
// become markup, an attribute or a script. See docs/web-client.md, "Markdown".
//
// Chat rules (decided here, documented there): raw HTML is text (html: false), URLs
// become links (linkify), a single line break is a line break (breaks), no smart quotes
// (typographer off). Headings, indented code and images are not drawn: a "# " line in a
// chat is rarely a title and would break the page's heading outline for screen readers,
// four leading spaces are rarely meant as code, and an image would be fetched from
// anywhere the author likes (a tracking pixel) — an image shows as a link to it instead.

import markdownit from "/static/vendor/markdown-it.esm.min.mjs";
import { full as emoji } from "/static/vendor/markdown-it-emoji/index.mjs";

/** The schemes a link may have; anything else (javascript:, data:, file:, relative) stays text. */
const SCHEMES = new Set(["http:", "https:", "mailto:"]);
/** A username as the server allows it (3 to 32 of A-Z a-z 0-9 _ . -). */
const MENTION = /^@([A-Za-z0-9_.-]+)/;
const WORD_BEFORE = /[A-Za-z0-9_.+-]/;
/** Who a mention of everyone names. */
const EVERYONE = new Set(["channel", "here"]);
/** The elements a token may become (by its type, without _open/_close). */
const ELEMENTS = {
  paragraph: "p",
  bullet_list: "ul",
  ordered_list: "ol",
  list_item: "li",
  blockquote: "blockquote",
  table: "table",
  thead: "thead",
  tbody: "tbody",
  tr: "tr",
  th: "th",
  td: "td",
  strong: "strong",
  em: "em",
  s: "s",
};
const LINK_REL = "noopener noreferrer nofollow";

/**
 * `raw` as an href if it is an absolute http(s) URL with a host or a mailto: address;
 * else null. Relative and protocol-relative ("//host") addresses are refused too: a
 * message's link never points into this app or at a scheme the browser would run.
 */
export function safeHref(raw) {
  const text = String(raw ?? "").trim();
  if (!/^(?:https?:\/\/|mailto:)/i.test(text)) return null;
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (!SCHEMES.has(url.protocol)) return null;
  if (url.protocol !== "mailto:" && !url.hostname) return null;
  return url.href;
}

/** `@username`, `@channel`, `@here` as a `mention` token (an inline rule of markdown-it). */
function mentionRule(state, silent) {
  const { src, pos } = state;
  if (src.charCodeAt(pos) !== 0x40 /* @ */) return false;
  if (pos > 0 && WORD_BEFORE.test(src[pos - 1])) return false; // an e-mail address, not a mention
  const match = MENTION.exec(src.slice(pos, pos + 40));
  if (!match) return false;
  // a sentence may end right after a name: "thanks @bob." names bob
  const name = match[1].replace(/[.-]+$/, "");
  if (name.length < 3 || name.length > 32) return false;
  if (!silent) {
    const token = state.push("mention", "span", 0);
    token.meta = { username: name };
    token.markup = `@${name}`;
  }
  state.pos += 1 + name.length;
  return true;
}

/** Who reads the message being drawn (see renderMarkdown). */
const NOBODY = { self: null, all: false };
let drawing = NOBODY;

/** The configured parser (one per page). */
function parser() {
  const md = markdownit("default", { html: false, linkify: true, breaks: true, typographer: false });
  md.disable(["heading", "lheading", "code"]);
  // markdown-it's own check refuses javascript:, vbscript:, file: and most data:; this
  // one allows only what safeHref allows, so a refused destination is never a link.
  md.validateLink = (url) => safeHref(url) !== null;
  // www.example.com is a link (https), as it was before Markdown; bare "example.com" or
  // "notes.md" are not (linkify-it's fuzzy links are off: file names are not links).
  md.linkify.add("www.", {
    validate(text, pos) {
      const rest = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:[/?#][^\s<>"'`]*)?/.exec(text.slice(pos));
      return rest ? rest[0].replace(/[.,;:!?)\]}'"]+$/, "").length : 0;
    },
    normalize(match) {
      match.url = `https://${match.url}`;
    },
  });
  md.use(emoji, { shortcuts: {} }); // :tada: only; ":)" or "8)" stay as typed
  md.inline.ruler.after("emphasis", "mention", mentionRule);
  return md;
}

let md = null;

/** The text of inline tokens, without markup (an image's description). */
function plainText(tokens) {
  return (tokens || []).map((t) => (t.children ? plainText(t.children) : t.type === "softbreak" ? " " : t.content)).join("");
}

/** An element for an opening token, or null when its content goes straight into the parent. */
function open(token) {
  const kind = token.type.replace(/_open$/, "");
  if (kind === "link") {
    const href = safeHref(token.attrGet("href"));
    if (!href) return null;
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = LINK_REL;
    const title = token.attrGet("title");
    if (title) a.title = title;
    return a;
  }
  if (kind === "paragraph" && token.hidden) return null; // a tight list's items
  const tag = ELEMENTS[kind];
  if (!tag) return null;
  const el = document.createElement(tag);
  if (kind === "ordered_list") {
    const start = Number(token.attrGet("start"));
    if (Number.isInteger(start) && start !== 1) el.start = start;
  }
  if (kind === "th" || kind === "td") {
    // markdown-it writes the alignment as a style attribute, which the CSP refuses: a class
    const align = /text-align:\s*(left|right|center)/.exec(token.attrGet("style") || "");
    if (align) el.className = `md-align-${align[1]}`;
  }
  if (kind === "table") {
    const box = document.createElement("div");
    box.className = "md-table";
    box.append(el);
    watchOverflow(box);
    return { outer: box, inner: el };
  }
  if (kind === "blockquote" || kind === "bullet_list" || kind === "ordered_list") el.className = `md-${tag}`;
  return el;
}

/** A token without children of its own in the tree (text, code, a break, an emoji...). */
function leaf(token) {
  switch (token.type) {
    case "text":
    case "html_inline":
    case "html_block":
      return document.createTextNode(token.content);
    case "softbreak":
    case "hardbreak":
      return document.createTextNode("\n"); // the body keeps line breaks (white-space: pre-wrap)
    case "code_inline": {
      const code = document.createElement("code");
      code.textContent = token.content;
      return code;
    }
    case "fence": {
      const pre = document.createElement("pre");
      pre.className = "md-code";
      const code = document.createElement("code");
      const language = /^[A-Za-z0-9_+#.-]{1,32}/.exec(token.info.trim());
      if (language) code.className = `language-${language[0]}`;
      code.textContent = token.content.replace(/\n$/, "");
      pre.append(code);
      watchOverflow(pre);
      return pre;
    }
    case "hr":
      return document.createElement("hr");
    case "emoji": {
      const span = document.createElement("span");
      span.className = "emoji";
      span.title = `:${token.markup}:`;
      span.textContent = token.content;
      return span;
    }
    case "mention": {
      const span = document.createElement("span");
      const name = token.meta.username;
      const everyone = EVERYONE.has(name);
      // a mention of the reader: their own name, or everyone when the message mentions them
      const mine = everyone ? drawing.all : Boolean(drawing.self) && name.toLowerCase() === drawing.self.toLowerCase();
      span.className = ["mention", everyone ? "mention-all" : "", mine ? "mention-me" : ""].filter(Boolean).join(" ");
      span.dataset.username = name;
      span.textContent = `@${name}`;
      return span;
    }
    case "image": {
      // Not drawn (the page would fetch it): a link to it, named by its description.
      const label = plainText(token.children) || token.attrGet("src") || "";
      const href = safeHref(token.attrGet("src"));
      if (!href) return document.createTextNode(label);
      const a = document.createElement("a");
      a.href = href;
      a.target = "_blank";
      a.rel = LINK_REL;
      a.className = "md-image-link";
      a.textContent = `Image: ${label}`;
      return a;
    }
    default:
      return document.createTextNode(token.content || "");
  }
}

/** Append the DOM of `tokens` (markdown-it's flat block stream, or inline children) to `root`. */
function build(tokens, root) {
  const stack = [root];
  for (const token of tokens) {
    const parent = stack[stack.length - 1];
    if (token.nesting === 1) {
      const made = open(token);
      if (made === null) {
        stack.push(parent);
      } else if (made instanceof Node) {
        parent.append(made);
        stack.push(made);
      } else {
        parent.append(made.outer);
        stack.push(made.inner);
      }
    } else if (token.nesting === -1) {
      if (stack.length > 1) stack.pop();
    } else if (token.type === "inline") {
      build(token.children || [], parent);
    } else {
      parent.append(leaf(token));
    }
  }
  return root;
}

// A code block or table wider than the message scrolls sideways; the keyboard must be
// able to scroll it too, so it takes the focus (tabindex=0) only while it overflows.
const overflowing = typeof ResizeObserver === "function"
  ? new ResizeObserver((entries) => {
    for (const { target } of entries) {
      if (!target.isConnected) {
        overflowing.unobserve(target); // drawn anew or gone: stop watching it
        continue;
      }
      if (target.scrollWidth > target.clientWidth) target.tabIndex = 0;
      else target.removeAttribute("tabindex");
    }
  })
  : null;

function watchOverflow(el) {
  if (overflowing) overflowing.observe(el);
  else el.tabIndex = 0;
}

/**
 * A message body (Markdown, as its author typed it) as a DocumentFragment: paragraphs,
 * **bold**, _italic_, ~~strike~~, `code`, fenced code (```lang: a `language-lang` class),
 * lists, quotes, tables, http(s)/mailto links, @mentions (`span.mention`) and :emoji:.
 * `self`: the reader's username, whose mentions get `mention-me` too; `all`: the message
 * mentions the reader, so its @channel / @here do as well.
 */
export function renderMarkdown(body, { self = null, all = false } = {}) {
  if (!md) md = parser();
  const fragment = document.createDocumentFragment();
  drawing = { self, all };
  try {
    return build(md.parse(String(body ?? ""), {}), fragment);
  } finally {
    drawing = NOBODY;
  }
}

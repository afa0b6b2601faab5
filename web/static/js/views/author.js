// An author's name as every list shows it: the display name, then @username, so a
// look-alike display name cannot pass as someone else (display names are free text).
import { h } from "../dom.js";

export function authorName(author, tag = "span.author") {
  const name = author.display_name || author.username;
  const parts = [h(tag, name)];
  if (author.username) parts.push(h("span.handle", `@${author.username}`));
  return parts;
}

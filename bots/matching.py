"""Which handlers of a plugin a message goes to: its command, else its mention
handlers, else its message handlers (those whose pattern matches, if they have one)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from venn_bots.plugin import HandlerSpec, Plugin

# "/name rest of the line": the command token, then everything after it
COMMAND_LINE_RE = re.compile(r"^/([A-Za-z][A-Za-z0-9_-]*)(?:\s+(.*))?$", re.S)


@dataclass
class Selected:
    """Handlers of one plugin chosen for one message, with what each one gets."""

    kind: str  # "command" | "mention" | "message"
    handlers: list[HandlerSpec] = field(default_factory=list)
    text: str = ""
    matches: dict[str, re.Match[str] | None] = field(default_factory=dict)
    command: str | None = None


def parse_command_line(body: str) -> tuple[str, str] | None:
    """``("name", "rest of the line")`` for ``/name rest``, else None."""
    match = COMMAND_LINE_RE.match(body.strip())
    if match is None:
        return None
    return match.group(1).lower(), (match.group(2) or "").strip()


def mention_pattern(username: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w@.-])@" + re.escape(username) + r"(?![A-Za-z0-9_-]|\.[A-Za-z0-9_-])", re.I)


def strip_mention(body: str, pattern: re.Pattern[str]) -> str:
    """The message without the first mention (and a ``:`` or ``,`` right after it)."""
    match = pattern.search(body)
    if match is None:
        return body.strip()
    rest = body[match.end():]
    rest = rest[1:] if rest[:1] in (":", ",") else rest
    before = body[: match.start()].rstrip(" \t")
    after = rest.lstrip(" \t")
    return (before + " " + after if before and after else before + after).strip()


def select_handlers(
    plugin: type[Plugin] | Plugin, body: str, *, author_is_bot: bool, bot_username: str | None
) -> Selected | None:
    """Which handlers of ``plugin`` a message goes to (None: none)."""
    cls = plugin if isinstance(plugin, type) else type(plugin)

    def allowed(spec: HandlerSpec) -> bool:
        return not author_is_bot or spec.bots or cls.see_bots

    parsed = parse_command_line(body)
    if parsed is not None:
        spec = cls.command_for(parsed[0])
        if spec is not None:
            if not allowed(spec):
                return None
            return Selected("command", [spec], text=parsed[1], command=parsed[0])
    if bot_username:
        pattern = mention_pattern(bot_username)
        if pattern.search(body):
            mentions = [h for h in cls.handlers if h.kind == "mention" and allowed(h)]
            if mentions:
                return Selected("mention", mentions, text=strip_mention(body, pattern))
    chosen = Selected("message", text=body.strip())
    for spec in cls.handlers:
        if spec.kind != "message" or not allowed(spec):
            continue
        if spec.pattern is None:
            chosen.handlers.append(spec)
            chosen.matches[spec.attr] = None
        else:
            match = spec.pattern.search(body)
            if match is not None:
                chosen.handlers.append(spec)
                chosen.matches[spec.attr] = match
    return chosen if chosen.handlers else None


def event_handlers(plugin: type[Plugin] | Plugin, name: str) -> list[HandlerSpec]:
    """The plugin's ``@on_event`` handlers for an event (by its plugin-facing name)."""
    cls = plugin if isinstance(plugin, type) else type(plugin)
    return [h for h in cls.handlers if h.kind == "event" and name in h.events]

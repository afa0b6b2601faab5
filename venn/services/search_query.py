"""Search queries: what the user typed, read once and rendered for each backend.

The syntax is the web-search one (PostgreSQL's ``websearch_to_tsquery``): words,
``"quoted phrases"``, ``-excluded`` words or phrases, and ``OR`` between alternatives
(``a b OR c`` is ``(a AND b) OR c``). Everything else is plain text: no character of
the user's reaches FTS5's or tsquery's syntax unquoted, so no query can fail there.
Highlights are computed here too, over the body, as plain ranges (no markup).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from venn.errors import ValidationFailed

#: longest query accepted, in characters
MAX_QUERY_LENGTH = 256
#: most words and phrases in one query (each costs an index lookup)
MAX_TERMS = 16
_WORD = re.compile(r"[^\W_]+")
_NOT_TEXT = re.compile(r'["\\\x00-\x1f\x7f]')
_PIECE = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def words(text: str) -> list[str]:
    """The words of ``text`` as the index sees them: letters and digits, lower-cased."""
    return [w.lower() for w in _WORD.findall(text)]


@dataclass(frozen=True)
class Phrase:
    text: str  # as typed, without quotes
    words: tuple[str, ...]


@dataclass
class Group:
    """Phrases that must all appear, and phrases that must not."""

    include: list[Phrase] = field(default_factory=list)
    exclude: list[Phrase] = field(default_factory=list)


@dataclass
class SearchQuery:
    groups: list[Group]  # any one group matching is a match

    @property
    def phrases(self) -> list[Phrase]:
        """The phrases a result is found by (what gets highlighted)."""
        return [p for g in self.groups for p in g.include]

    def tsquery_text(self) -> str:
        """The query for ``websearch_to_tsquery('simple', ...)``: every phrase quoted."""
        return " or ".join(
            " ".join([f'"{p.text}"' for p in g.include] + [f'-"{p.text}"' for p in g.exclude]) for g in self.groups
        )

    def fts5_text(self) -> str:
        """The query for FTS5's MATCH: every phrase a quoted string of words."""

        def quoted(p: Phrase) -> str:
            return '"' + " ".join(p.words) + '"'

        parts = []
        for g in self.groups:
            expr = "(" + " AND ".join(quoted(p) for p in g.include) + ")"
            for p in g.exclude:
                expr += " NOT " + quoted(p)
            parts.append("(" + expr + ")")
        return " OR ".join(parts)


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed([{"field": "q", "message": message}])


def parse_query(q: str) -> SearchQuery:
    """Read a query; :class:`ValidationFailed` (422) when there is nothing to search for."""
    if len(q) > MAX_QUERY_LENGTH:
        raise _invalid(f"at most {MAX_QUERY_LENGTH} characters")
    groups = [Group()]
    terms = 0
    for match in _PIECE.finditer(q):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            if bare.lower() == "or":
                groups.append(Group())
                continue
            negated = "-" if bare.startswith("-") else ""
            text = bare.lstrip("-")
        else:
            text = quoted
        # quotes, backslashes and control characters are never part of a word, and
        # PostgreSQL refuses NUL in text
        text = _NOT_TEXT.sub(" ", text).strip()
        phrase = Phrase(text, tuple(words(text)))
        if not phrase.words:  # punctuation alone: nothing to find
            continue
        terms += 1
        (groups[-1].exclude if negated else groups[-1].include).append(phrase)
    if terms > MAX_TERMS:
        raise _invalid(f"at most {MAX_TERMS} words or phrases")
    # a part with only excluded words would match nearly everything: it is left out
    kept = [g for g in groups if g.include]
    if not kept:
        raise _invalid("nothing to search for: give at least one word")
    return SearchQuery(kept)


def highlight(body: str, query: SearchQuery) -> dict[str, object]:
    """``{"text": body, "ranges": [[start, end], ...]}``: where the query's phrases
    are in the body, as code-point offsets (end excluded), sorted and not overlapping."""
    spans = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(body)]
    tokens = [s[2] for s in spans]
    found: list[tuple[int, int]] = []
    for phrase in query.phrases:
        n = len(phrase.words)
        for i in range(len(tokens) - n + 1):
            if tuple(tokens[i:i + n]) == phrase.words:
                found.append((spans[i][0], spans[i + n - 1][1]))
    ranges: list[list[int]] = []
    for start, end in sorted(found):
        if ranges and start <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], end)
        else:
            ranges.append([start, end])
    return {"text": body, "ranges": ranges}

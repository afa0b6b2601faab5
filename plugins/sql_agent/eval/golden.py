"""The golden set: questions over the demo warehouse with the SQL of their right answer.

The set ships as ``golden.toml`` next to this module (its header explains each field);
:func:`load_golden` reads it, or another file of the same shape, and checks it, so a
mistake in the file is reported by question id before any model is asked.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from venn_plugins.sql_agent.demo import DEMO_TABLES

__all__ = [
    "GOLDEN_FILE",
    "GoldenError",
    "GoldenQuestion",
    "GoldenSet",
    "KnowledgeEntry",
    "load_golden",
    "select",
]

#: the golden set shipped with the plugin
GOLDEN_FILE = Path(__file__).with_name("golden.toml")
#: what ``{today}`` in a reference SQL stands for
TODAY_PLACEHOLDER = "{today}"

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_QUESTION_KEYS = {"id", "category", "question", "sql", "expect", "ordered", "columns", "tables", "follows"}
_KNOWLEDGE_KEYS = {"term", "text"}


class GoldenError(ValueError):
    """The golden set file is missing or malformed; ``str()`` names the file and the question."""


@dataclass(frozen=True)
class GoldenQuestion:
    """One question of the golden set (see the header of ``golden.toml``)."""

    id: str
    category: str
    question: str
    sql: str | None = None  # with the {today} placeholder; None for expected refusals
    expect: str = "result"  # "result" or "refusal"
    ordered: bool = False
    columns: tuple[int, ...] | None = None  # reference columns compared (None: all)
    tables: tuple[str, ...] = DEMO_TABLES
    follows: str | None = None

    @property
    def refusal(self) -> bool:
        return self.expect == "refusal"

    def reference_sql(self, today: dt.date) -> str:
        """The reference SQL with ``{today}`` replaced by the date as a SQL DATE literal."""
        if self.sql is None:
            raise ValueError(f"question {self.id} has no reference SQL")
        return self.sql.replace(TODAY_PLACEHOLDER, f"DATE '{today.isoformat()}'").strip()


@dataclass(frozen=True)
class KnowledgeEntry:
    """A glossary term the questions use, with its definition."""

    term: str
    text: str


@dataclass(frozen=True)
class GoldenSet:
    """The questions (in file order) and the glossary of a golden set file."""

    path: Path
    questions: tuple[GoldenQuestion, ...]
    knowledge: tuple[KnowledgeEntry, ...] = field(default=())

    @property
    def categories(self) -> list[str]:
        """The categories, in the order they first appear."""
        return list(dict.fromkeys(q.category for q in self.questions))

    def by_id(self, question_id: str) -> GoldenQuestion:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)


def load_golden(path: str | Path = GOLDEN_FILE) -> GoldenSet:
    """Read and check a golden set file; raises :class:`GoldenError` naming what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GoldenError(f"cannot read the golden set {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GoldenError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"question", "knowledge"}
    if unknown:
        raise GoldenError(f"{path}: unknown top-level keys: {', '.join(sorted(unknown))}")
    raw_questions = data.get("question")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise GoldenError(f"{path}: no [[question]] entries")
    questions: list[GoldenQuestion] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_questions, 1):
        question = _question(raw, n, seen)
        if question.follows is not None and question.follows not in seen:
            raise GoldenError(f"question {question.id}: follows {question.follows!r}, which is not an earlier question")
        seen.add(question.id)
        questions.append(question)
    clash = seen & {q.category for q in questions}
    if clash:  # --only takes ids and categories alike
        raise GoldenError(f"{path}: {', '.join(sorted(clash))} is both a question id and a category")
    knowledge = tuple(_knowledge(raw, n) for n, raw in enumerate(data.get("knowledge") or [], 1))
    return GoldenSet(path=path, questions=tuple(questions), knowledge=knowledge)


def _question(raw: Any, n: int, seen: set[str]) -> GoldenQuestion:
    where = f"question #{n}"
    if not isinstance(raw, dict):
        raise GoldenError(f"{where} is not a table")
    qid = raw.get("id")
    if not isinstance(qid, str) or not _ID.match(qid):
        raise GoldenError(f"{where}: 'id' must be lower case letters, digits and dashes")
    where = f"question {qid}"
    if qid in seen:
        raise GoldenError(f"{where}: the id is used twice")
    unknown = set(raw) - _QUESTION_KEYS
    if unknown:
        raise GoldenError(f"{where}: unknown keys: {', '.join(sorted(unknown))}")
    for key in ("category", "question"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise GoldenError(f"{where}: {key!r} must be a non-empty string")
    expect = raw.get("expect", "result")
    if expect not in ("result", "refusal"):
        raise GoldenError(f"{where}: 'expect' must be \"result\" or \"refusal\"")
    sql = raw.get("sql")
    if expect == "result" and (not isinstance(sql, str) or not sql.strip()):
        raise GoldenError(f"{where}: 'sql' (the reference SQL) is required")
    if expect == "refusal" and sql is not None:
        raise GoldenError(f"{where}: a question expecting a refusal has no 'sql'")
    ordered = raw.get("ordered", False)
    if not isinstance(ordered, bool):
        raise GoldenError(f"{where}: 'ordered' must be true or false")
    columns = raw.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not columns or not all(isinstance(c, int) and c >= 0 for c in columns)
    ):
        raise GoldenError(f"{where}: 'columns' must be a non-empty list of column positions (0, 1, ...)")
    tables = raw.get("tables", list(DEMO_TABLES))
    if not isinstance(tables, list) or not tables or not all(isinstance(t, str) and t.strip() for t in tables):
        raise GoldenError(f"{where}: 'tables' must be a non-empty list of table names")
    follows = raw.get("follows")
    if follows is not None and not isinstance(follows, str):
        raise GoldenError(f"{where}: 'follows' must be the id of an earlier question")
    return GoldenQuestion(
        id=qid,
        category=raw["category"].strip(),
        question=raw["question"].strip(),
        sql=sql,
        expect=expect,
        ordered=ordered,
        columns=tuple(columns) if columns is not None else None,
        tables=tuple(t.strip() for t in tables),
        follows=follows,
    )


def _knowledge(raw: Any, n: int) -> KnowledgeEntry:
    if not isinstance(raw, dict) or set(raw) != _KNOWLEDGE_KEYS or not all(
        isinstance(raw[k], str) and raw[k].strip() for k in _KNOWLEDGE_KEYS
    ):
        raise GoldenError(f"knowledge entry #{n}: needs exactly a non-empty 'term' and 'text'")
    return KnowledgeEntry(term=raw["term"].strip(), text=raw["text"].strip())


def select(golden: GoldenSet, only: list[str] | None = None, limit: int | None = None) -> list[GoldenQuestion]:
    """The questions to run, in file order: those whose id or category is in ``only``
    (all when empty), the first ``limit`` of them, plus the earlier questions a chosen
    follow-up depends on (a follow-up is only meaningful in its thread).

    Raises :class:`GoldenError` for a name in ``only`` that is neither an id nor a category.
    """
    names = set(only or [])
    known = {q.id for q in golden.questions} | {q.category for q in golden.questions}
    missing = sorted(names - known)
    if missing:
        raise GoldenError(f"no question or category named {', '.join(missing)}")
    chosen = [q for q in golden.questions if not names or q.id in names or q.category in names]
    if limit is not None:
        chosen = chosen[:limit]
    wanted = {q.id for q in chosen}
    for q in reversed(golden.questions):  # a follow-up's parent comes before it in the file
        if q.id in wanted and q.follows is not None:
            wanted.add(q.follows)
    return [q for q in golden.questions if q.id in wanted]

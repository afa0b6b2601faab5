#!/usr/bin/env python3
"""Fill the deploy/ templates with this deployment's values (docs/deploy.md).

    VENN_UPSTREAM_SERVERS="10.0.0.11:8001 10.0.0.11:8002" VENN_SERVER_NAME=chat.example.com \\
        python3 deploy/render.py --out /etc/nginx/venn deploy/nginx/*.template

Each ``NAME.template`` is written to ``--out`` as ``NAME``. Values come from the
environment; the templates hold three kinds of placeholder (upper-case names only,
so nginx's own ``$variables`` are left alone):

- ``${NAME}``: the value; missing means an error.
- ``${NAME:-default}``: the value, or ``default`` when it is unset or empty.
- ``${NAME[*]}``: a list (items separated by spaces); the line that holds it is
  written once per item.

Nothing else is interpreted. Standard library only: it runs with any Python 3.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(\[\*\]|:-([^}]*))?\}")
SUFFIX = ".template"


class MissingValue(Exception):
    """A placeholder without a default has no value in the environment."""


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every placeholder filled from ``values``."""
    missing: list[str] = []

    def value(match: re.Match[str], item: str | None = None) -> str:
        name, kind, default = match.group(1), match.group(2), match.group(3)
        if kind == "[*]" and item is not None:
            return item
        found = values.get(name, "")
        if found == "" and kind is not None and kind.startswith(":-"):
            return default
        if found == "":
            missing.append(name)
        return found

    out: list[str] = []
    for line in text.splitlines(keepends=True):
        lists = [m.group(1) for m in PLACEHOLDER.finditer(line) if m.group(2) == "[*]"]
        if not lists:
            out.append(PLACEHOLDER.sub(value, line))
            continue
        if len(set(lists)) > 1:
            raise ValueError(f"a line may repeat over one list only: {line.strip()}")
        items = values.get(lists[0], "").split()
        if not items:
            missing.append(lists[0])
        for item in items:

            def fill(match: re.Match[str], item: str = item) -> str:
                return value(match, item if match.group(2) == "[*]" else None)

            out.append(PLACEHOLDER.sub(fill, line))
    if missing:
        raise MissingValue(", ".join(dict.fromkeys(missing)))
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fill Venn's deploy templates from the environment.")
    parser.add_argument("templates", nargs="+", type=Path, help="*.template files")
    parser.add_argument("--out", type=Path, required=True, help="directory to write the filled files to")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for template in args.templates:
        if template.suffix != SUFFIX:
            parser.error(f"{template} does not end in {SUFFIX}")
        try:
            text = render(template.read_text(), os.environ)
        except MissingValue as exc:
            print(f"error: {template}: set {exc} in the environment", file=sys.stderr)
            return 2
        target = args.out / template.name[: -len(SUFFIX)]
        target.write_text(text)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

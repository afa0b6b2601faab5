"""The web client's module graph has no cycle (no browser needed).

A cycle among ES modules works only as long as no module touches an import of the
cycle while it is being evaluated; one moved line later it is a ReferenceError at
start-up. The static ``import ... from`` / ``export ... from`` lines are read here.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.kit import WEB

JS = WEB / "static" / "js"
# `import {a, b} from "./x.js"`, `import * as x from "../x.js"`, `export {a} from "./x.js"`
# (over several lines too), and the bare `import "./x.js"`; not the dynamic import().
STATIC_IMPORT = re.compile(
    r"""^\s*(?:import|export)\s+[\w\s{},*$]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']""",
    re.MULTILINE,
)


def imports_of(path: Path) -> list[Path]:
    """The modules under web/static/js that ``path`` imports statically."""
    found = []
    for match in STATIC_IMPORT.finditer(path.read_text()):
        spec = match.group(1) or match.group(2)
        if spec.startswith("./") or spec.startswith("../"):
            target = (path.parent / spec).resolve()
        elif spec.startswith("/static/js/"):
            target = (JS / spec.removeprefix("/static/js/")).resolve()
        else:
            continue  # a vendor file or another origin: not one of ours
        found.append(target)
    return found


def find_cycle(graph: dict[Path, list[Path]]) -> list[Path] | None:
    """One cycle of ``graph`` (its modules, the first repeated at the end), or None."""
    done: set[Path] = set()

    def visit(node: Path, path: list[Path]) -> list[Path] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for nxt in graph.get(node, []):
            cycle = visit(nxt, path + [node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_client_modules_import_each_other_without_a_cycle():
    files = sorted(JS.rglob("*.js"))
    graph = {path.resolve(): imports_of(path) for path in files}
    for path, targets in graph.items():
        for target in targets:
            assert target.is_file(), f"{path.relative_to(JS)} imports {target}, which does not exist"
    # the parser sees the imports (a multi-line one included), or this test proves nothing
    assert JS / "live.js" in graph[(JS / "chat.js").resolve()]
    assert JS / "dom.js" in graph[(JS / "views" / "messages.js").resolve()]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(str(p.relative_to(JS)) for p in cycle)


def test_the_cycle_check_finds_a_cycle(tmp_path):
    (tmp_path / "a.js").write_text('import { b } from "./b.js";\n')
    (tmp_path / "b.js").write_text('export {\n  c,\n} from "./c.js";\n')
    (tmp_path / "c.js").write_text('import "./a.js";\nconst m = import("./b.js");\n')
    graph = {p.resolve(): imports_of(p) for p in sorted(tmp_path.glob("*.js"))}
    assert [p.name for p in find_cycle(graph) or []] == ["a.js", "b.js", "c.js", "a.js"]
    (tmp_path / "c.js").write_text('const m = import("./a.js");\n')  # dynamic: no cycle
    graph = {p.resolve(): imports_of(p) for p in sorted(tmp_path.glob("*.js"))}
    assert find_cycle(graph) is None

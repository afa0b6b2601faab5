"""The bot package's modules have no import cycles, and each imports on its own."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
import textwrap
from pathlib import Path

import venn_bots

PACKAGE = Path(venn_bots.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("venn_bots", *parts))] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The venn_bots modules a file imports anywhere (type-checking blocks included)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)  # submodules
    return {name for name in out if name in MODULES and name != "venn_bots"}


def test_the_modules_import_each_other_without_cycles():
    graph = {name: _imports(path) for name, path in MODULES.items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
    # the runtime is the top: only the app wiring and the testing kit know it
    users = {name for name, imported in graph.items() if "venn_bots.runtime" in imported}
    assert users == {"venn_bots.extension", "venn_bots.keys", "venn_bots.testing"}


def test_each_module_imports_alone():
    script = textwrap.dedent(
        """
        import importlib, sys
        failed = []
        for name in sys.argv[1:]:
            for loaded in [m for m in sys.modules if m.split(".")[0] == "venn_bots"]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
        print("\\n".join(failed))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *MODULES], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""

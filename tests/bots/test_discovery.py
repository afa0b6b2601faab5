"""Discovery: every plugin (bundled ones too) by its entry point, failures reported and skipped."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import server_env
from venn.extensions import scan_installed
from venn_bots import registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installed(tiny_site, monkeypatch):
    monkeypatch.syspath_prepend(str(tiny_site))
    importlib.invalidate_caches()
    scan_installed(refresh=True)
    yield tiny_site
    monkeypatch.undo()
    importlib.invalidate_caches()
    scan_installed(refresh=True)


def test_bundled_plugins_are_found_by_their_entry_points():
    found = registry.discover(refresh=True)
    assert {"echo", "help", "sql"} <= set(found.plugins)
    assert found.plugins["echo"].source.startswith("entry point echo = venn_plugins.echo:EchoPlugin (venn-chat ")
    assert "bots" not in found.plugins  # the runtime itself is a plugin of the core, not a bot


def test_an_installed_package_is_found_by_its_entry_point(installed):
    found = registry.discover(refresh=True)
    counter = found.plugins["counter"]
    assert counter.cls.__module__ == "venn_tiny_plugins"
    assert counter.source == "entry point counter = venn_tiny_plugins:CounterPlugin (venn-tiny-plugins 0.3.0)"
    # the broken one is reported, and the others still load
    [failure] = [f for f in found.failures if "broken" in f.source]
    assert "ModuleNotFoundError" in failure.error and "a_module_that_does_not_exist" in failure.error
    assert {"echo", "help", "counter"} <= set(found.plugins)


async def test_the_server_runs_installed_plugins_and_skips_broken_ones(installed, testbot):
    from venn_tiny_plugins import CounterPlugin

    bot = await testbot(discover=True, enable=False)
    assert {"echo", "help", "counter"} <= set(bot.runtime.plugins)
    assert any("broken" in f.source for f in bot.runtime.failures)
    await bot.enable("counter", scope="channel")
    [reply] = await bot.say("one")
    assert reply.body.startswith("counted ") and reply.plugin == "counter"
    assert CounterPlugin.name == "counter"


def _venn(*args: str, pythonpath: Path) -> subprocess.CompletedProcess:
    env = server_env()
    env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "venn", *args], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_venn_plugins_list(tiny_site):
    result = _venn("plugins", "list", pythonpath=tiny_site)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "echo 1.0.0  (entry point echo = venn_plugins.echo:EchoPlugin (venn-chat " in out
    assert "/echo TEXT  - Repeat the text after the command." in out
    assert "counter 0.3.0  (entry point counter = venn_tiny_plugins:CounterPlugin" in out
    assert '"prefix": {' in out  # echo's config schema
    assert "Skipped (failed to load):" in result.stderr and "ModuleNotFoundError" in result.stderr
    result = _venn("plugins", "list", "--json", pythonpath=tiny_site)
    data = json.loads(result.stdout)
    names = {p["name"]: p for p in data["plugins"]}
    assert names["counter"]["commands"][0]["usage"] == "/count"
    assert [s["source"].split(" =")[0] for s in data["skipped"]] == ["entry point broken"]

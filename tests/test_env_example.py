""".env.example lists every setting of every settings class (the core's and each
installed plugin's), nothing else, and the values it shows are the defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from venn.config import Settings, read_settings
from venn.extensions import discover_extensions

EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"
#: `NAME=value` or, for a setting shown but left at its default, `# NAME=value`
_ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


def settings_classes() -> list[type[BaseSettings]]:
    found = discover_extensions()
    assert not found.failures, found.failures
    plugin_classes = [cls.Settings for cls in found.enabled if cls.Settings is not None]
    assert plugin_classes, "no plugin with settings is installed (pip install -e .)"
    return [Settings, *plugin_classes]


def variables(cls: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads."""
    names = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice.upper() for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{cls.model_config.get('env_prefix', '')}{name}".upper())
    return names


def listed() -> dict[str, list[str]]:
    """Variable name -> the lines of .env.example that show it."""
    found: dict[str, list[str]] = {}
    for line in EXAMPLE.read_text().splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if match:
            found.setdefault(match.group(1), []).append(line)
    return found


def test_every_setting_is_listed_and_nothing_else():
    read = set().union(*(variables(cls) for cls in settings_classes()))
    shown = set(listed())
    assert sorted(read - shown) == [], "settings missing from .env.example"
    assert sorted(shown - read) == [], ".env.example lists variables no settings class reads"


@pytest.mark.parametrize("cls", settings_classes(), ids=lambda cls: cls.__name__)
def test_the_values_set_in_the_example_are_the_defaults(cls, monkeypatch):
    for name in variables(cls):
        monkeypatch.delenv(name, raising=False)
    defaults = read_settings(cls, _env_file=None)
    from_example = read_settings(cls, _env_file=EXAMPLE)  # also: every value shown is valid
    assert from_example.model_dump() == defaults.model_dump()

"""Command arguments: a command's pydantic ``args`` model read as a command line.

The words (split like a shell line by :mod:`shlex`) are read by :mod:`argparse`, built
from the model: required fields and those marked :class:`Positional` are positional
arguments in order (a ``list`` one takes the rest), the others are ``--options``
(``bool`` ones are ``--flag``/``--no-flag``, ``list`` ones repeat). argparse only
places the words; pydantic then validates them, so type errors name the field the
way the model says them.
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import types
import typing
from typing import Any, NoReturn, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


class UsageError(Exception):
    """Bad command arguments; the message is answered in the thread with the usage."""


class HelpRequested(Exception):
    """``/name --help``."""


class Positional:
    """Marks an optional field of a command's ``args`` model as positional:
    ``words: Annotated[list[str], Positional()] = []`` takes the remaining words."""

    def __repr__(self) -> str:
        return "Positional()"


# Words ----------------------------------------------------------------------


def split_args(text: str) -> list[str]:
    """Shell-style words; raises :class:`UsageError` for unbalanced quotes."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"could not read the arguments: {exc}") from None


def loose_split(text: str) -> list[str]:
    """Shell-style words, or plain words when the quotes do not balance."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


# What a field is -----------------------------------------------------------------


def is_positional(info: FieldInfo) -> bool:
    return info.is_required() or any(m is Positional or isinstance(m, Positional) for m in info.metadata)


def _unwrap_optional(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap_optional(args[0])
    if origin is typing.Annotated:
        return _unwrap_optional(get_args(annotation)[0])
    return annotation


def _is_bool(info: FieldInfo) -> bool:
    return _unwrap_optional(info.annotation) is bool


def _is_list(info: FieldInfo) -> bool:
    inner = _unwrap_optional(info.annotation)
    return inner in (list, tuple, set) or get_origin(inner) in (list, tuple, set)


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _positional_label(name: str, info: FieldInfo) -> str:
    return f"<{name}>..." if _is_list(info) else f"<{name}>"


def _option_label(name: str, info: FieldInfo) -> str:
    if _is_bool(info):
        return _option(name)
    return f"{_option(name)} {name.upper()}" + (" (repeatable)" if _is_list(info) else "")


def _label(name: str, info: FieldInfo | None) -> str:
    if info is not None and is_positional(info):
        return _positional_label(name, info)
    return _option(name)


# The usage line and the help ------------------------------------------------------


def usage_line(command: str | None, model: type[BaseModel] | None, hint: str = "") -> str:
    """``/peek <table> [<columns>...] [--limit LIMIT]``: positionals first, then options."""
    parts: list[str] = [hint] if model is None and hint else []
    if model is not None:
        fields = model.model_fields.items()
        for name, info in fields:
            if is_positional(info):
                label = _positional_label(name, info)
                parts.append(label if info.is_required() else f"[{label}]")
        parts += [f"[{_option_label(name, info)}]" for name, info in fields if not is_positional(info)]
    return "/" + " ".join([command or "", *parts]).strip()


def check_args_model(command: str, model: type[BaseModel]) -> None:
    """Raise ValueError if the model cannot be read as a command line."""
    positional = [(n, i) for n, i in model.model_fields.items() if is_positional(i)]
    for name, info in positional[:-1]:
        if _is_list(info):
            raise ValueError(f"/{command}: only the last positional argument may be a list ({name} is not last)")
    seen_optional = None
    for name, info in positional:
        if not info.is_required():
            seen_optional = name
        elif seen_optional is not None:
            raise ValueError(f"/{command}: required argument {name} comes after optional {seen_optional}")
    try:
        _parser(command, model, "", (), "")
    except argparse.ArgumentError as exc:  # e.g. a field called "help"
        raise ValueError(f"/{command}: {exc}") from None


def help_text(
    command: str | None,
    model: type[BaseModel] | None,
    *,
    summary: str = "",
    aliases: tuple[str, ...] = (),
    hint: str = "",
) -> str:
    """What ``/name --help`` answers: usage, summary, each argument, other names."""
    return _parser(command or "", model, summary, aliases, hint).format_help().strip()


# Reading a command line ---------------------------------------------------------


def parse_args(command: str | None, model: type[BaseModel] | None, argv: list[str]) -> BaseModel | None:
    """Validate ``argv`` against the command's ``args`` model (None without one).

    Raises :class:`HelpRequested` for ``--help``/``-h`` and :class:`UsageError` for
    anything wrong (the message names the argument and says why).
    """
    if model is None:
        if argv in (["--help"], ["-h"]):
            raise HelpRequested()
        return None
    # argparse (3.11) mishandles "--" in several places; the words after it are given
    # as placeholders that cannot look like options, and put back once placed.
    placeholders: dict[str, str] = {}
    if "--" in argv:
        cut = argv.index("--")
        key = secrets.token_hex(6)
        rest = {f"\0{key}:{i}": word for i, word in enumerate(argv[cut + 1 :])}
        placeholders, argv = rest, argv[:cut] + list(rest)
    namespace = _parser(command or "", model, "", (), "").parse_intermixed_args(argv)

    def restore(value: Any) -> Any:
        if isinstance(value, list):
            return [placeholders.get(v, v) for v in value]
        return placeholders.get(value, value)

    values = {name: restore(value) for name, value in vars(namespace).items()}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            loc = str(err["loc"][0]) if err["loc"] else ""
            problems.append(f"{_label(loc, model.model_fields.get(loc))}: {err['msg']}")
        raise UsageError("; ".join(problems)) from None


class _Parser(argparse.ArgumentParser):
    """Errors become :class:`UsageError` (argparse would print and exit)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or "could not read the arguments")


class _Help(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, help=argparse.SUPPRESS)

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise HelpRequested()


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """A fixed width (not the server's terminal) and "Usage:" as the docs show it."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=100, max_help_position=32)

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix="Usage: ")


def _escaped(text: str) -> str:
    """argparse %-formats usage and argument help: a literal % is doubled."""
    return text.replace("%", "%%")


def _parser(
    command: str, model: type[BaseModel] | None, summary: str, aliases: tuple[str, ...], hint: str
) -> _Parser:
    # Values stay strings (or lists of strings) and absent ones stay absent
    # (SUPPRESS): the model's own defaults and types apply.
    parser = _Parser(
        prog="/" + command,
        usage=_escaped(usage_line(command, model, hint)),
        description=summary.replace("%", "%%") if "%(prog)" in summary else summary,
        epilog="Also: " + ", ".join("/" + a for a in aliases) if aliases else None,
        formatter_class=_Formatter,
        add_help=False,
        allow_abbrev=False,
        exit_on_error=True,  # errors reach _Parser.error
    )
    parser.add_argument("-h", "--help", action=_Help)
    for name, info in (model.model_fields.items() if model is not None else ()):
        text = info.description or ""
        # a plain default is shown; a default_factory's is not called for the help
        default = info.default if not info.is_required() and info.default_factory is None else None
        if not _is_bool(info) and default not in (None, [], (), set()):
            text = (text + " " if text else "") + f"(default: {default})"
        if is_positional(info):
            nargs = ("+" if info.is_required() else "*") if _is_list(info) else (None if info.is_required() else "?")
            parser.add_argument(
                name, nargs=nargs, metavar=_positional_label(name, info), help=_escaped(text) or None,
                default=argparse.SUPPRESS,
            )
        elif _is_bool(info):
            parser.add_argument(
                _option(name), dest=name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                help=_escaped(text) or None,
            )
        else:
            many = _is_list(info)
            if many:
                text = (text + " " if text else "") + "(repeatable)"
            parser.add_argument(
                _option(name), dest=name, action="append" if many else "store", metavar=name.upper(),
                default=argparse.SUPPRESS, help=_escaped(text) or None,
            )
    return parser

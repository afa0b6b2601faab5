"""The plugin API without a server: decorators, validation, message routing, arguments."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field

from venn_bots import Plugin, PluginConfig, PluginError, command, on_event, on_mention, on_message
from venn_bots.plugin import HelpRequested, UsageError, parse_args, parse_command_line, select_handlers, split_args


class Args(BaseModel):
    table: str = Field(description="The table to look at.")
    limit: int = Field(10, ge=1, le=100, description="Rows at most.")
    verbose: bool = False
    column: list[str] = Field(default_factory=list)


class Sample(Plugin):
    name = "sample"
    description = "A plugin with one of everything."
    version = "2.1.0"

    class Config(PluginConfig):
        greeting: str = "hi"

    @command("peek", help="Look at a table.", args=Args, aliases=["p"])
    async def peek(self, ctx):
        pass

    @command
    async def ping(self, ctx):
        """Answer pong.

        More text that is not the summary."""

    @on_mention
    async def mentioned(self, ctx):
        pass

    @on_message(pattern=r"\bSELECT\b", flags=re.I)
    async def sql(self, ctx):
        pass

    @on_message
    async def anything(self, ctx):
        pass

    @on_event("thread_created", "message_updated")
    async def on_things(self, ctx):
        pass


def test_decorators_collect_handlers_in_order():
    kinds = [(h.kind, h.attr) for h in Sample.handlers]
    assert kinds == [
        ("command", "peek"),
        ("command", "ping"),
        ("mention", "mentioned"),
        ("message", "sql"),
        ("message", "anything"),
        ("event", "on_things"),
    ]
    assert Sample.command_for("PEEK").attr == "peek"
    assert Sample.command_for("p").attr == "peek"
    assert Sample.command_for("ping").help == "Answer pong."
    # the bus's message_updated reaches plugins as message_edited
    assert Sample.event_names() == {"thread_created", "message_edited"}


def test_describe_lists_commands_and_config_schema():
    info = Sample.describe()
    assert info["name"] == "sample" and info["version"] == "2.1.0"
    assert [c["name"] for c in info["commands"]] == ["peek", "ping"]
    assert info["commands"][0]["usage"] == "/peek <table> [--limit LIMIT] [--verbose] [--column COLUMN (repeatable)]"
    assert info["config_schema"]["properties"]["greeting"]["default"] == "hi"
    assert info["handles_messages"] and info["handles_mentions"]


def test_subclass_inherits_and_overrides_handlers():
    class Child(Sample):
        name = "child"

        async def anything(self, ctx):  # no decorator: no longer a handler
            pass

        @command("extra")
        async def extra(self, ctx):
            pass

    attrs = [h.attr for h in Child.handlers]
    assert "anything" not in attrs and "extra" in attrs and "peek" in attrs


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: type("P", (Plugin,), {"name": "Bad Name"}), "name must match"),
        (lambda: type("P", (Plugin,), {"name": "ok", "Config": dict}), "Config must be a pydantic model"),
        (lambda: command("no spaces allowed"), "command name"),
    ],
)
def test_invalid_plugins_fail_when_defined(build, message):
    with pytest.raises(PluginError, match=message):
        build()


def test_handlers_must_be_async_and_take_ctx():
    with pytest.raises(PluginError, match="async def"):

        class P(Plugin):
            name = "p1"

            @command("x")
            def sync(self, ctx):
                pass

    with pytest.raises(PluginError, match=r"\(self, ctx\)"):

        class Q(Plugin):
            name = "p2"

            @on_message
            async def wrong(self):
                pass


def test_duplicate_command_names_are_refused():
    with pytest.raises(PluginError, match="declared by both"):

        class P(Plugin):
            name = "dup"

            @command("go")
            async def a(self, ctx):
                pass

            @command("other", aliases=["go"])
            async def b(self, ctx):
                pass


def test_handlers_cannot_take_the_base_class_names():
    with pytest.raises(PluginError, match="belongs to bots.Plugin"):

        class P(Plugin):
            name = "clash"

            @on_event("thread_created")
            async def describe(self, ctx):
                pass


def test_on_event_needs_names():
    with pytest.raises(PluginError):
        on_event()
    with pytest.raises(PluginError, match="on_message"):
        on_event("new_message")


def test_command_lines():
    assert parse_command_line("/peek users --limit 5") == ("peek", "users --limit 5")
    assert parse_command_line("  /Ping  ") == ("ping", "")
    assert parse_command_line("/ping\nsecond line") == ("ping", "second line")
    assert parse_command_line("not /a command") is None
    assert parse_command_line("/") is None


def test_a_message_goes_to_the_most_specific_handlers():
    def pick(body, *, bot=False):
        chosen = select_handlers(Sample, body, author_is_bot=bot, bot_username="sample")
        return None if chosen is None else (chosen.kind, [h.attr for h in chosen.handlers], chosen.text)

    assert pick("/peek users") == ("command", ["peek"], "users")
    assert pick("/unknown thing") == ("message", ["anything"], "/unknown thing")
    assert pick("hey @sample: what's up") == ("mention", ["mentioned"], "hey what's up")
    assert pick("hey @sampler") == ("message", ["anything"], "hey @sampler")
    assert pick("email me at x@sample.org")[0] == "message"
    assert pick("select * from t") == ("message", ["sql", "anything"], "select * from t")
    # bot messages reach only handlers that opt in (none here)
    assert pick("/peek users", bot=True) is None
    assert pick("hello", bot=True) is None


def test_bot_messages_reach_handlers_that_opt_in():
    class Listener(Plugin):
        name = "listener"

        @on_message(bots=True)
        async def everything(self, ctx):
            pass

        @on_message
        async def people_only(self, ctx):
            pass

    chosen = select_handlers(Listener, "beep", author_is_bot=True, bot_username="listener")
    assert [h.attr for h in chosen.handlers] == ["everything"]


def test_argument_parsing_into_the_args_model():
    spec = Sample.command_for("peek")
    args = parse_args(spec, split_args('users --limit 5 --verbose --column id --column "full name"'))
    assert args == Args(table="users", limit=5, verbose=True, column=["id", "full name"])
    args = parse_args(spec, split_args("users --limit=7 --no-verbose"))
    assert args.limit == 7 and args.verbose is False
    # "--" ends the options
    assert parse_args(spec, ["--", "--weird-table"]).table == "--weird-table"


@pytest.mark.parametrize(
    "line, message",
    [
        ("", "missing <table>"),
        ("users extra", "unexpected argument 'extra'"),
        ("users --limit", "--limit needs a value"),
        ("users --limit many", "--limit: Input should be a valid integer"),
        ("users --limit 1000", "--limit: Input should be less than or equal to 100"),
        ("users --color red", "unknown option --color"),
        ('users "unclosed', "could not read the arguments"),
    ],
)
def test_bad_arguments_say_what_is_wrong(line, message):
    spec = Sample.command_for("peek")
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_args(spec, split_args(line))


def test_help_is_asked_with_dash_dash_help():
    spec = Sample.command_for("peek")
    with pytest.raises(HelpRequested):
        parse_args(spec, ["users", "--help"])
    with pytest.raises(HelpRequested):
        parse_args(Sample.command_for("ping"), ["-h"])
    text = spec.help_text()
    assert text.startswith("Usage: /peek <table>")
    assert "Look at a table." in text and "Rows at most. (default: 10)" in text and "Also: /p" in text


def test_commands_without_a_model_take_any_words():
    assert parse_args(Sample.command_for("ping"), ["a", "--b"]) is None


def test_a_list_positional_takes_the_rest():
    class Many(BaseModel):
        first: str
        rest: list[int]

    class P(Plugin):
        name = "many"

        @command("sum", args=Many)
        async def total(self, ctx):
            pass

    args = parse_args(P.command_for("sum"), ["x", "1", "2", "3"])
    assert args.first == "x" and args.rest == [1, 2, 3]
    with pytest.raises(PluginError, match="only the last positional"):

        class Bad(BaseModel):
            items: list[str]
            last: str

        command("bad", args=Bad)(P.total)

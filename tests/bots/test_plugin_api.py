"""The plugin API without a server: decorators, validation, message routing, arguments."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from venn_bots import Plugin, PluginConfig, PluginError, Positional, command, on_event, on_mention, on_message
from venn_bots.args import HelpRequested, UsageError, split_args
from venn_bots.matching import parse_command_line, select_handlers


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
    args = spec.parse_args(split_args('users --limit 5 --verbose --column id --column "full name"'))
    assert args == Args(table="users", limit=5, verbose=True, column=["id", "full name"])
    args = spec.parse_args(split_args("users --limit=7 --no-verbose"))
    assert args.limit == 7 and args.verbose is False
    # "--" ends the options
    assert spec.parse_args(["--", "--weird-table"]).table == "--weird-table"


@pytest.mark.parametrize(
    "line, message",
    [
        # argparse's wording for where the words go...
        ("", "the following arguments are required: <table>"),
        ("users extra", "unrecognized arguments: extra"),
        ("users --limit", "argument --limit: expected one argument"),
        ("users --color red", "unrecognized arguments: --color red"),
        ("users --lim 5", "unrecognized arguments: --lim 5"),  # no abbreviations
        ("users --verbose=yes", "argument --verbose/--no-verbose: ignored explicit argument 'yes'"),
        # ...the model's for what they say
        ("users --limit many", "--limit: Input should be a valid integer, unable to parse string as an integer"),
        ("users --limit 1000", "--limit: Input should be less than or equal to 100"),
        ('users "unclosed', "could not read the arguments: No closing quotation"),
    ],
)
def test_bad_arguments_say_what_is_wrong(line, message):
    spec = Sample.command_for("peek")
    with pytest.raises(UsageError) as info:
        spec.parse_args(split_args(line))
    assert str(info.value) == message


def test_options_and_positionals_mix_and_dash_dash_keeps_words_as_they_are():
    class Find(BaseModel):
        table: str
        limit: int = 10
        words: Annotated[list[str], Positional()] = []

    class P(Plugin):
        name = "finder"

        @command("find", args=Find)
        async def find(self, ctx):
            pass

    spec = P.command_for("find")
    assert spec.parse_args(["users", "--limit", "5", "a", "b"]) == Find(table="users", limit=5, words=["a", "b"])
    assert spec.parse_args(["users", "a", "--limit=5", "b"]) == Find(table="users", limit=5, words=["a", "b"])
    assert spec.parse_args(["users", "-5"]).words == ["-5"]  # a negative number is a word
    # after "--" every word is positional, even "--" and option-like ones
    assert spec.parse_args(["--limit", "3", "--", "--t", "--", "-x"]) == Find(table="--t", limit=3, words=["--", "-x"])
    assert spec.parse_args(["t", "--", "--help"]).words == ["--help"]
    with pytest.raises(UsageError, match="the following arguments are required: <table>"):
        spec.parse_args(["--limit", "3", "--"])


def test_an_args_model_that_cannot_be_a_command_line_is_refused():
    class Clash(BaseModel):
        help: bool = False

    with pytest.raises(PluginError, match="conflicting option string: --help"):
        command("clash", args=Clash)(Sample.ping)


def test_help_is_asked_with_dash_dash_help():
    spec = Sample.command_for("peek")
    with pytest.raises(HelpRequested):
        spec.parse_args(["users", "--help"])
    with pytest.raises(HelpRequested):
        Sample.command_for("ping").parse_args(["-h"])
    text = spec.help_text()
    assert text.startswith("Usage: /peek <table> [--limit LIMIT] [--verbose] [--column COLUMN (repeatable)]\n\n")
    lines = [line.split() for line in text.splitlines()]
    assert ["Look", "at", "a", "table."] in lines and ["Also:", "/p"] in lines
    assert ["<table>", "The", "table", "to", "look", "at."] in lines
    assert ["--limit", "LIMIT", "Rows", "at", "most.", "(default:", "10)"] in lines
    assert ["--verbose,", "--no-verbose"] in lines and ["--column", "COLUMN", "(repeatable)"] in lines
    assert Sample.command_for("ping").help_text() == "Usage: /ping\n\nAnswer pong."


def test_help_shows_percent_signs_as_written():
    class Sampled(BaseModel):
        share: int = Field(50, description="Percent of rows (100% is all).")

    class P(Plugin):
        name = "sampler"

        @command("sample", args=Sampled, help="Sample 10% of a table.")
        async def sample(self, ctx):
            pass

    text = P.command_for("sample").help_text()
    assert "Sample 10% of a table." in text and "Percent of rows (100% is all). (default: 50)" in text


def test_commands_without_a_model_take_any_words():
    assert Sample.command_for("ping").parse_args(["a", "--b"]) is None


def test_a_list_positional_takes_the_rest():
    class Many(BaseModel):
        first: str
        rest: list[int]

    class P(Plugin):
        name = "many"

        @command("sum", args=Many)
        async def total(self, ctx):
            pass

    args = P.command_for("sum").parse_args(["x", "1", "2", "3"])
    assert args.first == "x" and args.rest == [1, 2, 3]
    with pytest.raises(PluginError, match="only the last positional"):

        class Bad(BaseModel):
            items: list[str]
            last: str

        command("bad", args=Bad)(P.total)

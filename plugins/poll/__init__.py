"""poll: ``/poll "Lunch?" pizza sushi salad`` posts the question with a button per option.

A click is that person's vote: one per person; a click on another option moves it, a
click on the option already chosen keeps it. The message shows the tally, updated on
every vote. Votes are kept in the plugin's own storage, one key per poll and voter.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from venn_bots import Context, Plugin, command, on_action

MIN_OPTIONS, MAX_OPTIONS = 2, 10
#: times a vote re-reads the tally after showing it, until what it showed is current
SETTLE_ROUNDS = 5

Option = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class PollArgs(BaseModel):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description='The question (quote it: "Lunch?")'
    )
    options: list[Option] = Field(description="2 to 10 options")

    @field_validator("options")
    @classmethod
    def _two_to_ten_distinct(cls, value: list[str]) -> list[str]:
        if not MIN_OPTIONS <= len(value) <= MAX_OPTIONS:
            raise ValueError(f"give {MIN_OPTIONS} to {MAX_OPTIONS} options")
        if len({v.casefold() for v in value}) != len(value):
            raise ValueError("the options must differ")
        return value


def render(question: str, options: list[str], counts: list[int]) -> tuple[str, dict]:
    """The poll's body (question and tally) and payload (a button per option)."""
    total = sum(counts)
    lines = [f"📊 **{question}**"]
    lines += [f"- {option}: {n} vote{'' if n == 1 else 's'}" for option, n in zip(options, counts, strict=True)]
    lines.append(f"{total} vote{'' if total == 1 else 's'} · click an option to vote (again to change it)")
    actions = [
        {"type": "button", "id": "vote", "label": f"{option} ({n})", "value": str(i), "style": "default"}
        for i, (option, n) in enumerate(zip(options, counts, strict=True))
    ]
    return "\n".join(lines), {"actions": actions}


class PollPlugin(Plugin):
    name = "poll"
    description = 'Polls with buttons: /poll "Lunch?" pizza sushi salad.'
    version = "1.0.0"

    @command("poll", args=PollArgs, help="Ask a question with a button per option; each person votes once.")
    async def poll(self, ctx: Context) -> None:
        args: PollArgs = ctx.args
        body, payload = render(args.question, args.options, [0] * len(args.options))
        posted = await ctx.reply(body, payload=payload)
        await self.storage.set(f"poll:{posted['id']}", {"question": args.question, "options": args.options})

    @on_action("vote")
    async def vote(self, ctx: Context) -> None:
        assert ctx.message is not None and ctx.user is not None and ctx.action_value is not None
        message_id = ctx.message.id
        poll = await self.storage.get(f"poll:{message_id}")
        if poll is None:
            ctx.log.warning("a vote on an unknown poll", extra={"message_id": message_id})
            return
        await self.storage.set(f"vote:{message_id}:{ctx.user.id}", int(ctx.action_value))
        # Votes of other people run as jobs of their own, maybe at the same time in other
        # processes: show the tally, then read it again until what was shown is current.
        shown = None
        for _ in range(SETTLE_ROUNDS):
            counts = await self.tally(message_id, len(poll["options"]))
            if counts == shown:
                break
            body, payload = render(poll["question"], poll["options"], counts)
            await ctx.update_message(body=body, payload=payload)
            shown = counts

    async def tally(self, message_id: int, size: int) -> list[int]:
        """Votes per option of a poll."""
        counts = [0] * size
        for choice in (await self.storage.items(f"vote:{message_id}:")).values():
            if isinstance(choice, int) and 0 <= choice < size:
                counts[choice] += 1
        return counts


plugin = PollPlugin

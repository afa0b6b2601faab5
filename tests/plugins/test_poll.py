"""The poll plugin: a button per option, one vote per person (a second click moves it),
the tally on the message; usage errors."""

from __future__ import annotations

from venn.db.models import Message
from venn_plugins.poll import PollPlugin


async def vote(bot, user, message_id, option):
    await bot.services.actions.click(user, message_id, "vote", str(option))
    await bot.settle()
    return await Message.get(id=message_id)


async def test_votes_are_one_per_person_and_a_second_click_moves_it(testbot):
    bot = await testbot(PollPlugin)
    [poll] = await bot.say('/poll "Lunch?" pizza sushi "pad thai"')
    assert poll.body.startswith("📊 **Lunch?**") and "0 votes" in poll.body
    assert [(a["label"], a["value"]) for a in poll.payload["actions"]] == [
        ("pizza (0)", "0"), ("sushi (0)", "1"), ("pad thai (0)", "2"),
    ]
    bob = await bot.user("bob")
    await vote(bot, bot.alice, poll.id, 0)
    message = await vote(bot, bob, poll.id, 0)
    assert "- pizza: 2 votes" in message.body and "2 votes ·" in message.body
    message = await vote(bot, bob, poll.id, 2)  # bob changes his mind
    assert "- pizza: 1 vote\n" in message.body and "- pad thai: 1 vote" in message.body
    message = await vote(bot, bob, poll.id, 2)  # the same option again keeps it
    assert "2 votes ·" in message.body
    assert [a["label"] for a in message.payload["actions"]] == ["pizza (1)", "sushi (0)", "pad thai (1)"]
    assert message.edited_at is None


async def test_usage_errors(testbot):
    bot = await testbot(PollPlugin, strict=False)
    for line, problem in [
        ('/poll "Lunch?" pizza', "give 2 to 10 options"),
        ("/poll Lunch? " + " ".join(f"o{i}" for i in range(11)), "give 2 to 10 options"),
        ('/poll "Lunch?" pizza Pizza', "the options must differ"),
        ('/poll "Lunch? pizza sushi', "could not read the arguments"),
        ("/poll", "required"),
    ]:
        [reply] = await bot.say(line)
        assert problem in reply.body and "Usage: /poll <question> <options>..." in reply.body, (line, reply.body)
        assert not reply.payload

"""Search: words and phrases over the caller's channels, best first, with filters and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode


async def search(client, person, status: int = 200, **params) -> dict:
    resp = await client.get("/api/v1/search?" + urlencode(params), headers=person.headers)
    assert resp.status == status, await resp.text()
    return await resp.json()


def bodies(page: dict) -> list[str]:
    return [r["message"]["body"] for r in page["results"]]


async def test_words_and_phrases_find_messages_with_highlights(client, chat):
    alice = await chat.user("alice")
    cid = (await chat.channel(alice, "general"))["id"]
    await chat.post(alice, cid, "The deploy broke the Staging server")
    await chat.post(alice, cid, "server staging is fine, the deploy waits")
    await chat.post(alice, cid, "nothing to see here")

    page = await search(client, alice, q="staging")
    assert sorted(bodies(page)) == ["The deploy broke the Staging server", "server staging is fine, the deploy waits"]
    assert page["next_cursor"] is None

    page = await search(client, alice, q='"staging server"')
    assert bodies(page) == ["The deploy broke the Staging server"]
    hit = page["results"][0]
    assert hit["highlight"] == {"text": "The deploy broke the Staging server", "ranges": [[21, 35]]}
    assert hit["message"]["channel_id"] == cid and hit["message"]["author"]["username"] == "alice"

    # every word must be there; -word excludes; OR gives alternatives
    assert bodies(await search(client, alice, q="deploy fine")) == ["server staging is fine, the deploy waits"]
    assert bodies(await search(client, alice, q="deploy -fine")) == ["The deploy broke the Staging server"]
    assert sorted(bodies(await search(client, alice, q="broke OR nothing"))) == [
        "The deploy broke the Staging server", "nothing to see here"
    ]
    hit = (await search(client, alice, q="deploy waits"))["results"][0]["highlight"]
    assert [hit["text"][start:end] for start, end in hit["ranges"]] == ["deploy", "waits"]


async def test_results_are_ranked_by_relevance_then_recency(client, chat):
    alice = await chat.user("alice")
    cid = (await chat.channel(alice, "general"))["id"]
    older = await chat.post(alice, cid, "lunch")
    await chat.post(alice, cid, "a long message that mentions lunch only once among many other words here")
    newer = await chat.post(alice, cid, "lunch")
    page = await search(client, alice, q="lunch")
    ids = [r["message"]["id"] for r in page["results"]]
    # the two short, exact matches come first, the newer of them first; the long one last
    assert ids[:2] == [newer["id"], older["id"]] and len(ids) == 3


async def test_only_the_callers_channels_are_searched(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    public = (await chat.channel(alice, "public"))["id"]
    private = (await chat.channel(alice, "hideout", private=True, members=[bob]))["id"]
    await chat.post(alice, public, "pineapple in public")
    await chat.post(alice, private, "pineapple in private")
    # bob is in the private channel only, not in the public one (not joined)
    assert bodies(await search(client, bob, q="pineapple")) == ["pineapple in private"]
    # once bob leaves the private channel, its messages are gone from his searches
    resp = await client.post(f"/api/v1/channels/{private}/leave", headers=bob.headers)
    assert resp.status == 204
    assert bodies(await search(client, bob, q="pineapple")) == []
    # filtering on a channel one is not in is "not found", public or private
    for cid in (public, private, 999_999):
        page = await search(client, bob, 404, q="pineapple", channel_id=cid)
        assert page["error"]["code"] == "not_found" and "pineapple" not in str(page)


async def test_edits_and_deletes_show_at_once(client, chat):
    alice = await chat.user("alice")
    cid = (await chat.channel(alice, "general"))["id"]
    message = await chat.post(alice, cid, "meet at the harbour")
    gone = await chat.post(alice, cid, "harbour party tonight")
    resp = await client.patch(f"/api/v1/messages/{message['id']}", json={"body": "meet at the station"},
                              headers=alice.headers)
    assert resp.status == 200
    resp = await client.delete(f"/api/v1/messages/{gone['id']}", headers=alice.headers)
    assert resp.status == 200
    assert bodies(await search(client, alice, q="harbour")) == []
    page = await search(client, alice, q="station")
    assert bodies(page) == ["meet at the station"] and page["results"][0]["message"]["edited_at"]


async def test_filters_by_channel_author_dates_and_threads(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    one = (await chat.channel(alice, "one", members=[bob]))["id"]
    two = (await chat.channel(alice, "two", members=[bob]))["id"]
    root = await chat.post(alice, one, "kiwi by alice in one")
    await chat.post(bob, one, "kiwi by bob in one")
    await chat.post(bob, two, "kiwi by bob in two")
    thread = await chat.thread(alice, one, root["id"])
    reply = await chat.post(alice, one, "kiwi reply in a thread", thread_id=thread["id"])

    assert len((await search(client, alice, q="kiwi"))["results"]) == 4
    assert sorted(bodies(await search(client, alice, q="kiwi", channel_id=two))) == ["kiwi by bob in two"]
    assert sorted(bodies(await search(client, alice, q="kiwi", from_user_id=bob.id, channel_id=one))) == [
        "kiwi by bob in one"
    ]
    found = (await search(client, alice, q="reply"))["results"]
    assert [r["message"]["id"] for r in found] == [reply["id"]] and found[0]["message"]["thread_id"] == thread["id"]
    now = datetime.now(UTC)
    assert len((await search(client, alice, q="kiwi", after=(now - timedelta(hours=1)).isoformat()))["results"]) == 4
    assert (await search(client, alice, q="kiwi", before=(now - timedelta(hours=1)).isoformat()))["results"] == []
    assert (await search(client, alice, q="kiwi", after=(now + timedelta(days=1)).date().isoformat()))["results"] == []
    assert len((await search(client, alice, q="kiwi", before=(now + timedelta(days=1)).date().isoformat()))[
        "results"]) == 4


async def test_pages_follow_the_signed_cursor(client, chat):
    alice = await chat.user("alice")
    cid = (await chat.channel(alice, "general"))["id"]
    posted = [(await chat.post(alice, cid, f"mango number {i}"))["id"] for i in range(7)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"q": "mango", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await search(client, alice, **params)
        seen += [r["message"]["id"] for r in page["results"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == sorted(posted, reverse=True)  # equal rank: newest first

    first = await search(client, alice, q="mango", limit=3)
    # the cursor belongs to its search: another query, a forged or broken one is refused
    for params in (
        {"q": "number", "cursor": first["next_cursor"]},
        {"q": "mango", "cursor": first["next_cursor"][:-2] + "xx"},
        {"q": "mango", "cursor": "not-a-cursor"},
    ):
        page = await search(client, alice, 422, **params)
        assert page["error"]["code"] == "validation_error" and page["error"]["fields"][0]["field"] == "cursor"


HOSTILE = ['"', "*", "NEAR(", "-", "OR", "AND", "NOT", '"unclosed phrase', "a OR", "OR b", "-b", "foo*",
           "col:value", "^start", "(", ")", "a AND (b", "\\", "'; DROP TABLE messages; --", "{near}", "é",
           "NEAR(a b, 2)", "a NOT b", "!!x", "x:*", "a & b | !c", "<->", "🙂", "\x00", "a" * 256]


async def test_hostile_queries_never_fail_the_server(client, chat):
    alice = await chat.user("alice")
    cid = (await chat.channel(alice, "general"))["id"]
    await chat.post(alice, cid, "a b near start value x foo é NEAR AND NOT OR")
    for q in HOSTILE:
        resp = await client.get("/api/v1/search?" + urlencode({"q": q}), headers=alice.headers)
        assert resp.status in (200, 422), (q, resp.status, await resp.text())
        data = await resp.json()
        if resp.status == 422:
            assert data["error"]["fields"][0]["field"] == "q", q
        else:
            assert set(data) == {"results", "next_cursor"}, q
    # words that are operators elsewhere are plain words here
    assert len((await search(client, alice, q="NEAR( AND NOT"))["results"]) == 1


BAD = [({}, "q"), ({"q": ""}, "q"), ({"q": "x" * 257}, "q"), ({"q": "-only -excluded"}, "q"),
       ({"q": "a " * 17}, "q"), ({"q": "x", "limit": 0}, "limit"), ({"q": "x", "limit": 51}, "limit"),
       ({"q": "x", "channel_id": "abc"}, "channel_id"), ({"q": "x", "before": "yesterday"}, "before"),
       ({"q": "x", "from_user_id": 0}, "from_user_id")]


async def test_bad_parameters_are_422(client, chat):
    alice = await chat.user("alice")
    for params, field in BAD:
        page = await search(client, alice, 422, **params)
        assert page["error"]["code"] == "validation_error"
        assert [f["field"] for f in page["error"]["fields"]] == [field], params


async def test_phrases_and_punctuation_match_as_written(client, chat):
    alice = await chat.user("alice")
    cid = (await chat.channel(alice, "general"))["id"]
    await chat.post(alice, cid, "mail bob@example.com about the follow-up, it's due")
    await chat.post(alice, cid, "Ünïcode Straße 🙂 works")
    for q in ("bob@example.com", "follow-up", '"it\'s due"', "straße", "ÜNÏCODE"):
        page = await search(client, alice, q=q)
        assert len(page["results"]) == 1, q
        text, ranges = page["results"][0]["highlight"]["text"], page["results"][0]["highlight"]["ranges"]
        assert ranges and all(0 <= start < end <= len(text) for start, end in ranges), q
    page = await search(client, alice, q="straße")
    assert [page["results"][0]["highlight"]["text"][s:e] for s, e in page["results"][0]["highlight"]["ranges"]] == [
        "Straße"
    ]


async def test_an_in_memory_database_is_searchable_too(aiohttp_client, make_settings, tmp_path):
    """``sqlite://:memory:`` makes its schema from the models, not the migrations: the
    search index is built there too."""
    from tests.helpers import Chat
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url="sqlite://:memory:")))
    chat = Chat(client)
    alice = await chat.user("alice")
    cid = (await chat.channel(alice, "general"))["id"]
    await chat.post(alice, cid, "hello memory world")
    assert bodies(await search(client, alice, q="memory")) == ["hello memory world"]

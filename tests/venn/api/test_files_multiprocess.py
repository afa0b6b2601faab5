"""Files across two real server processes sharing PostgreSQL, Redis and the files folder:
an upload taken by one is attached, downloaded and swept through the other."""

from __future__ import annotations

import aiohttp
import pytest

from tests.helpers import Chat
from tests.venn.api.test_files import form, png
from tests.venn.realtime.test_multiprocess import Http, own_database, two_servers  # noqa: F401 - fixtures

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_an_upload_to_one_process_is_served_by_the_other(two_servers):  # noqa: F811
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        one, two = Http(session, url1), Http(session, url2)
        alice = await Chat(one).user()
        bob = await Chat(two).user()
        channel = await Chat(one).channel(alice, private=True, members=[bob])
        data = png(100, 50)
        async with one.post("/api/v1/files", data=form(channel["id"], data), headers=alice.headers) as resp:
            assert resp.status == 201, await resp.text()
            file = (await resp.json())["file"]
        message = await Chat(two).post(alice, channel["id"], "", file_ids=[file["id"]])
        assert message["files"] == [file]
        # the cookie one process signed opens the file on the other
        async with one.post("/api/v1/files/cookie", headers=bob.headers) as resp:
            cookie = resp.cookies["venn_files"].value
        session.cookie_jar.clear()
        async with session.get(url2 + file["url"], cookies={"venn_files": cookie}) as resp:
            assert resp.status == 200 and await resp.read() == data
        async with session.get(url1 + file["thumbnail_url"], headers=bob.headers) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
            assert (await resp.read())[:2] == b"\xff\xd8"  # a JPEG
        # a download abandoned half-way is no error on the server (its log is checked)
        big = bytes(range(256)) * 8192  # 2 MiB
        async with one.post("/api/v1/files", data=form(channel["id"], big, "big.bin"), headers=alice.headers) as resp:
            big_file = (await resp.json())["file"]
        await Chat(one).post(alice, channel["id"], "", file_ids=[big_file["id"]])
        async with session.get(url2 + big_file["url"], headers=bob.headers) as resp:
            assert resp.status == 200 and len(await resp.content.read(1024)) == 1024
            resp.close()
        async with session.get(url2 + big_file["url"], headers=bob.headers) as resp:
            assert await resp.read() == big
